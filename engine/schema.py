"""JSON Schemas of the YAML files rule authors edit, generated from the pydantic models.

Editors with a YAML language server (VS Code's YAML extension) read the first line
`# yaml-language-server: $schema=<path>` of each shipped file and then complete keys and
flag mistakes while the author types. The committed schemas live in `docs/schema/`;
`linli rules schema --write docs/schema` regenerates them after a model changes.
The schemas check structure only: item ids, segments and tags are checked by
`linli rules check`, because they depend on the other files of the directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from engine.conditions import all_field_names
from engine.rule_tests import RuleTestFile
from models.catalogue import CatalogueFile
from models.household import Household
from models.rules import DimensionsFile, RuleSetFile, ScoringConfig, SegmentsFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schema"
MODELINE = "# yaml-language-server: $schema="


@dataclass(frozen=True)
class SchemaKind:
    """One kind of YAML file: its model, its schema file name, and which files in a rules directory it describes."""

    model: type[BaseModel]
    file_name: str
    title: str
    patterns: tuple[str, ...]


KINDS: dict[str, SchemaKind] = {
    "ruleset": SchemaKind(RuleSetFile, "ruleset.schema.json", "邻里规则文件（rules/rulesets/*.yaml）", ("rulesets/*.yaml",)),
    "catalogue": SchemaKind(CatalogueFile, "catalogue.schema.json", "邻里项目目录（rules/catalogue/*.yaml）", ("catalogue/*.yaml",)),
    "segments": SchemaKind(SegmentsFile, "segments.schema.json", "邻里人群分类（rules/segments.yaml）", ("segments.yaml",)),
    "scoring": SchemaKind(ScoringConfig, "scoring.schema.json", "邻里评分参数（rules/scoring.yaml）", ("scoring.yaml",)),
    "dimensions": SchemaKind(DimensionsFile, "dimensions.schema.json", "邻里需求维度（rules/dimensions.yaml）", ("dimensions.yaml",)),
    "rule-tests": SchemaKind(RuleTestFile, "rule-tests.schema.json", "邻里规则测试（rules/tests/*.yaml）", ("tests/*.yaml",)),
}

CONDITION_HELP = (
    "条件表达式（condition）。可用 == != < <= > >=、in、not in、and、or、not，"
    "例如 household.oldest_age >= 65 and needs.elder_care >= 3；"
    "标签写 'vulnerable' in tags。可用字段：{fields}"
)


def json_schema(kind: str) -> dict:
    """Return the JSON Schema of one kind of file (see `KINDS`)."""
    spec = KINDS[kind]
    schema = spec.model.model_json_schema()
    definitions = schema.get("$defs", {})
    _describe_conditions(schema, definitions)

    if "Action" in definitions:
        # The model accepts exactly one key per action. Stating it lets editors flag `{recommend:.., exclude:..}`.
        definitions["Action"].update(minProperties=1, maxProperties=1)
    if kind == "dimensions":
        schema["properties"]["levels"]["propertyNames"] = {"pattern": "^[0-9]+$"}
    if kind == "rule-tests":
        _household_reference(schema, definitions)
    return {"$schema": DRAFT, **schema, "title": spec.title}


def _describe_conditions(schema: dict, definitions: dict) -> None:
    """Put the condition language and its fields into the description of every `when`."""
    help_text = CONDITION_HELP.format(fields="、".join(all_field_names()))
    for definition in [schema, *definitions.values()]:
        when = definition.get("properties", {}).get("when")
        if when is not None:
            when["description"] = help_text


def _household_reference(schema: dict, definitions: dict) -> None:
    """Describe an inline test household with the household model instead of a free mapping."""
    household = Household.model_json_schema(ref_template="#/$defs/{model}")
    for name, definition in household.pop("$defs", {}).items():
        definitions.setdefault(name, definition)
    definitions["Household"] = household
    test = definitions["RuleTest"]["properties"]["household"]
    test["anyOf"] = [{"type": "string", "description": "fixtures/households/ 中的家庭名，不含 .json"},
                     {"$ref": "#/$defs/Household"}]


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, spec in KINDS.items():
        path = directory / spec.file_name
        path.write_text(schema_text(kind), encoding="utf-8")
        written.append(path)
    return written


def kind_of(relative: str) -> str | None:
    """Return the kind of a file from its path inside the rules directory (`rulesets/needs.yaml`)."""
    for kind, spec in KINDS.items():
        if any(Path(relative).match(pattern) and relative.count("/") == pattern.count("/") for pattern in spec.patterns):
            return kind
    return None


def modeline(yaml_file: Path, kind: str, schema_dir: Path = SCHEMA_DIR) -> str:
    """Return the first line that points an editor at the schema, as a path relative to the file."""
    target = schema_dir / KINDS[kind].file_name
    relative = Path(os.path.relpath(target.resolve(), yaml_file.resolve().parent))
    return MODELINE + relative.as_posix()
