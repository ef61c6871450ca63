"""The HTTP API through FastAPI's TestClient: plans, batch, catalogue, rules, errors and limits."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from engine.errors import translate_field_error
from engine.planner import build_planner
from models.household import Household
from service import cli
from service.app import create_app
from service.settings import Settings
from tests.conftest import HOUSEHOLDS_DIR
from tests.service_support import (BROKEN_RULESET, CASEWORKER, RULE_ADMIN, TOKENS, copy_rules, fixture_households,
                                   set_needs_weight)

HOUSEHOLDS = fixture_households()
PERSONAL_VALUES = ("测试联系人", "19900000001", "幸福路", "110101195001011234")


def make_settings(**changes) -> Settings:
    return Settings(_env_file=None, tokens=TOKENS, **changes)


@pytest.fixture
def rules_dir(tmp_path):
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def client(rules_dir):
    app = create_app(make_settings(rules_dir=rules_dir, batch_max_items=5, max_body_bytes=64 * 1024))
    with TestClient(app) as test_client:
        yield test_client


def with_personal_data(household: dict) -> dict:
    """Add every personal field the model accepts, with values a test can search for."""
    members = [dict(m) for m in household["members"]]
    members[0].update(name="测试联系人乙", phone="19900000001", id_number="110101195001011234")
    return {**household, "contact_name": "测试联系人甲", "contact_phone": "19900000001",
            "address": "幸福路 1 号", "members": members}


# Plans


def test_plan_equals_cli_output(client, rules_dir, capsys):
    path = HOUSEHOLDS_DIR / "elderly-alone.json"
    assert cli.main(["plan", str(path), "--rules", str(rules_dir)]) == 0
    expected = json.loads(capsys.readouterr().out)

    response = client.post("/v1/plans", json=HOUSEHOLDS["elderly-alone"], headers=CASEWORKER)

    assert response.status_code == 200
    assert response.json() == expected


def test_plan_equals_planner_for_every_fixture(client, rules_dir):
    planner = build_planner(rules_dir)
    try:
        for name, household in HOUSEHOLDS.items():
            expected = planner.plan(Household.model_validate(household)).model_dump(mode="json")
            response = client.post("/v1/plans", json=household, headers=CASEWORKER)
            assert response.status_code == 200, name
            assert response.json() == expected, name
    finally:
        planner.close()


def test_plan_never_returns_or_logs_personal_data(client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post("/v1/plans", json=with_personal_data(HOUSEHOLDS["elderly-alone"]), headers=CASEWORKER)

    assert response.status_code == 200
    logged = "\n".join(record.getMessage() + json.dumps(getattr(record, "fields", {}), ensure_ascii=False)
                       for record in caplog.records)
    for value in PERSONAL_VALUES:
        assert value not in response.text
        assert value not in logged


def test_request_log_line_has_request_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="service.observability")
    response = client.post("/v1/plans", json=HOUSEHOLDS["newlyweds"], headers={**CASEWORKER, "X-Request-ID": "req-42"})

    assert response.headers["x-request-id"] == "req-42"
    fields = [getattr(r, "fields") for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "req-42"]
    assert len(fields) == 1
    assert fields[0]["route"] == "/v1/plans"
    assert fields[0]["status"] == 200
    assert fields[0]["latency_ms"] >= 0
    assert fields[0]["rule_version"] == response.json()["ruleset_version"]


def test_request_id_generated_when_header_unsafe(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert response.headers["x-request-id"] != "bad id with spaces"
    assert len(response.headers["x-request-id"]) == 32


# Batch


def test_batch_returns_one_result_per_item(client):
    bad_member = {**HOUSEHOLDS["newlyweds"], "household_id": "BAD-AGE",
                  "members": [{"age": 130, "relation": "head"}]}
    items = [HOUSEHOLDS["elderly-alone"], bad_member, "not a household", HOUSEHOLDS["tenant-worker"]]

    response = client.post("/v1/plans/batch", json={"households": items}, headers=CASEWORKER)

    assert response.status_code == 200
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert (body["planned"], body["failed"]) == (2, 2)
    assert body["results"][0]["plan"]["household_id"] == "FX-ELDERLY-ALONE"
    assert body["results"][1]["household_id"] == "BAD-AGE"
    assert body["results"][1]["error"]["field"] == "households[1].members[0].age"
    assert body["results"][1]["error"]["code"] == "invalid_household"
    assert body["results"][2]["error"]["field"] == "households[2]"
    assert body["results"][3]["plan"]["ruleset_version"] == body["ruleset_version"]


def test_batch_repeated_id_is_item_error(client):
    elderly = HOUSEHOLDS["elderly-alone"]
    items = [elderly, HOUSEHOLDS["newlyweds"], elderly, {**elderly, "tenure": "squatter"}]

    response = client.post("/v1/plans/batch", json={"households": items}, headers=CASEWORKER)

    body = response.json()
    repeated, repeated_and_invalid = body["results"][2], body["results"][3]
    assert (body["planned"], body["failed"]) == (2, 2)
    assert repeated["plan"] is None
    assert repeated["error"]["code"] == "duplicate_household"
    assert repeated["error"]["field"] == "households[2].household_id"
    assert "户编号“FX-ELDERLY-ALONE”与 households[0] 重复" in repeated["error"]["message"]
    assert repeated_and_invalid["error"]["code"] == "invalid_household"
    assert [d["field"] for d in repeated_and_invalid["error"]["details"]] == [
        "households[3].household_id", "households[3].tenure"]


def test_batch_repeated_id_in_english(client):
    items = [HOUSEHOLDS["newlyweds"], HOUSEHOLDS["newlyweds"]]

    response = client.post("/v1/plans/batch", json={"households": items},
                           headers={**CASEWORKER, "Accept-Language": "en"})

    error = response.json()["results"][1]["error"]
    assert "household id 'FX-NEWLYWEDS' repeats households[0]" in error["message"]


def test_batch_item_error_in_english(client):
    items = [{**HOUSEHOLDS["newlyweds"], "tenure": "squatter"}]

    response = client.post("/v1/plans/batch", json={"households": items},
                           headers={**CASEWORKER, "Accept-Language": "en-GB,en;q=0.9"})

    error = response.json()["results"][0]["error"]
    assert error["field"] == "households[0].tenure"
    assert "Input should be" in error["message"]


def test_batch_above_limit_rejected(client):
    items = [HOUSEHOLDS["newlyweds"]] * 6

    response = client.post("/v1/plans/batch", json={"households": items}, headers=CASEWORKER)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert "5" in response.json()["error"]["message"]


def test_batch_empty_rejected(client):
    response = client.post("/v1/plans/batch", json={"households": []}, headers=CASEWORKER)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "households"


# Catalogue and rules


def test_catalogue_lists_items_by_kind(client):
    everything = client.get("/v1/catalogue", headers=CASEWORKER).json()
    services = client.get("/v1/catalogue", params={"kind": "service"}, headers=CASEWORKER).json()

    assert everything["count"] == len(everything["items"]) > services["count"] > 0
    assert {item["kind"] for item in services["items"]} == {"service"}


def test_dimensions_lists_ten(client):
    body = client.get("/v1/dimensions", headers=CASEWORKER).json()

    assert len(body["dimensions"]) == 10
    assert body["dimensions"][0]["id"] == "housing"


def test_rules_lists_rulesets_with_version(client):
    body = client.get("/v1/rules", headers=RULE_ADMIN).json()
    status = client.get("/v1/rules/status", headers=RULE_ADMIN).json()

    assert body["version"] == status["version"]
    assert body["rule_count"] == sum(len(r["rules"]) for r in body["rulesets"])
    assert "segments" in {r["ruleset"] for r in body["rulesets"]}
    assert status["last_error"] is None
    assert status["watching"] is False


# Errors


def test_invalid_household_error_in_chinese(client):
    household = {**HOUSEHOLDS["newlyweds"], "move_in_date": "2026-13-40"}

    response = client.post("/v1/plans", json=household, headers=CASEWORKER)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["field"] == "move_in_date"
    assert "YYYY-MM-DD" in error["message"]
    assert "日期无效" in error["details"][0]["message"]


def test_invalid_household_error_in_english(client):
    household = {**HOUSEHOLDS["newlyweds"]}
    del household["needs"]

    response = client.post("/v1/plans", json=household, headers={**CASEWORKER, "Accept-Language": "en"})

    error = response.json()["error"]
    assert response.status_code == 422
    assert error["field"] == "needs"
    assert error["message"].startswith("1 error(s) in the request")


def test_invalid_json_names_line_and_column(client):
    body = b'{\n  "household_id": "X",\n  oops\n}'

    response = client.post("/v1/plans", content=body, headers={**CASEWORKER, "Content-Type": "application/json"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert "第 3 行第 3 列" in error["message"]
    assert "键名必须用英文双引号括起来" in error["message"]


def test_body_not_utf8_rejected(client):
    response = client.post("/v1/plans", content=b'{"household_id": "\xff"}',
                           headers={**CASEWORKER, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    assert "UTF-8" in response.json()["error"]["message"]


def test_non_json_body_rejected(client):
    response = client.post("/v1/plans", content=b"household", headers={**CASEWORKER, "Content-Type": "text/plain"})

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_unknown_path_and_method(client):
    missing = client.get("/v1/nothing", headers=CASEWORKER)
    wrong_method = client.delete("/v1/plans", headers={**CASEWORKER, "Accept-Language": "en"})

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["message"] == "/v1/plans does not support the DELETE method."


def test_body_above_limit_rejected_by_length(client):
    body = b"[" + b" " * (64 * 1024) + b"]"

    response = client.post("/v1/plans", content=body, headers={**CASEWORKER, "Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert "65536" in response.json()["error"]["message"]


def test_body_above_limit_rejected_when_chunked(client):
    def chunks():
        for _ in range(100):
            yield b" " * 1024

    response = client.post("/v1/plans", content=chunks(), headers={**CASEWORKER, "Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


# Rule files


def test_validate_reports_line_and_column(client):
    body = {"kind": "ruleset", "name": "broken.yaml", "text": BROKEN_RULESET}

    response = client.post("/v1/rules/validate", json=body, headers=RULE_ADMIN)

    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    assert result["version"] is None
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    assert len(errors) == 1
    assert errors[0]["file"] == "rulesets/broken.yaml"
    assert errors[0]["code"] == "unknown_field"
    assert (errors[0]["line"], errors[0]["column"]) == (6, 11)


def test_validate_accepts_edited_catalogue(client, rules_dir):
    text = (rules_dir / "catalogue" / "services.yaml").read_text(encoding="utf-8") + "\n# 注释\n"

    response = client.post("/v1/rules/validate", json={"kind": "catalogue", "name": "services.yaml", "text": text},
                           headers=RULE_ADMIN)

    result = response.json()
    assert result["valid"] is True
    assert result["errors"] == 0
    assert result["base_matches_loaded"] is True
    assert result["version"] != result["loaded_version"]


def test_validate_reports_duplicate_key(client):
    text = "ruleset: dup\nname: 重复\nname: 再次\nrules: []\n"

    response = client.post("/v1/rules/validate", json={"kind": "ruleset", "name": "dup.yaml", "text": text},
                           headers=RULE_ADMIN)

    problem = response.json()["problems"][0]
    assert problem["code"] == "yaml_duplicate_key"
    assert problem["line"] == 3


def test_validate_rejects_path_in_name(client):
    body = {"kind": "ruleset", "name": "../scoring.yaml", "text": "x: 1\n"}

    response = client.post("/v1/rules/validate", json=body, headers=RULE_ADMIN)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"


@pytest.mark.parametrize("name, accepted", [
    ("modules.yaml", True), ("2026-pilot.yaml", True), ("new_rules-v2.yaml", True), ("a" * 64 + ".yaml", True),
    ("Modules.yaml", False), ("-modules.yaml", False), ("_modules.yaml", False), ("modules.yml", False),
    ("a" * 65 + ".yaml", False), ("模块.yaml", False), ("sub/modules.yaml", False),
])
def test_validate_name_message_matches_pattern(client, name, accepted):
    body = {"kind": "ruleset", "name": name, "text": "ruleset: pilot\nname: 试点\nrules: []\n"}

    response = client.post("/v1/rules/validate", json=body, headers=RULE_ADMIN)

    assert (response.status_code == 200) is accepted
    if accepted:
        return
    message = response.json()["error"]["message"]
    assert "小写英文字母或数字开头" in message
    assert "下划线（_）和连字符（-）" in message
    assert "最多 64 个字符" in message
    english = client.post("/v1/rules/validate", json=body, headers={**RULE_ADMIN, "Accept-Language": "en"})
    assert "lowercase letter or a digit" in english.json()["error"]["message"]


def test_validate_name_pattern_in_spec(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ValidateRequest"]

    assert schema["properties"]["name"]["pattern"] == r"^[a-z0-9][a-z0-9_-]{0,63}\.yaml$"


def test_pattern_error_shows_pattern_only(client):
    response = client.post("/v1/batch/jobs?format=xls", content=b"x",
                           headers={**CASEWORKER, "Content-Type": "application/octet-stream"})
    loose = translate_field_error({"type": "string_pattern_mismatch", "loc": ("level",), "msg": "no match",
                                   "input": "LOUD", "ctx": {"pattern": "^(DEBUG|INFO)$"}})[0]

    assert response.status_code == 422
    assert "xlsx、csv、jsonl" in response.json()["error"]["message"]
    assert loose == "格式不符，应匹配正则表达式 ^(DEBUG|INFO)$"


def test_reload_swaps_version(client, rules_dir):
    before = client.get("/v1/rules/status", headers=RULE_ADMIN).json()["version"]
    set_needs_weight(rules_dir, 2.5)

    response = client.post("/v1/rules/reload", headers=RULE_ADMIN)

    assert response.status_code == 200
    body = response.json()
    assert body["changed"] is True
    assert body["previous_version"] == before
    assert body["version"] != before
    plan = client.post("/v1/plans", json=HOUSEHOLDS["newlyweds"], headers=CASEWORKER).json()
    assert plan["ruleset_version"] == body["version"]


def test_reload_unchanged_reports_no_change(client):
    response = client.post("/v1/rules/reload", headers=RULE_ADMIN)

    assert response.json()["changed"] is False


def test_failed_reload_keeps_serving_and_reports(client, rules_dir):
    before = client.get("/v1/rules/status", headers=RULE_ADMIN).json()["version"]
    (rules_dir / "rulesets" / "broken.yaml").write_text(BROKEN_RULESET, encoding="utf-8")

    response = client.post("/v1/rules/reload", headers=RULE_ADMIN)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "rules_invalid"
    assert before in error["message"]
    assert "broken.yaml:6:11" in error["message"]
    status = client.get("/v1/rules/status", headers=RULE_ADMIN).json()
    assert status["version"] == before
    assert status["failed_reloads"] == 1
    problem = status["last_error"]["problems"][0]
    assert (problem["line"], problem["column"]) == (6, 11)
    assert client.post("/v1/plans", json=HOUSEHOLDS["newlyweds"], headers=CASEWORKER).status_code == 200

    (rules_dir / "rulesets" / "broken.yaml").unlink()
    set_needs_weight(rules_dir, 3.0)
    assert client.post("/v1/rules/reload", headers=RULE_ADMIN).status_code == 200
    assert client.get("/v1/rules/status", headers=RULE_ADMIN).json()["last_error"] is None


# Operations


def test_probes_and_metrics_need_no_token(client):
    client.post("/v1/plans", json=HOUSEHOLDS["newlyweds"], headers=CASEWORKER)

    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    metrics = client.get("/metrics").text
    assert 'linli_http_requests_total{method="POST",route="/v1/plans",status="200"} 1.0' in metrics
    assert 'linli_plans_total{segment="newlyweds"} 1.0' in metrics
    assert "linli_rules_info{version=" in metrics


def test_openapi_has_fixture_examples_and_bearer_auth(client):
    spec = client.get("/openapi.json").json()

    plans = spec["paths"]["/v1/plans"]["post"]
    examples = plans["requestBody"]["content"]["application/json"]["examples"]
    assert "elderly-alone" in examples
    assert "contact_name" not in examples["elderly-alone"]["value"]
    assert plans["summary"] == "为一户家庭生成融入计划"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "/v1/rules/reload" in spec["paths"]


# Routers from other modules


def test_optional_routers_included_when_present(tmp_path, monkeypatch, rules_dir):
    (tmp_path / "linli_extra_router.py").write_text(
        "from fastapi import APIRouter\n"
        "router = APIRouter()\n"
        "@router.get('/v1/extra')\n"
        "def extra() -> dict:\n"
        "    return {'extra': True}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("service.app.OPTIONAL_ROUTERS", ("linli_extra_router", "linli_absent_router"))

    with TestClient(create_app(make_settings(rules_dir=rules_dir))) as client:
        assert client.get("/v1/extra").json() == {"extra": True}


def test_optional_router_with_broken_import_raises(tmp_path, monkeypatch, rules_dir):
    (tmp_path / "linli_broken_router.py").write_text("import linli_dependency_not_installed\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("service.app.OPTIONAL_ROUTERS", ("linli_broken_router",))

    with pytest.raises(ModuleNotFoundError, match="linli_dependency_not_installed"):
        create_app(make_settings(rules_dir=rules_dir))
