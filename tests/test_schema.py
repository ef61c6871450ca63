"""JSON Schemas for editors: committed copies are current, shipped files point to them and validate."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from engine.loader import DEFAULT_RULES_DIR
from engine.schema import KINDS, MODELINE, SCHEMA_DIR, json_schema, kind_of, modeline, schema_text
from engine.yaml_loader import load_yaml_file, load_yaml_text
from service.cli import main

SHIPPED = [p for p in sorted(DEFAULT_RULES_DIR.rglob("*.yaml")) if kind_of(p.relative_to(DEFAULT_RULES_DIR).as_posix())]


def as_json(data: object) -> object:
    """Convert YAML data the way JSON stores it: mapping keys become text (`levels: {0: 无需求}`)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def validator(kind: str):
    return jsonschema_rs.validator_for(json_schema(kind))


@pytest.mark.parametrize("kind", list(KINDS))
def test_committed_schema_is_current(kind):
    committed = (SCHEMA_DIR / KINDS[kind].file_name).read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run: linli rules schema --write docs/schema"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.relative_to(DEFAULT_RULES_DIR).as_posix() for p in SHIPPED])
def test_shipped_file_points_to_schema_and_validates(path):
    kind = kind_of(path.relative_to(DEFAULT_RULES_DIR).as_posix())
    first_line = path.read_text(encoding="utf-8").splitlines()[0]

    assert first_line == modeline(path, kind)
    target = (path.parent / first_line.removeprefix(MODELINE)).resolve()
    assert target == (SCHEMA_DIR / KINDS[kind].file_name).resolve()
    errors = list(validator(kind).iter_errors(as_json(load_yaml_file(path).data)))
    assert errors == []


def test_every_shipped_kind_covered():
    kinds = {kind_of(p.relative_to(DEFAULT_RULES_DIR).as_posix()) for p in SHIPPED}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("text", [
    "ruleset: x\nname: 例\nrules:\n  - id: x_rule\n    name: 例\n    when: 'true'\n"
    "    then: [{add_tag: a, set_segment: general}]\n",
    "ruleset: x\nname: 例\nrules:\n  - id: x_rule\n    name: 例\n    prority: 1\n    when: 'true'\n    then: [{add_tag: a}]\n",
    "ruleset: x\nname: 例\nrules:\n  - id: X-Rule\n    name: 例\n    when: 'true'\n    then: [{add_tag: a}]\n",
    "ruleset: x\nname: 例\nrules:\n  - id: x_rule\n    name: 例\n    when: 'true'\n"
    "    then: [{recommend: {item: grp_reading_club, weight: 20, reason: 例}}]\n",
])
def test_ruleset_schema_flags_mistake(text):
    data = load_yaml_text(text, "x.yaml").data
    assert list(validator("ruleset").iter_errors(as_json(data)))


def test_rule_test_schema_accepts_inline_household():
    text = (DEFAULT_RULES_DIR / "tests" / "modules.yaml").read_text(encoding="utf-8")
    data = as_json(load_yaml_text(text, "modules.yaml").data)
    inline = next(t for t in data["tests"] if isinstance(t["household"], dict))
    inline["household"]["members"][0]["age"] = 200

    assert list(validator("rule-tests").iter_errors(data))


def test_condition_help_lists_fields():
    when = json_schema("ruleset")["$defs"]["Rule"]["properties"]["when"]
    assert "needs.elder_care" in when["description"]
    assert "household.oldest_age" in when["description"]


def test_cli_schema_prints_and_writes(tmp_path, capsys):
    assert main(["rules", "schema", "catalogue"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == KINDS["catalogue"].title

    assert main(["rules", "schema", "--write", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(k.file_name for k in KINDS.values())
