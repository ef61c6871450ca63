"""Check what a rules directory means, after `engine.loader` has checked each file's structure.

Every problem is reported in one run, each at `file:line:column`:
- unknown items, segments, tags and condition fields, type mismatches, duplicate ids;
- rules whose condition can never hold, found by interval reasoning over the typed
  condition form (`engine.satisfiability`);
- tags that a condition matches but that no rule able to fire ever sets;
- a recommend and an exclude of one item, or two different `set_segment`, at the same
  priority in rules that can hold for the same household;
- catalogue items that no rule and no need match can bring into a plan.
"""

from __future__ import annotations

import difflib
import json
import os
import select
import signal
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import durable_rules_engine

from engine.compiler import compile_ruleset
from engine.conditions import And, Compare, Condition, ConditionFault, HasTag, Vocabulary, parse_condition, to_nnf
from engine.errors import Problem
from engine.features import HOUSEHOLD_FEATURES
from engine.runtime import ENGINE_LOCK
from engine.satisfiability import Conflict, Logic, conflict_text, leaves_of
from engine.yaml_loader import LoadedYaml, format_path
from models.catalogue import CatalogueItem, ItemKind
from models.household import NEED_DIMENSIONS
from models.rules import Rule

if TYPE_CHECKING:
    from engine.loader import RuleFiles, RuleSetSource

MAX_NEED_SCORE = 4
ENGINE_CHECK_SECONDS = 10.0
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class CompiledRule:
    """A checked rule with its parsed condition and where it was written."""

    rule: Rule
    condition: Condition
    file: str
    line: int
    ruleset: str
    order: int

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass
class CheckedRules:
    """Result of the meaning check: the parts of the rule base, and every problem found."""

    items: dict[str, CatalogueItem] = field(default_factory=dict)
    item_conditions: dict[str, Condition | None] = field(default_factory=dict)
    item_origins: dict[str, tuple[str, int]] = field(default_factory=dict)
    rules: list[CompiledRule] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _Where:
    """Place of a rule or item: its file and its key path inside the file."""

    loaded: LoadedYaml
    path: tuple


def check_meaning(files: RuleFiles) -> CheckedRules:
    """Check references, conditions, contradictions, conflicts and reachability of the loaded files."""
    return _MeaningChecker(files).run()


