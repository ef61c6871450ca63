"""`linli batch` end to end on the fixture month and on messy files: outputs, seats, atomicity, privacy."""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

import service.batch_report
from service.cli import main
from tests.conftest import ROOT
from tests.test_batch_io import HEADERS, row, write_csv

MONTH = ROOT / "fixtures" / "month"
ARRIVALS_XLSX = MONTH / "arrivals.xlsx"
ARRIVALS_CSV = MONTH / "arrivals.gb18030.csv"
FIXTURE_ROWS = 200


@pytest.fixture(scope="module")
def month_output(tmp_path_factory) -> Path:
    """The fixture month run once from .xlsx, with the HTML report."""
    directory = tmp_path_factory.mktemp("month")
    assert main(["batch", str(ARRIVALS_XLSX), "-o", str(directory / "out.xlsx"),
                 "--report", str(directory / "report.html")]) == 0
    return directory


def sheet_rows(path: Path, index: int) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook.worksheets[index].iter_rows(values_only=True))
    finally:
        workbook.close()


def header_index(rows: list[tuple], title: str) -> int:
    return list(rows[0]).index(title)


def test_fixture_xlsx_has_three_sheets_and_charts(month_output):
    path = month_output / "out.xlsx"

    workbook = openpyxl.load_workbook(path, read_only=True)
    names = workbook.sheetnames
    workbook.close()
    charts = [n for n in zipfile.ZipFile(path).namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]

    assert names == ["计划", "分配与候补", "汇总"]
    assert len(charts) == 3


def test_fixture_one_plan_row_per_input_row(month_output):
    rows = sheet_rows(month_output / "out.xlsx", 0)

    assert len(rows) == FIXTURE_ROWS + 1
    assert [r[0] for r in rows[1:]] == list(range(2, FIXTURE_ROWS + 2))
    assert {r[header_index(rows, "状态")] for r in rows[1:]} == {"成功"}


def test_fixture_capacity_never_exceeded(month_output, rulebase):
    rows = sheet_rows(month_output / "out.xlsx", 1)
    result, community, item = (header_index(rows, t) for t in ("结果", "社区编号", "项目编号"))

    taken = Counter((r[community], r[item]) for r in rows[1:] if r[result] == "已分配")

    assert taken
    for (_, item_id), count in taken.items():
        assert count <= rulebase.items[item_id].capacity


def test_fixture_one_item_per_kind(month_output):
    rows = sheet_rows(month_output / "out.xlsx", 1)
    result, kind, household = (header_index(rows, t) for t in ("结果", "项目类别", "户编号"))

    per_household = Counter((r[household], r[kind]) for r in rows[1:] if r[result] == "已分配")

    assert max(per_household.values()) == 1


def test_fixture_csv_input_same_plans(month_output, tmp_path):
    assert main(["batch", str(ARRIVALS_CSV), "-o", str(tmp_path / "from_csv.xlsx")]) == 0

    assert sheet_rows(tmp_path / "from_csv.xlsx", 0) == sheet_rows(month_output / "out.xlsx", 0)
    assert sheet_rows(tmp_path / "from_csv.xlsx", 1) == sheet_rows(month_output / "out.xlsx", 1)


def test_html_report_has_three_charts(month_output):
    page = (month_output / "report.html").read_text(encoding="utf-8")

    assert page.count("data:image/png;base64,") == 3
    assert "预计指标" in page


def test_rerun_gives_identical_files(tmp_path):
    outputs = []
    for run in ("a", "b"):
        directory = tmp_path / run
        directory.mkdir()
        assert main(["batch", str(ARRIVALS_CSV), "-o", str(directory / "out.xlsx"), "--report",
                     str(directory / "report.html")]) == 0
        assert main(["batch", str(ARRIVALS_CSV), "-o", str(directory / "out.jsonl")]) == 0
        outputs.append({p.name: p.read_bytes() for p in directory.iterdir()})

    assert outputs[0].keys() == {"out.xlsx", "out.jsonl", "report.html"}
    assert outputs[0] == outputs[1]


