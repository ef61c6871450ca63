"""The planner registry: leases, atomic swaps, failed reloads, closing, and the rules watcher."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.errors import RuleSetError
from engine.planner import build_planner
from models.household import Household
from service.http_errors import ApiError
from service.rules_watcher import RulesWatcher
from service.state import PlannerRegistry
from tests.service_support import BROKEN_RULESET, copy_rules, fixture_households, set_needs_weight

HOUSEHOLDS = [Household.model_validate(h) for h in fixture_households().values()]
WATCH_WAIT_SECONDS = 20


@pytest.fixture
def rules_dir(tmp_path):
    return copy_rules(tmp_path / "rules")


@pytest.fixture
def registry(rules_dir):
    registry = PlannerRegistry(rules_dir)
    registry.reload(source="startup")
    yield registry
    registry.close()


def expected_plans(rules_dir) -> dict[str, list[str]]:
    """Plan every fixture household with a fresh planner; key the JSON by rule version."""
    planner = build_planner(rules_dir)
    try:
        return {planner.version: [planner.plan(h).model_dump_json() for h in HOUSEHOLDS]}
    finally:
        planner.close()


def wait_for(condition, seconds: float = WATCH_WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_lease_before_load_is_503(rules_dir):
    registry = PlannerRegistry(rules_dir)

    with pytest.raises(ApiError) as caught:
        with registry.lease():
            pass

    assert caught.value.status == 503


def test_lease_keeps_old_planner_open_across_swap(registry, rules_dir):
    with registry.lease() as old:
        set_needs_weight(rules_dir, 2.5)
        outcome = registry.reload()
        assert outcome.changed
        assert registry.version != old.version
        assert not old.machine.closed
        old.plan(HOUSEHOLDS[0])
        assert registry.status().retired_in_use == 1
        assert registry.loaded_at(old) is not None

    assert old.machine.closed
    assert registry.status().retired_in_use == 0
    assert registry.loaded_at(old) is None


def test_swap_closes_unused_planner_at_once(registry, rules_dir):
    with registry.lease() as old:
        pass
    set_needs_weight(rules_dir, 2.5)

    registry.reload()

    assert old.machine.closed


def test_unchanged_files_skip_the_build(registry):
    with registry.lease() as before:
        pass

    outcome = registry.reload()

    assert not outcome.changed
    with registry.lease() as after:
        assert after is before


def test_failed_reload_keeps_previous_version(registry, rules_dir):
    version = registry.version
    (rules_dir / "rulesets" / "broken.yaml").write_text(BROKEN_RULESET, encoding="utf-8")

    with pytest.raises(RuleSetError):
        registry.reload(source="api")

    status = registry.status()
    assert status.version == version
    assert status.failed_reloads == 1
    problem = status.last_error.problems[0]
    assert problem.file.endswith("broken.yaml")
    assert (problem.line, problem.column) == (6, 11)
    with registry.lease() as planner:
        planner.plan(HOUSEHOLDS[0])


def test_broken_model_file_rejected(registry, rules_dir):
    version = registry.version
    model = rules_dir / "model" / "segmenter.json"
    if not model.is_file():
        pytest.skip("no segmentation model shipped in rules/model/")
    model.write_text("{ not json", encoding="utf-8")

    with pytest.raises(RuleSetError):
        registry.reload(source="api")

    status = registry.status()
    assert status.version == version
    assert status.last_error.problems[0].code == "model_json"


def test_success_clears_last_error(registry, rules_dir):
    broken = rules_dir / "rulesets" / "broken.yaml"
    broken.write_text(BROKEN_RULESET, encoding="utf-8")
    with pytest.raises(RuleSetError):
        registry.reload()

    broken.unlink()
    registry.reload()

    assert registry.status().last_error is None


def test_close_waits_for_active_lease(rules_dir):
    registry = PlannerRegistry(rules_dir)
    registry.reload()

    with registry.lease() as planner:
        registry.close()
        assert not planner.machine.closed
        planner.plan(HOUSEHOLDS[0])

    assert planner.machine.closed
    assert not registry.ready


def test_concurrent_plans_see_one_version_during_reloads(registry, rules_dir):
    expected = expected_plans(rules_dir)
    set_needs_weight(rules_dir, 2.5)
    expected.update(expected_plans(rules_dir))
    set_needs_weight(rules_dir, 2.0)
    assert len(expected) == 2
    stop = threading.Event()

    def plan_repeatedly(worker: int) -> list[tuple[str, int, str]]:
        seen = []
        while not stop.is_set():
            index = (worker + len(seen)) % len(HOUSEHOLDS)
            with registry.lease() as planner:
                seen.append((planner.version, index, planner.plan(HOUSEHOLDS[index]).model_dump_json()))
        return seen

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(plan_repeatedly, worker) for worker in range(4)]
        for round_number in range(6):
            set_needs_weight(rules_dir, 2.5 if round_number % 2 == 0 else 2.0)
            registry.reload()
        stop.set()
        results = [item for future in futures for item in future.result()]

    assert {version for version, _, _ in results} == set(expected)
    for version, index, plan in results:
        assert plan == expected[version][index]
    assert registry.status().retired_in_use == 0


def test_watcher_reloads_on_change_and_reports_errors(registry, rules_dir):
    watcher = RulesWatcher(registry, debounce_ms=50)
    watcher.start()
    try:
        first = registry.version
        set_needs_weight(rules_dir, 2.5)
        assert wait_for(lambda: registry.version != first)

        second = registry.version
        (rules_dir / "rulesets" / "broken.yaml").write_text(BROKEN_RULESET, encoding="utf-8")
        assert wait_for(lambda: registry.status().last_error is not None)
        assert registry.version == second
        assert registry.status().last_error.source == "watch"

        (rules_dir / "rulesets" / "broken.yaml").unlink()
        assert wait_for(lambda: registry.status().last_error is None)
        assert registry.version == second
    finally:
        watcher.stop()
    assert not any(t.name == "linli-rules-watcher" for t in threading.enumerate())
