"""The `linli` command line. Messages go to standard error in Chinese (`--lang en` for English).

Each command group lives in its own module with a `register(subparsers, common)` function;
`COMMAND_MODULES` lists them in the order `--help` shows them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from engine.messages import normalise_lang

from service.cli_common import EXIT_USAGE

EPILOG_ZH = """退出码：
  0  成功
  1  输入或规则有错误（错误信息写到标准错误，含文件:行:列或字段路径）
  2  命令用法错误
  3  内部错误（请报告给维护者）

示例：
  linli plan fixtures/households/elderly-alone.json --format text
  linli rules check rules/
"""

EPILOG_EN = """exit codes:
  0  success
  1  invalid input or rules (errors on standard error with file:line:column or field path)
  2  usage error
  3  internal error (report it to the maintainers)
"""

COMMAND_MODULES = ["service.cli_plan", "service.cli_rules", "service.cli_serve", "service.cli_model", "service.cli_batch",
                   "service.cli_explain"]

# argparse's own words, translated so that `--help` and usage errors read in Chinese.
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示帮助并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "不认识的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r（可选：%(choices)s）",
    "expected one argument": "需要一个参数值",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
}


def _requested_lang(argv: list[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return normalise_lang(argv[index + 1])
        if arg.startswith("--lang="):
            return normalise_lang(arg.split("=", 1)[1])
    return "zh"


def _install_argparse_language(lang: str) -> None:
    if lang == "zh":
        argparse._ = lambda text: _ARGPARSE_ZH.get(text, text)  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, argparse._("%(prog)s: error: %(message)s\n") % {"prog": self.prog, "message": message})


def build_parser(lang: str = "zh") -> argparse.ArgumentParser:
    zh = lang == "zh"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=["zh", "en"], default=argparse.SUPPRESS,
                        help="消息语言：zh 中文（默认）或 en 英文" if zh else "message language: zh (default) or en")
    common.add_argument("--rules", metavar="DIR", default=argparse.SUPPRESS,
                        help="规则目录（默认：项目自带的 rules/，或环境变量 LINLI_RULES_DIR）" if zh
                        else "rules directory (default: the bundled rules/, or LINLI_RULES_DIR)")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="输出更多日志（-vv 显示每条规则的触发）" if zh else "more logs (-vv shows rule firings)")

    parser = _Parser(
        prog="linli",
        description="邻里：社区新居民融入计划推荐" if zh else "Linli: integration plans for new community residents",
        epilog=EPILOG_ZH if zh else EPILOG_EN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers, common, lang)
    return parser


def _configure_logging(verbosity: int) -> None:
    levels = {0: logging.WARNING, 1: logging.INFO}
    level = levels.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = _requested_lang(argv)
    _install_argparse_language(lang)
    parser = build_parser(lang)
    args = parser.parse_args(argv)
    args.lang = getattr(args, "lang", lang)
    args.rules = getattr(args, "rules", None)
    _configure_logging(getattr(args, "verbose", 0))

    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