class _MeaningChecker:
    def __init__(self, files: RuleFiles):
        self.files = files
        self.result = CheckedRules()
        self.places: dict[str, _Where] = {}
        self.item_places: dict[str, _Where] = {}
        self.tags_of_invalid_rules: set[str] = set()

    def report(self, place: _Where, code: str, suffix: tuple = (), **params: object) -> None:
        self.result.problems.append(place.loaded.problem(code, place.path + suffix, **params))

    # Whole run

    def run(self) -> CheckedRules:
        files = self.files
        segment_ids: tuple[str, ...] = ()
        if files.dimensions is not None:
            self.check_dimensions(*files.dimensions)
        if files.segments is not None:
            segment_ids = self.check_segments(*files.segments)
        if files.scoring is not None:
            self.check_scoring(*files.scoring)

        self.collect_items()
        vocabulary = Vocabulary(segments=segment_ids, tags=self.collect_tags())
        self.result.tags = vocabulary.tags
        self.check_item_conditions(vocabulary)
        self.check_rules(vocabulary, segments_known=files.segments is not None)

        logic = Logic(vocabulary)
        never = self.check_contradictions(logic)
        alive = [r for r in self.result.rules if r.id not in never]
        self.check_tags_settable(logic, alive)
        self.check_same_priority(logic, alive)
        self.check_reachable(logic, alive)
        self.check_recommend_eligible(logic, alive)
        if not any(p.severity == "error" for p in self.files.problems + self.result.problems):
            self.check_engine_accepts()
        return self.result

    # Files other than rules and items

    def check_dimensions(self, loaded: LoadedYaml, dimensions) -> None:
        actual = [d.id for d in dimensions.dimensions]
        if actual != list(NEED_DIMENSIONS):
            self.result.problems.append(loaded.problem("dimensions_fixed", ("dimensions",),
                                                       expected=", ".join(NEED_DIMENSIONS), actual=", ".join(actual)))

    def check_segments(self, loaded: LoadedYaml, segments) -> tuple[str, ...]:
        ids = [s.id for s in segments.segments]
        seen: dict[str, int] = {}
        for index, segment in enumerate(segments.segments):
            if segment.id in seen:
                first = loaded.position(("segments", seen[segment.id]))
                self.result.problems.append(loaded.problem(
                    "duplicate_id", ("segments", index, "id"), name=segment.id,
                    first=f"{loaded.file}:{first.line if first else '?'}"))
            seen.setdefault(segment.id, index)
            for key in segment.prototype:
                if key not in HOUSEHOLD_FEATURES and key not in NEED_DIMENSIONS:
                    self.result.problems.append(loaded.problem(
                        "unknown_prototype_key", ("segments", index, "prototype", key), at_key=True, name=key))
        if segments.default not in ids:
            self.result.problems.append(loaded.problem("unknown_segment", ("default",), name=segments.default,
                                                       allowed="、".join(ids)))
        return tuple(dict.fromkeys(ids))

    def check_scoring(self, loaded: LoadedYaml, scoring) -> None:
        kinds = {k.value for k in ItemKind}
        for kind in scoring.top_n:
            if kind not in kinds:
                self.result.problems.append(loaded.problem("unknown_kind", ("top_n", kind), at_key=True,
                                                           name=kind, allowed="、".join(sorted(kinds))))

    # Catalogue items

    def collect_items(self) -> None:
        result = self.result
        for source in self.files.catalogue:
            for index, item in source.items:
                where = _Where(source.loaded, ("items", index))
                pos = source.loaded.position(where.path)
                if item.id in result.item_origins:
                    file, line = result.item_origins[item.id]
                    self.report(where, "duplicate_id", ("id",), name=item.id, first=f"{file}:{line}")
                    continue
                result.items[item.id] = item
                result.item_origins[item.id] = (source.loaded.file, pos.line if pos else 0)
                self.item_places[item.id] = where

    def check_item_conditions(self, vocabulary: Vocabulary) -> None:
        item_vocabulary = Vocabulary(segments=vocabulary.segments, tags=(), check_tags=True)
        for item_id, item in self.result.items.items():
            when = item.eligibility.when
            where = self.item_places[item_id]
            condition = self.parse(where, ("eligibility", "when"), when, item_vocabulary) if when else None
            self.result.item_conditions[item_id] = condition

    # Rules

    def collect_tags(self) -> tuple[str, ...]:
        """Collect every tag some `add_tag` sets, including in rules that failed the structure check."""
        tags = {a.add_tag for s in self.files.rulesets for _, r in s.rules for a in r.then if a.add_tag}
        self.tags_of_invalid_rules = {t for s in self.files.rulesets for t in _raw_tags(s)}
        return tuple(sorted(tags | self.tags_of_invalid_rules))

    def check_rules(self, vocabulary: Vocabulary, segments_known: bool) -> None:
        seen: dict[str, str] = {}
        order = 0
        for source in self.files.rulesets:
            for index, rule in source.rules:
                where = _Where(source.loaded, ("rules", index))
                pos = source.loaded.position(where.path)
                if rule.id in seen:
                    self.report(where, "duplicate_id", ("id",), name=rule.id, first=seen[rule.id])
                    continue
                seen[rule.id] = f"{source.loaded.file}:{pos.line if pos else '?'}"
                self.check_actions(where, rule, vocabulary, segments_known)
                condition = self.parse(where, ("when",), rule.when, vocabulary)
                if condition is None:
                    continue
                self.places[rule.id] = where
                self.result.rules.append(CompiledRule(rule, condition, source.loaded.file, pos.line if pos else 0,
                                                      source.ruleset, order))
                order += 1

    def check_actions(self, where: _Where, rule: Rule, vocabulary: Vocabulary, segments_known: bool) -> None:
        items = self.result.items
        known_items = set(items) | {i for s in self.files.catalogue for i in _raw_item_ids(s)}
        for index, action in enumerate(rule.then):
            action_path = ("then", index)
            if segments_known and action.set_segment and action.set_segment not in vocabulary.segments:
                self.report(where, "unknown_segment", action_path + ("set_segment",), name=action.set_segment,
                            allowed="、".join(vocabulary.segments))
            for key in ("recommend", "exclude", "follow_up"):
                target = getattr(action, key)
                item = getattr(target, "item", None) if target else None
                if item and item not in known_items:
                    self.report(where, "unknown_item", action_path + (key, "item"), name=item, hint=_suggest(item, items))

    def parse(self, where: _Where, suffix: tuple, text: str, vocabulary: Vocabulary) -> Condition | None:
        """Parse one condition; on a fault, report it at the exact character inside the YAML value."""
        try:
            return parse_condition(text, vocabulary)
        except ConditionFault as fault:
            offset = _fault_offset(text, fault)
            self.result.problems.append(_problem_in_scalar(where.loaded, where.path + suffix, text, offset,
                                                           fault.code, "error", **fault.params))
            return None

    # Logic over conditions

    def check_contradictions(self, logic: Logic) -> set[str]:
        """Report rules whose condition can never hold; return their ids."""
        never = set()
        for rule in self.result.rules:
            conflicts = logic.conflicts(rule.condition)
            if conflicts is None:
                continue
            never.add(rule.id)
            self.report_conflict(self.places[rule.id], ("when",), rule.rule.when, conflicts,
                                 "rule_never_fires", "error", rule=rule.id)
        return never

    def report_conflict(self, where: _Where, suffix: tuple, text: str, conflicts: list[Conflict],
                        code: str, severity: str, **params: object) -> None:
        """Report `code` with the caret on the last leaf of the first conflict, found in the condition text."""
        last = conflicts[0].leaves[-1]
        offset = max(0, text.find(getattr(last, "text", "") or "\0"))
        zh, en = conflict_text(conflicts)
        self.result.problems.append(_problem_in_scalar(where.loaded, where.path + suffix, text, offset, code,
                                                       severity, conflicts=zh, conflicts_en=en, **params))

    def check_tags_settable(self, logic: Logic, alive: list[CompiledRule]) -> None:
        """Report tags that conditions match but that only rules unable to fire would set."""
        all_tags = frozenset(self.result.tags)
        settable: set[str] = set(self.tags_of_invalid_rules)
        changed = True
        while changed:
            changed = False
            for rule in alive:
                new = {a.add_tag for a in rule.rule.then if a.add_tag} - settable
                if new and logic.conflicts(rule.condition, impossible_tags=all_tags - settable) is None:
                    settable |= new
                    changed = True

        setters = defaultdict(list)
        for rule in self.result.rules:
            for action in rule.rule.then:
                if action.add_tag:
                    setters[action.add_tag].append(f"{rule.id}（{rule.file}:{rule.line}）")
        for rule in alive:
            for leaf in leaves_of(to_nnf(rule.condition)):
                if isinstance(leaf, HasTag) and not leaf.negated and leaf.tag not in settable:
                    where = self.places[rule.id]
                    offset = max(0, rule.rule.when.find(leaf.text))
                    self.result.problems.append(_problem_in_scalar(
                        where.loaded, where.path + ("when",), rule.rule.when, offset, "tag_never_set", "error",
                        name=leaf.tag, setters="、".join(setters[leaf.tag])))

    def check_same_priority(self, logic: Logic, alive: list[CompiledRule]) -> None:
        """Report a recommend and an exclude of one item, or two segments, at one priority that can hold together."""
        groups: dict[int, list[CompiledRule]] = defaultdict(list)
        for rule in alive:
            groups[rule.rule.priority].append(rule)
        for group in groups.values():
            self.check_recommend_exclude(logic, group)
            self.check_segments_set(logic, group)

    def check_recommend_exclude(self, logic: Logic, group: list[CompiledRule]) -> None:
        recommends = defaultdict(list)
        for rule in group:
            for action in rule.rule.then:
                if action.recommend:
                    recommends[action.recommend.item].append(rule)
        for rule in group:
            for index, action in enumerate(rule.rule.then):
                if not action.exclude:
                    continue
                for other in recommends.get(action.exclude.item, []):
                    if other is rule or logic.conflicts(And((other.condition, rule.condition))) is None:
                        self.report(self.places[rule.id], "action_conflict", ("then", index, "exclude", "item"),
                                    rule=rule.id, item=action.exclude.item, other=other.id,
                                    where=f"{other.file}:{other.line}", priority=rule.rule.priority)
                        break

    def check_segments_set(self, logic: Logic, group: list[CompiledRule]) -> None:
        setters = [(r, i, a.set_segment) for r in group for i, a in enumerate(r.rule.then) if a.set_segment]
        for position, (rule, index, segment) in enumerate(setters):
            for other, _, other_segment in setters[:position]:
                if other_segment == segment:
                    continue
                if other is rule or logic.conflicts(And((other.condition, rule.condition))) is None:
                    self.report(self.places[rule.id], "segment_conflict", ("then", index, "set_segment"),
                                rule=rule.id, segment=segment, other=other.id, other_segment=other_segment,
                                where=f"{other.file}:{other.line}", priority=rule.rule.priority)
                    break

    def check_reachable(self, logic: Logic, alive: list[CompiledRule]) -> None:
        """Warn about items that no rule able to fire recommends and no need match can list."""
        from engine.scoring import need_match  # imported here: engine.scoring imports the loader, which imports this module

        recommended = {a.recommend.item for r in alive for a in r.rule.then if a.recommend}
        scoring = self.files.scoring[1] if self.files.scoring else None
        for item_id, item in self.result.items.items():
            where = self.item_places[item_id]
            condition = self.result.item_conditions.get(item_id)
            conflicts = logic.conflicts(condition) if condition is not None else None
            if conflicts is not None:
                self.report_conflict(where, ("eligibility", "when"), item.eligibility.when, conflicts,
                                     "item_never_eligible", "warning", name=item_id)
                continue
            if item_id in recommended:
                continue
            best = need_match(item, dict.fromkeys(NEED_DIMENSIONS, MAX_NEED_SCORE))[0]
            if best == 0:
                self.report(where, "item_unreachable", ("id",), severity="warning", name=item_id)
            elif scoring is not None and best < scoring.min_need_match:
                self.report(where, "item_unreachable_need", ("id",), severity="warning", name=item_id,
                            best=f"{best:.2f}", threshold=scoring.min_need_match)

    def check_recommend_eligible(self, logic: Logic, alive: list[CompiledRule]) -> None:
        """Warn when every household a rule holds for is ineligible for an item the rule recommends."""
        for rule in alive:
            for index, action in enumerate(rule.rule.then):
                item = self.result.items.get(action.recommend.item) if action.recommend else None
                if item is None:
                    continue
                limits = _eligibility_leaves(item, self.result.item_conditions.get(item.id))
                if not limits:
                    continue
                conflicts = logic.conflicts(And((rule.condition, *limits)))
                if conflicts is not None:
                    zh, en = conflict_text(conflicts)
                    self.report(self.places[rule.id], "recommend_never_eligible", ("then", index, "recommend", "item"),
                                severity="warning", rule=rule.id, item=item.id, conflicts=zh, conflicts_en=en)


    def check_engine_accepts(self) -> None:
        """Compile the rules once in a child process and report it if durable_rules rejects them or hangs.

        durable_rules 2.0.28 limits its network, so a valid rule set can still fail. Measured: more than
        128 `'x' not in` list tests give error 107, more than 256 rules with the same condition error 108,
        and about 500 list tests (`'x' in household.interests`) below one node make it loop forever.
        """
        conditions = {r.id: r.condition for r in self.result.rules}
        priorities = {r.id: r.rule.priority for r in self.result.rules}
        payload = json.dumps(compile_ruleset(conditions, priorities), ensure_ascii=False)
        outcome = compile_outside(payload, ENGINE_CHECK_SECONDS)
        where = str(self.files.directory / "rulesets")
        if outcome == TIMED_OUT:
            self.result.problems.append(Problem("engine_hang", {"rules": len(conditions),
                                                                "seconds": ENGINE_CHECK_SECONDS}, where))
        elif outcome is not None:
            self.result.problems.append(Problem("engine_limit", {"detail": outcome, "rules": len(conditions)}, where))


