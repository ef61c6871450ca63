"""Error types with locations: a problem in a rule file, and a problem in one household's input."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from pydantic import ValidationError

from engine.messages import FIELD_ERRORS_ZH, render


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


def translate_field_error(error: dict) -> tuple[str, str]:
    """Return the Chinese and English message for one pydantic error dict."""
    context = dict(error.get("ctx") or {})
    context.setdefault("value", error.get("input"))
    template = FIELD_ERRORS_ZH.get(error["type"])
    if template is None:
        chinese = f"取值无效：{error['msg']}"
    else:
        try:
            chinese = template.format(**context)
        except (KeyError, IndexError):
            chinese = template
    return chinese, error["msg"]


def input_error_from_validation(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> InputError:
    problems = []
    for error in exc.errors(include_url=False):
        chinese, english = translate_field_error(error)
        problems.append(FieldProblem(dotted_path(prefix + tuple(error["loc"])), error["type"], chinese, english))
    return InputError(problems)
