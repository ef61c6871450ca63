"""Read a month's registration sheet (.xlsx or .csv) row by row into households.

The sheet follows the template that `linli batch template` writes: one household per
row under Chinese headers (see `template_columns`). Headers are matched after NFKC
normalisation with spaces, a trailing `*` and a bracketed note removed, so `户编号*`,
`入住日期（年/月/日）` and `户 编 号 ` all match. Blank rows are skipped and counted.
Every other row becomes one `RowInput`: a household, or the problems that name its row
and column. Rows are read lazily (openpyxl's read-only mode, the csv module on a
decoding stream), so memory does not grow with the file.

Personal columns (姓名, 电话, 地址, 身份证号) are accepted so that a registration export
can be used as it is. Names, phones and addresses go to the household's excluded fields,
and ID numbers are dropped. None of them is logged or written to any output.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import charset_normalizer
from pydantic import ValidationError

from engine.errors import FieldProblem, translate_field_error
from engine.loader import RuleBase
from engine.messages import render
from models.batch import BatchSettings
from models.household import Household
from service.batch_cells import (
    AVAILABILITY_LABELS,
    STRUCTURE_LABELS,
    TENURE_LABELS,
    CellFault,
    MemberFault,
    normalise,
    parse_bool,
    parse_choice,
    parse_choices,
    parse_date,
    parse_members,
    parse_need,
    parse_words,
    shorten,
    text_of,
)

logger = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 10
ENCODING_SAMPLE_BYTES = 1 << 20
GB_ENCODINGS = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""Start of an OLE compound file: an Excel 97-2003 .xls, or an .xlsx encrypted with a password."""

XLSX_SUFFIXES = (".xlsx", ".xlsm")
XLS_SUFFIXES = (".xls", ".et")
CSV_SUFFIXES = (".csv", ".txt", "", ".upload")
XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, IndexError, ValueError, TypeError,
               SyntaxError)
"""Exceptions openpyxl raises on a damaged workbook: zip faults, missing parts and invalid XML (ParseError is a SyntaxError)."""
FIXED_CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
"""Creation time written into workbooks, so that rerunning a batch gives byte-identical files."""


@dataclass(frozen=True)
class Column:
    """One template column: the household field it fills, its header and how it is read."""

    key: str
    header: str
    header_en: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""
    example: str = ""


