"""Strict YAML loading for rule and catalogue files, keeping the position of every value.

PyYAML's safe loader only composes the node tree here. Values are built by hand with the
YAML 1.2 core schema, so YAML 1.1 surprises (`yes`/`no`/`on`/`off` as booleans, `010` as
octal) become errors instead of silent changes. Duplicate keys, indentation tabs, full-width
colons after keys, anchors/aliases (which also stops "billion laughs" expansion) and explicit
tags are rejected with file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from engine.errors import Problem

MAX_FILE_BYTES = 1_000_000

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_BOOL_11 = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_INT_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_INT_HEX_OCT = re.compile(r"^(?:0x[0-9a-fA-F]+|0o[0-7]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_FULLWIDTH_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*：")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:value",
    "tag:yaml.org,2002:yaml",
}

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int
    style: str | None = None


@dataclass
class LoadedYaml:
    """Plain Python data from one file plus the position of every value, keyed by its path."""

    file: str
    data: object
    lines: list[str]
    positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def position(self, path: Path_) -> Position | None:
        """Return the position of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def problem(self, code: str, path: Path_, severity: str = "error", column_offset: int = 0,
                line_offset: int = 0, at_key: bool = False, **params: object) -> Problem:
        """Build a problem at the value of `path`, or at its key when `at_key` (an unknown field)."""
        pos = self.key_positions.get(tuple(path)) if at_key else None
        pos = pos or self.position(path)
        line = pos.line + line_offset if pos else None
        column = pos.column + column_offset if pos else None
        source = self.lines[line - 1] if line and 0 < line <= len(self.lines) else None
        return Problem(code, params, self.file, line, column, format_path(path), severity, source)


def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


class _YamlFault(Exception):
    def __init__(self, code: str, mark, **params: object):
        self.code = code
        self.mark = mark
        self.params = params


def load_yaml_file(path: Path, display_name: str | None = None) -> LoadedYaml:
    """Read and load one file; `problems` is non-empty when it could not be loaded cleanly."""
    name = display_name or str(path)
    raw = path.read_bytes()
    return load_yaml_bytes(raw, name)


def load_yaml_bytes(raw: bytes, name: str) -> LoadedYaml:
    if len(raw) > MAX_FILE_BYTES:
        return LoadedYaml(name, None, [], problems=[Problem("yaml_too_large", {"size": len(raw), "limit": MAX_FILE_BYTES}, name)])

    problems: list[Problem] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        problems.append(Problem("yaml_bom", {}, name, 1, 1, severity="warning"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LoadedYaml(name, None, [], problems=[Problem("yaml_encoding", {"detail": str(exc)}, name)])

    loaded = load_yaml_text(text, name)
    first_line = loaded.lines[0] if loaded.lines else ""
    loaded.problems[:0] = [replace(p, source_line=first_line) for p in problems]
    return loaded


def load_yaml_text(text: str, name: str) -> LoadedYaml:
    lines = text.splitlines()
    loaded = LoadedYaml(name, None, lines)

    loaded.problems.extend(_scan_lines(lines, name))
    if any(p.severity == "error" for p in loaded.problems):
        return loaded

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(filter(None, [exc.context, exc.problem]))
        loaded.problems.append(_problem_at(loaded, "yaml_syntax", mark, detail=detail))
        return loaded
    except yaml.YAMLError as exc:
        loaded.problems.append(Problem("yaml_syntax", {"detail": str(exc)}, name))
        return loaded

    if node is None:
        loaded.problems.append(Problem("yaml_empty", {}, name, 1, 1))
        return loaded

    try:
        loaded.data = _build(node, (), loaded, set())
    except _YamlFault as fault:
        loaded.problems.append(_problem_at(loaded, fault.code, fault.mark, **fault.params))
        loaded.data = None
    return loaded


def _problem_at(loaded: LoadedYaml, code: str, mark, **params: object) -> Problem:
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    source = loaded.lines[line - 1] if line and line <= len(loaded.lines) else None
    return Problem(code, params, loaded.file, line, column, None, "error", source)


def _scan_lines(lines: list[str], name: str) -> list[Problem]:
    """Find faults PyYAML reports poorly or not at all: indentation tabs and full-width colons."""
    problems = []
    for number, line in enumerate(lines, start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent] and line.strip():
            problems.append(Problem("yaml_tab", {}, name, number, line.index("\t") + 1, source_line=line))
            continue
        if line.lstrip().startswith("#"):
            continue
        match = _FULLWIDTH_KEY.match(line)
        if match:
            column = match.end()
            problems.append(Problem("yaml_fullwidth_colon", {"key": match.group(2)}, name, number, column, source_line=line))
    return problems


def _build(node: yaml.Node, path: Path_, loaded: LoadedYaml, seen: set[int]) -> object:
    if id(node) in seen:
        raise _YamlFault("yaml_alias", node.start_mark)
    seen.add(id(node))

    style = getattr(node, "style", None)
    loaded.positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1, style)

    if isinstance(node, yaml.MappingNode):
        _check_tag(node, "tag:yaml.org,2002:map")
        return _build_mapping(node, path, loaded, seen)
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, "tag:yaml.org,2002:seq")
        return [_build(child, path + (i,), loaded, seen) for i, child in enumerate(node.value)]
    return _build_scalar(node)


def _check_tag(node: yaml.Node, default: str) -> None:
    if node.tag != default and node.tag not in _STANDARD_TAGS:
        raise _YamlFault("yaml_tag", node.start_mark, tag=node.tag)


def _build_mapping(node: yaml.MappingNode, path: Path_, loaded: LoadedYaml, seen: set[int]) -> dict:
    result: dict = {}
    first_line: dict[object, int] = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise _YamlFault("yaml_alias", key_node.start_mark)
        key = _build_scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if key is None or isinstance(key, (list, dict)):
            raise _YamlFault("yaml_syntax", key_node.start_mark, detail="键必须是简单文字")
        if key in result:
            raise _YamlFault("yaml_duplicate_key", key_node.start_mark, key=key, first_line=first_line[key])
        first_line[key] = key_node.start_mark.line + 1
        loaded.key_positions[path + (key,)] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        result[key] = _build(value_node, path + (key,), loaded, seen)
    return result


def _build_scalar(node: yaml.ScalarNode) -> object:
    """Resolve a scalar by the YAML 1.2 core schema, rejecting YAML 1.1-only forms."""
    value = node.value
    if node.tag not in _STANDARD_TAGS:
        raise _YamlFault("yaml_tag", node.start_mark, tag=node.tag)
    if node.style is not None:
        return value

    if _NULL.match(value):
        return None
    if _BOOL.match(value):
        return value.lower() == "true"
    if _BOOL_11.match(value):
        raise _YamlFault("yaml_ambiguous_bool", node.start_mark, value=value)
    if _INT_LEADING_ZERO.match(value):
        raise _YamlFault("yaml_leading_zero", node.start_mark, value=value)
    if _INT.match(value):
        return int(value)
    if _INT_HEX_OCT.match(value):
        return int(value, 0)
    if _FLOAT.match(value):
        return float(value)
    if value in (".inf", ".Inf", ".INF", "+.inf"):
        return float("inf")
    if value in ("-.inf", "-.Inf", "-.INF"):
        return float("-inf")
    if value in (".nan", ".NaN", ".NAN"):
        return float("nan")
    return value
