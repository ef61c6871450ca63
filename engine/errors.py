"""Error types with locations: a problem in a rule file, and a problem in one household's input."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from pydantic import ValidationError

from engine.messages import FIELD_ERRORS_ZH, render
from models.labels import LABEL_TABLES


def display_width(text: str) -> int:
    """Terminal columns of `text`: wide and full-width characters (汉字, "：") take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


@dataclass(frozen=True)
class Problem:
    """One error or warning in a rule or catalogue file, at `file:line:column` (1-based)."""

    code: str
    params: dict[str, object] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    severity: str = "error"
    source_line: str | None = None

    def message(self, lang: str = "zh") -> str:
        return render(self.code, lang, **self.params)

    def location(self) -> str:
        parts = [self.file or "<text>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self, lang: str = "zh") -> str:
        """Render as `file:line:col: 错误: message [path]`, then the source line with a caret."""
        label = {"error": "错误", "warning": "警告"} if lang == "zh" else {"error": "error", "warning": "warning"}
        where = f" [{self.path}]" if self.path else ""
        text = f"{self.location()}: {label[self.severity]}: {self.message(lang)}{where}"
        if self.source_line is not None and self.column is not None:
            shown = self.source_line.replace("\t", " ")
            caret = " " * display_width(shown[:self.column - 1]) + "^"
            text += f"\n    {shown}\n    {caret}"
        return text

    def to_dict(self, lang: str = "zh") -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message(lang),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }


class RuleSetError(Exception):
    """The rule set in a directory is invalid; `problems` lists every error and warning found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in rule set; first: {errors[0].location() if errors else '-'}")


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field of a household: a dotted path like `members[0].age` and a message."""

    path: str
    type: str
    message_zh: str
    message_en: str
    row: int | None = None
    column: str | None = None

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en

    def to_dict(self, lang: str = "zh") -> dict[str, object]:
        data: dict[str, object] = {"field": self.path, "type": self.type, "message": self.message(lang)}
        if self.row is not None:
            data["row"] = self.row
        if self.column is not None:
            data["column"] = self.column
        return data


class InputError(Exception):
    """A household (or a file of them) cannot be planned; each problem names its field."""

    def __init__(self, problems: list[FieldProblem], code: str = "invalid_household"):
        self.problems = problems
        self.code = code
        super().__init__("; ".join(f"{p.path}: {p.message_en}" for p in problems))

    def format(self, lang: str = "zh") -> str:
        return "\n".join(f"{p.path}: {p.message(lang)}" for p in self.problems)


def dotted_path(loc: tuple[str | int, ...]) -> str:
    """Turn a pydantic location ("members", 0, "age") into `members[0].age`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "$"


_DATE_DETAILS_ZH = {
    "month value is outside expected range": "月份超出 1–12",
    "day value is outside expected range": "日期超出该月的天数",
    "input is too short": "内容不完整",
    "input is too long": "多了字符",
    "invalid character in year": "年份中有无效字符",
    "invalid character in month": "月份中有无效字符",
    "invalid character in day": "日中有无效字符",
}


# Patterns of the rule-file models, worded for rule authors instead of shown as a regex.
_PATTERN_MESSAGES = {
    r"^[a-z][a-z0-9_]{1,63}$": "id_pattern_mismatch",
    r"^[a-z][a-z0-9_]{0,63}$": "name_pattern_mismatch",
}


def _shown_value(value: object) -> str:
    """Show an input value inside a Chinese message, naming empty values instead of printing nothing."""
    if value is None:
        return "空值（null）"
    if isinstance(value, str) and not value.strip():
        return "空白"
    return str(value)


def _choices_zh(expected: str) -> str:
    """Turn pydantic's "'a', 'b' or 'c'" into "a、b、c", adding the Chinese label of each value when known."""
    values = expected.replace(" or ", ", ").replace("'", "").split(", ")
    table = next((t for t in LABEL_TABLES if set(t) == set(values)), None)
    if table is None:
        return "、".join(values)
    return "、".join(f"{value}（{table[value][0]}）" for value in values)


def translate_field_error(error: dict) -> tuple[str, str]:
    """Return the Chinese and English message for one pydantic error dict."""
    context = dict(error.get("ctx") or {})
    context["value"] = _shown_value(context.get("value", error.get("input")))
    if "expected" in context:
        context["expected"] = _choices_zh(str(context["expected"]))
    detail = str(context.get("error", ""))
    context["detail"] = next((zh for en, zh in _DATE_DETAILS_ZH.items() if detail.startswith(en)), detail)

    kind = error["type"]
    loc = tuple(error.get("loc", ()))
    if kind == "missing" and len(loc) >= 2 and loc[-2] == "needs":
        kind = "missing_need"
    if kind == "string_pattern_mismatch":
        kind = _PATTERN_MESSAGES.get(str(context.get("pattern")), kind)
    template = FIELD_ERRORS_ZH.get(kind)
    if template is None:
        chinese = f"取值无效：{error['msg']}"
    else:
        try:
            chinese = template.format(**context)
        except (KeyError, IndexError):
            chinese = template
    return chinese, error["msg"]


def _is_consequence(error: dict, errors: list[dict]) -> bool:
    """Tell whether `error` only repeats another one.

    Pydantic checks a tuple's minimum length after dropping invalid items, so one bad member
    also yields "at least 1 item" for `members`, although the member is there.
    """
    if error["type"] != "too_short":
        return False
    loc = tuple(error["loc"])
    return any(len(other["loc"]) > len(loc) and tuple(other["loc"][:len(loc)]) == loc for other in errors)


def input_error_from_validation(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> InputError:
    errors = exc.errors(include_url=False)
    problems = []
    for error in errors:
        if _is_consequence(error, errors):
            continue
        chinese, english = translate_field_error(error)
        problems.append(FieldProblem(dotted_path(prefix + tuple(error["loc"])), error["type"], chinese, english))
    return InputError(problems)
