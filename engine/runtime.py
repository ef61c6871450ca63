"""Run facts through durable_rules, safely for concurrent callers and without leaks.

Facts about durable-rules 2.0.28 (measured on Python 3.11) that shape this module:
- All ruleset state lives in one C library with no locking of its own: two threads asserting
  at once produced wrong matches. Every call into it here holds one process-wide lock.
- `durable.engine.Host` starts timer threads that never stop, so this module drives the C
  engine directly: assert the fact, then start and complete every queued action itself.
  That also means results are read only after every action has run, never half-way.
- A ruleset is freed only by `delete_ruleset`; `RuleMachine.close` (or garbage collection)
  calls it, so reloading rules does not leak rulesets.
- An assert that matches no rule returns status 1 (the `MessageNotHandledException` case of
  the Python wrapper), and a later `delete_state` for that session crashed the process with a
  segmentation fault. Every ruleset here therefore carries a sentinel rule that matches
  every fact, so each assert is handled and its session can be deleted safely.
"""

from __future__ import annotations

import itertools
import json
import re
import logging
import threading
import weakref

import durable_rules_engine as dre

logger = logging.getLogger(__name__)

ENGINE_LOCK = threading.Lock()
_ruleset_names = itertools.count(1)
_session_ids = itertools.count(1)

_STATUS_OK = 0
SENTINEL_RULE = "_linli_sentinel"
# Only asserted facts carry this field; the session state object that durable_rules also
# matches does not, so the sentinel cannot fire on it and loop.
_SENTINEL_FIELD = "_linli_fact"


def _delete_ruleset(handle: int, name: str) -> None:
    with ENGINE_LOCK:
        dre.delete_ruleset(handle)
    logger.debug("deleted durable_rules ruleset %s", name)


class RuleMachine:
    """One compiled durable_rules ruleset; `match` returns the rule ids whose condition holds."""

    def __init__(self, definition: dict[str, dict], label: str):
        self.name = f"linli_{label}_{next(_ruleset_names)}"
        self.rule_count = len(definition)
        sentinel = {SENTINEL_RULE: {"all": [{"m": {"$ex": {_SENTINEL_FIELD: 1}}}]}}
        payload = json.dumps({**definition, **sentinel}, ensure_ascii=False)
        with ENGINE_LOCK:
            self._handle = dre.create_ruleset(self.name, payload)
        self._finalizer = weakref.finalize(self, _delete_ruleset, self._handle, self.name)
        logger.debug("created durable_rules ruleset %s with %d rules", self.name, self.rule_count)

    def close(self) -> None:
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def match(self, fact: dict[str, object]) -> list[str]:
        """Assert `fact` in a fresh session, run every action it triggers, then retract it."""
        if self.closed:
            raise RuntimeError(f"ruleset {self.name} is closed")
        sid = f"s{next(_session_ids)}"
        payload = json.dumps({**fact, "sid": sid, "id": "f", _SENTINEL_FIELD: 1}, ensure_ascii=False)

        with ENGINE_LOCK:
            status, state_handle = dre.assert_fact(self._handle, payload)
            if status != _STATUS_OK:
                raise RuntimeError(f"durable_rules assert_fact returned status {status} in {self.name}")
            try:
                fired = self._run_actions(state_handle)
            finally:
                dre.delete_state(self._handle, sid)
        return [rule_id for rule_id in fired if rule_id != SENTINEL_RULE]

    def _run_actions(self, state_handle: int) -> list[str]:
        """Start and complete every queued action, and return the rule id of each.

        Each action message is `{"<rule id>": {"m": <fact>}}`. Only the rule id is needed, so it
        is cut from the front of the text instead of decoding the whole fact every time.
        """
        fired: list[str] = []
        result = dre.start_action_for_state(self._handle, state_handle)
        if result:
            result = (result[0], result[1], state_handle)
        while result:
            _, message, action_handle = result
            while message:
                fired.append(_rule_of(message))
                message = dre.complete_and_start_action(self._handle, action_handle)
            result = dre.start_action(self._handle)
        return fired


_MESSAGE_HEAD = re.compile(r'\s*\{\s*"([^"]+)"\s*:')


def _rule_of(message: str) -> str:
    match = _MESSAGE_HEAD.match(message)
    if match is None:
        return next(iter(json.loads(message)))
    return match.group(1)
