"""Load a rules directory: structure first (pydantic), then meaning (references, conditions).

A rules directory holds `dimensions.yaml`, `segments.yaml`, `scoring.yaml`, `catalogue/*.yaml`
and `rulesets/*.yaml`. `check_directory` reports every problem it finds with file, line and
column; `load_rulebase` returns the checked rule base or raises `RuleSetError`.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from engine.conditions import Condition, ConditionFault, Vocabulary, parse_condition
from engine.errors import Problem, RuleSetError, translate_field_error
from engine.features import HOUSEHOLD_FEATURES
from engine.yaml_loader import LoadedYaml, Position, load_yaml_file
from models.catalogue import CatalogueFile, CatalogueItem, ItemKind
from models.household import NEED_DIMENSIONS
from models.rules import DimensionsFile, Rule, RuleSetFile, ScoringConfig, SegmentsFile

logger = logging.getLogger(__name__)

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


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
class RuleBase:
    """Everything the planner needs from one rules directory, checked and versioned."""

    directory: Path
    version: str
    dimensions: DimensionsFile
    segments: SegmentsFile
    scoring: ScoringConfig
    items: dict[str, CatalogueItem]
    item_conditions: dict[str, Condition | None]
    item_origins: dict[str, tuple[str, int]]
    rules: list[CompiledRule]
    tags: tuple[str, ...]
    warnings: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules_by_id = {r.id: r for r in self.rules}
        self.segment_names = {s.id: s.name for s in self.segments.segments}
        self.dimension_names = {d.id: d.name for d in self.dimensions.dimensions}
        self.level_names = dict(self.dimensions.levels)


def rules_directory(value: Path | str | None = None) -> Path:
    """Resolve the rules directory: the given path, else LINLI_RULES_DIR, else the bundled rules/."""
    if value:
        return Path(value)
    env = os.environ.get("LINLI_RULES_DIR")
    return Path(env) if env else DEFAULT_RULES_DIR


def display_name(path: Path) -> str:
    """Show a path relative to the working directory when it is below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def directory_version(directory: Path) -> str:
    """Content hash of every YAML file in the directory: the rule set's version."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.yaml")):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load_rulebase(directory: Path | str | None = None) -> RuleBase:
    rulebase, problems = check_directory(directory)
    if rulebase is None:
        raise RuleSetError(problems)
    return rulebase


def check_directory(directory: Path | str | None = None) -> tuple[RuleBase | None, list[Problem]]:
    """Check a rules directory; return the rule base (None on any error) and all problems."""
    directory = rules_directory(directory)
    checker = _Checker(directory)
    rulebase = checker.run()
    problems = sorted(checker.problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        return None, problems
    if rulebase is not None:
        rulebase.warnings = [p for p in problems if p.severity == "warning"]
        logger.info("loaded rules from %s: version %s, %d rules, %d catalogue items",
                    directory, rulebase.version, len(rulebase.rules), len(rulebase.items))
    return rulebase, problems


class _Checker:
    def __init__(self, directory: Path):
        self.directory = directory
        self.problems: list[Problem] = []

    # Structure

    def load(self, path: Path, model: type[BaseModel]) -> tuple[LoadedYaml, BaseModel | None]:
        loaded = load_yaml_file(path, display_name(path))
        self.problems.extend(loaded.problems)
        if loaded.data is None or any(p.severity == "error" for p in loaded.problems):
            return loaded, None
        try:
            return loaded, model.model_validate(loaded.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                chinese, english = translate_field_error(error)
                path_ = tuple(error["loc"])
                self.problems.append(loaded.problem("schema", path_, detail_zh=chinese, detail_en=english))
            return loaded, None

    def load_required(self, name: str, model: type[BaseModel]) -> tuple[LoadedYaml | None, BaseModel | None]:
        path = self.directory / name
        if not path.is_file():
            self.problems.append(Problem("missing_file", {"name": display_name(path)}, display_name(self.directory)))
            return None, None
        return self.load(path, model)

    def load_many(self, folder: str, model: type[BaseModel]) -> list[tuple[LoadedYaml, BaseModel]]:
        path = self.directory / folder
        if not path.is_dir():
            self.problems.append(Problem("missing_file", {"name": display_name(path) + "/"}, display_name(self.directory)))
            return []
        results = []
        for file in sorted(path.glob("*.yaml")):
            loaded, parsed = self.load(file, model)
            if parsed is not None:
                results.append((loaded, parsed))
        return results

    # Whole run

    def run(self) -> RuleBase | None:
        if not self.directory.is_dir():
            self.problems.append(Problem("rules_dir", {"path": str(self.directory), "missing": "目录本身"}))
            return None

        dims_file, dimensions = self.load_required("dimensions.yaml", DimensionsFile)
        seg_file, segments = self.load_required("segments.yaml", SegmentsFile)
        _, scoring = self.load_required("scoring.yaml", ScoringConfig)
        catalogue = self.load_many("catalogue", CatalogueFile)
        rulesets = self.load_many("rulesets", RuleSetFile)

        if dimensions is not None:
            self.check_dimensions(dims_file, dimensions)
        if segments is not None:
            self.check_segments(seg_file, segments)
        if scoring is not None:
            self.check_scoring(scoring)
        if dimensions is None or segments is None or scoring is None:
            return None

        items, origins = self.collect_items(catalogue)
        vocabulary = Vocabulary(segments=tuple(s.id for s in segments.segments), tags=self.collect_tags(rulesets))
        item_conditions = self.check_items(catalogue, vocabulary)
        rules = self.check_rules(rulesets, items, vocabulary)
        self.check_reachable(catalogue, rules)

        return RuleBase(
            directory=self.directory,
            version=directory_version(self.directory),
            dimensions=dimensions,
            segments=segments,
            scoring=scoring,
            items=items,
            item_conditions=item_conditions,
            item_origins=origins,
            rules=rules,
            tags=vocabulary.tags,
        )

    # Meaning

    def check_dimensions(self, loaded: LoadedYaml, dimensions: DimensionsFile) -> None:
        actual = [d.id for d in dimensions.dimensions]
        if actual != list(NEED_DIMENSIONS):
            self.problems.append(loaded.problem("dimensions_fixed", ("dimensions",),
                                                expected=", ".join(NEED_DIMENSIONS), actual=", ".join(actual)))

    def check_segments(self, loaded: LoadedYaml, segments: SegmentsFile) -> None:
        ids = [s.id for s in segments.segments]
        seen: dict[str, int] = {}
        for index, segment in enumerate(segments.segments):
            if segment.id in seen:
                first = loaded.position(("segments", seen[segment.id]))
                self.problems.append(loaded.problem("duplicate_id", ("segments", index, "id"), name=segment.id,
                                                    first=f"{loaded.file}:{first.line if first else '?'}"))
            seen.setdefault(segment.id, index)
            for key in segment.prototype:
                if key not in HOUSEHOLD_FEATURES and key not in NEED_DIMENSIONS:
                    self.problems.append(loaded.problem("unknown_prototype_key", ("segments", index, "prototype", key), name=key))
        if segments.default not in ids:
            self.problems.append(loaded.problem("unknown_segment", ("default",), name=segments.default, allowed="、".join(ids)))

    def check_scoring(self, scoring: ScoringConfig) -> None:
        kinds = {k.value for k in ItemKind}
        for kind in scoring.top_n:
            if kind not in kinds:
                self.problems.append(Problem("unknown_kind", {"name": kind, "allowed": "、".join(sorted(kinds))},
                                             display_name(self.directory / "scoring.yaml")))

    def collect_items(self, catalogue) -> tuple[dict[str, CatalogueItem], dict[str, tuple[str, int]]]:
        items: dict[str, CatalogueItem] = {}
        origins: dict[str, tuple[str, int]] = {}
        for loaded, parsed in catalogue:
            for index, item in enumerate(parsed.items):
                pos = loaded.position(("items", index))
                if item.id in origins:
                    file, line = origins[item.id]
                    self.problems.append(loaded.problem("duplicate_id", ("items", index, "id"), name=item.id, first=f"{file}:{line}"))
                    continue
                items[item.id] = item
                origins[item.id] = (loaded.file, pos.line if pos else 0)
        return items, origins

    def collect_tags(self, rulesets) -> tuple[str, ...]:
        tags = {action.add_tag for _, parsed in rulesets for rule in parsed.rules for action in rule.then if action.add_tag}
        return tuple(sorted(tags))

    def condition(self, loaded: LoadedYaml, path: tuple, text: str, vocabulary: Vocabulary) -> Condition | None:
        try:
            return parse_condition(text, vocabulary)
        except ConditionFault as fault:
            pos = loaded.position(path) or Position(0, 0)
            line_offset, column_offset = _offset_in_scalar(loaded, pos, text, fault)
            self.problems.append(loaded.problem(fault.code, path, line_offset=line_offset,
                                                column_offset=column_offset, **fault.params))
            return None

    def check_items(self, catalogue, vocabulary: Vocabulary) -> dict[str, Condition | None]:
        conditions: dict[str, Condition | None] = {}
        item_vocabulary = Vocabulary(segments=vocabulary.segments, tags=(), check_tags=True)
        for loaded, parsed in catalogue:
            for index, item in enumerate(parsed.items):
                when = item.eligibility.when
                if when:
                    conditions[item.id] = self.condition(loaded, ("items", index, "eligibility", "when"), when, item_vocabulary)
                else:
                    conditions[item.id] = None
        return conditions

    def check_rules(self, rulesets, items: dict[str, CatalogueItem], vocabulary: Vocabulary) -> list[CompiledRule]:
        compiled: list[CompiledRule] = []
        seen: dict[str, str] = {}
        order = 0
        for loaded, parsed in rulesets:
            for index, rule in enumerate(parsed.rules):
                path = ("rules", index)
                pos = loaded.position(path)
                where = f"{loaded.file}:{pos.line if pos else '?'}"
                if rule.id in seen:
                    self.problems.append(loaded.problem("duplicate_id", path + ("id",), name=rule.id, first=seen[rule.id]))
                    continue
                seen[rule.id] = where
                self.check_actions(loaded, path, rule, items, vocabulary)
                condition = self.condition(loaded, path + ("when",), rule.when, vocabulary)
                if condition is None:
                    continue
                compiled.append(CompiledRule(rule, condition, loaded.file, pos.line if pos else 0, parsed.ruleset, order))
                order += 1
        return compiled

    def check_actions(self, loaded: LoadedYaml, path: tuple, rule: Rule, items, vocabulary: Vocabulary) -> None:
        for index, action in enumerate(rule.then):
            here = path + ("then", index)
            if action.set_segment and action.set_segment not in vocabulary.segments:
                self.problems.append(loaded.problem("unknown_segment", here + ("set_segment",), name=action.set_segment,
                                                    allowed="、".join(vocabulary.segments)))
            for key in ("recommend", "exclude", "follow_up"):
                target = getattr(action, key)
                item = getattr(target, "item", None) if target else None
                if item and item not in items:
                    self.problems.append(loaded.problem("unknown_item", here + (key, "item"), name=item,
                                                        hint=_suggest(item, items)))

    def check_reachable(self, catalogue, rules: list[CompiledRule]) -> None:
        recommended = {a.recommend.item for r in rules for a in r.rule.then if a.recommend}
        for loaded, parsed in catalogue:
            for index, item in enumerate(parsed.items):
                if item.id not in recommended and not any(item.coverage.values()):
                    self.problems.append(loaded.problem("item_unreachable", ("items", index, "id"), severity="warning", name=item.id))


def _offset_in_scalar(loaded: LoadedYaml, pos: Position, text: str, fault: ConditionFault) -> tuple[int, int]:
    """Map a fault's offset inside condition text to a line and column offset in the file."""
    lead = len(text) - len(text.lstrip())
    if pos.style in ("|", ">"):
        line = pos.line + 1 + fault.line
        source = loaded.lines[line - 1] if 0 < line <= len(loaded.lines) else ""
        indent = len(source) - len(source.lstrip())
        return 1 + fault.line, indent + fault.offset - (pos.column - 1)
    quote = 1 if pos.style in ("'", '"') else 0
    return 0, quote + lead + fault.offset


def _suggest(name: str, items: dict[str, CatalogueItem]) -> str:
    close = difflib.get_close_matches(name, list(items), n=3)
    return f"是否想写：{'、'.join(close)}？" if close else "请检查 rules/catalogue/ 中各项目的 id。"