class BatchFileError(Exception):
    """A file as a whole cannot be read (type, encoding, headers) or written; no output is left behind."""

    def __init__(self, code: str, problems: list[FieldProblem] | None = None, **params: object):
        self.code = code
        self.params = params
        self.problems = problems or []
        super().__init__(render(code, "en", **params))

    def message(self, lang: str = "zh") -> str:
        lines = [render(self.code, lang, **self.params)]
        lines += [p.message(lang) for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RowInput:
    """One non-blank data row: its sheet row number, and the household or its problems."""

    row: int
    household_id: str | None
    community_id: str | None
    household: Household | None
    problems: tuple[FieldProblem, ...] = ()


# The template


def template_columns(rulebase: RuleBase) -> list[Column]:
    """Return the template's columns; the ten need columns take their names from `dimensions.yaml`."""
    columns = [
        Column("household_id", "户编号", "household_id", "text", True, ("户号", "家庭编号"),
               "每户唯一的编号，不含姓名等个人信息；以 0 开头的编号请把单元格设为文本", "M2026-11-0001"),
        Column("community_id", "社区编号", "community_id", "text", True, ("社区", "社区代码"),
               "所属社区的编号；多个社区的文件按社区分别分配名额", "C001"),
        Column("structure", "家庭结构", "structure", "structure", True, (), _labels_note(STRUCTURE_LABELS), "核心家庭"),
        Column("tenure", "住房类型", "tenure", "tenure", True, ("住房情况",), _labels_note(TENURE_LABELS), "自有住房"),
        Column("move_in_date", "入住日期", "move_in_date", "date", True, ("入住时间",),
               "2026-11-05、2026/11/5、2026年11月5日或 Excel 日期", "2026-11-05"),
        Column("married_on", "结婚日期", "married_on", "date", False, ("结婚登记日期",),
               "可空；用于判断两年内的新婚家庭", "2025-05-20"),
        Column("foreign_resident", "外籍", "foreign_resident", "bool", False, ("是否外籍", "外籍居民"),
               "是/否，留空为否", "否"),
        Column("members", "家庭成员", "members", "members", True, ("成员",),
               "每位成员用分号隔开：关系 年龄 [职业] [就业] [慢病] [残疾] [语言:英语]，必须有一位户主",
               "户主 34 白领 在业；配偶 32 专业技术 在业；子女 4"),
        Column("interests", "兴趣", "interests", "interests", False, ("兴趣爱好",),
               "用顿号或逗号隔开，如 阅读、健身", "阅读、健身"),
        Column("skills", "技能", "skills", "skills", False, ("特长",), "用顿号或逗号隔开，如 园艺、组织活动", "园艺"),
        Column("availability", "可参与时间", "availability", "availability", False, ("空闲时间",),
               _labels_note(AVAILABILITY_LABELS) + "，可填多个", "工作日晚上、周末"),
    ]
    levels = "、".join(f"{level} {name}" for level, name in sorted(rulebase.level_names.items()))
    for dimension in rulebase.dimensions.dimensions:
        columns.append(Column(f"needs.{dimension.id}", dimension.name, dimension.id, "need", True, (dimension.name_en,),
                              f"需求程度 0–4（{levels}），调查未涉及填“未知”", "2"))
    columns += [
        Column("contact_name", "联系人", "contact_name", "personal", False, ("姓名", "户主姓名"), "可空；不会写入结果"),
        Column("contact_phone", "联系电话", "contact_phone", "personal", False, ("电话", "手机", "手机号"),
               "可空；请设为文本以保留开头的 0；不会写入结果"),
        Column("address", "住址", "address", "personal", False, ("地址", "门牌号", "房号"), "可空；不会写入结果"),
        Column("id_number", "身份证号", "id_number", "ignored", False, ("身份证", "证件号码"), "无需填写；即使填写也不会读取"),
        Column("remark", "备注", "remark", "ignored", False, (), "可空；不读取"),
    ]
    return columns


def _labels_note(labels: dict) -> str:
    return "可填：" + "、".join(words[0] for words in labels.values())


def header_key(text: object) -> str:
    """Normalise a header for matching: NFKC, no spaces, no trailing `*`, no bracketed note."""
    value = normalise(str(text)) if text is not None else ""
    value = re.sub(r"\s+", "", value)
    value = re.sub(r"\(.*?\)|\[.*?\]", "", value)
    return value.rstrip("*").lower()


# Opening files


@dataclass
class SheetInfo:
    """Source of the rows: display name, format, detected encoding or sheet, estimated row count."""

    name: str
    format: str
    encoding: str | None = None
    sheet: str | None = None
    total_rows: int | None = None


def sniff_format(path: Path, name: str | None = None) -> str:
    """Tell an .xlsx from a .csv by the file's first bytes, then by its suffix.

    Raises:
        BatchFileError: the file is missing, a folder, unreadable or empty. It is an old .xls,
            a password-protected workbook, an .xlsx that is no zip archive, or of another type.
    """
    name = name or path.name
    head = _read_head(path, name)
    suffix = path.suffix.lower()
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC) or suffix in XLS_SUFFIXES:
        raise BatchFileError("batch_xls", file=name)
    if suffix in XLSX_SUFFIXES:
        raise BatchFileError("batch_not_xlsx", file=name)
    if not head:
        raise BatchFileError("batch_file_empty", file=name)
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise BatchFileError("batch_format", file=name, suffix=suffix)


def _read_head(path: Path, name: str) -> bytes:
    """Return the first bytes of `path`, turning each way of failing to open it into a `BatchFileError`."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(OLE_MAGIC))
    except FileNotFoundError:
        raise BatchFileError("batch_file_missing", file=name) from None
    except IsADirectoryError:
        raise BatchFileError("batch_file_directory", file=name) from None
    except PermissionError:
        raise BatchFileError("batch_file_permission", file=name) from None
    except OSError as exc:
        raise BatchFileError("batch_file_unreadable", file=name, detail=exc.strerror or type(exc).__name__) from None


def detect_encoding(sample: bytes, name: str) -> str:
    """Name the codec of a CSV: UTF-8 (with or without BOM) or GB18030, which reads GBK and GB2312."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        raise BatchFileError("batch_not_text", file=name)
    if best.encoding in GB_ENCODINGS:
        return "gb18030"
    raise BatchFileError("batch_encoding", file=name, detected=best.encoding)


