"""`linli rules diff` (impact of a rule change on a population) and `linli rules coverage`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.coverage import coverage_report
from engine.diff import DEFAULT_POPULATION, compare_plans, diff_rule_sets, load_population
from engine.features import derive_features
from engine.loader import DEFAULT_RULES_DIR
from engine.planner import build_planner
from service.cli import main
from tests.conftest import load_household

YOUNG_RULE_OLD = "household.oldest_age <= 35 and household.children == 0"
YOUNG_RULE_NEW = "household.oldest_age <= 30 and household.children == 0"


@pytest.fixture(scope="module")
def population():
    return load_population(DEFAULT_POPULATION)


@pytest.fixture(scope="module")
def rules_copies(tmp_path_factory):
    """Two copies of the shipped rules; in the new one, one line of the young-professional rule changes."""
    root = tmp_path_factory.mktemp("diff")
    old = root / "old"
    new = root / "new"
    shutil.copytree(DEFAULT_RULES_DIR, old)
    shutil.copytree(DEFAULT_RULES_DIR, new)
    path = new / "rulesets" / "segments.yaml"
    before = path.read_text(encoding="utf-8")
    assert before.count(YOUNG_RULE_OLD) == 1
    path.write_text(before.replace(YOUNG_RULE_OLD, YOUNG_RULE_NEW), encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), path.read_text(encoding="utf-8").splitlines()) if a != b]
    assert len(changed) == 1
    return old, new


def test_one_line_change_reports_exactly_affected_households(rules_copies, population):
    old, new = rules_copies
    planner = build_planner(old)
    try:
        old_plans = {h.household_id: planner.plan(h) for h in population}
    finally:
        planner.close()
    expected = {h.household_id for h in population
                if old_plans[h.household_id].segment.id == "young_professional"
                and 31 <= derive_features(h)["oldest_age"] <= 35}
    assert expected, "the population should contain young professionals aged 31 to 35"

    report = diff_rule_sets(old, new, population, "arrivals.json")

    assert {c.household_id for c in report.changes} == expected
    assert report.affected == len(expected)
    assert all(c.old_segment_by == "seg_young_professional" != c.new_segment_by for c in report.changes)
    groups = {**report.segment_moves, **report.segment_basis}
    assert sum(group.count for key, group in groups.items() if key.startswith("young_professional")) == len(expected)
    assert report.households == len(population)


def test_identical_rules_affect_nobody(population):
    report = diff_rule_sets(DEFAULT_RULES_DIR, DEFAULT_RULES_DIR, population[:40])
    assert report.affected == 0
    assert report.changes == []


def test_compare_plans_lists_gained_and_lost(planner):
    old = planner.plan(load_household("elderly-alone"))
    new = planner.plan(load_household("elderly-alone", interests=["hiking", "reading"]))

    change = compare_plans(old, new)

    assert "grp_reading_club" in change.gained
    assert "grp_calligraphy" in change.lost
    assert compare_plans(old, old) is None


def test_cli_diff_text_and_json(rules_copies, tmp_path, capsys):
    old, new = rules_copies
    households = json.loads(DEFAULT_POPULATION.read_text(encoding="utf-8"))[:60]
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(households, ensure_ascii=False), encoding="utf-8")

    assert main(["rules", "diff", str(old), str(new), "--households", str(sample)]) == 0
    text = capsys.readouterr().out
    assert main(["rules", "diff", str(old), str(new), "--households", str(sample), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)

    assert text.splitlines()[0].startswith("规则影响分析：")
    assert f"共 {len(households)} 户" in text.splitlines()[0]
    assert payload["households"] == len(households)
    assert payload["affected"] >= 1
    for change in payload["changes"]:
        assert f"  {change['household_id']}: young_professional" in text
        assert change["old_segment_by"] == "seg_young_professional"


def test_cli_diff_rejects_invalid_new_rules(tmp_path, capsys):
    new = tmp_path / "new"
    shutil.copytree(DEFAULT_RULES_DIR, new)
    (new / "rulesets" / "broken.yaml").write_text(
        "ruleset: broken\nname: 错误\nrules:\n  - id: broken\n    name: 错误\n    when: household.sise > 1\n"
        "    then: [{add_tag: broken}]\n", encoding="utf-8")

    code = main(["rules", "diff", str(DEFAULT_RULES_DIR), str(new)])

    err = capsys.readouterr().err
    assert code == 1
    assert "broken.yaml:6:11" in err
    assert "无法比较" in err


def test_cli_diff_missing_population(tmp_path, capsys):
    code = main(["rules", "diff", str(DEFAULT_RULES_DIR), str(DEFAULT_RULES_DIR), "--households", str(tmp_path / "none.json")])

    assert code == 1
    assert "--households" in capsys.readouterr().err


def test_cli_diff_invalid_household_names_row(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"household_id": "X"}]), encoding="utf-8")

    assert main(["rules", "diff", str(DEFAULT_RULES_DIR), str(DEFAULT_RULES_DIR), "--households", str(bad)]) == 1
    assert "[0].community_id" in capsys.readouterr().err


# Coverage


def test_coverage_of_shipped_rules(planner, population):
    report = coverage_report(planner, population[:50])

    assert report.dimensions_unaddressed == []
    assert report.segments_without_module == ["general"]
    assert report.levels_unaddressed["housing"] == [1, 2]
    assert report.levels_unaddressed["social"] == [1]
    assert report.population == 50
    for gap in report.empty_kinds:
        assert gap.households == len([h for h in population[:50]
                                      if not planner.plan(h).recommendations[gap.kind]])


def test_coverage_finds_segment_without_module(tmp_path, population):
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir, ignore=shutil.ignore_patterns("model", "tests"))
    path = rules_dir / "rulesets" / "modules.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("when: segment == 'tenant_worker'", "when: household.manual_or_service >= 5"),
                    encoding="utf-8")
    planner = build_planner(rules_dir)
    try:
        report = coverage_report(planner, population[:5])
    finally:
        planner.close()
    assert "tenant_worker" in report.segments_without_module


def test_cli_coverage(capsys):
    assert main(["rules", "coverage"]) == 0
    out = capsys.readouterr().out
    assert "没有服务模块的人群分类：一般家庭（general）" in out
    assert "住房保障（housing）：1（低）、2（中）" in out
