"""Read the values of a registration sheet as caseworkers type them in Excel, WPS or a CSV.

Every parser takes one cell (None, str, int, float, bool, date or datetime as openpyxl or
the csv module give it) and returns the model's value, or raises `CellFault` with a
message code from `engine.messages` and its parameters. Text is NFKC-normalised first, so
full-width digits, letters and punctuation (０３０１, ：, ；) read as their ASCII forms.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from models import labels
from models.household import Availability, Employment, Occupation, Relation, Structure, Tenure
from models.labels import enum_labels

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system for serials from 61 (1900-03-01) on.

Excel counts a fictitious 1900-02-29 as serial 60, so serials below 61 read one day early;
move-in and wedding dates never fall there.
"""

MAX_EXCEL_SERIAL = 2_958_465  # 9999-12-31
MAX_AGE = 120

LIST_SEPARATORS = re.compile(r"[,;、/|\s]+")
MEMBER_SEPARATORS = re.compile(r"[;\n|]+")
MEMBER_WORD_SEPARATORS = re.compile(r"[,\s]+")
LANGUAGE_SEPARATORS = re.compile(r"[、/+,]+")


class CellFault(Exception):
    """A cell value that cannot be read; `code` and `params` render the message."""

    def __init__(self, code: str, **params: object):
        super().__init__(code)
        self.code = code
        self.params = params


# Labels a caseworker may type for each model value; the first one is what templates show.

STRUCTURE_LABELS = enum_labels(Structure, labels.STRUCTURE)
TENURE_LABELS = enum_labels(Tenure, labels.TENURE)
AVAILABILITY_LABELS = enum_labels(Availability, labels.AVAILABILITY)
RELATION_LABELS = enum_labels(Relation, labels.RELATION)
OCCUPATION_LABELS = enum_labels(Occupation, labels.OCCUPATION)
EMPLOYMENT_LABELS = enum_labels(Employment, labels.EMPLOYMENT)
LANGUAGE_LABELS: dict[str, tuple[str, ...]] = {
    "zh": ("中文", "汉语", "普通话"),
    "en": ("英语",),
    "vi": ("越南语",),
    "ja": ("日语",),
    "ko": ("韩语",),
    "fr": ("法语",),
    "de": ("德语",),
    "ru": ("俄语",),
    "es": ("西班牙语",),
    "ar": ("阿拉伯语",),
}
CHRONIC_WORDS = ("慢病", "慢性病")
DISABILITY_WORDS = ("残疾",)
TRUE_WORDS = ("是", "有", "y", "yes", "true", "1", "√", "对")
FALSE_WORDS = ("否", "无", "n", "no", "false", "0", "×", "x", "不是")
UNKNOWN_WORDS = ("未知", "不详", "unknown", "?")


_TABLES: dict[int, dict[str, object]] = {}


def lookup(labels: dict) -> dict[str, object]:
    """Map every label and every English value (lower case) to its model value; built once per table."""
    table = _TABLES.get(id(labels))
    if table is None:
        table = {}
        for value, words in labels.items():
            table[str(value).lower()] = value
            for word in words:
                table[word] = value
        _TABLES[id(labels)] = table
    return table


def find_label(labels: dict, word: str) -> object | None:
    table = lookup(labels)
    return table.get(word) or table.get(word.lower())


def first_label(labels: dict, value: object) -> str:
    words = labels.get(value)
    return words[0] if words else str(value)


def allowed_text(labels: dict) -> str:
    return "、".join(words[0] for words in labels.values())


