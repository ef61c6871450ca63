"""Reading registration sheets as offices export them: encodings, headers, dates, booleans, text ids."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from engine.allocation import load_batch_settings
from service.batch_io import BatchFileError, RowInput, SheetReader, open_rows, read_capacities

HEADERS = ["户编号", "社区编号", "家庭结构", "住房类型", "入住日期", "结婚日期", "外籍", "家庭成员", "兴趣", "技能",
           "可参与时间", "住房保障", "子女教育", "医疗健康", "生活便利", "就业发展", "社会交往", "文体休闲", "养老照护",
           "政务办理", "安全防范"]
NEEDS = ["1", "0", "2", "3", "1", "2", "2", "0", "1", "1"]


def row(household_id: str = "H001", **changes: object) -> list[object]:
    """One valid data row in `HEADERS` order; `changes` replace cells by header."""
    values: dict[str, object] = dict(zip(HEADERS, [
        household_id, "C001", "夫妻", "租房", "2026-11-05", "", "否", "户主 30 白领 在业；配偶 29 专业技术 在业",
        "阅读、健身", "", "周末", *NEEDS]))
    values.update(changes)
    return [values[h] for h in HEADERS]


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8", headers: list[str] = HEADERS) -> Path:
    lines = [",".join(headers)] + [",".join(str(v) for v in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]], headers: list[str] = HEADERS) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


@pytest.fixture(scope="module")
def settings(rulebase):
    return load_batch_settings(rulebase)


def read(path: Path, rulebase, settings) -> tuple[list[RowInput], SheetReader]:
    reader = SheetReader(rulebase, settings)
    with open_rows(path) as (info, rows):
        return list(reader.read(info, rows)), reader


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_detected(tmp_path, rulebase, settings, encoding):
    path = write_csv(tmp_path / "in.csv", [row("H001"), row("H002", 家庭成员="户主 70 退休 慢病", 家庭结构="单人")])

    rows, _ = read(path, rulebase, settings)

    assert [r.problems for r in rows] == [(), ()]
    assert rows[1].household.members[0].chronic_illness is True
    assert rows[1].household.structure.value == "single"


def test_csv_encoding_named_in_info(tmp_path):
    path = write_csv(tmp_path / "in.csv", [row()], "gbk")

    with open_rows(path) as (info, _):
        assert info.encoding == "gb18030"


def test_headers_with_spaces_and_fullwidth(tmp_path, rulebase, settings):
    messy = list(HEADERS)
    messy[0] = "户编号 "
    messy[1] = "　社区编号＊"
    messy[4] = "入住日期（年/月/日）"
    messy[6] = "外　籍"
    messy[11] = "住房保障  "

    rows, reader = read(write_xlsx(tmp_path / "in.xlsx", [row()], messy), rulebase, settings)

    assert rows[0].problems == ()
    assert rows[0].household.needs.housing == 1
    assert reader.ignored_columns == []


def test_unknown_columns_reported(tmp_path, rulebase, settings):
    path = write_csv(tmp_path / "in.csv", [row() + ["x"]], headers=HEADERS + ["来源渠道"])

    rows, reader = read(path, rulebase, settings)

    assert rows[0].problems == ()
    assert reader.ignored_columns == ["来源渠道"]


def test_blank_rows_skipped_and_counted(tmp_path, rulebase, settings):
    blank = [""] * len(HEADERS)
    path = write_csv(tmp_path / "in.csv", [row("H001"), blank, blank, row("H002"), ["  "] * len(HEADERS)])

    rows, reader = read(path, rulebase, settings)

    assert [r.row for r in rows] == [2, 5]
    assert reader.blank_rows == 3


def test_title_row_above_header(tmp_path, rulebase, settings):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2026年11月新居民登记表"])
    sheet.append(HEADERS)
    sheet.append(row())
    workbook.save(tmp_path / "in.xlsx")

    rows, _ = read(tmp_path / "in.xlsx", rulebase, settings)

    assert rows[0].row == 3
    assert rows[0].problems == ()


@pytest.mark.parametrize("cell, expected", [
    ("是", True), ("否", False), ("有", True), ("无", False), ("Y", True), ("√", True), ("", False), ("Yes", True),
])
def test_yes_no_booleans(tmp_path, rulebase, settings, cell, expected):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(外籍=cell)]), rulebase, settings)

    assert rows[0].household.foreign_resident is expected


def test_bad_boolean_names_row_and_column(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(), row("H002", 外籍="也许")]), rulebase, settings)

    problem = rows[1].problems[0]
    assert rows[1].household is None
    assert problem.row == 3
    assert problem.column == "外籍"
    assert "第 3 行“外籍”列" in problem.message_zh
    assert "也许" in problem.message_zh


@pytest.mark.parametrize("cell, expected", [
    ("2026/3/5", date(2026, 3, 5)), ("2026-03-05", date(2026, 3, 5)), ("2026.3.5", date(2026, 3, 5)),
    ("2026年3月5日", date(2026, 3, 5)), ("20260305", date(2026, 3, 5)), ("46086", date(2026, 3, 5)),
    ("２０２６/３/５", date(2026, 3, 5)), ("2026-03-05 00:00:00", date(2026, 3, 5)),
])
def test_text_dates(tmp_path, rulebase, settings, cell, expected):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(入住日期=cell)]), rulebase, settings)

    assert rows[0].household.move_in_date == expected


def test_excel_serial_and_date_cells(tmp_path, rulebase, settings):
    path = write_xlsx(tmp_path / "in.xlsx", [row("H001", 入住日期=46086), row("H002", 入住日期=datetime(2026, 3, 5)),
                                             row("H003", 入住日期=46086.0, 结婚日期=date(2025, 5, 20))])

    rows, _ = read(path, rulebase, settings)

    assert [r.household.move_in_date for r in rows] == [date(2026, 3, 5)] * 3
    assert rows[2].household.married_on == date(2025, 5, 20)


def test_bad_date_explains_forms(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(入住日期="2026/13/45")]), rulebase, settings)

    problem = rows[0].problems[0]
    assert problem.column == "入住日期"
    assert "2026/13/45" in problem.message_zh
    assert "2026/3/5" in problem.message_zh


def test_ids_and_phones_stay_text(tmp_path, rulebase, settings):
    headers = HEADERS + ["联系电话"]
    csv_rows, _ = read(write_csv(tmp_path / "in.csv", [row("0301") + ["013812345678"]], headers=headers),
                       rulebase, settings)
    xlsx_rows, _ = read(write_xlsx(tmp_path / "in.xlsx", [row("0302") + ["013812345678"], row(301.0) + [13812345678]],
                                   headers), rulebase, settings)

    assert csv_rows[0].household.household_id == "0301"
    assert csv_rows[0].household.contact_phone == "013812345678"
    assert xlsx_rows[0].household.household_id == "0302"
    assert xlsx_rows[0].household.contact_phone == "013812345678"
    assert xlsx_rows[1].household.household_id == "301"
    assert xlsx_rows[1].household.contact_phone == "13812345678"


def test_fullwidth_digits_in_values(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row("Ｈ００１", 家庭成员="户主　３０；配偶，２９")]), rulebase, settings)

    assert rows[0].household.household_id == "H001"
    assert [m.age for m in rows[0].household.members] == [30, 29]


def test_needs_levels_and_unknown(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(住房保障="高", 子女教育="未知", 医疗健康="4")]), rulebase, settings)

    needs = rows[0].household.needs
    assert needs.housing == 3
    assert needs.child_education == "unknown"
    assert needs.health == 4


def test_blank_need_is_error(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(养老照护="")]), rulebase, settings)

    assert [p.column for p in rows[0].problems] == ["养老照护"]
    assert "必填" in rows[0].problems[0].message_zh


def test_member_faults_located(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row("H001", 家庭成员="户主 30；朋友 29"),
                                                   row("H002", 家庭成员="户主 白领"),
                                                   row("H003", 家庭成员="配偶 30；子女 3")]), rulebase, settings)

    assert "第 2 位成员" in rows[0].problems[0].message_zh
    assert "户主" in rows[0].problems[0].message_zh
    assert "年龄" in rows[1].problems[0].message_zh
    assert rows[2].problems[0].column == "家庭成员"
    assert "户主" in rows[2].problems[0].message_zh


def test_member_words(tmp_path, rulebase, settings):
    text = "户主 40 白领 在业 语言:英语/中文；配偶 38 残疾 料理家务；子女 10 学生；父亲 70 退休 慢病"
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(家庭成员=text, 家庭结构="三代同堂")]), rulebase, settings)

    head, spouse, child, parent = rows[0].household.members
    assert head.languages == ("en", "zh")
    assert spouse.disability is True
    assert spouse.employment.value == "homemaker"
    assert child.employment.value == "student"
    assert parent.employment.value == "retired"
    assert parent.chronic_illness is True


def test_interest_labels_mapped(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row(兴趣="阅读，徒步 书法", 技能="园艺/组织活动")]), rulebase, settings)

    assert rows[0].household.interests == ("reading", "hiking", "calligraphy")
    assert rows[0].household.skills == ("gardening", "organising")


def test_every_row_yields_one_result(tmp_path, rulebase, settings):
    data = [row("H001"), row("H002", 入住日期="明天"), row("H003", 家庭结构="大家庭"), row("H004"),
            row("H001"), row("", 社区编号="")]

    rows, _ = read(write_csv(tmp_path / "in.csv", data), rulebase, settings)

    assert [r.row for r in rows] == [2, 3, 4, 5, 6, 7]
    assert [r.household is not None for r in rows] == [True, False, False, True, False, False]
    assert "与第 2 行重复" in rows[4].problems[0].message_zh
    assert {p.column for p in rows[5].problems} == {"户编号", "社区编号"}


def test_missing_required_column(tmp_path, rulebase, settings):
    headers = [h for h in HEADERS if h != "入住日期"]
    path = write_csv(tmp_path / "in.csv", [[v for h, v in zip(HEADERS, row()) if h != "入住日期"]], headers=headers)

    with pytest.raises(BatchFileError) as caught:
        read(path, rulebase, settings)

    assert caught.value.code == "batch_missing_columns"
    assert "入住日期" in caught.value.message("zh")


def test_no_header_row(tmp_path, rulebase, settings):
    path = write_csv(tmp_path / "in.csv", [["a", "b"]] * 12, headers=["甲", "乙"])

    with pytest.raises(BatchFileError, match="no header row"):
        read(path, rulebase, settings)


def test_old_xls_rejected(tmp_path, rulebase, settings):
    path = tmp_path / "in.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)

    with pytest.raises(BatchFileError) as caught:
        read(path, rulebase, settings)

    assert "另存为 .xlsx" in caught.value.message("zh")


def test_capacity_sheet_read(tmp_path, rulebase, settings):
    path = write_csv(tmp_path / "cap.csv", [["", "grp_reading_club", "5"], ["C002", "读书会", "2"]],
                     headers=["社区编号", "项目编号", "名额"])

    seats = read_capacities(path, rulebase, settings)

    assert seats == {(None, "grp_reading_club"): 5, ("C002", "grp_reading_club"): 2}


def test_capacity_sheet_errors_located(tmp_path, rulebase, settings):
    path = write_csv(tmp_path / "cap.csv", [["grp_reading_club", "-1"], ["svc_gas", "3"]], headers=["项目编号", "剩余名额"])

    with pytest.raises(BatchFileError) as caught:
        read_capacities(path, rulebase, settings)

    message = caught.value.message("zh")
    assert "第 2 行“剩余名额”列" in message
    assert "第 3 行“项目编号”列" in message
    assert "svc_gas" in message


def test_member_error_hides_words(tmp_path, rulebase, settings):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row("H001", 家庭成员="户主 张三丰 34"),
                                                   row("H002", 家庭成员="李四 34")]), rulebase, settings)

    first, second = rows[0].problems[0], rows[1].problems[0]
    assert "第 2 个词" in first.message_zh
    assert "张三丰" not in first.message_zh + first.message_en
    assert "李四" not in second.message_zh + second.message_en


# Files that cannot be read as a whole


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _damaged_sheet(tmp_path: Path) -> Path:
    """A real workbook whose sheet XML is cut in half: it opens, and fails while rows are read."""
    good = write_xlsx(tmp_path / "good.xlsx", [row("H001"), row("H002")])
    with zipfile.ZipFile(good) as source:
        members = {name: source.read(name) for name in source.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = sheet[: len(sheet) // 2]
    return _zip(tmp_path / "damaged.xlsx", members)


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504

UNREADABLE_FILES = {
    "empty.xlsx": (lambda d: _write(d / "empty.xlsx", b""), "batch_not_xlsx", "文件为空或不是有效的 .xlsx 文件"),
    "text.xlsx": (lambda d: _write(d / "garbage.xlsx", b"hello, not a workbook\n"), "batch_not_xlsx", "另存为 .xlsx"),
    "zip without workbook": (lambda d: _zip(d / "notes.xlsx", {"a.txt": b"hi"}), "batch_not_xlsx", "有效的 .xlsx"),
    "truncated zip": (lambda d: _write(d / "cut.xlsx", (write_xlsx(d / "full.xlsx", [row()])).read_bytes()[:2000]),
                      "batch_not_xlsx", "有效的 .xlsx"),
    "damaged sheet": (_damaged_sheet, "batch_not_xlsx", "有效的 .xlsx"),
    "old xls": (lambda d: _write(d / "old.xls", OLE_HEADER), "batch_xls", "另存为 .xlsx"),
    "html saved as xls": (lambda d: _write(d / "export.xls", b"<html><table><tr><td>1</td></tr></table></html>"),
                          "batch_xls", "另存为 .xlsx"),
    "encrypted xlsx": (lambda d: _write(d / "locked.xlsx", OLE_HEADER), "batch_xls", "不设密码"),
    "binary csv": (lambda d: _write(d / "photo.csv", bytes(range(256)) * 8), "batch_not_text", "UTF-8"),
    "empty csv": (lambda d: _write(d / "empty.csv", b""), "batch_file_empty", "文件为空"),
    "folder": (lambda d: _folder(d / "month.xlsx"), "batch_file_directory", "文件夹"),
    "missing xlsx": (lambda d: d / "missing.xlsx", "batch_file_missing", "找不到文件"),
    "missing csv": (lambda d: d / "missing.csv", "batch_file_missing", "找不到文件"),
    "numbers file": (lambda d: _write(d / "month.numbers", b"not supported"), "batch_format", "另存为 .xlsx 或 .csv"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", list(UNREADABLE_FILES))
def test_unreadable_file_named_with_fix(tmp_path, rulebase, settings, case):
    make, code, words = UNREADABLE_FILES[case]
    path = make(tmp_path)

    with pytest.raises(BatchFileError) as caught:
        read(path, rulebase, settings)

    assert caught.value.code == code
    assert path.name in caught.value.message("zh")
    assert words in caught.value.message("zh")
    assert path.name in caught.value.message("en")
    assert caught.value.message("en").startswith(("cannot read", "file "))


def test_capacity_sheet_unreadable_named(tmp_path, rulebase, settings):
    path = _write(tmp_path / "seats.xlsx", b"")

    with pytest.raises(BatchFileError) as caught:
        read_capacities(path, rulebase, settings)

    assert caught.value.code == "batch_not_xlsx"
    assert "seats.xlsx" in caught.value.message("zh")


def test_workbook_read_by_content_not_name(tmp_path, rulebase, settings):
    workbook = write_xlsx(tmp_path / "in.xlsx", [row("H001")])
    renamed = _write(tmp_path / "export.csv", workbook.read_bytes())

    rows, _ = read(renamed, rulebase, settings)

    assert [r.household.household_id for r in rows] == ["H001"]


# Members column: which part is wrong, without quoting it


@pytest.mark.parametrize("cell, expected, hidden", [
    ("户主 七十 退休", ["第 1 位成员", "第 2 个词", "阿拉伯数字", "70"], "七十"),
    ("户主 七十岁", ["阿拉伯数字"], "七十岁"),
    ("户主 1954 退休", ["第 2 个词", "一长串数字", "出生年份"], "1954"),
    ("户主 13912345678", ["一长串数字", "电话"], "13912345678"),
    ("户主 3个月", ["整数周岁", "不满 1 岁写 0"], "3个月"),
    ("户主 150", ["150", "0–120"], None),
    ("户主 34 35", ["年龄写了两次", "第 2 个词和第 3 个词"], None),
    ("户主 退休", ["缺少年龄"], None),
    ("户主 34 配偶 32", ["第 3 个词", "又是一个关系", "；"], None),
    ("34 户主 白领", ["关系要写在最前面", "第 2 个词"], None),
    ("户主 34 英语", ["语言:英语"], None),
    ("户主 34 语言英语", ["语言:英语"], "语言英语"),
    ("户主 70 退休人员", ["接近职业", "“退休”"], "退休人员"),
    ("户主 40 在职人员", ["接近就业状态", "“在职”"], "在职人员"),
    ("户主 34 王建国", ["第 3 个词无法识别", "不显示原文", "白领"], "王建国"),
])
def test_member_error_names_expected_form(tmp_path, rulebase, settings, cell, expected, hidden):
    rows, _ = read(write_csv(tmp_path / "in.csv", [row("H001", 家庭成员=cell, 家庭结构="单人")]), rulebase, settings)

    [problem] = rows[0].problems
    assert problem.column == "家庭成员"
    for words in expected:
        assert words in problem.message_zh, problem.message_zh
    assert problem.message_en != problem.message_zh
    if hidden is not None:
        assert hidden not in problem.message_zh + problem.message_en
