"""Run one batch end to end: read rows, plan each household, allocate seats, write the outputs.

The CLI (`linli batch`) and the HTTP jobs (`/v1/batch/jobs`) both call `run_batch`.
Memory grows only with the allocator's input. Each planned row is spooled to a temporary
file as one compact JSON line (with the full plan only for JSON Lines output). Only the
applicants, a few counters and the row numbers stay in memory until the output is written.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from engine.allocation import Allocation, Applicant, Capacities, allocate, applicant_from_plan, load_batch_settings
from engine.errors import FieldProblem, RuleSetError
from engine.messages import render
from engine.planner import Planner
from models.batch import BatchSettings, Indicator
from models.catalogue import ItemKind
from models.plan import Plan
from service.batch_io import BatchFileError, RowInput, SheetInfo, SheetReader, open_rows, read_capacities

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = ("xlsx", "csv", "jsonl")
SUFFIX_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".xls": "xls", ".xlsm": "xlsm", ".json": "json", ".tsv": "tsv", ".html": "html", ".htm": "html"}
"""The format each output suffix stands for; formats outside `OUTPUT_FORMATS` cannot be written."""


@dataclass(frozen=True)
class Progress:
    """Progress of a batch: data rows planned, blank rows skipped, and the data rows expected in all.

    `total` is an estimate while rows are read (None when unknown) and equals `done` at the end.
    """

    done: int
    blank: int
    total: int | None


ProgressCallback = Callable[[Progress], None]
"""Called after each data row, and once more when every row has been read."""


@dataclass
class IndicatorResult:
    indicator: Indicator
    households: int
    population: int

    @property
    def share(self) -> float:
        return self.households / self.population if self.population else 0.0

    @property
    def reached(self) -> bool | None:
        return None if self.indicator.target is None else self.share >= self.indicator.target


@dataclass
class BatchSummary:
    """Counts and timings of one batch, for the summary sheet, the HTML report and the CLI."""

    source: SheetInfo
    ruleset_version: str
    rows: int = 0
    planned: int = 0
    failed: int = 0
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    segments: Counter = field(default_factory=Counter)
    segment_names: dict[str, str] = field(default_factory=dict)
    communities: Counter = field(default_factory=Counter)
    recommended: Counter = field(default_factory=Counter)
    indicators: list[IndicatorResult] = field(default_factory=list)
    seats: int = 0
    waitlisted: int = 0
    over_limit: int = 0
    plan_seconds: float = 0.0
    allocation_seconds: float = 0.0
    write_seconds: float = 0.0


@dataclass
class BatchData:
    """Input of the writers: the spooled rows, the allocation and the summary."""

    settings: BatchSettings
    planner: Planner
    allocation: Allocation
    summary: BatchSummary
    spool: IO[str]
    row_numbers: list[int]

    def records(self) -> Iterator[dict]:
        """Yield the spooled row records in input order."""
        self.spool.seek(0)
        for line in self.spool:
            yield json.loads(line)


def run_batch(input_path: Path, output_path: Path, planner: Planner, *, output_format: str = "xlsx",
              capacity_path: Path | None = None, report_path: Path | None = None, lang: str = "zh",
              progress: ProgressCallback | None = None, max_rows: int | None = None,
              input_name: str | None = None, capacity_name: str | None = None,
              output_name: str | None = None) -> BatchSummary:
    """Plan every row of `input_path`, allocate seats and write `output_path` (and the report).

    `input_name`, `capacity_name` and `output_name` are the names messages show (default: the paths).

    Raises:
        BatchFileError: the input or capacity file cannot be read as a whole, or an output
            file cannot be written.
        RuleSetError: `batch.yaml` beside the rules is invalid.
    """

    settings = load_batch_settings(planner.rulebase)
    overrides = read_capacities(capacity_path, planner.rulebase, settings, capacity_name) if capacity_path else None
    capacities = Capacities.from_rulebase(planner.rulebase, overrides)

    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        planned = plan_rows(input_path, planner, settings, spool, output_format == "jsonl", progress, max_rows,
                            input_name)
        allocation = allocate(planned.applicants, capacities, settings)
        planned.applicants.clear()
        batch = BatchData(settings, planner, allocation, planned.summary, spool, planned.row_numbers)
        finish_summary(batch)

        started = time.perf_counter()
        _write_files(batch, output_path, output_format, report_path, lang, output_name)
        batch.summary.write_seconds = time.perf_counter() - started
    logger.info("batch %s: %d rows, %d planned, %d failed, %d seats, %d wait-listed; plan %.1f s, allocate %.2f s, "
                "write %.1f s", batch.summary.source.name, batch.summary.rows, batch.summary.planned,
                batch.summary.failed, batch.summary.seats, batch.summary.waitlisted, batch.summary.plan_seconds,
                batch.summary.allocation_seconds, batch.summary.write_seconds)
    return batch.summary


def _write_files(batch: BatchData, output_path: Path, output_format: str, report_path: Path | None, lang: str,
                 output_name: str | None) -> None:
    """Write the output and the optional report; a failed write raises `BatchFileError` naming the file."""
    from service.batch_report import write_output

    try:
        write_output(batch, output_path, output_format, lang)
    except OSError as exc:
        raise _write_error(output_name or str(output_path), exc) from None
    if report_path is None:
        return

    from service.batch_html import write_html_report  # matplotlib is loaded only for a report

    try:
        write_html_report(batch, report_path, lang)
    except OSError as exc:
        raise _write_error(str(report_path), exc) from None


def _write_error(name: str, exc: OSError) -> BatchFileError:
    logger.warning("writing %s failed: %s", name, exc)
    return BatchFileError("batch_write_failed", output=name, detail=exc.strerror or str(exc))


@dataclass
class _Planned:
    summary: BatchSummary
    applicants: list[Applicant]
    row_numbers: list[int]


def plan_rows(input_path: Path, planner: Planner, settings: BatchSettings, spool: IO[str], full_plans: bool,
              progress: ProgressCallback | None, max_rows: int | None, input_name: str | None) -> _Planned:
    """Read and plan every row, spooling one JSON record per row; return the allocator's input."""
    reader = SheetReader(planner.rulebase, settings, max_rows=max_rows)
    started = time.perf_counter()
    with open_rows(Path(input_path), input_name) as (info, rows):
        summary = BatchSummary(info, planner.version, segment_names=dict(planner.rulebase.segment_names))
        planned = _Planned(summary, [], [])
        for position, row in enumerate(reader.read(info, rows)):
            record, applicant = _plan_row(planner, settings, row, position, full_plans)
            spool.write(json.dumps(record, ensure_ascii=False) + "\n")
            planned.row_numbers.append(row.row)
            _count(summary, record, applicant, planned)
            if progress is not None:
                progress(Progress(position + 1, reader.blank_rows, _data_rows_estimate(info, reader, position + 1)))
    summary.blank_rows = reader.blank_rows
    summary.ignored_columns = list(reader.ignored_columns)
    summary.plan_seconds = time.perf_counter() - started
    if progress is not None:
        progress(Progress(summary.rows, summary.blank_rows, summary.rows))
    return planned


