"""Read households from JSON text, turning every fault into an `InputError` with a location."""

from __future__ import annotations

import json

from pydantic import ValidationError

from engine.errors import FieldProblem, InputError, input_error_from_validation
from engine.messages import render
from models.household import Household


def parse_households(text: str) -> tuple[list[Household], bool]:
    """Parse one household object or a list of them; return them and whether the input was a list."""
    data = load_json(text)
    if isinstance(data, dict):
        return [validate_household(data)], False
    if isinstance(data, list):
        return validate_many(data), True
    actual = type(data).__name__
    raise InputError([FieldProblem("$", "not_object", render("input_not_object", "zh", actual=actual),
                                   render("input_not_object", "en", actual=actual))], code="invalid_json")


_JSON_DETAILS_ZH = {
    "Expecting value": "此处缺少值（或多了逗号）",
    "Expecting property name enclosed in double quotes": "键名必须用英文双引号括起来",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Extra data": "JSON 结束后还有多余的内容",
    "Unterminated string starting at": "字符串缺少结束的双引号",
    "Invalid control character at": "字符串中有换行或制表符，请改成 \\n 或删除",
    "Invalid \\escape": "无效的反斜杠转义",
}


def load_json(text: str) -> object:
    if not text.strip():
        raise InputError([FieldProblem("$", "empty", render("input_empty", "zh"), render("input_empty", "en"))],
                         code="invalid_json")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        detail_zh = next((zh for en, zh in _JSON_DETAILS_ZH.items() if exc.msg.startswith(en)), exc.msg)
        params = {"line": exc.lineno, "column": exc.colno, "detail": exc.msg, "detail_zh": detail_zh}
        raise InputError([FieldProblem("$", "json_invalid", render("input_json", "zh", **params),
                                       render("input_json", "en", **params))], code="invalid_json") from None


def validate_household(data: object, prefix: tuple[str | int, ...] = ()) -> Household:
    try:
        return Household.model_validate(data)
    except ValidationError as exc:
        raise input_error_from_validation(exc, prefix) from None


def validate_each(items: list) -> list[Household | InputError]:
    """Validate every item on its own: a household, or the error that stopped it, in input order."""
    results: list[Household | InputError] = []
    for index, item in enumerate(items):
        try:
            results.append(validate_household(item, (index,)))
        except InputError as exc:
            results.append(exc)
    return results


def validate_many(items: list) -> list[Household]:
    """Validate every item, collecting all faults so one run reports every bad household."""
    households: list[Household] = []
    problems: list[FieldProblem] = []
    for index, item in enumerate(items):
        try:
            households.append(validate_household(item, (index,)))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return households
