"""Rule tests written in YAML by rule authors: a household and what its plan must show.

A test file (`rules/tests/*.yaml`) lists tests. Each names a household, inline or by the
name of a fixture in `fixtures/households/`, optionally with `changes` merged into it, and
expectations: the segment, tags, items present or absent, their rank order, text a reason
must contain, and rules that must or must not fire. `run_rule_tests` plans every household
with the real planner, compares, and lists for each failure what was expected, what the plan
shows and why (`engine.explain`), and which rules no test made fire.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import InputError, Problem, translate_field_error
from engine.explain import condition_checks, explain_item, format_value
from engine.inputs import validate_household
from engine.loader import DEFAULT_RULES_DIR, RuleBase, display_name
from engine.messages import render
from engine.planner import Planner
from engine.yaml_loader import LoadedYaml, load_yaml_file
from models.catalogue import ItemId
from models.household import Household
from models.plan import Plan, Recommendation
from models.rules import Name, RuleId

DEFAULT_FIXTURES_DIR = DEFAULT_RULES_DIR.parent / "fixtures" / "households"
_KINDS_ZH = {"item": "项目", "rule": "规则", "tag": "标签", "segment": "人群分类"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReasonExpectation(_Strict):
    item: ItemId
    contains: str = Field(min_length=1, description="理由中应包含的文字")


class Expectation(_Strict):
    """What the plan must show. Every key is optional; give at least one."""

    segment: Name | None = Field(default=None, description="人群分类 id")
    segment_source: Literal["rule", "model", "default"] | None = Field(default=None, description="分类来源")
    tags: list[Name] = Field(default_factory=list, description="必须设置的标签")
    items: list[ItemId] = Field(default_factory=list, description="必须列入计划的项目")
    absent: list[ItemId] = Field(default_factory=list, description="不得列入计划的项目")
    order: list[ItemId] = Field(default_factory=list, description="同一类项目，按此先后排名")
    reasons: list[ReasonExpectation] = Field(default_factory=list, description="项目理由中应包含的文字")
    fired: list[RuleId] = Field(default_factory=list, description="必须触发的规则")
    not_fired: list[RuleId] = Field(default_factory=list, description="不得触发的规则")


class RuleTest(_Strict):
    name: str = Field(min_length=1, description="测试名称（中文）")
    household: str | dict[str, Any] = Field(description="fixtures/households/ 中的家庭名（不含 .json），或直接写出家庭")
    changes: dict[str, Any] = Field(default_factory=dict, description="合并到家庭上的修改，例如 {needs: {health: 4}}")
    expect: Expectation


class RuleTestFile(_Strict):
    """One `rules/tests/*.yaml` file."""

    tests: list[RuleTest] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedTest:
    test: RuleTest
    household: Household
    loaded: LoadedYaml
    index: int

    @property
    def location(self) -> str:
        pos = self.loaded.position(("tests", self.index))
        return f"{self.loaded.file}:{pos.line if pos else '?'}"

    def location_of(self, *path: str | int) -> str:
        pos = self.loaded.position(("tests", self.index, "expect") + path)
        return f"{self.loaded.file}:{pos.line}:{pos.column}" if pos else self.location


@dataclass
class RuleTestOutcome:
    name: str
    location: str
    failures: list[str]
    fired: set[str]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class RuleTestReport:
    outcomes: list[RuleTestOutcome] = field(default_factory=list)
    unfired: list[tuple[str, str]] = field(default_factory=list)
    rule_count: int = 0

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed


def find_test_files(directory: Path) -> list[Path]:
    """The test files of a rules directory: `tests/*.yaml` inside it."""
    return sorted((directory / "tests").glob("*.yaml"))


def load_rule_tests(paths: list[Path], rulebase: RuleBase,
                    fixtures_dir: Path = DEFAULT_FIXTURES_DIR) -> tuple[list[LoadedTest], list[Problem]]:
    """Read test files; check households, item, segment, tag and rule ids against the rule base."""
    tests: list[LoadedTest] = []
    problems: list[Problem] = []
    for path in paths:
        loaded = load_yaml_file(path, display_name(path))
        problems.extend(loaded.problems)
        if loaded.data is None or any(p.severity == "error" for p in loaded.problems):
            continue
        try:
            parsed = RuleTestFile.model_validate(loaded.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                chinese, english = translate_field_error(error)
                problems.append(loaded.problem("schema", tuple(error["loc"]), at_key=error["type"] == "extra_forbidden",
                                               detail_zh=chinese, detail_en=english))
            continue
        for index, test in enumerate(parsed.tests):
            wrong = _check_references(loaded, index, test, rulebase)
            problems.extend(wrong)
            household = _household(loaded, index, test, fixtures_dir, problems)
            if household is not None and not wrong:
                tests.append(LoadedTest(test, household, loaded, index))
    return tests, problems


def _household(loaded: LoadedYaml, index: int, test: RuleTest, fixtures_dir: Path,
               problems: list[Problem]) -> Household | None:
    household_path = ("tests", index, "household")
    if isinstance(test.household, str):
        path = fixtures_dir / f"{test.household}.json"
        if not path.is_file():
            names = sorted(p.stem for p in fixtures_dir.glob("*.json"))
            problems.append(loaded.problem("test_unknown_fixture", household_path, name=test.household,
                                           folder=display_name(fixtures_dir), allowed="、".join(names) or "-"))
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        data = test.household
    merged = _merge(data, test.changes)
    try:
        return validate_household(merged)
    except InputError as exc:
        at = ("tests", index, "changes") if test.changes else household_path
        for fault in exc.problems:
            problems.append(loaded.problem("test_household", at, field=fault.path, detail=fault.message_zh,
                                           detail_en=fault.message_en))
        return None


def _merge(base: Any, changes: Any) -> Any:
    """Merge `changes` into `base`: mappings key by key, anything else replaced."""
    if not isinstance(base, dict) or not isinstance(changes, dict):
        return copy.deepcopy(changes)
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        merged[key] = _merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def _check_references(loaded: LoadedYaml, index: int, test: RuleTest, rulebase: RuleBase) -> list[Problem]:
    expect = test.expect
    base = ("tests", index, "expect")
    checks: list[tuple[tuple, str, str, list[str]]] = []
    for key in ("items", "absent", "order"):
        checks += [(base + (key, i), value, "item", list(rulebase.items)) for i, value in enumerate(getattr(expect, key))]
    checks += [(base + ("reasons", i, "item"), r.item, "item", list(rulebase.items)) for i, r in enumerate(expect.reasons)]
    for key in ("fired", "not_fired"):
        checks += [(base + (key, i), value, "rule", list(rulebase.rules_by_id)) for i, value in enumerate(getattr(expect, key))]
    checks += [(base + ("tags", i), value, "tag", list(rulebase.tags)) for i, value in enumerate(expect.tags)]
    if expect.segment is not None:
        checks.append((base + ("segment",), expect.segment, "segment", list(rulebase.segment_names)))

    problems = []
    for path, value, kind, known in checks:
        if value not in known:
            close = difflib.get_close_matches(value, known, n=3)
            problems.append(loaded.problem("test_unknown_reference", path, kind=_KINDS_ZH[kind], kind_en=kind,
                                           name=value, close="、".join(close) or "-"))
    if expect == Expectation():
        problems.append(loaded.problem("test_no_expectation", ("tests", index, "expect")))
    return problems


def run_rule_tests(planner: Planner, tests: list[LoadedTest], lang: str = "zh") -> RuleTestReport:
    """Plan each test's household and compare; list the rules no test made fire."""
    report = RuleTestReport(rule_count=len(planner.rulebase.rules))
    fired_anywhere: set[str] = set()
    for loaded_test in tests:
        plan = planner.plan(loaded_test.household)
        fired = {r.id for r in plan.fired_rules}
        fired_anywhere |= fired
        failures = _compare(planner, loaded_test, plan, lang)
        report.outcomes.append(RuleTestOutcome(loaded_test.test.name, loaded_test.location, failures, fired))
    report.unfired = [(r.id, f"{r.file}:{r.line}") for r in planner.rulebase.rules if r.id not in fired_anywhere]
    return report


