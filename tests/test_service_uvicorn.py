"""One real `linli serve` process on 127.0.0.1: concurrency, reload under load, access, limits, logs."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service_support import (BROKEN_RULESET, CASEWORKER, RULE_ADMIN, Server, copy_rules, fixture_households,
                                   set_needs_weight)

HOUSEHOLDS = fixture_households()
NAMES = sorted(HOUSEHOLDS)
THREADS = 8
REQUESTS_PER_THREAD = 200
WATCH_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    return copy_rules(tmp_path_factory.mktemp("served") / "rules")


@pytest.fixture(scope="module")
def server(rules_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "server.log"
    server = Server(rules_dir, log, watch_rules="true", watch_debounce_ms="50", max_body_bytes="65536")
    yield server
    server.stop()


def plan_json(server: Server, name: str, connection=None) -> dict:
    status, body = server.request("POST", "/v1/plans", HOUSEHOLDS[name], CASEWORKER, connection)
    assert status == 200, body
    return json.loads(body)


def served_plans(server: Server, rules_dir, needs_weight: float) -> dict[str, dict[str, dict]]:
    """Switch the served rules to `needs_weight`, then plan every fixture one at a time."""
    set_needs_weight(rules_dir, needs_weight)
    status, body = server.request("POST", "/v1/rules/reload", headers=RULE_ADMIN)
    assert status == 200, body
    plans = {name: plan_json(server, name) for name in NAMES}
    return {json.loads(body)["version"]: plans}


def differing_keys(actual: dict, expected: dict) -> list[str]:
    return sorted(key for key in set(actual) | set(expected) if actual.get(key) != expected.get(key))


def test_concurrent_plans_equal_sequential(server):
    sequential = {name: plan_json(server, name) for name in NAMES}

    def worker(index: int) -> list[tuple[str, dict]]:
        connection = server.connection()
        results = []
        for step in range(REQUESTS_PER_THREAD):
            name = NAMES[(index + step) % len(NAMES)]
            results.append((name, plan_json(server, name, connection)))
        connection.close()
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        results = [item for chunk in pool.map(worker, range(THREADS)) for item in chunk]

    assert len(results) == THREADS * REQUESTS_PER_THREAD
    mismatched = [name for name, plan in results if plan != sequential[name]]
    assert mismatched == []


def test_reload_under_load_serves_one_version_per_request(server, rules_dir):
    expected = served_plans(server, rules_dir, 2.5)
    expected.update(served_plans(server, rules_dir, 2.0))
    assert len(expected) == 2
    stop = threading.Event()

    def worker(index: int) -> list[tuple[str, dict]]:
        connection = server.connection()
        results = []
        while not stop.is_set():
            name = NAMES[(index + len(results)) % len(NAMES)]
            results.append((name, plan_json(server, name, connection)))
        connection.close()
        return results

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(worker, index) for index in range(4)]
        for round_number in range(8):
            set_needs_weight(rules_dir, 2.5 if round_number % 2 == 0 else 2.0)
            status, body = server.request("POST", "/v1/rules/reload", headers=RULE_ADMIN)
            assert status == 200, body
            time.sleep(0.05)
        stop.set()
        results = [item for future in futures for item in future.result()]

    versions = {plan["ruleset_version"] for _, plan in results}
    assert versions == set(expected)
    wrong = [(name, differing_keys(plan, expected[plan["ruleset_version"]][name])) for name, plan in results
             if plan != expected[plan["ruleset_version"]][name]]
    assert wrong == []


def test_access_control_over_http(server):
    anonymous, _ = server.request("POST", "/v1/plans", HOUSEHOLDS["newlyweds"])
    admin_plans, _ = server.request("POST", "/v1/plans", HOUSEHOLDS["newlyweds"], RULE_ADMIN)
    caseworker_reload, _ = server.request("POST", "/v1/rules/reload", headers=CASEWORKER)
    health, _ = server.request("GET", "/healthz")

    assert (anonymous, admin_plans, caseworker_reload, health) == (401, 403, 403, 200)


def test_size_limit_over_http(server):
    status, body = server.request("POST", "/v1/plans", b"[" + b" " * 70_000 + b"]", CASEWORKER)

    assert status == 413
    assert json.loads(body)["error"]["code"] == "body_too_large"


def test_chunked_body_above_limit_over_http(server):
    connection = server.connection()
    chunks = (b" " * 8192 for _ in range(10))
    connection.request("POST", "/v1/plans", body=chunks, encode_chunked=True,
                       headers={**CASEWORKER, "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "body_too_large"
    connection.close()


def test_errors_in_chinese_and_english(server):
    household = {**HOUSEHOLDS["newlyweds"], "structure": "commune"}
    _, chinese = server.request("POST", "/v1/plans", household, CASEWORKER)
    _, english = server.request("POST", "/v1/plans", household, {**CASEWORKER, "Accept-Language": "en-US,en;q=0.8"})

    assert json.loads(chinese)["error"]["message"].startswith("请求有 1 处错误，第一处在“structure”：取值应为")
    assert json.loads(english)["error"]["message"].startswith("1 error(s) in the request; the first at 'structure'")


def test_watcher_reloads_and_keeps_last_good(server, rules_dir):
    _, body = server.request("GET", "/v1/rules/status", headers=RULE_ADMIN)
    before = json.loads(body)
    assert before["watching"] is True
    broken = rules_dir / "rulesets" / "broken.yaml"
    broken.write_text(BROKEN_RULESET, encoding="utf-8")

    def status() -> dict:
        return json.loads(server.request("GET", "/v1/rules/status", headers=RULE_ADMIN)[1])

    try:
        deadline = time.monotonic() + WATCH_WAIT_SECONDS
        while status()["last_error"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        failed = status()
        assert failed["version"] == before["version"]
        assert failed["last_error"]["source"] == "watch"
        assert failed["last_error"]["problems"][0]["line"] == 6
        assert plan_json(server, "newlyweds")["ruleset_version"] == before["version"]
    finally:
        broken.unlink()


def test_logs_are_json_without_personal_data(server):
    household = {**HOUSEHOLDS["elderly-alone"], "contact_name": "日志测试人", "address": "日志路 9 号"}
    server.request("POST", "/v1/plans", household, {**CASEWORKER, "X-Request-ID": "log-check-1"})

    deadline = time.monotonic() + 5
    lines = []
    while not lines and time.monotonic() < deadline:
        lines = [line for line in server.log_lines() if line.get("request_id") == "log-check-1"]
        time.sleep(0.05)
    assert len(lines) == 1
    assert lines[0]["route"] == "/v1/plans"
    assert lines[0]["status"] == 200
    assert set(lines[0]) >= {"ts", "level", "method", "latency_ms", "rule_version"}
    text = server.log_path.read_text(encoding="utf-8")
    assert "日志测试人" not in text
    assert "日志路" not in text
