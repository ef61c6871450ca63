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
  the Python wrapper); that is a normal outcome here, an empty match.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import weakref

import durable_rules_engine as dre

logger = logging.getLogger(__name__)

ENGINE_LOCK = threading.Lock()
_ruleset_names = itertools.count(1)
_session_ids = itertools.count(1)

_STATUS_OK = 0
_STATUS_NOT_HANDLED = 1
_STATUS_OBSERVED = 2


def _delete_ruleset(handle: int, name: str) -> None:
    with ENGINE_LOCK:
        dre.delete_ruleset(handle)
    logger.debug("deleted durable_rules ruleset %s", name)


class RuleMachine:
    """One compiled durable_rules ruleset; `match` returns the rule ids whose condition holds."""

    def __init__(self, definition: dict[str, dict], label: str):
        self.name = f"linli_{label}_{next(_ruleset_names)}"
        self.rule_count = len(definition)
        payload = json.dumps(definition, ensure_ascii=False)
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
        payload = json.dumps({**fact, "sid": sid, "id": "f"}, ensure_ascii=False)

        with ENGINE_LOCK:
            status, state_handle = dre.assert_fact(self._handle, payload)
            try:
                if status == _STATUS_OK:
                    return self._run_actions(state_handle)
                if status in (_STATUS_NOT_HANDLED, _STATUS_OBSERVED):
                    return []
                raise RuntimeError(f"durable_rules assert_fact returned status {status}")
            finally:
                dre.delete_state(self._handle, sid)

    def _run_actions(self, state_handle: int) -> list[str]:
        fired: list[str] = []
        result = dre.start_action_for_state(self._handle, state_handle)
        if result:
            result = (result[0], result[1], state_handle)
        while result:
            state_json, message_json, action_handle = result
            message = json.loads(message_json)
            while message:
                fired.extend(message.keys())
                dre.update_state(self._handle, state_json)
                next_message = dre.complete_and_start_action(self._handle, action_handle)
                message = json.loads(next_message) if next_message else None
            result = dre.start_action(self._handle)
        return fired