@pytest.fixture()
def messy_csv(tmp_path) -> Path:
    """Six data rows (two invalid, one repeated id), two blank rows, personal columns, GBK."""
    headers = HEADERS + ["联系人", "联系电话", "身份证号"]
    personal = ["王小明", "013912345678", "110101199001011234"]
    blank = [""] * len(headers)
    data = [row("H001") + personal, blank, row("H002", 入住日期="下个月") + personal, row("H003") + personal,
            blank, row("H001") + personal, row("H004", 外籍="不清楚") + personal, row("H005") + personal]
    return write_csv(tmp_path / "messy.csv", data, "gbk", headers)


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "jsonl"])
def test_row_count_preserved(messy_csv, tmp_path, suffix):
    output = tmp_path / f"out.{suffix}"

    assert main(["batch", str(messy_csv), "-o", str(output)]) == 0

    if suffix == "xlsx":
        rows = sheet_rows(output, 0)[1:]
        numbers, errors = [r[0] for r in rows], [r[-1] for r in rows]
    elif suffix == "csv":
        rows = list(csv.reader(output.read_text(encoding="utf-8-sig").splitlines(keepends=True)))[1:]
        numbers, errors = [int(r[0]) for r in rows], [r[-1] for r in rows]
    else:
        lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
        numbers, errors = [line["row"] for line in lines], ["\n".join(line.get("errors", [])) for line in lines]
    assert numbers == [2, 4, 5, 7, 8, 9]
    assert [bool(e) for e in errors] == [False, True, False, True, True, False]
    assert "第 4 行“入住日期”列" in errors[1]
    assert "与第 2 行重复" in errors[3]


