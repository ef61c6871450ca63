"""`linli batch`: match a month's arrivals from an .xlsx or .csv sheet, with seat allocation.

    linli batch INPUT -o OUTPUT [--capacity FILE] [--report FILE.html] [--format xlsx|csv|jsonl]
    linli batch template -o FILE.xlsx

The exit status is 0 when the output was written, even if some rows have errors, because
those rows carry their error in the output. It is 1 when an input file as a whole cannot be
read, an output file cannot be written, or the rules are invalid, and then nothing is
written. It is 2 when the output's format is unknown or contradicts its file name.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from engine.errors import RuleSetError
from engine.loader import load_rulebase
from engine.messages import render
from service.batch_io import BatchFileError, check_output_path, write_template
from service.batch_run import OUTPUT_FORMATS, SUFFIX_FORMATS, Progress, run_batch
from service.cli_common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, load_planner, print_rule_errors

TEMPLATE_COMMAND = "template"
REPORT_SUFFIXES = (".html", ".htm")
TEMPLATE_SUFFIXES = (".xlsx",)


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser(
        "batch", parents=[common],
        help="批量匹配一个月的新居民（Excel/CSV），按名额分配兴趣小组与志愿任务" if zh
        else "match a month's arrivals from Excel/CSV, allocating group and task seats",
        description=("读取新居民登记表（.xlsx 或 .csv），为每一行生成计划，按名额在全体家庭中分配兴趣小组和志愿任务，"
                     "写出计划表、分配与候补表和汇总表。`linli batch template -o 模板.xlsx` 生成空白登记模板。") if zh
        else ("Read a registration sheet (.xlsx or .csv), plan every row, allocate group and task seats across the "
              "batch, and write plans, allocations with waitlists and a summary. "
              "`linli batch template -o FILE.xlsx` writes an empty template."),
    )
    parser.add_argument("input", metavar="INPUT",
                        help="登记表 .xlsx 或 .csv（UTF-8、带 BOM 的 UTF-8 或 GB18030/GBK），或 template" if zh
                        else "registration sheet .xlsx or .csv (UTF-8, UTF-8 with BOM or GB18030/GBK), or template")
    parser.add_argument("-o", "--output", metavar="OUTPUT", required=True,
                        help="结果文件；格式由扩展名 .xlsx、.csv、.jsonl 决定" if zh
                        else "output file; its extension .xlsx, .csv or .jsonl sets the format")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default=None,
                        help="输出格式（默认按 OUTPUT 的扩展名；与扩展名矛盾时报错）" if zh
                        else "output format (default: from OUTPUT's extension; rejected when the extension names another)")
    parser.add_argument("--capacity", metavar="FILE",
                        help="名额表 .xlsx 或 .csv（列：社区编号、项目编号、名额），覆盖目录中的名额" if zh
                        else "capacity sheet .xlsx or .csv (columns 社区编号, 项目编号, 名额) overriding catalogue seats")
    parser.add_argument("--report", metavar="FILE.html",
                        help="另写一份带图表的 HTML 报告" if zh else "also write an HTML report with charts")
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.input == TEMPLATE_COMMAND:
        return _write_template(args)

    output = Path(args.output)
    output_format = _output_format(output, args.format, args.lang)
    if output_format is None:
        return EXIT_USAGE
    if args.report and not _has_suffix(Path(args.report), REPORT_SUFFIXES, "report", args.lang):
        return EXIT_USAGE
    try:
        check_output_path(output, f"result.{output_format}")
        if args.report:
            check_output_path(Path(args.report), "report.html")
    except BatchFileError as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return EXIT_INVALID

    planner = load_planner(args.rules, args.lang)
    if planner is None:
        return EXIT_INVALID
    try:
        summary = _run_with_progress(args, planner, output, output_format)
    except BatchFileError as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return EXIT_INVALID
    except RuleSetError as exc:
        print_rule_errors(exc.problems, args.lang)
        return EXIT_INVALID
    finally:
        planner.close()

    _print_summary(args, summary)
    return EXIT_OK


def _output_format(output: Path, requested: str | None, lang: str) -> str | None:
    """Return the format that `--format` or else the suffix of OUTPUT names, or print why there is none.

    A `--format` that contradicts a suffix naming another format (`-o out.xlsx --format csv`)
    is rejected, so a file never contains another format than its name says.
    """
    suffix = output.suffix.lower()
    implied = SUFFIX_FORMATS.get(suffix)
    if requested is not None and implied is not None and implied != requested:
        print(render("batch_output_format_conflict", lang, format=requested, output=output, suffix=suffix),
              file=sys.stderr)
        return None
    chosen = requested or implied
    if chosen not in OUTPUT_FORMATS:
        print(render("batch_output_format", lang, output=output), file=sys.stderr)
        return None
    return chosen


def _has_suffix(path: Path, suffixes: tuple[str, ...], what: str, lang: str) -> bool:
    """Tell whether `path` ends in one of `suffixes`; print a message when it does not."""
    if path.suffix.lower() in suffixes:
        return True
    names = {"report": ("图表报告", "chart report"), "template": ("登记模板", "template")}[what]
    print(render("batch_output_suffix", lang, what=names[0], what_en=names[1], suffix=suffixes[0], output=path),
          file=sys.stderr)
    return False


def _print_summary(args, summary) -> None:
    if summary.blank_rows:
        print(render("batch_blank_rows", args.lang, count=summary.blank_rows), file=sys.stderr)
    if summary.ignored_columns:
        print(render("batch_ignored_columns", args.lang, columns="、".join(summary.ignored_columns)), file=sys.stderr)
    print(render("batch_summary", args.lang, rows=summary.rows, planned=summary.planned, failed=summary.failed,
                 seats=summary.seats, waiting=summary.waitlisted, output=args.output), file=sys.stderr)
    if args.report:
        print(render("batch_report_written", args.lang, output=args.report), file=sys.stderr)


def _run_with_progress(args, planner, output: Path, output_format: str):
    """Run the batch with a progress bar on standard error (shown only on a terminal)."""
    with tqdm(total=None, unit="户" if args.lang == "zh" else " rows", file=sys.stderr, disable=None,
              desc="计划" if args.lang == "zh" else "planning") as bar:
        def progress(state: Progress) -> None:
            if state.total is not None and bar.total != state.total:
                bar.total = state.total
                bar.refresh()
            bar.update(state.done - bar.n)

        return run_batch(Path(args.input), output, planner, output_format=output_format,
                         capacity_path=Path(args.capacity) if args.capacity else None,
                         report_path=Path(args.report) if args.report else None, lang=args.lang, progress=progress,
                         output_name=args.output)


def _write_template(args) -> int:
    output = Path(args.output)
    if not _has_suffix(output, TEMPLATE_SUFFIXES, "template", args.lang):
        return EXIT_USAGE
    try:
        check_output_path(output, "template.xlsx")
    except BatchFileError as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return EXIT_INVALID
    try:
        rulebase = load_rulebase(args.rules)
    except RuleSetError as exc:
        print_rule_errors(exc.problems, args.lang)
        return EXIT_INVALID
    write_template(output, rulebase)
    print(render("batch_template_written", args.lang, output=args.output), file=sys.stderr)
    return EXIT_OK
