"""`linli rules ...`: tools for rule authors (check, test, diff, coverage, schema)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.coverage import coverage_report, format_coverage
from engine.diff import DEFAULT_POPULATION, diff_rule_sets, format_impact, load_population
from engine.errors import InputError, RuleSetError
from engine.loader import check_directory, display_name, rules_directory
from engine.messages import render
from engine.rule_tests import DEFAULT_FIXTURES_DIR, find_test_files, format_report, load_rule_tests, run_rule_tests
from engine.schema import KINDS, schema_text, write_schemas
from models.household import Household
from service.cli_common import EXIT_INVALID, EXIT_OK, load_planner, print_rule_errors


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser("rules", parents=[common], help="规则编写工具" if zh else "rule authoring tools")
    commands = parser.add_subparsers(dest="rules_command", metavar="COMMAND")
    _register_check(commands, common, zh)
    _register_test(commands, common, zh)
    _register_diff(commands, common, zh)
    _register_coverage(commands, common, zh)
    _register_schema(commands, common, zh)


def _format_option(parser, zh: bool) -> None:
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="输出格式：text（默认，中文）或 json" if zh else "output format: text (default) or json")


def _register_check(commands, common, zh: bool) -> None:
    check = commands.add_parser(
        "check", parents=[common],
        help="检查规则目录中的全部 YAML 文件" if zh else "check every YAML file of a rules directory",
        description="检查规则、目录、分类和评分文件，一次报告全部错误和警告（文件:行:列，并标出位置）。"
                    "退出码：0 没有错误（可以有警告），1 有错误，2 用法错误。" if zh
        else "Check rule, catalogue, segment and scoring files and report every error and warning at "
             "file:line:column. Exit codes: 0 no errors (warnings allowed), 1 errors, 2 usage.",
    )
    check.add_argument("directory", nargs="?", metavar="DIR", help="规则目录（默认 rules/）" if zh else "rules directory (default: rules/)")
    _format_option(check, zh)
    check.set_defaults(handler=run_check)


def _register_test(commands, common, zh: bool) -> None:
    test = commands.add_parser(
        "test", parents=[common],
        help="运行 YAML 规则测试" if zh else "run the YAML rule tests",
        description="运行规则测试（默认为规则目录下 tests/*.yaml），逐项列出失败的差异，报告没有测试触发的规则，"
                    "最后一行为“N passed, N failed”。有失败时退出码为 1。" if zh
        else "Run the rule tests (by default tests/*.yaml in the rules directory), show the difference of each "
             "failure and the rules no test made fire, and end with 'N passed, N failed'. Exit 1 on a failure.",
    )
    test.add_argument("paths", nargs="*", metavar="PATH", help="测试文件或目录" if zh else "test files or directories")
    test.add_argument("--fixtures", metavar="DIR", type=Path, default=DEFAULT_FIXTURES_DIR,
                      help="按名称引用的家庭所在目录（默认 fixtures/households/）" if zh
                      else "directory of households named by tests (default: fixtures/households/)")
    test.set_defaults(handler=run_test)


def _register_diff(commands, common, zh: bool) -> None:
    diff = commands.add_parser(
        "diff", parents=[common],
        help="比较两版规则对一批家庭的影响" if zh else "compare what two rule versions plan for a population",
        description="用旧规则和新规则分别为同一批家庭生成计划，报告哪些家庭新增或失去哪些项目、哪些家庭换了人群分类。" if zh
        else "Plan one population with the old and the new rules, and report which households gain or lose "
             "which items and which change segment.",
    )
    diff.add_argument("old", metavar="OLD_DIR", type=Path, help="旧规则目录" if zh else "old rules directory")
    diff.add_argument("new", metavar="NEW_DIR", type=Path, help="新规则目录" if zh else "new rules directory")
    _households_option(diff, zh)
    _format_option(diff, zh)
    diff.set_defaults(handler=run_diff)


def _register_coverage(commands, common, zh: bool) -> None:
    coverage = commands.add_parser(
        "coverage", parents=[common],
        help="列出规则没有覆盖的需求、分类和家庭" if zh else "list needs, segments and households the rules leave uncovered",
        description="报告没有规则或项目对应的需求维度和需求分值、没有服务模块的人群分类，以及人群中缺少某类项目的家庭。" if zh
        else "Report need dimensions and levels no rule or item addresses, segments without a module, and "
             "households of the population whose plan lacks a kind of item.",
    )
    coverage.add_argument("directory", nargs="?", metavar="DIR", help="规则目录（默认 rules/）" if zh else "rules directory (default: rules/)")
    _households_option(coverage, zh)
    _format_option(coverage, zh)
    coverage.set_defaults(handler=run_coverage)


def _register_schema(commands, common, zh: bool) -> None:
    schema = commands.add_parser(
        "schema", parents=[common],
        help="输出规则文件的 JSON Schema（供编辑器补全和检查）" if zh else "print the JSON Schema of rule files, for editors",
        description="输出某类 YAML 文件的 JSON Schema；--write 把全部 Schema 写入目录（项目中为 docs/schema/）。" if zh
        else "Print the JSON Schema of one kind of YAML file; --write writes every schema into a directory "
             "(docs/schema/ in the project).",
    )
    schema.add_argument("kind", nargs="?", choices=list(KINDS), default="ruleset",
                        help="文件类别（默认 ruleset）" if zh else "kind of file (default: ruleset)")
    schema.add_argument("--write", metavar="DIR", type=Path, help="把全部 Schema 写入此目录" if zh else "write every schema into DIR")
    schema.set_defaults(handler=run_schema)


def _households_option(parser, zh: bool) -> None:
    parser.add_argument("--households", metavar="FILE", type=Path, default=DEFAULT_POPULATION,
                        help="家庭 JSON 列表（默认示例月份 fixtures/month/arrivals.json）" if zh
                        else "JSON list of households (default: the sample month fixtures/month/arrivals.json)")


# Handlers


def run_check(args) -> int:
    directory = rules_directory(args.directory or args.rules)
    rulebase, problems = check_directory(directory)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if args.format == "json":
        payload = {"directory": display_name(directory), "errors": errors, "warnings": warnings,
                   "version": rulebase.version if rulebase else None,
                   "problems": [p.to_dict(args.lang) for p in problems]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        print_rule_errors(problems, args.lang)
    print(render("check_done", args.lang, errors=errors, warnings=warnings), file=sys.stderr)
    if rulebase is None:
        return EXIT_INVALID
    print(render("check_version", args.lang, version=rulebase.version, rules=len(rulebase.rules),
                 items=len(rulebase.items)), file=sys.stderr)
    return EXIT_OK


def run_test(args) -> int:
    # `linli rules test DIR` with a rules directory means "the tests of that rule set",
    # as `linli rules check DIR` does, not "every YAML file in DIR is a test file".
    if len(args.paths) == 1 and _is_rules_directory(Path(args.paths[0])) and not args.rules:
        args.rules, args.paths = args.paths[0], []
    directory = rules_directory(args.rules)
    planner = load_planner(directory, args.lang)
    if planner is None:
        return EXIT_INVALID
    try:
        paths = _test_paths(args.paths, directory)
        if not paths:
            print(render("test_no_files", args.lang, folder=display_name(directory / "tests")), file=sys.stderr)
            return EXIT_INVALID
        tests, problems = load_rule_tests(paths, planner.rulebase, args.fixtures)
        print_rule_errors(problems, args.lang)
        report = run_rule_tests(planner, tests, args.lang)
    finally:
        planner.close()
    sys.stdout.write("\n".join(format_report(report, args.lang)) + "\n")
    invalid = any(p.severity == "error" for p in problems)
    return EXIT_INVALID if report.failed or invalid else EXIT_OK


def _is_rules_directory(path: Path) -> bool:
    return path.is_dir() and (path / "dimensions.yaml").is_file() and (path / "rulesets").is_dir()


def _test_paths(arguments: list[str], directory: Path) -> list[Path]:
    if not arguments:
        return find_test_files(directory)
    paths: list[Path] = []
    for name in arguments:
        path = Path(name)
        paths += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return paths


def run_diff(args) -> int:
    households = _population(args.households, args.lang)
    if households is None:
        return EXIT_INVALID
    for directory in (args.old, args.new):
        if not _valid_rules(directory, args.lang):
            return EXIT_INVALID
    try:
        report = diff_rule_sets(args.old, args.new, households, display_name(args.households))
    except RuleSetError as exc:
        print_rule_errors(exc.problems, args.lang)
        return EXIT_INVALID
    if args.format == "json":
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return EXIT_OK
    sys.stdout.write("\n".join(format_impact(report, args.lang)) + "\n")
    return EXIT_OK


def run_coverage(args) -> int:
    households = _population(args.households, args.lang)
    if households is None:
        return EXIT_INVALID
    planner = load_planner(rules_directory(args.directory or args.rules), args.lang)
    if planner is None:
        return EXIT_INVALID
    try:
        report = coverage_report(planner, households)
        if args.format == "json":
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(format_coverage(report, planner.rulebase, args.lang)) + "\n")
    finally:
        planner.close()
    return EXIT_OK


def run_schema(args) -> int:
    if args.write:
        for path in write_schemas(args.write):
            print(render("schema_written", args.lang, path=display_name(path)), file=sys.stderr)
        return EXIT_OK
    sys.stdout.write(schema_text(args.kind))
    return EXIT_OK


# Shared steps


def _valid_rules(directory: Path, lang: str) -> bool:
    rulebase, problems = check_directory(directory)
    if rulebase is not None:
        return True
    errors = [p for p in problems if p.severity == "error"]
    print(render("diff_rules_invalid", lang, path=display_name(directory), count=len(errors)), file=sys.stderr)
    print_rule_errors(errors, lang)
    return False


def _population(path: Path, lang: str) -> list[Household] | None:
    try:
        return load_population(path)
    except FileNotFoundError:
        print(render("diff_no_population", lang, path=display_name(path)), file=sys.stderr)
    except (OSError, UnicodeDecodeError) as exc:
        print(render("input_file", lang, path=display_name(path), detail=exc), file=sys.stderr)
    except InputError as exc:
        for problem in exc.problems:
            print(f"{display_name(path)}: {problem.path}: {problem.message(lang)}", file=sys.stderr)
    return None