@contextmanager
def open_rows(path: Path, name: str | None = None) -> Iterator[tuple[SheetInfo, Iterator[tuple[int, tuple]]]]:
    """Open an .xlsx or .csv file and yield its info and an iterator of (row number, cells)."""
    name = name or path.name
    kind = sniff_format(path, name)
    if kind == "xlsx":
        with _open_xlsx(path, name) as opened:
            yield opened
    else:
        with _open_csv(path, name) as opened:
            yield opened


@contextmanager
def _open_xlsx(path: Path, name: str) -> Iterator[tuple[SheetInfo, Iterator[tuple[int, tuple]]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    # An open file rather than the path, because openpyxl rejects a path whose suffix is not .xlsx.
    with path.open("rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            sheet = _registration_sheet(workbook)
        except (*XLSX_ERRORS, InvalidFileException) as exc:
            raise _not_xlsx(name, exc) from None
        try:
            info = SheetInfo(name, "xlsx", sheet=sheet.title, total_rows=sheet.max_row)
            yield info, _xlsx_rows(sheet, name)
        finally:
            workbook.close()


def _xlsx_rows(sheet, name: str) -> Iterator[tuple[int, tuple]]:
    """Yield numbered rows; openpyxl's read-only mode parses the sheet only now, so a damaged one fails here."""
    try:
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except XLSX_ERRORS as exc:
        raise _not_xlsx(name, exc) from None


def _not_xlsx(name: str, exc: Exception) -> BatchFileError:
    logger.info("cannot read %s as a workbook: %s: %s", name, type(exc).__name__, exc)
    return BatchFileError("batch_not_xlsx", file=name)


def _registration_sheet(workbook):
    """Return the first sheet with a household-id header near its top, else the first sheet."""
    wanted = {header_key(h) for h in ("户编号", "户号", "家庭编号", "household_id")}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True):
            if any(header_key(cell) in wanted for cell in row if cell is not None):
                return sheet
    return workbook.worksheets[0]


@contextmanager
def _open_csv(path: Path, name: str) -> Iterator[tuple[SheetInfo, Iterator[tuple[int, tuple]]]]:
    with path.open("rb") as raw:
        sample = raw.read(ENCODING_SAMPLE_BYTES)
        encoding = detect_encoding(sample, name)
        total = _count_lines(raw, sample)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        info = SheetInfo(name, "csv", encoding=encoding, total_rows=total)
        try:
            yield info, _csv_rows(text, name, encoding)
        finally:
            text.detach()


def _count_lines(raw, sample: bytes) -> int:
    count = sample.count(b"\n")
    for chunk in iter(lambda: raw.read(ENCODING_SAMPLE_BYTES), b""):
        count += chunk.count(b"\n")
    return count


def _csv_rows(text: io.TextIOWrapper, name: str, encoding: str) -> Iterator[tuple[int, tuple]]:
    reader = csv.reader(text)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, tuple(row)
    except UnicodeDecodeError:
        raise BatchFileError("batch_encoding", file=name, detected=encoding) from None
    except csv.Error as exc:
        raise BatchFileError("batch_csv_invalid", file=name, line=reader.line_num, detail=str(exc)) from None


# Reading rows


@dataclass
class SheetReader:
    """Turn the rows of one opened file into `RowInput`s; call `read` once.

    `blank_rows` counts the skipped blank rows and `ignored_columns` the headers no
    template column matched; both are filled as `read` runs.
    """

    rulebase: RuleBase
    settings: BatchSettings
    max_rows: int | None = None
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    header_row: int = 0

    def read(self, info: SheetInfo, rows: Iterator[tuple[int, tuple]]) -> Iterator[RowInput]:
        columns = template_columns(self.rulebase)
        mapping = self._find_header(info, rows, columns)
        seen_ids: dict[str, int] = {}
        data_rows = 0
        for number, cells in rows:
            if all(text_of(cell) is None for cell in cells):
                self.blank_rows += 1
                continue
            data_rows += 1
            if self.max_rows is not None and data_rows > self.max_rows:
                raise BatchFileError("batch_too_many_rows", limit=self.max_rows)
            yield self._convert(number, cells, mapping, seen_ids)

    def _find_header(self, info: SheetInfo, rows, columns: list[Column]) -> dict[int, tuple[Column, str]]:
        by_key: dict[str, Column] = {}
        for column in columns:
            for text in (column.header, column.header_en, *column.aliases):
                by_key[header_key(text)] = column

        for number, cells in rows:
            keys = [header_key(c) for c in cells]
            if any(k in by_key and by_key[k].key == "household_id" for k in keys):
                self.header_row = number
                return self._map_header(info, cells, keys, by_key, columns)
            if number >= HEADER_SEARCH_ROWS:
                break
        raise BatchFileError("batch_no_header", file=info.name, rows=HEADER_SEARCH_ROWS)

    def _map_header(self, info: SheetInfo, cells, keys: list[str], by_key: dict[str, Column],
                    columns: list[Column]) -> dict[int, tuple[Column, str]]:
        mapping: dict[int, tuple[Column, str]] = {}
        first_index: dict[str, int] = {}
        for index, key in enumerate(keys):
            if not key:
                continue
            shown = normalise(str(cells[index]))
            column = by_key.get(key)
            if column is None:
                self.ignored_columns.append(shown)
                continue
            if column.key in first_index:
                raise BatchFileError("batch_duplicate_column", file=info.name, column=shown,
                                     first=first_index[column.key] + 1, second=index + 1)
            first_index[column.key] = index
            mapping[index] = (column, shown)

        missing = [c.header for c in columns if c.required and c.key not in first_index]
        if missing:
            raise BatchFileError("batch_missing_columns", file=info.name, columns="、".join(missing))
        if self.ignored_columns:
            logger.info("ignored %d unknown columns in %s: %s", len(self.ignored_columns), info.name,
                        ", ".join(self.ignored_columns))
        return mapping

    def _convert(self, number: int, cells: tuple, mapping: dict[int, tuple[Column, str]],
                 seen_ids: dict[str, int]) -> RowInput:
        data: dict[str, object] = {}
        needs: dict[str, object] = {}
        problems: list[FieldProblem] = []
        headers: dict[str, str] = {}
        for index, (column, shown) in mapping.items():
            headers[column.key] = shown
            value = cells[index] if index < len(cells) else None
            try:
                parsed = self._parse(column, value)
            except CellFault as fault:
                problems.append(_cell_problem(number, column, shown, fault))
                continue
            if parsed is None or parsed == []:
                if column.required:
                    problems.append(_cell_problem(number, column, shown, CellFault("batch_required")))
                continue
            if column.key.startswith("needs."):
                needs[column.key.removeprefix("needs.")] = parsed
            elif column.kind != "ignored":
                data[column.key] = parsed

        household_id = data.get("household_id")
        if isinstance(household_id, str):
            first = seen_ids.setdefault(household_id, number)
            if first != number:
                fault = CellFault("batch_duplicate_id", value=shorten(household_id), first=first)
                problems.append(_cell_problem(number, mapping_column(mapping, "household_id"), headers["household_id"], fault))
        community_id = data.get("community_id") if isinstance(data.get("community_id"), str) else None
        if problems:
            return RowInput(number, household_id, community_id, None, tuple(problems))

        data["needs"] = needs
        try:
            household = Household.model_validate(data)
        except ValidationError as exc:
            return RowInput(number, household_id, community_id, None, tuple(_validation_problems(number, exc, headers)))
        return RowInput(number, household.household_id, household.community_id, household)

    def _parse(self, column: Column, value: object) -> object:
        kind = column.kind
        if kind in ("text", "personal"):
            return text_of(value)
        if kind == "ignored":
            return None
        if kind == "date":
            return parse_date(value)
        if kind == "bool":
            return parse_bool(value)
        if kind == "need":
            return parse_need(value, self.rulebase.level_names)
        if kind == "members":
            return parse_members(value)
        if kind == "interests":
            return parse_words(value, self.settings.interest_labels)
        if kind == "skills":
            return parse_words(value, self.settings.skill_labels)
        if kind == "availability":
            return parse_choices(value, AVAILABILITY_LABELS)
        labels = {"structure": STRUCTURE_LABELS, "tenure": TENURE_LABELS}[kind]
        return parse_choice(value, labels)


def mapping_column(mapping: dict[int, tuple[Column, str]], key: str) -> Column:
    return next(column for column, _ in mapping.values() if column.key == key)


def _cell_problem(row: int, column: Column, shown: str, fault: CellFault) -> FieldProblem:
    messages = []
    for lang in ("zh", "en"):
        params = dict(fault.params)
        if isinstance(fault, MemberFault):
            params["detail"] = render(fault.detail_code, lang, **fault.detail_params)
        detail = render(fault.code, lang, **params)
        messages.append(render("batch_cell", lang, row=row, column=shown, detail=detail))
    return FieldProblem(column.key, fault.code, messages[0], messages[1], row=row, column=shown)


def _validation_problems(row: int, exc: ValidationError, headers: dict[str, str]) -> list[FieldProblem]:
    """Map pydantic's errors to the column each one came from."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = "members" if not loc or loc[0] == "members" else str(loc[0])
        if key == "needs" and len(loc) > 1:
            key = f"needs.{loc[1]}"
        shown = headers.get(key, key)
        chinese, english = translate_field_error({**error, "input": shorten(str(error.get("input")))})
        problems.append(FieldProblem(key, error["type"],
                                     render("batch_cell", "zh", row=row, column=shown, detail=chinese),
                                     render("batch_cell", "en", row=row, column=shown, detail=english),
                                     row=row, column=shown))
    return problems


# Atomic writes


def _read_umask() -> int:
    """Return the process umask; read once at import because reading it means setting it."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def check_output_path(path: Path, example: str) -> None:
    """Check, before any work, that `path` names a file in an existing folder.

    Raises:
        BatchFileError: `path` is a folder, or its folder does not exist.
    """
    if path.is_dir():
        raise BatchFileError("batch_output_directory", output=str(path), example=example)
    if not path.parent.is_dir():
        raise BatchFileError("batch_output_no_folder", output=str(path), folder=str(path.parent))


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; move it over `final` only if the block succeeds.

    The temporary file is in the same directory, so `os.replace` is a rename on one file
    system and a reader never sees a half-written file under the final name.
    """
    final = Path(final)
    handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent or Path("."))
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, final)
    finally:
        if temporary.exists():
            temporary.unlink()



# Capacity sheet


CAPACITY_COLUMNS = (
    Column("community_id", "社区编号", "community_id", "text", False, ("社区",), "可空：空表示适用于所有社区", "C001"),
    Column("item", "项目编号", "item_id", "text", True, ("项目", "项目名称"), "项目 id 或中文名称", "grp_reading_club"),
    Column("seats", "名额", "seats", "text", True, ("剩余名额", "容量", "capacity"), "本月可分配的名额（整数）", "20"),
)


def read_capacities(path: Path, rulebase: RuleBase, settings: BatchSettings,
                    name: str | None = None) -> dict[tuple[str | None, str], int]:
    """Read a capacity sheet into {(community id or None, item id): seats}.

    Raises:
        BatchFileError: listing every invalid row, or when a required column is missing.
    """
    kinds = set(settings.seats_per_household)
    items = {i.id: i for i in rulebase.items.values() if i.kind in kinds}
    by_name = {i.name: i.id for i in items.values()}
    seats: dict[tuple[str | None, str], int] = {}
    problems: list[FieldProblem] = []

    with open_rows(path, name) as (info, rows):
        mapping = _capacity_header(info, rows)
        for number, cells in rows:
            values = {column.key: (text_of(cells[i]) if i < len(cells) else None, shown)
                      for i, (column, shown) in mapping.items()}
            if all(v is None for v, _ in values.values()):
                continue
            item_text, item_header = values["item"]
            seat_text, seat_header = values["seats"]
            item_id = item_text if item_text in items else by_name.get(item_text or "")
            if item_id is None:
                fault = CellFault("batch_capacity_item", value=shorten(item_text or ""), allowed="、".join(items),
                                  kinds="、".join(k.value for k in kinds))
                problems.append(_cell_problem(number, CAPACITY_COLUMNS[1], item_header, fault))
            if seat_text is None or not seat_text.isdigit():
                fault = CellFault("batch_capacity_seats", value=shorten(seat_text or ""))
                problems.append(_cell_problem(number, CAPACITY_COLUMNS[2], seat_header, fault))
            if item_id is not None and seat_text is not None and seat_text.isdigit():
                community = values.get("community_id", (None, ""))[0]
                seats[(community, item_id)] = int(seat_text)

    if problems:
        raise BatchFileError("batch_capacity_file", problems, file=info.name)
    logger.info("read %d capacity entries from %s", len(seats), info.name)
    return seats


def _capacity_header(info: SheetInfo, rows) -> dict[int, tuple[Column, str]]:
    by_key = {header_key(text): column for column in CAPACITY_COLUMNS
              for text in (column.header, column.header_en, *column.aliases)}
    for number, cells in rows:
        keys = [header_key(c) for c in cells]
        found = {i: (by_key[k], normalise(str(cells[i]))) for i, k in enumerate(keys) if k in by_key}
        if any(column.key == "item" for column, _ in found.values()):
            missing = [c.header for c in CAPACITY_COLUMNS
                       if c.required and all(column.key != c.key for column, _ in found.values())]
            if missing:
                raise BatchFileError("batch_missing_columns", file=info.name, columns="、".join(missing))
            return found
        if number >= HEADER_SEARCH_ROWS:
            break
    raise BatchFileError("batch_missing_columns", file=info.name, columns="、".join(c.header for c in CAPACITY_COLUMNS))


# Writing the template


TEMPLATE_SHEET = "新居民登记"
GUIDE_SHEET = "填写说明"
TEMPLATE_ROWS = 2000


def write_template(path: Path, rulebase: RuleBase) -> None:
    """Write an empty registration template with a guide sheet, atomically."""
    import xlsxwriter

    columns = template_columns(rulebase)
    with atomic_path(path) as temporary:
        workbook = xlsxwriter.Workbook(str(temporary))
        workbook.set_properties({"title": "邻里 新居民登记表", "created": FIXED_CREATED})
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        required = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True})
        text = workbook.add_format({"num_format": "@"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})

        sheet = workbook.add_worksheet(TEMPLATE_SHEET)
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header, required if column.required else header)
            sheet.set_column(index, index, max(10, len(column.header) * 2 + 2), day if column.kind == "date" else text)
            if column.note:
                sheet.write_comment(0, index, column.note, {"x_scale": 2})
            _add_validation(sheet, index, column, rulebase)
        sheet.set_column(_index(columns, "members"), _index(columns, "members"), 40, text)

        guide = workbook.add_worksheet(GUIDE_SHEET)
        guide.set_column(0, 0, 14)
        guide.set_column(1, 1, 6)
        guide.set_column(2, 2, 70)
        guide.set_column(3, 3, 40)
        for col, title in enumerate(("列名", "必填", "说明", "示例")):
            guide.write_string(0, col, title, header)
        for row, column in enumerate(columns, start=1):
            guide.write_row(row, 0, (column.header, "是" if column.required else "", column.note, column.example))
        workbook.close()


def _index(columns: list[Column], key: str) -> int:
    return next(i for i, c in enumerate(columns) if c.key == key)


def _add_validation(sheet, index: int, column: Column, rulebase: RuleBase) -> None:
    """Offer a drop-down list where a column takes one of a few values."""
    choices = {
        "structure": [words[0] for words in STRUCTURE_LABELS.values()],
        "tenure": [words[0] for words in TENURE_LABELS.values()],
        "bool": ["是", "否"],
        "need": [str(level) for level in sorted(rulebase.level_names)] + ["未知"],
    }.get(column.kind)
    if choices:
        sheet.data_validation(1, index, TEMPLATE_ROWS, index, {"validate": "list", "source": choices,
                                                                "error_type": "warning"})
