"""The planning path on the shipped rules: segments, modules, chaining, exclusion, ranking."""

from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.errors import RuleSetError
from engine.loader import DEFAULT_RULES_DIR, load_rulebase
from engine.planner import Planner
from models.catalogue import ItemKind
from models.household import Household
from tests.conftest import ROOT, load_household

FIXTURE_SEGMENTS = {
    "elderly-alone": "elderly_alone",
    "newlyweds": "newlyweds",
    "young-professional": "young_professional",
    "family-preschooler": "preschool_family",
    "foreign-family": "foreign_resident",
    "tenant-worker": "tenant_worker",
}

SEGMENT_MODULES = {
    "elderly-alone": ["res_grid_worker_visit", "res_neighbour_pairing", "res_emergency_services",
                      "res_anti_fraud_brochure", "res_chronic_disease_help"],
    "newlyweds": ["res_early_education", "res_fresh_food_delivery", "res_job_info_sharing"],
    "young-professional": ["res_commute_coordination", "grp_yoga_meditation", "grp_weekend_hiking"],
    "family-preschooler": ["res_kindergarten_referral", "svc_vaccination_record"],
    "foreign-family": ["grp_english_corner"],
    "tenant-worker": ["svc_residence_permit", "svc_insurance_transfer", "res_skills_training"],
}


def planned_ids(plan) -> set[str]:
    return {rec.item_id for recs in plan.recommendations.values() for rec in recs}


def find(plan, item_id: str):
    return next(rec for recs in plan.recommendations.values() for rec in recs if rec.item_id == item_id)


@pytest.mark.parametrize("name, segment", FIXTURE_SEGMENTS.items())
def test_fixture_lands_in_its_segment(planner, name, segment):
    plan = planner.plan(load_household(name))
    assert plan.segment.id == segment
    assert plan.segment.source == "rule"


@pytest.mark.parametrize("name, items", SEGMENT_MODULES.items())
def test_segment_module_items_in_plan(planner, name, items):
    plan = planner.plan(load_household(name))
    assert set(items) <= planned_ids(plan)


def test_elderly_items_carry_reason_naming_rule(planner):
    plan = planner.plan(load_household("elderly-alone"))
    for item_id in SEGMENT_MODULES["elderly-alone"]:
        recommendation = find(plan, item_id)
        rule_terms = [t for t in recommendation.terms if t.source == "rule"]
        assert rule_terms, item_id
        assert all(t.rule_id in t.reason for t in rule_terms)
        assert all(t.rule_file.endswith(".yaml") and t.rule_line > 0 for t in rule_terms)


def test_tag_chains_into_network_module(planner):
    plan = planner.plan(load_household("elderly-alone"))
    fired = [r.id for r in plan.fired_rules]
    assert "needs_1plus1plusx" in plan.tags
    assert "mod_elderly_1plus1plusx" in fired
    assert find(plan, "res_neighbour_pairing").rules == ["mod_elderly_1plus1plusx"]


def test_exclusion_beats_lower_priority_recommendation(planner):
    household = load_household("elderly-alone", interests=["hiking"], availability=["weekend"])
    plan = planner.plan(household)
    assert "int_hiking" in [r.id for r in plan.fired_rules]
    assert "grp_weekend_hiking" not in planned_ids(plan)
    removed = {r.item_id: r for r in plan.removed}
    assert removed["grp_weekend_hiking"].cause == "excluded"
    assert removed["grp_weekend_hiking"].rule_id == "mod_elderly_alone_safety"


def test_ineligible_item_removed_with_reason(planner):
    plan = planner.plan(load_household("foreign-family"))
    removed = {r.item_id: r for r in plan.removed}
    assert "res_kindergarten_referral" not in planned_ids(plan)
    assert removed["res_kindergarten_referral"].cause == "ineligible"
    assert "household.children_3_6" in removed["res_kindergarten_referral"].reason


def test_ranks_follow_scores_within_top_n(planner, rulebase):
    plan = planner.plan(load_household("family-preschooler"))
    for kind, recommendations in plan.recommendations.items():
        scores = [r.score for r in recommendations]
        assert scores == sorted(scores, reverse=True)
        assert [r.rank for r in recommendations] == list(range(1, len(recommendations) + 1))
        assert len(recommendations) <= rulebase.scoring.top_n[kind.value]
        assert all(r.kind == kind for r in recommendations)


def test_score_is_sum_of_terms(planner):
    plan = planner.plan(load_household("newlyweds"))
    for recommendations in plan.recommendations.values():
        for rec in recommendations:
            assert rec.score == pytest.approx(sum(t.value for t in rec.terms), abs=1e-3)


def test_follow_up_covers_three_phases(planner):
    plan = planner.plan(load_household("newlyweds"))
    phases = {step.phase.value for step in plan.follow_up}
    assert phases == {"preparation", "guidance", "consolidation"}
    forum = [s.due for s in plan.follow_up if s.item_id == "evt_newcomer_forum"]
    assert forum and all(d.day == 5 for d in forum)
    assert len(forum) == 6


def test_unknown_need_gets_survey_step(planner):
    plan = planner.plan(load_household("tenant-worker"))
    assert plan.unknown_needs == ["culture_leisure"]
    assert any(s.rule_id == "sch_unknown_needs" for s in plan.follow_up)


def test_plan_is_deterministic_across_planners(rulebase):
    household = load_household("family-preschooler")
    first, second = Planner(rulebase), Planner(load_rulebase(DEFAULT_RULES_DIR))
    try:
        assert first.plan(household).model_dump_json() == second.plan(household).model_dump_json()
    finally:
        first.close()
        second.close()


