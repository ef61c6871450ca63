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


def load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        params = {"line": exc.lineno, "column": exc.colno, "detail": exc.msg}
        raise InputError([FieldProblem("$", "json_invalid", render("input_json", "zh", **params),
                                       render("input_json", "en", **params))], code="invalid_json") from None


def validate_household(data: object, prefix: tuple[str | int, ...] = ()) -> Household:
    try:
        return Household.model_validate(data)
    except ValidationError as exc:
        raise input_error_from_validation(exc, prefix) from None


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
