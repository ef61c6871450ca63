"""YAML rule tests: the shipped tests pass, wrong expectations fail readably, bad test files are reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.loader import DEFAULT_RULES_DIR
from engine.rule_tests import find_test_files, load_rule_tests, run_rule_tests
from service.cli import main

WRONG_TESTS = """tests:
  - name: 故意写错的期望
    household: elderly-alone
    expect:
      segment: young_professional
      items: [res_grid_worker_visit, grp_weekend_hiking]
      absent: [svc_family_doctor]
      order: [res_neighbour_pairing, res_grid_worker_visit]
      reasons:
        - {item: res_grid_worker_visit, contains: 每周上门}
      fired: [int_hiking]
      not_fired: [seg_elderly_alone]
"""


def write_tests(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_tests_pass(capsys):
    code = main(["rules", "test"])

    out = capsys.readouterr().out.splitlines()
    outcomes = [line for line in out if line.startswith(("✓", "✗"))]
    assert code == 0
    assert out[-1] == f"{len(outcomes)} passed, 0 failed"
    assert any(line.startswith("规则覆盖：") for line in out)


def test_every_fixture_household_has_a_test():
    households = {p.stem for p in (DEFAULT_RULES_DIR.parent / "fixtures" / "households").glob("*.json")}
    text = "\n".join(p.read_text(encoding="utf-8") for p in find_test_files(DEFAULT_RULES_DIR))
    for name in households:
        assert f"household: {name}" in text


def test_wrong_expectation_fails_with_readable_difference(tmp_path, capsys):
    path = write_tests(tmp_path, WRONG_TESTS)

    code = main(["rules", "test", str(path)])

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 1
    assert lines[-1] == "0 passed, 1 failed"
    assert lines[0].startswith("✗ 故意写错的期望")
    where = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    assert f"{where}:5:16 人群分类：期望 young_professional，实际 elderly_alone" in out
    assert f"{where}:6:38 缺少项目 grp_weekend_hiking。结论：未列入。规则 mod_elderly_alone_safety" in out
    assert f"{where}:7:16 项目 svc_family_doctor 不应列入计划，实际排第 1 名" in out
    assert "排序：期望 res_neighbour_pairing > res_grid_worker_visit，实际 res_grid_worker_visit #1" in out
    assert "理由中没有“每周上门”。实际理由：" in out
    assert "- 独居老人需要网格员定期上门探访" in out
    assert "规则 int_hiking 应触发但未触发，不成立的部分：'hiking' in household.interests（实际 household.interests = calligraphy、chess）" in out
    assert "规则 seg_elderly_alone 不应触发，但触发了" in out


def test_failure_shown_in_english(tmp_path, capsys):
    path = write_tests(tmp_path, WRONG_TESTS)

    main(["rules", "test", str(path), "--lang", "en"])

    out = capsys.readouterr().out
    assert "segment: expected young_professional, got elderly_alone" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_coverage_lists_rules_no_test_fired(tmp_path, capsys):
    path = write_tests(tmp_path, "tests:\n  - name: 只测一户\n    household: tenant-worker\n    expect:\n"
                                 "      segment: tenant_worker\n")

    code = main(["rules", "test", str(path)])

    out = capsys.readouterr().out
    assert code == 0
    assert "没有测试触发的规则：" in out
    assert "    - seg_elderly_alone（rules/rulesets/segments.yaml:" in out
    assert "seg_tenant_worker（" not in out
    assert out.splitlines()[-1] == "1 passed, 0 failed"


def test_changes_merge_into_fixture(planner, tmp_path):
    path = write_tests(tmp_path, "tests:\n  - name: 改成有慢病\n    household: young-professional\n"
                                 "    changes:\n      needs: {health: 4}\n    expect:\n      fired: [need_health, need_urgent_any]\n"
                                 "      tags: [urgent_need]\n")

    tests, problems = load_rule_tests([path], planner.rulebase)
    report = run_rule_tests(planner, tests)

    assert problems == []
    assert tests[0].household.needs.health == 4
    assert tests[0].household.needs.social == 3
    assert report.failed == 0


@pytest.mark.parametrize("body, line, column, code, words", [
    ("    household: elderly-alone\n    expect:\n      items: [res_grid_worker_vist]\n", 5, 15,
     "test_unknown_reference", ["res_grid_worker_vist", "res_grid_worker_visit"]),
    ("    household: elderly-alone\n    expect:\n      fired: [seg_elderly]\n", 5, 15,
     "test_unknown_reference", ["seg_elderly", "规则"]),
    ("    household: elderly-alon\n    expect:\n      segment: elderly_alone\n", 3, 16,
     "test_unknown_fixture", ["elderly-alon", "elderly-alone"]),
    ("    household: elderly-alone\n    changes:\n      members: []\n    expect:\n      segment: elderly_alone\n", 5, 7,
     "test_household", ["members", "至少需要 1 项"]),
    ("    household: elderly-alone\n    expect: {}\n", 4, 13, "test_no_expectation", ["期望"]),
    ("    household: elderly-alone\n    expect:\n      itmes: [res_grid_worker_visit]\n", 5, 7,
     "schema", ["不认识的字段"]),
])
def test_bad_test_file_reported_at_place(planner, tmp_path, body, line, column, code, words):
    path = write_tests(tmp_path, "tests:\n  - name: 有错误的测试\n" + body)

    tests, problems = load_rule_tests([path], planner.rulebase)

    [problem] = problems
    assert (problem.line, problem.column, problem.code) == (line, column, code), problem.format()
    for word in words:
        assert word in problem.message(), problem.message()


def test_invalid_test_file_exits_one(tmp_path, capsys):
    path = write_tests(tmp_path, "tests:\n  - name: 未知项目\n    household: elderly-alone\n    expect:\n"
                                 "      items: [no_such_item]\n")

    code = main(["rules", "test", str(path)])

    assert code == 1
    assert ":5:15" in capsys.readouterr().err


def test_tests_in_copied_rules_directory(tmp_path, capsys):
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    shutil.rmtree(rules_dir / "tests")

    assert main(["rules", "test", "--rules", str(rules_dir)]) == 1
    assert "没有找到规则测试文件" in capsys.readouterr().err


def test_rules_directory_argument_runs_its_tests(tmp_path, capsys):
    rules_dir = tmp_path / "myrules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    code = main(["rules", "test", str(rules_dir)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "0 failed" in out.out.splitlines()[-1]
    assert "0 passed" not in out.out.splitlines()[-1]
    assert "缺少必填字段" not in out.err
