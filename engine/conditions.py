"""The condition language: parse, type-check, evaluate and explain rule conditions.

Conditions look like Python expressions (`household.oldest_age >= 65 and needs.elder_care >= 3`)
and are parsed with `ast.parse`. Only a whitelist of node types is accepted, and Python never
evaluates the text. The tree becomes the small typed form below, which the compiler turns
into durable_rules JSON and which `evaluate` and `leaf_results` walk directly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from engine.features import CONTEXT_FEATURES, HOUSEHOLD_FEATURES, NEED_FEATURES, FeatureSpec

_TYPE_LABELS = {
    "int": ("整数", "an integer"),
    "float": ("数值", "a number"),
    "bool": ("是/否（true/false）", "a boolean"),
    "str": ("文字", "text"),
    "list": ("列表", "a list"),
}
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


# The typed form. `negated` is only set by `to_nnf`; parsing produces Not nodes.

@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: object
    text: str = ""


@dataclass(frozen=True)
class OneOf:
    field: str
    values: tuple[object, ...]
    negated: bool = False
    text: str = ""


@dataclass(frozen=True)
class Contains:
    field: str
    value: str
    negated: bool = False
    text: str = ""


@dataclass(frozen=True)
class HasTag:
    tag: str
    negated: bool = False
    text: str = ""


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Const | Compare | OneOf | Contains | HasTag | And | Or | Not


@dataclass(frozen=True)
class ConditionFault(Exception):
    """A fault in condition text; `offset`/`line` are 0-based positions inside the text."""

    code: str
    params: dict
    line: int = 0
    offset: int = 0


@dataclass(frozen=True)
class Vocabulary:
    """Names a condition may use beyond the fixed features: segment ids and the tags rules set."""

    segments: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    check_tags: bool = True


def field_spec(name: str, vocabulary: Vocabulary) -> FeatureSpec | None:
    group, _, leaf = name.partition(".")
    if group == "household":
        return HOUSEHOLD_FEATURES.get(leaf)
    if group == "needs":
        return NEED_FEATURES.get(leaf)
    if name == "segment":
        return FeatureSpec("str", "人群分类", vocabulary.segments)
    return CONTEXT_FEATURES.get(name)


def all_field_names() -> list[str]:
    names = [f"household.{n}" for n in HOUSEHOLD_FEATURES]
    names += [f"needs.{n}" for n in NEED_FEATURES]
    names += list(CONTEXT_FEATURES) + ["tags"]
    return names


def parse_condition(text: str, vocabulary: Vocabulary) -> Condition:
    """Parse and type-check `text`; raise ConditionFault at the first fault."""
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        # Python reports offset 0 when the text ends too early; point at the end then.
        offset = exc.offset - 1 if exc.offset else len(source)
        params = {"detail": exc.msg, "detail_zh": _syntax_zh(exc.msg)}
        raise ConditionFault("cond_syntax", params, (exc.lineno or 1) - 1, offset) from None
    return _Parser(source, vocabulary).convert(tree.body)


def _syntax_zh(message: str) -> str:
    """Translate the common Python syntax messages a rule author can meet."""
    if "never closed" in message:
        return "括号没有闭合"
    if "unterminated string" in message or "EOL while scanning" in message:
        return "引号没有闭合"
    if "unmatched" in message:
        return "多了一个右括号"
    if "invalid character" in message:
        return "含有不能用在条件里的字符（例如全角符号），请改用半角"
    return "写法无效，检查是否缺少比较的值或多写了符号"


class _Parser:
    def __init__(self, source: str, vocabulary: Vocabulary):
        self.source = source
        self.vocabulary = vocabulary

    def fault(self, node: ast.AST, code: str, **params: object) -> ConditionFault:
        line = getattr(node, "lineno", 1) - 1
        return ConditionFault(code, params, line, self.char_offset(line, getattr(node, "col_offset", 0)))

    def char_offset(self, line: int, byte_offset: int) -> int:
        """Turn an `ast` column, counted in UTF-8 bytes, into a character column."""
        lines = self.source.splitlines() or [""]
        text = lines[line] if line < len(lines) else ""
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def text_of(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def convert(self, node: ast.AST) -> Condition:
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.convert(v) for v in node.values)
            return And(parts) if isinstance(node.op, ast.And) else Or(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self.convert(node.operand))
        if isinstance(node, ast.Compare):
            return self.convert_compare(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return Const(node.value)
        if isinstance(node, ast.Name) and node.id in ("true", "false"):
            return Const(node.id == "true")
        if isinstance(node, (ast.Attribute, ast.Name)):
            name = self.field_name(node)
            spec = self.spec(node, name)
            if spec.type != "bool":
                raise self.fault(node, "cond_operator", field=name, expected=_TYPE_LABELS[spec.type][0],
                                 expected_en=_TYPE_LABELS[spec.type][1], op="（单独使用）",
                                 hint="单独写字段名只适用于是/否字段；请写出比较，例如 household.size >= 2。")
            return Compare(name, "==", True, self.text_of(node))
        raise self.fault(node, "cond_unsupported", text=self.text_of(node) or type(node).__name__)

    def convert_compare(self, node: ast.Compare) -> Condition:
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(self.convert_pair(node, left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def convert_pair(self, node: ast.Compare, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Condition:
        text = self.text_of(node)
        if isinstance(op, (ast.In, ast.NotIn)):
            negated = isinstance(op, ast.NotIn)
            if isinstance(right, ast.Name) and right.id == "tags":
                tag = self.literal(left)
                if not isinstance(tag, str):
                    raise self.fault(left, "cond_unsupported", text=self.text_of(left))
                self.check_tag(left, tag)
                return HasTag(tag, negated, text)
            if isinstance(right, (ast.List, ast.Tuple)):
                name = self.field_name(left)
                spec = self.spec(left, name)
                values = tuple(self.checked_value(elt, name, spec, "==") for elt in right.elts)
                return OneOf(name, values, negated, text)
            name = self.field_name(right)
            spec = self.spec(right, name)
            if spec.type != "list":
                raise self.fault(right, "cond_operator", field=name, expected=_TYPE_LABELS[spec.type][0],
                                 expected_en=_TYPE_LABELS[spec.type][1], op="in",
                                 hint="in 用于列表字段（如 household.interests）或 [..] 取值列表。")
            value = self.literal(left)
            if not isinstance(value, str):
                raise self.fault(left, "cond_type", field=name, expected="文字列表", expected_en="a list of text",
                                 value=self.text_of(left))
            if spec.values and value not in spec.values:
                raise self.fault(left, "cond_value", field=name, value=value, allowed="、".join(spec.values))
            return Contains(name, value, negated, text)

        symbol = _OPS.get(type(op))
        if symbol is None:
            raise self.fault(node, "cond_unsupported", text=text)
        if self.is_field(left):
            field_node, value_node = left, right
        elif self.is_field(right):
            field_node, value_node, symbol = right, left, _FLIP[symbol]
        else:
            raise self.fault(node, "cond_unsupported", text=text)
        name = self.field_name(field_node)
        spec = self.spec(field_node, name)
        value = self.checked_value(value_node, name, spec, symbol)
        return Compare(name, symbol, value, text)

    def is_field(self, node: ast.AST) -> bool:
        return isinstance(node, (ast.Attribute, ast.Name)) and not (
            isinstance(node, ast.Name) and node.id in ("true", "false"))

    def field_name(self, node: ast.AST) -> str:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"{node.value.id}.{node.attr}"
        if isinstance(node, ast.Name):
            return node.id
        raise self.fault(node, "cond_unsupported", text=self.text_of(node))

    def spec(self, node: ast.AST, name: str) -> FeatureSpec:
        spec = field_spec(name, self.vocabulary)
        if spec is None:
            raise self.fault(node, "unknown_field", name=name, allowed="、".join(all_field_names()))
        return spec

    def literal(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
            return node.value
        if isinstance(node, ast.Name) and node.id in ("true", "false"):
            return node.id == "true"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            return -node.operand.value
        raise self.fault(node, "cond_unsupported", text=self.text_of(node))

    def checked_value(self, node: ast.AST, name: str, spec: FeatureSpec, op: str) -> object:
        value = self.literal(node)
        labels = _TYPE_LABELS[spec.type]
        mismatch = self.fault(node, "cond_type", field=name, expected=labels[0], expected_en=labels[1],
                              value=self.text_of(node))
        if spec.type in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise mismatch
            if name.startswith("needs.") and not -1 <= value <= 4:
                raise self.fault(node, "cond_need_range", value=value)
        elif spec.type == "bool":
            if not isinstance(value, bool):
                raise mismatch
            if op not in ("==", "!="):
                raise self.fault(node, "cond_operator", field=name, expected=labels[0], expected_en=labels[1], op=op,
                                 hint="是/否字段只能用 == 或 !=。")
        elif spec.type == "str":
            if not isinstance(value, str):
                raise mismatch
            if op not in ("==", "!="):
                raise self.fault(node, "cond_operator", field=name, expected=labels[0], expected_en=labels[1], op=op,
                                 hint="文字字段只能用 ==、!= 或 in [..]。")
            if spec.values and value not in spec.values:
                raise self.fault(node, "cond_value", field=name, value=value, allowed="、".join(spec.values))
        else:
            raise self.fault(node, "cond_operator", field=name, expected=labels[0], expected_en=labels[1], op=op,
                             hint="列表字段请写 'yoga' in household.interests。")
        return value

    def check_tag(self, node: ast.AST, tag: str) -> None:
        if self.vocabulary.check_tags and tag not in self.vocabulary.tags:
            raise self.fault(node, "unknown_tag", name=tag, allowed="、".join(self.vocabulary.tags) or "（无）")


def to_nnf(condition: Condition, negate: bool = False) -> Condition:
    """Push every `not` down to the leaves, because durable_rules has no general negation."""
    match condition:
        case Not(part):
            return to_nnf(part, not negate)
        case And(parts):
            children = tuple(to_nnf(p, negate) for p in parts)
            return Or(children) if negate else And(children)
        case Or(parts):
            children = tuple(to_nnf(p, negate) for p in parts)
            return And(children) if negate else Or(children)
        case Const(value):
            return Const(value != negate)
        case Compare(field, op, value, text):
            return Compare(field, _NEGATE[op] if negate else op, value, text)
        case OneOf(field, values, negated, text):
            return OneOf(field, values, negated != negate, text)
        case Contains(field, value, negated, text):
            return Contains(field, value, negated != negate, text)
        case HasTag(tag, negated, text):
            return HasTag(tag, negated != negate, text)
    raise TypeError(f"not a condition: {condition!r}")


def _compare(left: object, op: str, right: object) -> bool:
    match op:
        case "==":
            return left == right
        case "!=":
            return left != right
        case "<":
            return left < right
        case "<=":
            return left <= right
        case ">":
            return left > right
        case ">=":
            return left >= right
    raise ValueError(op)


def evaluate(condition: Condition, fact: dict[str, object]) -> bool:
    """Evaluate against a flat fact (`household.size`, `needs.health`, `tag.x`, ...)."""
    match condition:
        case Const(value):
            return value
        case Compare(field, op, value):
            return _compare(fact[field], op, value)
        case OneOf(field, values, negated):
            return (fact[field] in values) != negated
        case Contains(field, value, negated):
            return (value in fact[field]) != negated
        case HasTag(tag, negated):
            return bool(fact.get(f"tag.{tag}", False)) != negated
        case And(parts):
            return all(evaluate(p, fact) for p in parts)
        case Or(parts):
            return any(evaluate(p, fact) for p in parts)
        case Not(part):
            return not evaluate(part, fact)
    raise TypeError(f"not a condition: {condition!r}")


@dataclass(frozen=True)
class LeafResult:
    """One comparison of a condition, the household value it read, and whether it held."""

    text: str
    field: str
    actual: object
    held: bool


def leaf_results(condition: Condition, fact: dict[str, object]) -> list[LeafResult]:
    """List every leaf comparison with its actual value, for "why" and "why not" explanations."""
    match condition:
        case And(parts) | Or(parts):
            return [leaf for p in parts for leaf in leaf_results(p, fact)]
        case Not(part):
            return leaf_results(part, fact)
        case Const():
            return []
        case HasTag(tag, negated, text):
            return [LeafResult(text, f"tag.{tag}", bool(fact.get(f"tag.{tag}", False)), evaluate(condition, fact))]
        case Compare(field, _, _, text) | OneOf(field, _, _, text) | Contains(field, _, _, text):
            return [LeafResult(text, field, fact.get(field), evaluate(condition, fact))]
    raise TypeError(f"not a condition: {condition!r}")


def fields_read(condition: Condition) -> set[str]:
    match condition:
        case And(parts) | Or(parts):
            return set().union(*(fields_read(p) for p in parts))
        case Not(part):
            return fields_read(part)
        case HasTag(tag):
            return {f"tag.{tag}"}
        case Compare(field) | OneOf(field) | Contains(field):
            return {field}
    return set()


def tags_read(condition: Condition) -> set[str]:
    return {f.removeprefix("tag.") for f in fields_read(condition) if f.startswith("tag.")}


def describe(condition: Condition) -> str:
    """Write a condition back in the condition language, spelling out negations that `to_nnf` moved."""
    match condition:
        case Const(value):
            return _literal(value)
        case Compare(field, op, value):
            return f"{field} {op} {_literal(value)}"
        case OneOf(field, values, negated):
            listed = ", ".join(_literal(v) for v in values)
            return f"{field} {'not in' if negated else 'in'} [{listed}]"
        case Contains(field, value, negated):
            return f"{_literal(value)} {'not in' if negated else 'in'} {field}"
        case HasTag(tag, negated):
            return f"{_literal(tag)} {'not in' if negated else 'in'} tags"
        case And(parts):
            return " and ".join(_grouped(p) for p in parts)
        case Or(parts):
            return " or ".join(_grouped(p) for p in parts)
        case Not(part):
            return f"not {_grouped(part)}"
    raise TypeError(f"not a condition: {condition!r}")


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, (And, Or)) else text


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