def test_concurrent_plans_equal_sequential(planner):
    households = [Household.model_validate(h) for h in
                  json.loads((ROOT / "fixtures" / "month" / "arrivals.json").read_text(encoding="utf-8"))[:120]]
    sequential = [planner.plan(h).model_dump_json() for h in households]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda h: planner.plan(h).model_dump_json(), households * 4))
    assert concurrent == sequential * 4


def test_personal_data_not_in_plan_or_logs(planner, caplog):
    household = load_household("elderly-alone")
    assert household.contact_phone
    with caplog.at_level(logging.DEBUG):
        text = planner.plan(household).model_dump_json()
    for secret in (household.contact_name, household.contact_phone):
        assert secret not in text
        assert secret not in caplog.text
        assert secret not in repr(household)


def _copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def _write_ruleset(rules_dir: Path, body: str) -> None:
    (rules_dir / "rulesets" / "extra.yaml").write_text("ruleset: extra\nname: 测试\nrules:\n" + body, encoding="utf-8")


def test_three_step_chain_fires(tmp_path):
    rules_dir = _copy_rules(tmp_path)
    _write_ruleset(rules_dir, """
  - id: chain_a
    name: 链一
    when: household.size >= 1
    then: [{add_tag: step_a}]
  - id: chain_b
    name: 链二
    when: "'step_a' in tags"
    then: [{add_tag: step_b}]
  - id: chain_c
    name: 链三
    when: "'step_b' in tags"
    then: [{recommend: {item: grp_reading_club, weight: 1, reason: x}}]
""")
    planner = Planner(load_rulebase(rules_dir))
    try:
        plan = planner.plan(load_household("young-professional"))
    finally:
        planner.close()
    assert {"step_a", "step_b"} <= set(plan.tags)
    assert "chain_c" in find(plan, "grp_reading_club").rules


def test_higher_priority_recommendation_overrides_exclusion(tmp_path):
    rules_dir = _copy_rules(tmp_path)
    _write_ruleset(rules_dir, """
  - id: keep_hiking
    name: 高优先级保留
    priority: 200
    when: segment == 'elderly_alone'
    then: [{recommend: {item: grp_weekend_hiking, weight: 1, reason: 医生建议适度户外活动}}]
""")
    planner = Planner(load_rulebase(rules_dir))
    try:
        plan = planner.plan(load_household("elderly-alone"))
    finally:
        planner.close()
    assert "grp_weekend_hiking" in planned_ids(plan)


def test_oscillating_rules_raise_cycle_error(tmp_path):
    rules_dir = _copy_rules(tmp_path)
    _write_ruleset(rules_dir, """
  - id: flip
    name: 自相矛盾
    when: "not ('flip_tag' in tags)"
    then: [{add_tag: flip_tag}]
""")
    planner = Planner(load_rulebase(rules_dir))
    try:
        with pytest.raises(RuleSetError) as info:
            planner.plan(load_household("newlyweds"))
    finally:
        planner.close()
    assert info.value.problems[0].code == "rule_cycle"
    assert "flip" in info.value.problems[0].message()


def test_household_matching_no_rule_still_planned(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir, ignore=shutil.ignore_patterns("rulesets"))
    (rules_dir / "rulesets").mkdir()
    _write_ruleset(rules_dir, """
  - id: never
    name: 不会成立
    when: household.size > 20
    then: [{add_tag: crowd}]
""")
    planner = Planner(load_rulebase(rules_dir))
    try:
        plan = planner.plan(load_household("newlyweds"))
    finally:
        planner.close()
    assert plan.fired_rules == []
    assert plan.segment.source == "default"
    assert plan.recommendations[ItemKind.service]


def test_after_school_care_needs_working_parents(planner):
    single_earner = planner.plan(load_household("foreign-family"))
    fired = {r.id for r in single_earner.fired_rules}
    assert "mod_after_school_dual_income" not in fired
    assert "mod_school_family" in fired
    if "res_after_school_care" in planned_ids(single_earner):
        assert find(single_earner, "res_after_school_care").rules == []


def test_newlyweds_without_job_need_skip_job_sharing(planner):
    household = load_household("newlyweds")
    needs = household.needs.model_dump() | {"employment": 0}
    plan = planner.plan(load_household("newlyweds", needs=needs))
    assert "res_job_info_sharing" not in planned_ids(plan)
    assert "res_job_info_sharing" in planned_ids(planner.plan(household))


def test_frail_elderly_couple_not_sent_hiking(planner):
    couple = load_household("elderly-alone", structure="elderly_couple", interests=["hiking"], availability=["weekend"],
                            members=[{"age": 80, "relation": "head", "chronic_illness": True},
                                     {"age": 78, "relation": "spouse"}])
    plan = planner.plan(couple)
    assert "grp_weekend_hiking" not in planned_ids(plan)
    assert {r.item_id: r.cause for r in plan.removed}["grp_weekend_hiking"] == "excluded"


def test_early_education_needs_young_child_or_newlyweds(planner):
    couple = load_household("newlyweds", married_on=None,
                            members=[{"age": 52, "relation": "head"}, {"age": 50, "relation": "spouse"}])
    plan = planner.plan(couple.model_copy(update={"needs": couple.needs.model_copy(update={"child_education": 4})}))
    assert "res_early_education" not in planned_ids(plan)