def _compare(planner: Planner, loaded_test: LoadedTest, plan: Plan, lang: str) -> list[str]:
    expect = loaded_test.test.expect
    at = loaded_test.location_of
    listed = {rec.item_id: rec for recs in plan.recommendations.values() for rec in recs}
    fired = {r.id for r in plan.fired_rules}
    failures: list[str] = []

    if expect.segment is not None and plan.segment.id != expect.segment:
        failures.append(render("test_segment", lang, at=at("segment"), expected=expect.segment, actual=plan.segment.id,
                               source=plan.segment.source, rule=plan.segment.rule_id or "-"))
    if expect.segment_source is not None and plan.segment.source != expect.segment_source:
        failures.append(render("test_segment_source", lang, at=at("segment_source"), expected=expect.segment_source,
                               actual=plan.segment.source))
    for i, tag in enumerate(expect.tags):
        if tag not in plan.tags:
            failures.append(render("test_tag", lang, at=at("tags", i), tag=tag, actual="、".join(plan.tags) or "-"))
    for i, item_id in enumerate(expect.items):
        if item_id not in listed:
            verdict = explain_item(planner, loaded_test.household, item_id, lang).summary
            failures.append(render("test_item_missing", lang, at=at("items", i), item=item_id, why=verdict))
    for i, item_id in enumerate(expect.absent):
        if item_id in listed:
            rec = listed[item_id]
            failures.append(render("test_item_present", lang, at=at("absent", i), item=item_id, rank=rec.rank,
                                   reasons="；".join(rec.reasons)))
    failures += _compare_order(expect.order, listed, at, lang)
    failures += _compare_reasons(expect.reasons, listed, at, lang)
    failures += _compare_fired(planner, loaded_test, expect, fired, at, lang)
    return failures


