"""The `linli` command as a user runs it: a real subprocess, real files, exit codes, languages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import HOUSEHOLDS_DIR, ROOT

ELDERLY = str(HOUSEHOLDS_DIR / "elderly-alone.json")


def linli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=ROOT, timeout=120)


def test_plan_prints_json_with_chinese_characters():
    result = linli("plan", ELDERLY)
    assert result.returncode == 0, result.stderr
    assert "\\u" not in result.stdout
    plan = json.loads(result.stdout)
    resources = {r["item_id"]: r for r in plan["recommendations"]["resource"]}
    for item in ("res_grid_worker_visit", "res_neighbour_pairing", "res_emergency_services",
                 "res_anti_fraud_brochure", "res_chronic_disease_help"):
        assert item in resources
        assert any("规则" in reason for reason in resources[item]["reasons"])


def test_plan_text_format_is_chinese_summary():
    result = linli("plan", ELDERLY, "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "人群分类：老年独居" in result.stdout
    assert "【跟进日程】" in result.stdout


def test_plan_reads_standard_input():
    text = (HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8")
    result = linli("plan", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["segment"]["id"] == "newlyweds"


def test_plan_of_list_returns_list():
    households = [json.loads((HOUSEHOLDS_DIR / f"{n}.json").read_text(encoding="utf-8")) for n in ("newlyweds", "tenant-worker")]
    result = linli("plan", "-", stdin=json.dumps(households, ensure_ascii=False))
    assert result.returncode == 0, result.stderr
    assert [p["household_id"] for p in json.loads(result.stdout)] == [h["household_id"] for h in households]


def test_missing_need_is_error_naming_field():
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    del household["needs"]["safety"]
    result = linli("plan", "-", stdin=json.dumps(household))
    assert result.returncode == 1
    assert "needs.safety" in result.stderr
    assert "缺少需求分值" in result.stderr
    assert '"unknown"' in result.stderr
    assert result.stdout == ""


def test_bad_json_reports_line_and_column():
    result = linli("plan", "-", stdin='{\n  "household_id": "x",\n  oops\n}')
    assert result.returncode == 1
    assert "第 3 行第 3 列" in result.stderr


def test_english_messages_on_request():
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    household["needs"]["health"] = 7
    result = linli("plan", "-", "--lang", "en", stdin=json.dumps(household))
    assert result.returncode == 1
    assert "need score must be an integer 0-4" in result.stderr


def test_usage_error_exits_two_in_chinese():
    result = linli("plan")
    assert result.returncode == 2
    assert "缺少必需的参数" in result.stderr


def test_help_documents_exit_codes():
    result = linli("--help")
    assert result.returncode == 0
    assert "退出码" in result.stdout


def test_rules_check_passes_on_shipped_rules():
    result = linli("rules", "check", str(ROOT / "rules"))
    assert result.returncode == 0, result.stderr
    assert "0 个错误" in result.stderr


def test_rules_check_reports_file_line_column(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    path = rules_dir / "rulesets" / "broken.yaml"
    path.write_text("ruleset: broken\nname: 坏规则\nrules:\n  - id: bad_field\n    name: 字段写错\n"
                    "    when: household.oldest >= 65\n    then:\n      - add_tag: x\n", encoding="utf-8")
    result = linli("rules", "check", str(rules_dir))
    assert result.returncode == 1
    assert "broken.yaml:6:11" in result.stderr
    assert "household.oldest" in result.stderr


@pytest.mark.parametrize("lang, word", [("zh", "错误"), ("en", "error")])
def test_rules_check_speaks_requested_language(tmp_path, lang, word):
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    (rules_dir / "scoring.yaml").write_text("needs_weight: yes\n", encoding="utf-8")
    result = linli("rules", "check", str(rules_dir), "--lang", lang)
    assert result.returncode == 1
    assert f"scoring.yaml:1:15: {word}" in result.stderr


def test_list_with_bad_household_keeps_good_plans():
    good = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    bad = dict(good, household_id="BAD-1", members=[{"age": "七十", "relation": "head"}])
    result = linli("plan", "-", stdin=json.dumps([good, bad, good], ensure_ascii=False))
    assert result.returncode == 1
    entries = json.loads(result.stdout)
    assert len(entries) == 3
    assert entries[0]["segment"]["id"] == "newlyweds"
    assert entries[1]["household_id"] == "BAD-1"
    assert entries[1]["errors"][0]["field"] == "[1].members[0].age"
    assert entries[2]["household_id"] == good["household_id"]


def test_bad_member_reports_one_error_not_two():
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    household["members"][0]["age"] = "七十"
    result = linli("plan", "-", stdin=json.dumps(household, ensure_ascii=False))
    assert result.returncode == 1
    assert "members[0].age" in result.stderr
    assert "阿拉伯数字" in result.stderr
    assert "至少需要" not in result.stderr


@pytest.mark.parametrize("stdin, words", [
    ("", "输入为空"),
    ('{"a": 1,}', "键名必须用英文双引号"),
])
def test_unreadable_input_explained_in_chinese(stdin, words):
    result = linli("plan", "-", stdin=stdin)
    assert result.returncode == 1
    assert words in result.stderr
    assert "Expecting" not in result.stderr


def test_missing_file_names_path():
    result = linli("plan", "nosuch.json")
    assert result.returncode == 1
    assert "找不到文件 nosuch.json" in result.stderr
    assert "Errno" not in result.stderr


@pytest.mark.parametrize("written, words", [
    ("2026/11/5", None),
    ("2026年11月5日", None),
    ("2026-13-05", "月份超出 1–12"),
])
def test_move_in_date_forms(written, words):
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    household["move_in_date"] = written
    result = linli("plan", "-", stdin=json.dumps(household, ensure_ascii=False))
    if words is None:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["follow_up"][0]["due"] >= "2026-11-05"
    else:
        assert result.returncode == 1
        assert words in result.stderr


def test_bad_rule_id_explained_without_regex(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    (rules_dir / "rulesets" / "bad_id.yaml").write_text(
        "ruleset: bad_id\nname: 坏 id\nrules:\n  - id: Bad-Id\n    name: 大写 id\n    when: 'true'\n"
        "    then:\n      - add_tag: x\n", encoding="utf-8")
    result = linli("rules", "check", str(rules_dir))
    assert result.returncode == 1
    assert "bad_id.yaml:4:9" in result.stderr
    assert "小写英文字母开头" in result.stderr
    assert "Bad-Id" in result.stderr


def test_chinese_labels_accepted_in_json():
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    household.update(structure="夫妻", tenure="租房", availability=["周末", "工作日晚上"])
    household["members"][0].update(relation="户主", occupation="白领", employment="在职")
    result = linli("plan", "-", stdin=json.dumps(household, ensure_ascii=False))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["segment"]["id"] == "newlyweds"


def test_enum_error_lists_chinese_labels():
    household = json.loads((HOUSEHOLDS_DIR / "newlyweds.json").read_text(encoding="utf-8"))
    household["structure"] = "大家庭"
    result = linli("plan", "-", stdin=json.dumps(household, ensure_ascii=False))
    assert result.returncode == 1
    assert "single（单人）" in result.stderr
    assert " or " not in result.stderr