def _eligibility_leaves(item: CatalogueItem, condition: Condition | None) -> list[Condition]:
    """Conditions that every eligible household meets: the `when` and what the age range implies."""
    limits: list[Condition] = [condition] if condition is not None else []
    rule = item.eligibility
    if rule.min_age is not None:
        limits.append(Compare("household.oldest_age", ">=", rule.min_age, f"min_age: {rule.min_age}"))
    if rule.max_age is not None:
        limits.append(Compare("household.youngest_age", "<=", rule.max_age, f"max_age: {rule.max_age}"))
    return limits


def _raw_tags(source: RuleSetSource) -> set[str]:
    """Tags that `add_tag` sets in rules with a structure error, read from the raw data, so they still count as set."""
    data = source.loaded.data if isinstance(source.loaded.data, dict) else {}
    rules = data.get("rules") if isinstance(data.get("rules"), list) else []
    valid = {index for index, _ in source.rules}
    invalid = [r for i, r in enumerate(rules) if i not in valid and isinstance(r, dict)]
    actions = [a for r in invalid if isinstance(r.get("then"), list) for a in r["then"]]
    return {a["add_tag"] for a in actions if isinstance(a, dict) and isinstance(a.get("add_tag"), str)}


def _raw_item_ids(source) -> set[str]:
    """Item ids in the raw data, so that an item with a structure error is not also reported as unknown."""
    data = source.loaded.data if isinstance(source.loaded.data, dict) else {}
    items = data.get("items") if isinstance(data.get("items"), list) else []
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _suggest(name: str, items: dict[str, CatalogueItem]) -> str:
    close = difflib.get_close_matches(name, list(items), n=3)
    return f"是否想写：{'、'.join(close)}？" if close else "请检查 rules/catalogue/ 中各项目的 id。"


# Trial compile

def compile_outside(payload: str, timeout: float) -> str | None:
    """Create and delete the durable_rules ruleset `payload` in a forked child process.

    Returns None when the engine accepts it, or the engine's error text when it rejects it. A child
    that does not finish within `timeout` seconds is killed and `TIMED_OUT` is returned, so a hang
    inside the C engine cannot stop this process. Without `os.fork` (Windows) the ruleset is
    compiled here, and a hang would stop the caller.
    """
    if not hasattr(os, "fork"):
        return _compile_here(payload)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a process with threads; the child only calls the engine and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        with ENGINE_LOCK:  # no other thread is inside durable_rules while its state is copied
            pid = os.fork()
    if pid == 0:
        os.close(read_end)
        error = _compile_here(payload)
        os.write(write_end, (error or "").encode("utf-8"))
        os._exit(1 if error else 0)

    os.close(write_end)
    message = TIMED_OUT
    try:
        ready, _, _ = select.select([read_end], [], [], timeout)
        if ready:
            message = os.read(read_end, 4096).decode("utf-8", errors="replace")
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if message or os.waitstatus_to_exitcode(status) == 0:
        return message or None
    return f"durable_rules check process ended with status {os.waitstatus_to_exitcode(status)}"


def _compile_here(payload: str) -> str | None:
    try:
        durable_rules_engine.delete_ruleset(durable_rules_engine.create_ruleset("linli_check", payload))
    except durable_rules_engine.error as exc:
        return str(exc)
    return None


