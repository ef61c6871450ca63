"""`linli plan`: one household (or a JSON list of them) in, its plan out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.errors import InputError, RuleSetError
from engine.inputs import parse_households
from engine.messages import render
from engine.planner import build_planner
from service.cli_common import EXIT_INVALID, EXIT_OK, print_rule_errors, read_text
from service.report import plan_to_text


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser(
        "plan", parents=[common],
        help="为一户家庭生成融入计划" if zh else "make the integration plan of one household",
        description="读取家庭 JSON（一个对象或对象列表），输出融入计划。" if zh
        else "Read household JSON (one object or a list) and print its plan.",
    )
    parser.add_argument("file", metavar="FILE", help="家庭 JSON 文件，- 表示标准输入" if zh else "household JSON file, - for standard input")
    parser.add_argument("--format", choices=["json", "text"], default="json",
                        help="输出格式：json（默认）或 text（中文摘要）" if zh else "output format: json (default) or text")
    parser.set_defaults(handler=run)


def run(args) -> int:
    text = read_text(args.file, args.lang)
    if text is None:
        return EXIT_INVALID
    try:
        households, is_list = parse_households(text)
    except InputError as exc:
        source = "<stdin>" if args.file == "-" else args.file
        for problem in exc.problems:
            print(f"{source}: {problem.path}: {problem.message(args.lang)}", file=sys.stderr)
        return EXIT_INVALID

    try:
        planner = build_planner(args.rules)
    except RuleSetError as exc:
        print_rule_errors(exc.problems, args.lang)
        return EXIT_INVALID

    plans = [planner.plan(h) for h in households]
    if args.format == "text":
        sys.stdout.write("\n".join(p_text for p_text in map(plan_to_text, plans)))
        return EXIT_OK
    payload = [p.model_dump(mode="json") for p in plans] if is_list else plans[0].model_dump(mode="json")
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK
