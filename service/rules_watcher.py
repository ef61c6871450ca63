"""Hot reload: watch the rules directory and reload the planner registry when a file changes.

Rule files are YAML and the segmentation model is JSON; other files are ignored.
The watcher runs `watchfiles.watch` in one daemon thread. A batch of changes (grouped by
`debounce_ms`) triggers one `PlannerRegistry.reload`, which swaps the new rules in only if
they check cleanly. The registry logs a failed reload and keeps its problems for
`GET /v1/rules/status`, and the last good version keeps serving.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from watchfiles import Change, watch

from engine.errors import RuleSetError
from service.state import WATCHED_SUFFIXES, PlannerRegistry

logger = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 5.0


def _is_rule_file(change: Change, path: str) -> bool:
    return path.endswith(WATCHED_SUFFIXES)


class RulesWatcher:
    """Reload `registry` whenever a `*.yaml` or `*.json` file under its rules directory changes."""

    def __init__(self, registry: PlannerRegistry, debounce_ms: int = 300):
        self.registry = registry
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("rules watcher already started")
        self._thread = threading.Thread(target=self._run, name="linli-rules-watcher", daemon=True)
        self._thread.start()
        logger.info("watching %s for rule changes", self.registry.rules_dir)

    def stop(self) -> None:
        """Stop watching and wait for the thread; a reload in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                logger.warning("rules watcher thread did not stop within %.0f s", STOP_TIMEOUT_SECONDS)
            self._thread = None

    def _run(self) -> None:
        changes_seen = watch(self.registry.rules_dir, watch_filter=_is_rule_file, debounce=self.debounce_ms,
                             stop_event=self._stop, raise_interrupt=False)
        for changes in changes_seen:
            self.batches += 1
            names = sorted({_relative(path, self.registry.rules_dir) for _, path in changes})
            logger.info("rule files changed: %s", ", ".join(names))
            try:
                self.registry.reload(source="watch")
            except RuleSetError:
                pass  # the registry has logged the problems and keeps them for /v1/rules/status
        logger.info("stopped watching %s", self.registry.rules_dir)


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path
