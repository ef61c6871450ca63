"""Write a batch's results as .xlsx, .csv or .jsonl.

The .xlsx has three sheets: plans, allocations with wait-lists, and a summary with native
charts. The .csv and .jsonl files have one line per input row. The HTML report with the
same charts lives in `service.batch_html`.

Every file is written to a temporary name beside the target and renamed at the end, so an
interrupted run never leaves a half-written file under the final name. Workbooks carry a
fixed creation time, so rerunning a batch gives byte-identical output.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import xlsxwriter

from engine.allocation import Allocation, ItemUse, WaitlistEntry
from models.catalogue import KIND_LABELS_ZH, ItemKind
from service.batch_io import FIXED_CREATED, atomic_path
from service.batch_run import BatchData, BatchSummary

EXCEL_MAX_ROWS = 1_048_576
CHART_ROW_PIXELS = 20
"""Default row height in pixels, to skip the rows a chart covers."""

KIND_LABELS_EN: dict[ItemKind, str] = {
    ItemKind.service: "Services",
    ItemKind.resource: "Resources",
    ItemKind.interest_group: "Interest groups",
    ItemKind.volunteer_task: "Volunteer tasks",
    ItemKind.event: "Events",
}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "sheet_plans": "计划", "sheet_allocation": "分配与候补", "sheet_summary": "汇总",
        "row": "行号", "household_id": "户编号", "community_id": "社区编号", "status": "状态",
        "segment": "人群分类", "weight": "优先权重", "weight_reason": "优先理由", "errors": "错误信息",
        "top": "{kind}（前 {n} 项）", "reasons": "{kind}推荐理由", "allocated": "{kind}分配结果",
        "waitlist": "{kind}候补", "ok": "成功", "error": "错误", "place": "{name} 第 {place} 位",
        "kind": "项目类别", "item_id": "项目编号", "item": "项目名称", "result": "结果",
        "result_seat": "已分配", "result_wait": "候补", "wait_place": "候补顺位", "score": "推荐得分",
        "weighted": "加权得分", "rank": "计划中排名", "holds": "已获同类项目数", "wait_reason": "候补原因",
        "reason_full": "名额已满（共 {seats} 个）",
        "reason_full_at_limit": "名额已满（共 {seats} 个）；本户已分到 {holds} 项同类项目（每户每类最多 {limit} 项），"
                                "补上需先退出一项",
        "over_limit": "因每户上限未列入候补的推荐",
        "title": "批量匹配汇总", "overview": "概况", "source": "输入文件", "encoding": "编码或工作表",
        "rows": "数据行数", "planned": "生成计划", "failed": "有错误的行", "blank": "跳过的空行",
        "ignored": "忽略的列", "communities": "社区数", "version": "规则版本", "seats_total": "分配名额",
        "waitlisted": "候补条数", "seconds": "用时（秒）：计划 / 分配",
        "segments": "人群分类", "households": "户数", "share": "占比",
        "items": "名额与需求（各社区合计）", "seats": "名额", "demand": "需求户数", "assigned_n": "已分配",
        "waiting_n": "候补", "unlimited": "不限", "by_community": "名额与需求（分社区）",
        "indicators": "预计指标", "indicator": "指标", "target": "目标", "reached": "是否达到",
        "note": "说明", "yes": "是", "no": "否", "no_target": "—",
        "chart_segments": "人群分类户数", "chart_items": "名额与需求", "chart_indicators": "预计指标与目标",
        "actual": "预计", "report_title": "邻里 批量匹配报告",
    },
    "en": {
        "sheet_plans": "Plans", "sheet_allocation": "Allocation and waitlist", "sheet_summary": "Summary",
        "row": "Row", "household_id": "Household id", "community_id": "Community", "status": "Status",
        "segment": "Segment", "weight": "Priority weight", "weight_reason": "Priority reason", "errors": "Errors",
        "top": "{kind} (top {n})", "reasons": "{kind}: reasons", "allocated": "{kind}: allocated",
        "waitlist": "{kind}: waitlist", "ok": "ok", "error": "error", "place": "{name} #{place}",
        "kind": "Kind", "item_id": "Item id", "item": "Item", "result": "Result",
        "result_seat": "allocated", "result_wait": "waitlist", "wait_place": "Waitlist place", "score": "Score",
        "weighted": "Weighted score", "rank": "Rank in plan", "holds": "Items of this kind held",
        "wait_reason": "Waitlist reason", "reason_full": "no seat left ({seats} seats)",
        "reason_full_at_limit": "no seat left ({seats} seats); the household holds {holds} item(s) of this kind "
                                "(at most {limit} per household) and must give one up first",
        "over_limit": "Not wait-listed: household at its maximum",
        "title": "Batch matching summary", "overview": "Overview", "source": "Input file", "encoding": "Encoding or sheet",
        "rows": "Data rows", "planned": "Planned", "failed": "Rows with errors", "blank": "Blank rows skipped",
        "ignored": "Ignored columns", "communities": "Communities", "version": "Rule version",
        "seats_total": "Seats allocated", "waitlisted": "Waitlist entries", "seconds": "Seconds: plan / allocate",
        "segments": "Segments", "households": "Households", "share": "Share",
        "items": "Seats and demand (all communities)", "seats": "Seats", "demand": "Demand", "assigned_n": "Allocated",
        "waiting_n": "Waitlist", "unlimited": "unlimited", "by_community": "Seats and demand by community",
        "indicators": "Projected indicators", "indicator": "Indicator", "target": "Target", "reached": "Reached",
        "note": "Note", "yes": "yes", "no": "no", "no_target": "-",
        "chart_segments": "Households per segment", "chart_items": "Seats and demand",
        "chart_indicators": "Projected indicators and targets", "actual": "Projected",
        "report_title": "Linli batch matching report",
    },
}


def text(lang: str, key: str, **params: object) -> str:
    return LABELS["en" if lang == "en" else "zh"][key].format(**params)


def kind_label(kind: ItemKind, lang: str) -> str:
    return KIND_LABELS_EN[kind] if lang == "en" else KIND_LABELS_ZH[kind]


def item_name(batch: BatchData, item_id: str, lang: str) -> str:
    item = batch.planner.rulebase.items.get(item_id)
    if item is None:
        return item_id
    return (item.name_en or item.name) if lang == "en" else item.name


def segment_name(batch: BatchData, segment_id: str, lang: str) -> str:
    return segment_id if lang == "en" else batch.summary.segment_names.get(segment_id, segment_id)


def write_output(batch: BatchData, path: Path, output_format: str, lang: str) -> None:
    writer = {"xlsx": write_xlsx, "csv": write_csv, "jsonl": write_jsonl}[output_format]
    with atomic_path(path) as temporary:
        writer(batch, temporary, lang)


# The plans table, shared by .xlsx and .csv


def plan_headers(batch: BatchData, lang: str) -> list[str]:
    headers = [text(lang, k) for k in ("row", "household_id", "community_id", "status", "segment", "weight",
                                       "weight_reason")]
    n = batch.settings.top_items_in_sheet
    for kind in ItemKind:
        label = kind_label(kind, lang)
        headers += [text(lang, "top", kind=label, n=n), text(lang, "reasons", kind=label)]
        if kind in batch.settings.seats_per_household:
            headers += [text(lang, "allocated", kind=label), text(lang, "waitlist", kind=label)]
    return headers + [text(lang, "errors")]


def plan_rows(batch: BatchData, lang: str) -> Iterator[list[object]]:
    """Yield one plans-table row per input row, in input order."""
    assigned = batch.allocation.assigned_by_position()
    waiting = batch.allocation.waitlist_by_position()
    width = len(plan_headers(batch, lang))
    for position, record in enumerate(batch.records()):
        values: list[object] = [record["row"], record["household_id"] or "", record["community_id"] or ""]
        if record["status"] != "ok":
            values += [text(lang, "error")] + [""] * (width - 4)
            values[-1] = "\n".join(record["errors_en" if lang == "en" else "errors_zh"])
            yield values
            continue
        values += [text(lang, "ok"), segment_name(batch, record["segment"], lang), record["weight"],
                   record["weight_reason"] or ""]
        for kind in ItemKind:
            values += _kind_cells(batch, record, kind, lang, assigned.get(position, {}), waiting.get(position, []))
        values.append("")
        yield values


def _kind_cells(batch: BatchData, record: dict, kind: ItemKind, lang: str, assigned: dict, waiting: list) -> list[str]:
    top = record["top"].get(kind.value, [])
    items = "\n".join(f"{item_name(batch, item_id, lang)} ({score:.2f})" for item_id, score, _ in top)
    reasons = "\n".join(f"{item_name(batch, item_id, lang)}: {'; '.join(why)}" for item_id, _, why in top)
    cells = [items, reasons]
    if kind in batch.settings.seats_per_household:
        cells.append("\n".join(item_name(batch, i, lang) for i in assigned.get(kind, [])))
        cells.append("\n".join(text(lang, "place", name=item_name(batch, w.item_id, lang), place=w.place)
                               for w in waiting if w.kind == kind))
    return cells


# .csv and .jsonl


def write_csv(batch: BatchData, path: Path, lang: str) -> None:
    """Write the plans table as UTF-8 with BOM, which Excel and WPS open without garbling."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(plan_headers(batch, lang))
        for values in plan_rows(batch, lang):
            writer.writerow(values)