def normalise(text: str) -> str:
    """NFKC-normalise and strip, so that full-width forms read as ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def text_of(value: object) -> str | None:
    """Return a cell as text, or None when blank. Whole numbers lose Excel's trailing `.0`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    text = normalise(str(value))
    return text or None


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Scalars


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = text_of(value)
    if text is None:
        return None
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellFault("batch_bad_bool", value=shorten(text))


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: object) -> date | None:
    """Read a date: a date cell, an Excel serial number, or text such as 2026/3/5."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value, str(value))
    text = text_of(value)
    if text is None:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return _checked_date(*map(int, match.groups()), text)
    if re.fullmatch(r"\d{1,7}(?:\.\d+)?", text):
        return _from_serial(float(text), text)
    raise CellFault("batch_bad_date", value=shorten(text))


def _from_serial(serial: float, text: str) -> date:
    if not 1 <= serial <= MAX_EXCEL_SERIAL:
        raise CellFault("batch_bad_date", value=shorten(text))
    return EXCEL_EPOCH + timedelta(days=int(serial))


def _checked_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellFault("batch_bad_date", value=shorten(text)) from None


def parse_choice(value: object, labels: dict) -> object | None:
    text = text_of(value)
    if text is None:
        return None
    found = find_label(labels, text)
    if found is None:
        raise CellFault("batch_bad_choice", value=shorten(text), allowed=allowed_text(labels))
    return found


def parse_need(value: object, level_names: dict[int, str]) -> int | str | None:
    """Read a need score: 0–4, a level name such as 高, or 未知 for "unknown"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() and 0 <= value <= 4:
        return int(value)
    text = text_of(value)
    if text is None:
        return None
    if text.lower() in UNKNOWN_WORDS:
        return "unknown"
    if text.isdigit() and 0 <= int(text) <= 4:
        return int(text)
    by_name = {name: level for level, name in level_names.items()}
    if text in by_name:
        return by_name[text]
    levels = "、".join(f"{level} {name}" for level, name in sorted(level_names.items()))
    raise CellFault("batch_bad_need", value=shorten(text), levels=levels)


def parse_words(value: object, labels: dict[str, str]) -> list[str]:
    """Split a list cell (阅读、健身 or reading, fitness) and map Chinese words by `labels`."""
    text = text_of(value)
    if text is None:
        return []
    words = [w for w in LIST_SEPARATORS.split(text) if w]
    return [labels.get(w, w.lower()) for w in words]


def parse_choices(value: object, labels: dict) -> list[object]:
    text = text_of(value)
    if text is None:
        return []
    result = []
    for word in (w for w in LIST_SEPARATORS.split(text) if w):
        found = find_label(labels, word)
        if found is None:
            raise CellFault("batch_bad_choice", value=shorten(word), allowed=allowed_text(labels))
        result.append(found)
    return result


# Members: "户主 34 白领 在业；配偶 32 专业技术 在业；子女 4"


def parse_members(value: object) -> list[dict[str, object]]:
    """Read the members column: one member per `;` (or line), words separated by spaces.

    Each member starts with the relation to the head, then in any order: the age, an
    occupation, an employment status, 慢病 (chronic illness), 残疾 (disability) and
    `语言:英语/中文` for the languages spoken. 退休 and 学生 set both occupation and
    employment unless an employment word is also given.
    """
    text = text_of(value)
    if text is None:
        return []
    parts = [p.strip() for p in MEMBER_SEPARATORS.split(text) if p.strip()]
    return [_parse_member(part, index) for index, part in enumerate(parts, start=1)]


def _parse_member(text: str, index: int) -> dict[str, object]:
    words = [w for w in MEMBER_WORD_SEPARATORS.split(text) if w]
    relation = find_label(RELATION_LABELS, words[0])
    if relation is None:
        raise _relation_fault(words, index)

    member: dict[str, object] = {"relation": relation}
    for position, word in enumerate(words[1:], start=2):
        _read_member_word(member, word, index, position)
    if "age" not in member:
        raise _member_fault(index, "batch_member_age_missing")
    member.pop("age_position")
    if member.get("occupation") in (Occupation.retired, Occupation.student) and "employment" not in member:
        member["employment"] = {Occupation.retired: Employment.retired, Occupation.student: Employment.student}[member["occupation"]]
    return member


def _relation_fault(words: list[str], index: int) -> MemberFault:
    """Say why the first word is no relation: the relation comes later, or it is missing."""
    later = next((p for p, w in enumerate(words[1:], start=2) if find_label(RELATION_LABELS, w) is not None), None)
    if later is not None:
        return _member_fault(index, "batch_member_relation_order", position=later)
    return _member_fault(index, "batch_member_relation", allowed=allowed_text(RELATION_LABELS))


