"""`linli plan`: one household (or a JSON list of them) in, its plan out."""

from __future__ import annotations

import json
import sys

from engine.errors import InputError
from engine.inputs import load_json, parse_households, validate_each, validate_household
from service.cli_common import EXIT_INVALID, EXIT_OK, load_planner, read_text
from models.plan import Plan
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
    source = "<stdin>" if args.file == "-" else args.file
    try:
        data = load_json(text)
        if not isinstance(data, (dict, list)):
            parse_households(text)  # raises the "not an object" error
        items = validate_each(data) if isinstance(data, list) else [validate_household(data)]
    except InputError as exc:
        _print_problems(source, exc, args.lang)
        return EXIT_INVALID

    planner = load_planner(args.rules, args.lang)
    if planner is None:
        return EXIT_INVALID

    # One entry out for each household in: a plan, or the errors that stopped it.
    results = [item if isinstance(item, InputError) else planner.plan(item) for item in items]
    for item in results:
        if isinstance(item, InputError):
            _print_problems(source, item, args.lang)
    failed = any(isinstance(item, InputError) for item in results)

    if args.format == "text":
        names = {item_id: item.name for item_id, item in planner.rulebase.items.items()}
        entries = [_text_entry(index, item, args.lang, names, planner.rulebase.dimension_names)
                   for index, item in enumerate(results)]
        sys.stdout.write("\n".join(entries))
    elif isinstance(data, list):
        payload = [_json_entry(index, item, data[index], args.lang) for index, item in enumerate(results)]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    elif not failed:
        sys.stdout.write(json.dumps(results[0].model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
    return EXIT_INVALID if failed else EXIT_OK


def _print_problems(source: str, error: InputError, lang: str) -> None:
    for problem in error.problems:
        where = "" if problem.path == "$" else f" {problem.path}:"
        print(f"{source}:{where} {problem.message(lang)}", file=sys.stderr)


def _json_entry(index: int, item: Plan | InputError, raw: object, lang: str) -> dict:
    if isinstance(item, Plan):
        return item.model_dump(mode="json")
    household_id = raw.get("household_id") if isinstance(raw, dict) else None
    return {"index": index, "household_id": household_id if isinstance(household_id, str) else None,
            "errors": [problem.to_dict(lang) for problem in item.problems]}


def _text_entry(index: int, item: Plan | InputError, lang: str, item_names: dict[str, str],
                dimension_names: dict[str, str]) -> str:
    if isinstance(item, Plan):
        return plan_to_text(item, item_names, dimension_names)
    title = f"第 {index + 1} 户家庭无法生成计划：" if lang == "zh" else f"household {index + 1} could not be planned:"
    return "\n".join([title] + [f"  {p.path}: {p.message(lang)}" for p in item.problems]) + "\n"