def write_jsonl(batch: BatchData, path: Path, lang: str) -> None:
    """Write one JSON object per input row: the full plan or the errors, with seats and waitlist places."""
    assigned = batch.allocation.assigned_by_position()
    waiting = batch.allocation.waitlist_by_position()
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for position, record in enumerate(batch.records()):
            line: dict[str, object] = {"row": record["row"], "household_id": record["household_id"],
                                       "community_id": record["community_id"], "status": record["status"]}
            if record["status"] == "ok":
                line["priority_weight"] = record["weight"]
                line["allocated"] = {k.value: v for k, v in assigned.get(position, {}).items()}
                line["waitlist"] = [{"item_id": w.item_id, "kind": w.kind.value, "place": w.place}
                                    for w in waiting.get(position, [])]
                line["plan"] = record["plan"]
            else:
                line["errors"] = record["errors_en" if lang == "en" else "errors_zh"]
            handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")


# .xlsx


def write_xlsx(batch: BatchData, path: Path, lang: str) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties({"title": text(lang, "title"), "created": FIXED_CREATED})
    formats = {
        "header": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top"}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "error": workbook.add_format({"text_wrap": True, "valign": "top", "font_color": "#C00000"}),
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "section": workbook.add_format({"bold": True, "font_size": 12}),
        "percent": workbook.add_format({"num_format": "0.0%"}),
    }
    plans = workbook.add_worksheet(text(lang, "sheet_plans"))
    allocation = workbook.add_worksheet(text(lang, "sheet_allocation"))
    summary = workbook.add_worksheet(text(lang, "sheet_summary"))

    _write_plans_sheet(plans, batch, lang, formats)
    _write_allocation_sheet(allocation, batch, lang, formats)
    SummarySheet(workbook, summary, batch, lang, formats).write()
    workbook.close()