def _compare_order(order: list[str], listed: dict[str, Recommendation], at, lang: str) -> list[str]:
    failures = []
    for i, item_id in enumerate(order):
        if item_id not in listed:
            failures.append(render("test_order_missing", lang, at=at("order", i), item=item_id))
    present = [listed[i] for i in order if i in listed]
    for earlier, later in zip(present, present[1:]):
        if earlier.kind != later.kind:
            failures.append(render("test_order_kinds", lang, at=at("order"), first=earlier.item_id,
                                   second=later.item_id))
        elif earlier.rank > later.rank:
            actual = "、".join(f"{r.item_id} #{r.rank}" for r in sorted(present, key=lambda r: (r.kind, r.rank)))
            failures.append(render("test_order", lang, at=at("order"), expected=" > ".join(order), actual=actual))
            break
    return failures


def _compare_reasons(reasons: list[ReasonExpectation], listed: dict[str, Recommendation], at, lang: str) -> list[str]:
    failures = []
    for i, expected in enumerate(reasons):
        rec = listed.get(expected.item)
        if rec is None:
            failures.append(render("test_reason_item_missing", lang, at=at("reasons", i), item=expected.item))
        elif not any(expected.contains in reason for reason in rec.reasons):
            actual = "\n".join(f"        - {reason}" for reason in rec.reasons)
            failures.append(render("test_reason", lang, at=at("reasons", i, "contains"), item=expected.item,
                                   text=expected.contains, actual=actual))
    return failures


def _compare_fired(planner: Planner, loaded_test: LoadedTest, expect: Expectation, fired: set[str], at,
                   lang: str) -> list[str]:
    failures = []
    fact = None
    for i, rule_id in enumerate(expect.fired):
        if rule_id in fired:
            continue
        fact = fact or planner.infer(loaded_test.household).fact
        rule = planner.rulebase.rules_by_id[rule_id]
        checks = condition_checks(rule.condition, fact, only_failing=True)
        parts = "；".join(f"{c.text}（实际 {c.field} = {format_value(c.actual, lang)}）" if lang == "zh" else
                         f"{c.text} (actual {c.field} = {format_value(c.actual, lang)})" for c in checks)
        failures.append(render("test_rule_not_fired", lang, at=at("fired", i), rule=rule_id, parts=parts or "-"))
    for i, rule_id in enumerate(expect.not_fired):
        if rule_id in fired:
            failures.append(render("test_rule_fired", lang, at=at("not_fired", i), rule=rule_id))
    return failures


def format_report(report: RuleTestReport, lang: str = "zh") -> list[str]:
    """Lines for the terminal: each failing test with its differences, coverage, then `N passed, N failed`."""
    lines = []
    for outcome in report.outcomes:
        mark = "✓" if outcome.passed else "✗"
        lines.append(f"{mark} {outcome.name}  {outcome.location}")
        lines += [f"    {failure}" for failure in outcome.failures]
    covered = report.rule_count - len(report.unfired)
    code = "test_coverage" if report.unfired else "test_coverage_full"
    lines.append(render(code, lang, covered=covered, total=report.rule_count))
    for rule_id, where in report.unfired:
        lines.append(f"    - {rule_id}（{where}）" if lang == "zh" else f"    - {rule_id} ({where})")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return lines

