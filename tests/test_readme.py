"""The README's two set-up commands are the ones CI runs, in both languages."""

from __future__ import annotations

from tests.conftest import ROOT

CI_SCRIPT = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
COMMANDS = [line for line in CI_SCRIPT.splitlines() if line.startswith((".venv/", "python3 -m venv"))]


def test_ci_runs_two_commands():
    assert len(COMMANDS) == 2


def test_readmes_show_ci_commands():
    for name in ("README.md", "README.zh-CN.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for command in COMMANDS:
            assert command in text, f"{name} lacks: {command}"