def _write_plans_sheet(sheet, batch: BatchData, lang: str, formats: dict) -> None:
    headers = plan_headers(batch, lang)
    sheet.freeze_panes(1, 3)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.repeat_rows(0)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 2, 14)
    sheet.set_column(3, 6, 10)
    sheet.set_column(7, len(headers) - 2, 28, formats["wrap"])
    sheet.set_column(len(headers) - 1, len(headers) - 1, 60, formats["wrap"])
    sheet.write_row(0, 0, headers, formats["header"])
    for row, values in enumerate(plan_rows(batch, lang), start=1):
        for col, value in enumerate(values):
            if isinstance(value, (int, float)):
                sheet.write_number(row, col, value)
            elif value:
                style = formats["error"] if col == len(values) - 1 else None
                sheet.write_string(row, col, value, style)


def _write_allocation_sheet(sheet, batch: BatchData, lang: str, formats: dict) -> None:
    headers = [text(lang, k) for k in ("community_id", "kind", "item_id", "item", "result", "wait_place", "row",
                                       "household_id", "score", "weight", "weighted", "rank", "holds", "wait_reason")]
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_column(0, len(headers) - 1, 14)
    sheet.set_column(3, 3, 22)
    sheet.set_column(len(headers) - 1, len(headers) - 1, 40)
    sheet.write_row(0, 0, headers, formats["header"])
    kind_order = {kind: i for i, kind in enumerate(ItemKind)}
    seats = sorted(batch.allocation.seats, key=lambda s: (s.community_id, kind_order[s.kind], s.item_id, s.position))
    waits = sorted(batch.allocation.waitlist, key=lambda w: (w.community_id, kind_order[w.kind], w.item_id, w.place))
    row = 1
    for seat in seats:
        sheet.write_row(row, 0, _allocation_values(batch, lang, seat, text(lang, "result_seat"), "", 0, ""))
        row += 1
    for wait in waits:
        if row >= EXCEL_MAX_ROWS:
            # NOTE: a sheet has room for 1,048,576 rows, so longer wait-lists are cut here (the .jsonl output has them all).
            break
        sheet.write_row(row, 0, _allocation_values(batch, lang, wait, text(lang, "result_wait"), wait.place,
                                                   wait.holds_same_kind, wait_reason(batch, wait, lang)))
        row += 1