def _data_rows_estimate(info: SheetInfo, reader: SheetReader, done: int) -> int | None:
    """Estimate the data rows: rows below the header, less the blank rows seen so far; at least `done`.

    NOTE: an .xlsx counts formatted but empty rows at its end in `max_row`, so the estimate
    can stay high until the last row is read.
    """
    if info.total_rows is None:
        return None
    return max(info.total_rows - reader.header_row - reader.blank_rows, done)


def _plan_row(planner: Planner, settings: BatchSettings, row: RowInput, position: int,
              full_plans: bool) -> tuple[dict, Applicant | None]:
    record: dict = {"row": row.row, "household_id": row.household_id, "community_id": row.community_id}
    if row.household is None:
        return _error_record(record, row.problems), None
    try:
        plan = planner.plan(row.household)
    except RuleSetError as exc:
        # A rule cycle shows up only for some households; report it on the row, keep the batch going.
        problems = [FieldProblem("$", p.code, render("batch_cell", "zh", row=row.row, column="-", detail=p.message("zh")),
                                 render("batch_cell", "en", row=row.row, column="-", detail=p.message("en")), row=row.row)
                    for p in exc.problems]
        logger.warning("row %d: planning failed with %s", row.row, ", ".join(p.code for p in exc.problems))
        return _error_record(record, problems), None

    applicant = applicant_from_plan(plan, position, settings)
    weight, reason = settings.weight_for(plan.tags, plan.segment.id)
    record.update(status="ok", segment=plan.segment.id, weight=weight, weight_reason=reason,
                  top=_top_items(plan, settings.top_items_in_sheet))
    if full_plans:
        record["plan"] = plan.model_dump(mode="json")
    return record, applicant


def _error_record(record: dict, problems) -> dict:
    record.update(status="error", errors_zh=[p.message("zh") for p in problems],
                  errors_en=[p.message("en") for p in problems])
    return record


def _top_items(plan: Plan, limit: int) -> dict[str, list[list]]:
    """Return per kind the first `limit` items as [item id, score, reasons]."""
    return {kind.value: [[r.item_id, r.score, r.reasons] for r in plan.recommendations.get(kind, [])[:limit]]
            for kind in ItemKind}


def _count(summary: BatchSummary, record: dict, applicant: Applicant | None, planned: _Planned) -> None:
    summary.rows += 1
    if applicant is None:
        summary.failed += 1
        return
    summary.planned += 1
    planned.applicants.append(applicant)
    summary.segments[record["segment"]] += 1
    summary.communities[record["community_id"]] += 1
    for kind, items in record["top"].items():
        if items:
            summary.recommended[kind] += 1


def finish_summary(batch: BatchData) -> None:
    """Add the allocation's counts and the projected indicators to the summary."""
    summary = batch.summary
    allocation = batch.allocation
    summary.seats = len(allocation.seats)
    summary.waitlisted = len(allocation.waitlist)
    summary.over_limit = allocation.over_limit
    summary.allocation_seconds = allocation.seconds
    allocated = Counter(kind.value for kind, _ in {(s.kind, s.position) for s in allocation.seats})
    for indicator in batch.settings.indicators:
        counts = allocated if indicator.measure == "allocated" else summary.recommended
        summary.indicators.append(IndicatorResult(indicator, counts[indicator.kind.value], summary.planned))
