"""Helpers shared by the `linli` subcommands: exit codes, reading input, printing problems."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import Problem, RuleSetError
from engine.planner import Planner, build_planner
from engine.messages import render

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def read_text(name: str, lang: str) -> str | None:
    """Read a UTF-8 file, or standard input for "-"; print a message and return None on failure."""
    shown = "<stdin>" if name == "-" else name
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        return raw.decode("utf-8-sig")
    except FileNotFoundError:
        print(render("input_not_found", lang, path=shown), file=sys.stderr)
    except UnicodeDecodeError as exc:
        print(render("input_not_utf8", lang, path=shown, position=exc.start + 1), file=sys.stderr)
    except OSError as exc:
        print(render("input_file", lang, path=shown, detail=exc.strerror or exc), file=sys.stderr)
    return None


def load_planner(rules_dir: str | Path | None, lang: str) -> Planner | None:
    """Build the planner for a command; print every rule problem and return None when invalid."""
    try:
        return build_planner(rules_dir)
    except RuleSetError as exc:
        print_rule_errors(exc.problems, lang)
        return None


def print_rule_errors(problems: list[Problem], lang: str) -> None:
    for problem in problems:
        print(problem.format(lang), file=sys.stderr)