def test_personal_data_never_output(messy_csv, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    outputs = [tmp_path / "out.xlsx", tmp_path / "out.csv", tmp_path / "out.jsonl"]
    for output in outputs:
        assert main(["batch", str(messy_csv), "-o", str(output), "--report", str(tmp_path / "r.html"), "-vv"]) == 0

    texts = [capsys.readouterr().err, caplog.text, (tmp_path / "r.html").read_text(encoding="utf-8")]
    texts += [outputs[1].read_text(encoding="utf-8-sig"), outputs[2].read_text(encoding="utf-8")]
    with zipfile.ZipFile(outputs[0]) as archive:
        texts += [archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")]
    for secret in ("王小明", "13912345678", "110101199001011234"):
        assert not [t for t in texts if secret in t], secret


def test_failed_write_keeps_previous_output(tmp_path, monkeypatch, capsys):
    output = tmp_path / "out.xlsx"
    output.write_bytes(b"previous result")

    def crash(batch, path, lang):
        path.write_bytes(b"half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.batch_report, "write_xlsx", crash)

    assert main(["batch", str(ARRIVALS_CSV), "-o", str(output)]) == 1

    message = capsys.readouterr().err
    assert f"无法写入 {output}（No space left on device）" in message
    assert "Traceback" not in message
    assert output.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_file_error_writes_nothing(tmp_path, capsys):
    bad = write_csv(tmp_path / "bad.csv", [["1", "2"]], headers=["户编号", "社区编号"])

    assert main(["batch", str(bad), "-o", str(tmp_path / "out.xlsx")]) == 1

    assert "缺少必填列" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_capacity_file_limits_seats(tmp_path):
    capacity = write_csv(tmp_path / "cap.csv", [["", "grp_fitness_club", "2"], ["C002", "grp_fitness_club", "0"]],
                         headers=["社区编号", "项目编号", "名额"])

    assert main(["batch", str(ARRIVALS_CSV), "-o", str(tmp_path / "out.xlsx"), "--capacity", str(capacity)]) == 0

    rows = sheet_rows(tmp_path / "out.xlsx", 1)
    result, community, item = (header_index(rows, t) for t in ("结果", "社区编号", "项目编号"))
    fitness = Counter(r[community] for r in rows[1:] if r[result] == "已分配" and r[item] == "grp_fitness_club")
    assert fitness == Counter({"C001": 2})


def test_template_round_trip(tmp_path):
    template = tmp_path / "template.xlsx"
    assert main(["batch", "template", "-o", str(template)]) == 0

    workbook = openpyxl.load_workbook(template)
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[1]]
    values = dict(zip(HEADERS, row("0001")))
    sheet.append([values.get(h, "") for h in headers])
    workbook.save(tmp_path / "filled.xlsx")

    assert headers[:2] == ["户编号", "社区编号"]
    assert main(["batch", str(tmp_path / "filled.xlsx"), "-o", str(tmp_path / "out.jsonl")]) == 0
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert line["household_id"] == "0001"
    assert line["status"] == "ok"


def test_output_format_unknown(tmp_path, capsys):
    assert main(["batch", str(ARRIVALS_CSV), "-o", str(tmp_path / "out.txt")]) == 2

    assert ".jsonl" in capsys.readouterr().err


def test_libreoffice_opens_output(month_output, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("soffice not installed (Debian: apt-get install libreoffice-calc-nogui)")

    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(month_output / "out.xlsx")],
                   check=True, capture_output=True, timeout=180)

    pdf = (tmp_path / "out.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) > 3
    if shutil.which("pdftotext") is None:
        return
    text = subprocess.run(["pdftotext", str(tmp_path / "out.pdf"), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode("utf-8")
    for expected in ("生活服务推荐理由", "候补顺位", "预计指标", "人群分类户数", "名额与需求", "预计指标与目标"):
        assert expected in text, expected


def test_report_without_chinese_font_uses_english(tmp_path, monkeypatch):
    import service.batch_html

    monkeypatch.setattr(service.batch_html, "cjk_font", lambda: None)

    assert main(["batch", str(ARRIVALS_CSV), "-o", str(tmp_path / "out.csv"), "--report", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("data:image/png;base64,") == 3


def test_english_labels(tmp_path):
    assert main(["batch", str(ARRIVALS_XLSX), "-o", str(tmp_path / "out.xlsx"), "--lang", "en"]) == 0

    rows = sheet_rows(tmp_path / "out.xlsx", 0)
    assert rows[0][:4] == ("Row", "Household id", "Community", "Status")
    assert rows[1][3] == "ok"


# Files that cannot be read or written


@pytest.mark.parametrize("name, content, expected", [
    ("empty.xlsx", b"", "无法读取 empty.xlsx：文件为空或不是有效的 .xlsx 文件。请用 Excel/WPS 另存为 .xlsx 后重试。"),
    ("garbage.xlsx", b"just text\n", "无法读取 garbage.xlsx：文件为空或不是有效的 .xlsx 文件"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "另存为 .xlsx"),
    ("month.xlsx", None, "这是一个文件夹"),
    ("missing.csv", "missing", "找不到文件 missing.csv"),
])
def test_unreadable_input_exits_1_with_message(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif content != "missing":
        path.write_bytes(content)

    code = main(["batch", str(path), "-o", str(tmp_path / "out.xlsx")])

    message = capsys.readouterr().err
    assert code == 1
    assert expected in message
    assert "Traceback" not in message
    assert not (tmp_path / "out.xlsx").exists()


def test_unreadable_input_in_english(tmp_path, capsys):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")

    assert main(["batch", str(path), "-o", str(tmp_path / "out.xlsx"), "--lang", "en"]) == 1

    assert "cannot read empty.xlsx: the file is empty or not a valid .xlsx file" in capsys.readouterr().err


@pytest.mark.parametrize("output, report, code, expected", [
    ("missing-folder/out.xlsx", None, 1, "文件夹 {tmp}/missing-folder 不存在"),
    ("existing-folder", None, 2, "无法从文件名"),
    ("existing-folder.xlsx", None, 1, "这是一个已有的文件夹"),
    ("out.xlsx", "missing-folder/r.html", 1, "文件夹 {tmp}/missing-folder 不存在"),
    ("out.xlsx", "r.xlsx", 2, "图表报告的文件名应以 .html 结尾"),
])
def test_output_path_checked_before_planning(messy_csv, tmp_path, capsys, output, report, code, expected):
    (tmp_path / "existing-folder").mkdir()
    (tmp_path / "existing-folder.xlsx").mkdir()
    args = ["batch", str(messy_csv), "-o", str(tmp_path / output)]
    if report:
        args += ["--report", str(tmp_path / report)]

    assert main(args) == code

    assert expected.format(tmp=tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_template_needs_xlsx_name(tmp_path, capsys):
    assert main(["batch", "template", "-o", str(tmp_path / "template.csv")]) == 2

    assert "应以 .xlsx 结尾" in capsys.readouterr().err
    assert not (tmp_path / "template.csv").exists()


# Output format


def test_format_from_suffix(messy_csv, tmp_path):
    assert main(["batch", str(messy_csv), "-o", str(tmp_path / "out.csv")]) == 0

    assert (tmp_path / "out.csv").read_bytes().startswith("\ufeff行号".encode("utf-8"))


def test_format_contradicting_suffix_rejected(messy_csv, tmp_path, capsys):
    assert main(["batch", str(messy_csv), "-o", str(tmp_path / "e.xlsx"), "--format", "csv"]) == 2

    message = capsys.readouterr().err
    assert "--format csv" in message
    assert "“.xlsx”不一致" in message
    assert not (tmp_path / "e.xlsx").exists()


def test_format_for_name_without_suffix(messy_csv, tmp_path):
    assert main(["batch", str(messy_csv), "-o", str(tmp_path / "result"), "--format", "jsonl"]) == 0

    lines = (tmp_path / "result").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    assert json.loads(lines[0])["row"] == 2


# Waitlists


def test_fixture_waitlist_only_for_full_items(month_output, rulebase):
    rows = sheet_rows(month_output / "out.xlsx", 1)
    result, community, item, holds, reason = (header_index(rows, t) for t in
                                              ("结果", "社区编号", "项目编号", "已获同类项目数", "候补原因"))
    taken = Counter((r[community], r[item]) for r in rows[1:] if r[result] == "已分配")
    waiting = [r for r in rows[1:] if r[result] == "候补"]

    assert waiting
    for r in waiting:
        seats = rulebase.items[r[item]].capacity
        assert taken[(r[community], r[item])] == seats, r
        assert r[reason].startswith(f"名额已满（共 {seats} 个）"), r
        assert ("每户每类最多 1 项" in r[reason]) == (r[holds] >= 1), r


def test_fixture_summary_counts_requests_over_limit(month_output):
    overview = {r[0]: r[1] for r in sheet_rows(month_output / "out.xlsx", 2) if r and r[0]}

    assert overview["因每户上限未列入候补的推荐"] > 0
    assert overview["候补条数"] > 0


# Output independent of the working directory and the clone's location


def test_rerun_from_other_directory_identical(messy_csv, tmp_path, monkeypatch):
    outputs = []
    for place in ("a", "b/deeper"):
        rules = shutil.copytree(ROOT / "rules", tmp_path / place / "rules")
        work = tmp_path / place / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        assert main(["batch", str(messy_csv), "-o", "out.jsonl", "--rules", str(rules)]) == 0
        outputs.append((work / "out.jsonl").read_bytes())

    assert outputs[0] == outputs[1]
    lines = [json.loads(line) for line in outputs[0].decode("utf-8").splitlines()]
    files = {rule["file"] for line in lines if "plan" in line for rule in line["plan"]["fired_rules"]}
    assert files
    assert all(re.fullmatch(r"rules/rulesets/\w+\.yaml", f) for f in files), files