# Positions inside a condition written as a YAML scalar

def _fault_offset(text: str, fault: ConditionFault) -> int:
    """Turn a fault's line and column inside the stripped condition into an offset in the YAML value."""
    lead = len(text) - len(text.lstrip())
    lines = text.strip().split("\n")
    return lead + sum(len(line) + 1 for line in lines[:fault.line]) + fault.offset


def _problem_in_scalar(loaded: LoadedYaml, path: tuple, value: str, offset: int, code: str, severity: str, /,
                       **params: object) -> Problem:
    position = scalar_position(loaded, path, value, offset)
    if position is None:
        return loaded.problem(code, path, severity=severity, **params)
    line, column = position
    source = loaded.lines[line - 1] if 0 < line <= len(loaded.lines) else None
    return Problem(code, params, loaded.file, line, column, format_path(path), severity, source)


def scalar_position(loaded: LoadedYaml, path: tuple, value: str, offset: int) -> tuple[int, int] | None:
    """Find the file line and column (1-based) of character `offset` of the string value at `path`.

    Walks the value and the file side by side. Indentation, line breaks that YAML folded into
    spaces and quote characters appear only in the file, so file characters that do not match
    the next value character are skipped. A line end matches a space or a line break.
    NOTE: an escape sequence in a double-quoted value (`\\n`, `\\u4e00`) can move the caret a
    few columns, because its file text differs from the character it stands for.
    """
    start = loaded.positions.get(tuple(path))
    if start is None or not 0 <= offset < max(len(value), 1):
        return None
    lines = loaded.lines
    line, column = start.line - 1, start.column - 1
    if start.style in ("|", ">"):
        line, column = line + 1, 0
    elif start.style in ("'", '"'):
        column += 1

    for index, char in enumerate(value):
        found = _next_match(lines, line, column, char)
        if found is None:
            return None
        line, column = found
        if index == offset:
            return line + 1, column + 1
        column += 1
    return None


def _next_match(lines: list[str], line: int, column: int, char: str) -> tuple[int, int] | None:
    while line < len(lines):
        text = lines[line]
        while column < len(text):
            if text[column] == char:
                return line, column
            column += 1
        if char in (" ", "\n"):
            return line, len(text)
        line, column = line + 1, 0
    return None
