"""`linli explain HOUSEHOLD --item ID`: why an item is, or is not, in one household's plan."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import InputError
from engine.explain import UnknownItemError, explain_item
from engine.inputs import parse_households
from engine.messages import render
from engine.rule_tests import DEFAULT_FIXTURES_DIR
from models.household import Household
from service.cli_common import EXIT_INVALID, EXIT_OK, load_planner, read_text


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser(
        "explain", parents=[common],
        help="说明某个项目为什么在（或不在）一户家庭的计划中" if zh else "explain why an item is or is not in a household's plan",
        description="逐条列出可推荐或排除该项目的规则（触发与否、读取的家庭取值）、得分构成、适用条件和名次。" if zh
        else "List the rules that can recommend or exclude the item (fired or not, with the household values "
             "they read), its score terms, its eligibility and its rank.",
    )
    parser.add_argument("household", metavar="HOUSEHOLD",
                        help="家庭 JSON 文件、- 表示标准输入，或 fixtures/households/ 中的家庭名（如 elderly-alone）" if zh
                        else "household JSON file, - for standard input, or a fixture name such as elderly-alone")
    parser.add_argument("--item", required=True, metavar="ID", help="项目 id，如 res_grid_worker_visit" if zh else "item id")
    parser.add_argument("--household-id", metavar="ID",
                        help="文件中有多户家庭时，要说明的户编号" if zh else "household id, when the file contains several")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="输出格式：text（默认）或 json" if zh else "output format: text (default) or json")
    parser.set_defaults(handler=run)


def run(args) -> int:
    household = _household(args)
    if household is None:
        return EXIT_INVALID
    planner = load_planner(args.rules, args.lang)
    if planner is None:
        return EXIT_INVALID

    try:
        explanation = explain_item(planner, household, args.item, args.lang)
    except UnknownItemError as exc:
        print(render("explain_unknown_item", args.lang, item=exc.item_id, close="、".join(exc.close) or "-"),
              file=sys.stderr)
        return EXIT_INVALID
    finally:
        planner.close()

    if args.format == "json":
        sys.stdout.write(explanation.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(explanation.text) + "\n")
    return EXIT_OK


def _household(args) -> Household | None:
    """Read the household from a file, standard input or a fixture name; print why on failure."""
    name = args.household
    fixture = DEFAULT_FIXTURES_DIR / f"{name}.json"
    source = name if name == "-" or Path(name).exists() or not fixture.is_file() else str(fixture)
    if source == name and name != "-" and not Path(name).exists():
        known = "、".join(sorted(p.stem for p in DEFAULT_FIXTURES_DIR.glob("*.json")))
        print(render("explain_household_not_found", args.lang, name=name, known=known), file=sys.stderr)
        return None
    text = read_text(source, args.lang)
    if text is None:
        return None
    try:
        households, _ = parse_households(text)
    except InputError as exc:
        for problem in exc.problems:
            print(f"{source}: {problem.path}: {problem.message(args.lang)}", file=sys.stderr)
        return None
    return _pick(households, args.household_id, args.lang)


def _pick(households: list[Household], household_id: str | None, lang: str) -> Household | None:
    if household_id is None:
        if len(households) == 1:
            return households[0]
        print(render("explain_pick_household", lang, count=len(households)), file=sys.stderr)
        return None
    found = next((h for h in households if h.household_id == household_id), None)
    if found is None:
        print(render("explain_household_not_found", lang, id=household_id), file=sys.stderr)
    return found