def _allocation_values(batch: BatchData, lang: str, entry, result: str, place: object, holds: int,
                       reason: str) -> list[object]:
    return [entry.community_id, kind_label(entry.kind, lang), entry.item_id, item_name(batch, entry.item_id, lang),
            result, place, batch.row_numbers[entry.position], entry.household_id, entry.score, entry.weight,
            round(entry.score * entry.weight, 4), entry.rank, holds, reason]


def wait_reason(batch: BatchData, wait: WaitlistEntry, lang: str) -> str:
    """Say why a household waits: the item is full, and whether it must give up an item to take a freed seat."""
    limit = batch.settings.seats_per_household[wait.kind]
    if wait.holds_same_kind >= limit:
        return text(lang, "reason_full_at_limit", seats=wait.seats, holds=wait.holds_same_kind, limit=limit)
    return text(lang, "reason_full", seats=wait.seats)


def item_totals(allocation: Allocation) -> list[tuple[ItemKind, str, int | None, int, int, int]]:
    """Sum each item's seats, demand, allocations and waitlist over the communities."""
    totals: dict[tuple[ItemKind, str], list] = {}
    waiting: dict[tuple[ItemKind, str], int] = defaultdict(int)
    for entry in allocation.waitlist:
        waiting[(entry.kind, entry.item_id)] += 1
    for use in allocation.usage:
        key = (use.kind, use.item_id)
        current = totals.setdefault(key, [0, 0, 0])
        current[0] = None if use.seats is None or current[0] is None else current[0] + use.seats
        current[1] += use.demand
        current[2] += use.assigned
    kind_order = {kind: i for i, kind in enumerate(ItemKind)}
    rows = [(kind, item, seats, demand, assigned, waiting[(kind, item)])
            for (kind, item), (seats, demand, assigned) in totals.items()]
    return sorted(rows, key=lambda r: (kind_order[r[0]], r[1]))