def _read_member_word(member: dict[str, object], word: str, index: int, position: int) -> None:
    """Read one word after the relation. Unknown words are never quoted back: they may be names."""
    age = re.fullmatch(r"(\d{1,3})(?:岁|周岁)?", word)
    if age:
        _set_age(member, int(age.group(1)), index, position)
        return
    if word in CHRONIC_WORDS:
        member["chronic_illness"] = True
        return
    if word in DISABILITY_WORDS:
        member["disability"] = True
        return
    if word.startswith("语言:"):
        member["languages"] = _languages(word.removeprefix("语言:"), index)
        return
    for key, labels in (("occupation", OCCUPATION_LABELS), ("employment", EMPLOYMENT_LABELS)):
        found = find_label(labels, word)
        if found is not None:
            member[key] = found
            return
    raise _unknown_word_fault(word, index, position)


def _set_age(member: dict[str, object], age: int, index: int, position: int) -> None:
    if age > MAX_AGE:
        raise _member_fault(index, "batch_member_age_range", position=position, age=age, max=MAX_AGE)
    if "age" in member:
        raise _member_fault(index, "batch_member_age_twice", first=member["age_position"], position=position)
    member["age"] = age
    member["age_position"] = position


CHINESE_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+(?:岁|周岁)?")
LONG_NUMBER = re.compile(r"\d{4,}")
CLOSE_LABEL_KINDS = (("职业", "occupation", OCCUPATION_LABELS), ("就业状态", "employment status", EMPLOYMENT_LABELS))


def _unknown_word_fault(word: str, index: int, position: int) -> MemberFault:
    """Name what kind of value an unknown word looks like, and the expected form, without quoting it.

    The word may be a name or a phone number, so a message only describes its shape: Chinese
    numerals, a long number, a number with other text, a relation, a language, or a word
    close to one label. Labels quoted back come from the tables above, never from the cell.
    """
    if CHINESE_NUMBER.fullmatch(word):
        return _member_fault(index, "batch_member_word_chinese_number", position=position)
    if LONG_NUMBER.fullmatch(word):
        return _member_fault(index, "batch_member_word_long_number", position=position)
    if any(c.isdigit() for c in word):
        return _member_fault(index, "batch_member_word_age_form", position=position)
    if find_label(RELATION_LABELS, word) is not None:
        return _member_fault(index, "batch_member_word_relation", position=position)
    if find_label(LANGUAGE_LABELS, word) is not None or word.startswith("语言"):
        return _member_fault(index, "batch_member_word_language", position=position)
    for kind, kind_en, labels in CLOSE_LABEL_KINDS:
        label = _close_label(word, labels)
        if label is not None:
            return _member_fault(index, "batch_member_word_close", position=position, kind=kind, kind_en=kind_en,
                                 label=label)
    return _member_fault(index, "batch_member_word", position=position, occupations=allowed_text(OCCUPATION_LABELS),
                         employments=allowed_text(EMPLOYMENT_LABELS))


def _close_label(word: str, labels: dict) -> str | None:
    """Return the label a word contains or is part of (退休人员 → 退休) when all such labels mean one value."""
    matches = {label: value for value, words in labels.items() for label in words
               if len(label) >= 2 and len(word) >= 2 and (label in word or word in label)}
    if len(set(matches.values())) != 1:
        return None
    return max(matches, key=len)


def _languages(text: str, index: int) -> list[str]:
    codes = []
    for position, word in enumerate((w for w in LANGUAGE_SEPARATORS.split(text) if w), start=1):
        code = find_label(LANGUAGE_LABELS, word) or (word.lower() if re.fullmatch(r"[A-Za-z]{2,3}", word) else None)
        if code is None:
            raise _member_fault(index, "batch_member_language", position=position,
                                allowed=allowed_text(LANGUAGE_LABELS))
        codes.append(code)
    return list(dict.fromkeys(codes)) or ["zh"]


class MemberFault(CellFault):
    """A fault inside one member of the members column; `detail_code` names the fault itself.

    The member's text is not quoted in the message, because caseworkers sometimes write
    names into this column.
    """

    def __init__(self, index: int, detail_code: str, detail_params: dict[str, object]):
        super().__init__("batch_bad_member", index=index)
        self.detail_code = detail_code
        self.detail_params = detail_params


def _member_fault(index: int, code: str, **params: object) -> MemberFault:
    return MemberFault(index, code, params)
