"""Load a rules directory: read every YAML file and check its structure with pydantic.

A rules directory contains `dimensions.yaml`, `segments.yaml`, `scoring.yaml`, `catalogue/*.yaml`
and `rulesets/*.yaml`. This module reads them (structure); `engine.checker` then checks what
they mean (references, conditions, contradictions). `check_directory` runs both and reports
every problem with file, line and column; `load_rulebase` returns the checked rule base or
raises `RuleSetError`.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from engine.checker import CompiledRule, check_meaning
from engine.conditions import Condition
from engine.errors import Problem, RuleSetError, translate_field_error
from engine.yaml_loader import LoadedYaml, load_yaml_file
from models.catalogue import CatalogueFile, CatalogueItem
from models.rules import DimensionsFile, Rule, RuleSetFile, ScoringConfig, SegmentsFile

__all__ = [
    "DEFAULT_RULES_DIR", "CatalogueSource", "CompiledRule", "RuleBase", "RuleFiles", "RuleSetSource",
    "check_directory", "directory_version", "display_name", "load_rule_files", "load_rulebase", "rule_file_name",
    "rules_directory",
]

logger = logging.getLogger(__name__)

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
RULE_FILES = ("dimensions.yaml", "segments.yaml", "scoring.yaml")
RULE_FOLDERS = ("catalogue", "rulesets")


@dataclass
class RuleSetSource:
    """One `rulesets/*.yaml` file: the rules that passed the structure check, with their index."""

    loaded: LoadedYaml
    ruleset: str
    rules: list[tuple[int, Rule]]


@dataclass
class CatalogueSource:
    """One `catalogue/*.yaml` file: the items that passed the structure check, with their index."""

    loaded: LoadedYaml
    items: list[tuple[int, CatalogueItem]]


@dataclass
class RuleFiles:
    """Every file of one rules directory after the structure check; None where a file failed."""

    directory: Path
    dimensions: tuple[LoadedYaml, DimensionsFile] | None = None
    segments: tuple[LoadedYaml, SegmentsFile] | None = None
    scoring: tuple[LoadedYaml, ScoringConfig] | None = None
    catalogue: list[CatalogueSource] = field(default_factory=list)
    rulesets: list[RuleSetSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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


def rule_file_name(path: Path, directory: Path) -> str:
    """Name a file of a rules directory from the directory's own name, as `rules/rulesets/modules.yaml`.

    The name does not depend on the working directory or on where the directory lies, so
    plans, problems and batch outputs are the same from any clone. A path outside
    `directory` keeps its working-directory form.
    """
    root = Path(os.path.abspath(directory)).parent
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return display_name(path)


def rule_file_paths(directory: Path) -> list[Path]:
    """List the files a rule base is read from; rule tests and other files beside them are not part of it."""
    paths = [directory / name for name in RULE_FILES]
    for folder in RULE_FOLDERS:
        paths += sorted((directory / folder).glob("*.yaml"))
    return [p for p in paths if p.is_file()]


def directory_version(directory: Path) -> str:
    """Content hash of the rule files of the directory: the rule set's version."""
    digest = hashlib.sha256()
    for path in rule_file_paths(directory):
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
    """Check a rules directory; return the rule base (None on any error) and all problems, sorted by place."""
    directory = rules_directory(directory)
    files = load_rule_files(directory)
    meaning = check_meaning(files)
    problems = sorted(files.problems + meaning.problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        return None, problems

    rulebase = RuleBase(
        directory=directory,
        version=directory_version(directory),
        dimensions=files.dimensions[1],
        segments=files.segments[1],
        scoring=files.scoring[1],
        items=meaning.items,
        item_conditions=meaning.item_conditions,
        item_origins=meaning.item_origins,
        rules=meaning.rules,
        tags=meaning.tags,
        warnings=[p for p in problems if p.severity == "warning"],
    )
    logger.info("loaded rules from %s: version %s, %d rules, %d catalogue items",
                directory, rulebase.version, len(rulebase.rules), len(rulebase.items))
    return rulebase, problems


def load_rule_files(directory: Path) -> RuleFiles:
    """Read every file of the directory and check its structure, keeping each valid rule and item."""
    files = RuleFiles(directory)
    if not directory.is_dir():
        files.problems.append(Problem("rules_dir", {"path": str(directory), "missing": "目录本身"}))
        return files

    files.dimensions = _load_required(files, "dimensions.yaml", DimensionsFile)
    files.segments = _load_required(files, "segments.yaml", SegmentsFile)
    files.scoring = _load_required(files, "scoring.yaml", ScoringConfig)
    for path in _folder_files(files, "catalogue"):
        source = _load_catalogue(files, path)
        if source is not None:
            files.catalogue.append(source)
    for path in _folder_files(files, "rulesets"):
        source = _load_ruleset(files, path)
        if source is not None:
            files.rulesets.append(source)
    return files


def _load_required(files: RuleFiles, name: str, model: type[BaseModel]) -> tuple[LoadedYaml, BaseModel] | None:
    path = files.directory / name
    if not path.is_file():
        files.problems.append(Problem("missing_file", {"name": rule_file_name(path, files.directory)},
                                     rule_file_name(files.directory, files.directory)))
        return None
    loaded = _read(files, path)
    if loaded is None:
        return None
    parsed = _validate(files, loaded, model, loaded.data)
    return (loaded, parsed) if parsed is not None else None


def _folder_files(files: RuleFiles, folder: str) -> list[Path]:
    path = files.directory / folder
    if not path.is_dir():
        files.problems.append(Problem("missing_file", {"name": rule_file_name(path, files.directory) + "/"},
                                     rule_file_name(files.directory, files.directory)))
        return []
    return sorted(path.glob("*.yaml"))


def _read(files: RuleFiles, path: Path) -> LoadedYaml | None:
    """Load one file with the strict YAML loader; None when it has YAML errors."""
    loaded = load_yaml_file(path, rule_file_name(path, files.directory))
    files.problems.extend(loaded.problems)
    if loaded.data is None or any(p.severity == "error" for p in loaded.problems):
        return None
    return loaded


def _validate(files: RuleFiles, loaded: LoadedYaml, model: type[BaseModel], data: object,
              prefix: tuple = (), report: bool = True) -> BaseModel | None:
    """Validate `data` (found at `prefix` in the file); report each error at its key or value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if report:
            for error in exc.errors(include_url=False):
                files.problems.append(_schema_problem(loaded, model, prefix, error))
        return None


def _schema_problem(loaded: LoadedYaml, model: type[BaseModel], prefix: tuple, error: dict) -> Problem:
    """Report one pydantic error; an unknown key is shown at the key, with the keys allowed there."""
    path = prefix + tuple(error["loc"])
    if error["type"] != "extra_forbidden":
        chinese, english = translate_field_error(error)
        value = error.get("input")
        if isinstance(value, (str, int, float, bool)) and error["type"] != "missing":
            chinese, english = f"{chinese}，实际是 {value!r}", f"{english}, got {value!r}"
        return loaded.problem("schema", path, detail_zh=chinese, detail_en=english)

    key = str(error["loc"][-1])
    allowed = _field_names_at(model, tuple(error["loc"][:-1]))
    close = difflib.get_close_matches(key, allowed, n=1)
    code = "unknown_key_close" if close else "unknown_key"
    return loaded.problem(code, path, at_key=True, key=key, close=close[0] if close else "",
                          allowed="、".join(allowed) or "-")


def _field_names_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found at `loc` inside `model` (list indexes step into the item type)."""
    annotation: object = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else None
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and part in annotation.model_fields:
            annotation = annotation.model_fields[part].annotation
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: object) -> object:
    """Strip `Annotated[...]` and `X | None` down to X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _load_ruleset(files: RuleFiles, path: Path) -> RuleSetSource | None:
    """Load a ruleset file; when it is invalid, keep its valid rules so that their meaning is checked too."""
    loaded = _read(files, path)
    if loaded is None:
        return None
    parsed = _validate(files, loaded, RuleSetFile, loaded.data)
    if parsed is not None:
        return RuleSetSource(loaded, parsed.ruleset, list(enumerate(parsed.rules)))

    data = loaded.data if isinstance(loaded.data, dict) else {}
    raw_rules = data.get("rules") if isinstance(data.get("rules"), list) else []
    rules = [(i, r) for i, raw in enumerate(raw_rules)
             if (r := _validate(files, loaded, Rule, raw, report=False)) is not None]
    name = data.get("ruleset") if isinstance(data.get("ruleset"), str) else path.stem
    return RuleSetSource(loaded, name, rules)


def _load_catalogue(files: RuleFiles, path: Path) -> CatalogueSource | None:
    """Load a catalogue file; when it is invalid, keep its valid items so that rules can still name them."""
    loaded = _read(files, path)
    if loaded is None:
        return None
    parsed = _validate(files, loaded, CatalogueFile, loaded.data)
    if parsed is not None:
        return CatalogueSource(loaded, list(enumerate(parsed.items)))

    data = loaded.data if isinstance(loaded.data, dict) else {}
    raw_items = data.get("items") if isinstance(data.get("items"), list) else []
    items = [(i, item) for i, raw in enumerate(raw_items)
             if (item := _validate(files, loaded, CatalogueItem, raw, report=False)) is not None]
    return CatalogueSource(loaded, items)
