"""Shared fixtures: the shipped rule base, one planner for the session, fixture households."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.loader import DEFAULT_RULES_DIR, load_rulebase
from engine.planner import Planner
from models.household import Household

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS_DIR = ROOT / "fixtures" / "households"


def load_household(name: str, **changes) -> Household:
    """Load `fixtures/households/<name>.json`, optionally with top-level fields replaced."""
    data = json.loads((HOUSEHOLDS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return Household.model_validate(data)


@pytest.fixture(scope="session")
def rulebase():
    return load_rulebase(DEFAULT_RULES_DIR)


@pytest.fixture(scope="session")
def planner(rulebase):
    planner = Planner(rulebase)
    yield planner
    planner.close()
