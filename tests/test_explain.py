"""Why and why not: `engine.explain`, `linli explain` and `POST /v1/explain` on the shipped rules."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from engine.explain import UnknownItemError, explain_item
from engine.loader import DEFAULT_RULES_DIR
from engine.planner import build_planner
from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.conftest import load_household
from tests.service_support import CASEWORKER, RULE_ADMIN, TOKENS, fixture_households

FIXTURES = ["elderly-alone", "family-preschooler", "foreign-family", "newlyweds", "tenant-worker", "young-professional"]


@pytest.fixture(scope="module")
def elderly():
    return load_household("elderly-alone")


@pytest.mark.parametrize("name", FIXTURES)
def test_every_planned_item_explained(planner, name):
    household = load_household(name)
    plan = planner.plan(household)

    for recommendations in plan.recommendations.values():
        for rec in recommendations:
            explanation = explain_item(planner, household, rec.item_id)
            assert explanation.status == "recommended"
            assert explanation.in_plan
            assert (explanation.rank, explanation.score) == (rec.rank, rec.score)
            assert explanation.terms == rec.terms
            fired = [f for f in explanation.recommending_rules if f.fired]
            assert [f.rule_id for f in fired] == [r for r in rec.rules if r in {f.rule_id for f in fired}]
            assert {f.rule_id for f in fired} == set(rec.rules)
            for finding in fired:
                assert all(check.held for check in finding.checks)
            assert any(f"{rec.rank} 名" in line for line in explanation.text[:2])


@pytest.mark.parametrize("name", FIXTURES)
def test_every_removed_item_explained(planner, name):
    household = load_household(name)
    plan = planner.plan(household)

    for removed in plan.removed:
        explanation = explain_item(planner, household, removed.item_id)
        assert explanation.status == removed.cause
        assert not explanation.in_plan


def test_ineligible_item_names_failing_condition(planner, elderly):
    explanation = explain_item(planner, elderly, "svc_vaccination_record")

    assert explanation.status == "ineligible"
    [check] = explanation.eligibility_checks
    assert (check.text, check.field, check.actual, check.held) == ("household.children >= 1", "household.children", 0, False)
    text = "\n".join(explanation.text)
    assert "household.children >= 1" in text
    assert "household.children = 0" in text
    assert "76" in text


def test_excluded_item_names_rule_and_priority(planner, elderly):
    explanation = explain_item(planner, elderly, "grp_weekend_hiking")

    removed = next(r for r in planner.plan(elderly).removed if r.item_id == "grp_weekend_hiking")
    assert explanation.status == "excluded"
    assert explanation.excluded_by == removed.rule_id
    excluder = next(f for f in explanation.excluding_rules if f.rule_id == "mod_elderly_alone_safety")
    assert (excluder.fired, excluder.priority) == (True, 90)
    assert removed.rule_id in explanation.summary
    assert "优先级 90" in explanation.summary


def test_unfired_rule_shows_failing_part_and_value(planner, elderly):
    explanation = explain_item(planner, elderly, "grp_weekend_hiking")

    hiking = next(f for f in explanation.recommending_rules if f.rule_id == "int_hiking")
    assert not hiking.fired
    assert [(c.text, c.held) for c in hiking.checks] == [
        ("'hiking' in household.interests", False), ("'weekend' in household.availability", False)]
    assert hiking.checks[1].actual == ["weekday_daytime"]
    module = next(f for f in explanation.recommending_rules if f.rule_id == "mod_young_professional")
    assert [(c.text, c.actual) for c in module.checks] == [("segment == 'young_professional'", "elderly_alone")]


def test_negated_part_spelled_out(planner):
    household = load_household("young-professional", foreign_resident=True)
    explanation = explain_item(planner, household, "vol_welcome_ambassador")

    helper = next(f for f in explanation.recommending_rules if f.rule_id == "vol_language_helper")
    assert not helper.fired
    assert [(c.text, c.actual) for c in helper.checks] == [("household.foreign_resident != true", True)]


def test_rank_cutoff_explained(planner):
    for name in FIXTURES:
        household = load_household(name)
        for item_id in planner.rulebase.items:
            explanation = explain_item(planner, household, item_id)
            if explanation.status == "rank_cutoff":
                assert explanation.rank > explanation.top_n
                assert explanation.score <= explanation.cutoff_score
                assert f"前 {explanation.top_n} 项" in explanation.summary
                return
    pytest.fail("no fixture household has an item cut off by rank")


def test_below_threshold_explained(planner, elderly):
    explanation = explain_item(planner, elderly, "res_kindergarten_referral")

    assert explanation.status == "below_need_threshold"
    assert explanation.need_match < explanation.min_need_match
    assert [f.fired for f in explanation.recommending_rules] == [False]
    assert "0.75" in explanation.summary


def test_english_on_request(planner, elderly):
    explanation = explain_item(planner, elderly, "grp_weekend_hiking", lang="en")

    assert explanation.summary.startswith("verdict: not in the plan")
    assert "rules that can recommend this item:" in explanation.text


def test_unknown_item_suggests_close_ids(planner, elderly):
    with pytest.raises(UnknownItemError) as info:
        explain_item(planner, elderly, "grp_weekend_hikng")
    assert info.value.close[0] == "grp_weekend_hiking"


def test_cli_explain_fixture_by_name(capsys):
    code = main(["explain", "elderly-alone", "--item", "svc_vaccination_record"])

    out = capsys.readouterr().out
    assert code == 0
    assert "household.children >= 1" in out
    assert out.splitlines()[1].startswith("结论：未列入")


def test_cli_explain_json(tmp_path, capsys):
    path = tmp_path / "household.json"
    path.write_text(json.dumps(fixture_households()["young-professional"]), encoding="utf-8")

    code = main(["explain", str(path), "--item", "grp_yoga_meditation", "--format", "json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["status"] == "recommended"
    assert "mod_young_professional" in {f["rule_id"] for f in payload["recommending_rules"] if f["fired"]}


def test_cli_explain_unknown_item_fails(capsys):
    code = main(["explain", "elderly-alone", "--item", "no_such_item"])

    assert code == 1
    assert "no_such_item" in capsys.readouterr().err


def test_cli_explain_list_needs_household_id(tmp_path, capsys):
    households = fixture_households()
    path = tmp_path / "two.json"
    path.write_text(json.dumps([households["newlyweds"], households["tenant-worker"]]), encoding="utf-8")

    assert main(["explain", str(path), "--item", "svc_residence_permit"]) == 1
    assert "--household-id" in capsys.readouterr().err
    assert main(["explain", str(path), "--item", "svc_residence_permit", "--household-id", "FX-TENANT-WORKER"]) == 0
    assert "已列入计划" in capsys.readouterr().out


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(_env_file=None, tokens=TOKENS, rules_dir=DEFAULT_RULES_DIR))
    with TestClient(app) as test_client:
        yield test_client


def test_http_explain_matches_engine(client, planner):
    household = fixture_households()["elderly-alone"]

    response = client.post("/v1/explain", json={"household": household, "item_id": "grp_weekend_hiking"},
                           headers=CASEWORKER)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "excluded"
    assert body["summary"] == explain_item(planner, load_household("elderly-alone"), "grp_weekend_hiking").summary


def test_http_explain_english(client):
    household = fixture_households()["elderly-alone"]
    response = client.post("/v1/explain", json={"household": household, "item_id": "grp_weekend_hiking"},
                           headers={**CASEWORKER, "Accept-Language": "en"})
    assert response.json()["summary"].startswith("verdict:")


def test_http_explain_unknown_item_404(client):
    household = fixture_households()["elderly-alone"]
    response = client.post("/v1/explain", json={"household": household, "item_id": "grp_weekend_hikng"},
                           headers=CASEWORKER)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_item"
    assert "grp_weekend_hiking" in response.json()["error"]["message"]


def test_http_explain_needs_caseworker(client):
    household = fixture_households()["elderly-alone"]
    body = {"household": household, "item_id": "grp_weekend_hiking"}
    assert client.post("/v1/explain", json=body).status_code == 401
    assert client.post("/v1/explain", json=body, headers=RULE_ADMIN).status_code == 403


def test_peer_contribution_explained():
    planner = build_planner()
    try:
        household = load_household("newlyweds")
        plan = planner.plan(household)
        with_peer = [rec for recs in plan.recommendations.values() for rec in recs
                     if any(term.source == "peer" for term in rec.terms)]
        assert with_peer, "the shipped model should give peer terms to the newlyweds"
        for rec in with_peer:
            explanation = explain_item(planner, household, rec.item_id)
            assert explanation.terms == rec.terms
            peer = next(term for term in rec.terms if term.source == "peer")
            assert f"    - {peer.reason}" in explanation.text
            assert any("相似家庭" in line and line.startswith("得分") for line in explanation.text)
    finally:
        planner.close()


def test_unknown_household_name_lists_fixtures(capsys):
    from service.cli import main

    code = main(["explain", "elderly", "--item", "grp_calligraphy"])
    err = capsys.readouterr().err
    assert code == 1
    assert "找不到家庭“elderly”" in err
    assert "elderly-alone" in err
