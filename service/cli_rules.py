"""`linli rules ...`: tools for rule authors."""

from __future__ import annotations

import sys

from engine.loader import check_directory, rules_directory
from service.cli_common import EXIT_INVALID, EXIT_OK, print_rule_errors


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser("rules", parents=[common], help="规则编写工具" if zh else "rule authoring tools")
    commands = parser.add_subparsers(dest="rules_command", metavar="COMMAND")

    check = commands.add_parser(
        "check", parents=[common],
        help="检查规则目录中的全部 YAML 文件" if zh else "check every YAML file of a rules directory",
        description="检查规则、目录、分类和评分文件；有错误时以 文件:行:列 报告并以退出码 1 结束。" if zh
        else "Check rule, catalogue, segment and scoring files; report errors as file:line:column and exit 1.",
    )
    check.add_argument("directory", nargs="?", metavar="DIR", help="规则目录（默认 rules/）" if zh else "rules directory (default: rules/)")
    check.set_defaults(handler=run_check)


def run_check(args) -> int:
    directory = rules_directory(args.directory or args.rules)
    rulebase, problems = check_directory(directory)
    print_rule_errors(problems, args.lang)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if args.lang == "zh":
        print(f"检查完成：{errors} 个错误，{warnings} 个警告。", file=sys.stderr)
    else:
        print(f"check finished: {errors} error(s), {warnings} warning(s).", file=sys.stderr)
    if rulebase is None:
        return EXIT_INVALID
    print(f"规则版本 {rulebase.version}：{len(rulebase.rules)} 条规则，{len(rulebase.items)} 个目录项目。"
          if args.lang == "zh" else
          f"rule set version {rulebase.version}: {len(rulebase.rules)} rules, {len(rulebase.items)} catalogue items.",
          file=sys.stderr)
    return EXIT_OK