class SummarySheet:
    """The summary sheet: overview, segments, seats against demand, indicators, with a chart each."""

    def __init__(self, workbook, sheet, batch: BatchData, lang: str, formats: dict):
        self.workbook = workbook
        self.sheet = sheet
        self.batch = batch
        self.lang = lang
        self.formats = formats
        self.row = 0

    def write(self) -> None:
        self.sheet.set_column(0, 0, 34)
        self.sheet.set_column(1, 6, 12)
        self.sheet.set_paper(9)
        self.sheet.fit_to_pages(1, 0)
        self.sheet.write_string(0, 0, text(self.lang, "title"), self.formats["title"])
        self.row = 2
        self._overview()
        self._segments()
        self._items()
        self._indicators()
        self._by_community()

    def _section(self, key: str, headers: list[str]) -> int:
        self.sheet.write_string(self.row, 0, text(self.lang, key), self.formats["section"])
        self.sheet.write_row(self.row + 1, 0, headers, self.formats["header"])
        first = self.row + 2
        return first

    def _overview(self) -> None:
        summary: BatchSummary = self.batch.summary
        source = summary.source
        lines = [
            ("source", source.name), ("encoding", source.encoding or source.sheet or ""),
            ("rows", summary.rows), ("planned", summary.planned), ("failed", summary.failed),
            ("blank", summary.blank_rows), ("ignored", "、".join(summary.ignored_columns)),
            ("communities", len(summary.communities)), ("version", summary.ruleset_version),
            ("seats_total", summary.seats), ("waitlisted", summary.waitlisted), ("over_limit", summary.over_limit),
        ]
        self.sheet.write_string(self.row, 0, text(self.lang, "overview"), self.formats["section"])
        for offset, (key, value) in enumerate(lines, start=1):
            self.sheet.write(self.row + offset, 0, text(self.lang, key))
            self.sheet.write(self.row + offset, 1, value)
        self.row += len(lines) + 2

    def _segments(self) -> None:
        summary = self.batch.summary
        first = self._section("segments", [text(self.lang, k) for k in ("segment", "households", "share")])
        ordered = sorted(summary.segments.items(), key=lambda kv: (-kv[1], kv[0]))
        for offset, (segment, count) in enumerate(ordered):
            self.sheet.write_row(first + offset, 0, [segment_name(self.batch, segment, self.lang), count])
            self.sheet.write_number(first + offset, 2, count / summary.planned if summary.planned else 0,
                                    self.formats["percent"])
        last = first + len(ordered) - 1
        if ordered:
            chart = self.workbook.add_chart({"type": "bar"})
            chart.add_series({"name": text(self.lang, "households"), "categories": [self.sheet.name, first, 0, last, 0],
                              "values": [self.sheet.name, first, 1, last, 1], "data_labels": {"value": True}})
            chart.set_y_axis({"reverse": True})
        self.row = max(last + 2, first + 1)
        if ordered:
            self._place(chart, "chart_segments", len(ordered))

    def _items(self) -> None:
        headers = [text(self.lang, k) for k in ("item", "kind", "seats", "demand", "assigned_n", "waiting_n")]
        first = self._section("items", headers)
        rows = item_totals(self.batch.allocation)
        for offset, (kind, item_id, seats, demand, assigned, waiting) in enumerate(rows):
            seats_cell = text(self.lang, "unlimited") if seats is None else seats
            self.sheet.write_row(first + offset, 0, [item_name(self.batch, item_id, self.lang),
                                                     kind_label(kind, self.lang), seats_cell, demand, assigned, waiting])
        last = first + len(rows) - 1
        if rows:
            chart = self.workbook.add_chart({"type": "column"})
            for col, key in ((2, "seats"), (3, "demand"), (4, "assigned_n")):
                chart.add_series({"name": text(self.lang, key), "categories": [self.sheet.name, first, 0, last, 0],
                                  "values": [self.sheet.name, first, col, last, col]})
        self.row = max(last + 2, first + 1)
        if rows:
            self._place(chart, "chart_items", len(rows))

    def _indicators(self) -> None:
        headers = [text(self.lang, k) for k in ("indicator", "households", "share", "target", "reached", "note")]
        first = self._section("indicators", headers)
        results = self.batch.summary.indicators
        for offset, result in enumerate(results):
            indicator = result.indicator
            row = first + offset
            self.sheet.write_string(row, 0, indicator.name_en if self.lang == "en" else indicator.name)
            self.sheet.write_number(row, 1, result.households)
            self.sheet.write_number(row, 2, result.share, self.formats["percent"])
            if indicator.target is not None:
                self.sheet.write_number(row, 3, indicator.target, self.formats["percent"])
                self.sheet.write_string(row, 4, text(self.lang, "yes" if result.reached else "no"))
            else:
                self.sheet.write_string(row, 4, text(self.lang, "no_target"))
            self.sheet.write_string(row, 5, indicator.note or "")
        last = first + len(results) - 1
        if results:
            chart = self.workbook.add_chart({"type": "column"})
            for col, key in ((2, "actual"), (3, "target")):
                chart.add_series({"name": text(self.lang, key), "categories": [self.sheet.name, first, 0, last, 0],
                                  "values": [self.sheet.name, first, col, last, col]})
            chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
        self.row = max(last + 2, first + 1)
        if results:
            self._place(chart, "chart_indicators", len(results))

    def _by_community(self) -> None:
        headers = [text(self.lang, k) for k in ("community_id", "item", "kind", "seats", "demand", "assigned_n")]
        first = self._section("by_community", headers)
        uses: list[ItemUse] = sorted(self.batch.allocation.usage, key=lambda u: (u.community_id, u.kind, u.item_id))
        for offset, use in enumerate(uses):
            seats = text(self.lang, "unlimited") if use.seats is None else use.seats
            self.sheet.write_row(first + offset, 0, [use.community_id, item_name(self.batch, use.item_id, self.lang),
                                                     kind_label(use.kind, self.lang), seats, use.demand, use.assigned])
        self.row = first + len(uses) + 1

    def _place(self, chart, title_key: str, categories: int) -> None:
        """Insert `chart` below the table just written and move the row cursor past it."""
        height = max(288, 24 * categories + 120)
        chart.set_title({"name": text(self.lang, title_key)})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": height})
        self.sheet.insert_chart(self.row, 0, chart)
        self.row += -(-height // CHART_ROW_PIXELS) + 2
