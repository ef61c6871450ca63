"""Access control and settings: token roles, --no-auth on loopback only, token files."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.auth import TokenStore
from service.cli_serve import setting_message, unknown_variables
from service.settings import Role, Settings, is_loopback
from tests.service_support import CASEWORKER, CASEWORKER_TOKEN, RULE_ADMIN, TOKENS, fixture_households

HOUSEHOLD = fixture_households()["young-professional"]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(_env_file=None, tokens=TOKENS))) as test_client:
        yield test_client


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": f"Basic {CASEWORKER_TOKEN}"}])
def test_plan_without_valid_token_is_401(client, headers):
    response = client.post("/v1/plans", json=HOUSEHOLD, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in response.json()["error"]["message"]


def test_caseworker_plans_and_reads(client):
    assert client.post("/v1/plans", json=HOUSEHOLD, headers=CASEWORKER).status_code == 200
    assert client.post("/v1/plans/batch", json={"households": [HOUSEHOLD]}, headers=CASEWORKER).status_code == 200
    assert client.get("/v1/catalogue", headers=CASEWORKER).status_code == 200
    assert client.get("/v1/rules", headers=CASEWORKER).status_code == 200


def test_caseworker_cannot_manage_rules(client):
    reload = client.post("/v1/rules/reload", headers=CASEWORKER)
    validate = client.post("/v1/rules/validate", json={"kind": "ruleset", "name": "a.yaml", "text": "x: 1"},
                           headers={**CASEWORKER, "Accept-Language": "en"})

    assert reload.status_code == 403
    assert reload.json()["error"]["message"] == "令牌的角色（caseworker）无权执行此操作，需要以下角色之一：rule_admin。"
    assert validate.status_code == 403
    assert "needs one of: rule_admin" in validate.json()["error"]["message"]


def test_rule_admin_manages_rules_but_not_plans(client):
    assert client.post("/v1/rules/reload", headers=RULE_ADMIN).status_code == 200
    assert client.get("/v1/rules/status", headers=RULE_ADMIN).status_code == 200
    assert client.post("/v1/plans", json=HOUSEHOLD, headers=RULE_ADMIN).status_code == 403


def test_token_with_two_roles_does_both():
    tokens = {"both-roles-token-0123456789": ["caseworker", "rule_admin"]}
    headers = {"Authorization": "Bearer both-roles-token-0123456789"}
    with TestClient(create_app(Settings(_env_file=None, tokens=tokens))) as client:
        assert client.post("/v1/plans", json=HOUSEHOLD, headers=headers).status_code == 200
        assert client.post("/v1/rules/reload", headers=headers).status_code == 200


def test_no_auth_on_loopback_admits_everyone():
    with TestClient(create_app(Settings(_env_file=None, no_auth=True))) as client:
        assert client.post("/v1/plans", json=HOUSEHOLD).status_code == 200
        assert client.post("/v1/rules/reload").status_code == 200


def test_token_store_matches_exact_token():
    store = TokenStore({CASEWORKER_TOKEN: frozenset({Role.caseworker})})

    assert store.roles_for(CASEWORKER_TOKEN) == {Role.caseworker}
    assert store.roles_for(CASEWORKER_TOKEN[:-1]) is None
    assert store.roles_for(CASEWORKER_TOKEN + "x") is None
    assert store.roles_for("令牌") is None


# Settings


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_no_auth_rejected_off_loopback(host):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, host=host, no_auth=True)

    message = setting_message(caught.value.errors(include_url=False)[0], "zh")
    assert message.startswith("配置项 LINLI_HOST 无效")
    assert host in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_recognised(host):
    assert is_loopback(host)


def test_settings_without_tokens_rejected():
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)

    assert "LINLI_TOKENS" in setting_message(caught.value.errors(include_url=False)[0], "zh")


def test_short_token_rejected_without_echo():
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, tokens={"short-secret": "caseworker"})

    message = setting_message(caught.value.errors(include_url=False)[0], "en")
    assert "at least 16 characters" in message
    assert "short-secret" not in message


def test_settings_read_from_environment(monkeypatch):
    monkeypatch.setenv("LINLI_TOKENS", json.dumps(TOKENS))
    monkeypatch.setenv("LINLI_PORT", "9123")
    monkeypatch.setenv("LINLI_WATCH_RULES", "true")

    settings = Settings(_env_file=None)

    assert settings.port == 9123
    assert settings.watch_rules is True
    assert settings.token_roles()[CASEWORKER_TOKEN] == {Role.caseworker}
    assert CASEWORKER_TOKEN not in repr(settings)


def test_invalid_port_named_in_message(monkeypatch):
    monkeypatch.setenv("LINLI_PORT", "eighty")

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, no_auth=True)

    message = setting_message(caught.value.errors(include_url=False)[0], "zh")
    assert message.startswith("配置项 LINLI_PORT 的取值 'eighty' 无效：应为整数")


def test_tokens_file_merged(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"file-token-0123456789abc": "rule_admin"}), encoding="utf-8")

    settings = Settings(_env_file=None, tokens_file=path, tokens=TOKENS)

    roles = settings.token_roles()
    assert roles["file-token-0123456789abc"] == {Role.rule_admin}
    assert roles[CASEWORKER_TOKEN] == {Role.caseworker}


def test_tokens_file_with_unknown_role_rejected(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"file-token-0123456789abc": "boss"}), encoding="utf-8")

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, tokens_file=path)

    message = setting_message(caught.value.errors(include_url=False)[0], "zh")
    assert "未知角色 'boss'" in message
    assert "file-token" not in message


def test_unknown_variables_listed(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("LINLI_PROT=9000\nOTHER_TOOL=1\nLINLI_PORT=9001\n", encoding="utf-8")
    for name in [name for name in os.environ if name.startswith("LINLI_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LINLI_WATCH_RULE", "true")

    assert unknown_variables(str(env_file)) == ["LINLI_PROT", "LINLI_WATCH_RULE"]
