"""The planner the service uses, swapped atomically when the rules (or their model) are reloaded.

A request takes one lease on the current planner at its start and plans with it to the
end, so it plans with exactly one rule version even if a reload finishes meanwhile. A reload
builds and checks the new planner first and swaps it in only on success. After a failed
reload the previous planner keeps serving, and the problems are kept as `last_error`. A replaced planner is
closed (its durable_rules ruleset deleted) when its last lease ends.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fastapi import Request

from engine.errors import Problem, RuleSetError
from engine.loader import rules_directory
from engine.planner import Planner, Segmenter, build_planner
from service.http_errors import ApiError

logger = logging.getLogger(__name__)

WATCHED_SUFFIXES = (".yaml", ".json")
"""Rule, catalogue and settings files are YAML; the segmentation model (model/segmenter.json) is JSON."""


@dataclass
class _Loaded:
    """One loaded planner and the number of requests currently using it."""

    planner: Planner
    loaded_at: datetime
    source: str
    leases: int = 0
    retired: bool = False


@dataclass(frozen=True)
class ReloadFailure:
    """The problems of the latest failed reload, kept until a reload succeeds."""

    at: datetime
    source: str
    problems: list[Problem]


@dataclass(frozen=True)
class ReloadOutcome:
    changed: bool
    version: str
    model_version: str | None
    previous_version: str | None
    loaded_at: datetime
    warnings: list[Problem]


@dataclass(frozen=True)
class RegistryStatus:
    version: str | None
    model_version: str | None
    loaded_at: datetime | None
    source: str | None
    rules_dir: Path
    reloads: int
    failed_reloads: int
    retired_in_use: int
    last_error: ReloadFailure | None


class PlannerRegistry:
    """Holds the current `Planner`; thread-safe.

    Args:
        rules_dir: the rules directory; resolved like the CLI's `--rules`
            (given path, else LINLI_RULES_DIR, else the bundled rules/).
        segmenter: the clustering fallback handed to every planner built here.
    """

    def __init__(self, rules_dir: Path | str | None = None, segmenter: Segmenter | None = None):
        self.rules_dir = rules_directory(rules_dir)
        self.segmenter = segmenter
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._current: _Loaded | None = None
        self._retired: list[_Loaded] = []
        self._reloads = 0
        self._failed_reloads = 0
        self._fingerprint: str | None = None
        self.last_error: ReloadFailure | None = None
        self._closed = False

    # Reading

    @contextmanager
    def lease(self) -> Iterator[Planner]:
        """Use the current planner for one request; it stays open until the block ends.

        Raises:
            ApiError: 503 when no rule set has been loaded (or the registry is closed).
        """
        with self._lock:
            loaded = self._current
            if loaded is None:
                raise ApiError(503, "not_ready", "http_not_ready")
            loaded.leases += 1
        try:
            yield loaded.planner
        finally:
            self._release(loaded)

    def _release(self, loaded: _Loaded) -> None:
        with self._lock:
            loaded.leases -= 1
            close = loaded.retired and loaded.leases == 0
            if close:
                self._retired.remove(loaded)
        if close:
            loaded.planner.close()
            logger.debug("closed planner for rule version %s after its last request", loaded.planner.version)

    def loaded_at(self, planner: Planner) -> datetime | None:
        """Return when `planner` was loaded, while it is current or still leased."""
        with self._lock:
            for loaded in (self._current, *self._retired):
                if loaded is not None and loaded.planner is planner:
                    return loaded.loaded_at
        return None

    @property
    def version(self) -> str | None:
        loaded = self._current
        return loaded.planner.version if loaded else None

    @property
    def ready(self) -> bool:
        return self._current is not None

    def status(self) -> RegistryStatus:
        with self._lock:
            loaded = self._current
            return RegistryStatus(
                version=loaded.planner.version if loaded else None,
                model_version=_model_version(loaded.planner) if loaded else None,
                loaded_at=loaded.loaded_at if loaded else None,
                source=loaded.source if loaded else None,
                rules_dir=self.rules_dir,
                reloads=self._reloads,
                failed_reloads=self._failed_reloads,
                retired_in_use=len(self._retired),
                last_error=self.last_error,
            )

    # Reloading

    def reload(self, source: str = "api", force: bool = False) -> ReloadOutcome:
        """Load the rules directory and swap the new planner in if it checks cleanly.

        The build is skipped when no rule or model file changed since the last load, and the
        new planner is dropped when it has the rule and model versions already serving.

        Args:
            source: what asked for the reload ("startup", "api" or "watch"), for logs and status.
            force: build and swap even when nothing changed.

        Raises:
            RuleSetError: the rules or the model file have errors; the previous planner keeps serving.
        """
        with self._reload_lock:
            if self._closed:
                raise RuntimeError("planner registry is closed")
            previous = self._current.planner if self._current else None
            fingerprint = files_fingerprint(self.rules_dir)
            if not force and previous is not None and fingerprint is not None and fingerprint == self._fingerprint:
                self.last_error = None
                return self._outcome(False, previous)

            planner = self._build(source)
            if not force and previous is not None and _identity(planner) == _identity(previous):
                planner.close()
                self._fingerprint = fingerprint
                self.last_error = None
                return self._outcome(False, previous)
            self._swap(planner, source)
            self._fingerprint = fingerprint

        logger.info("rules loaded by %s: version %s, model %s (was %s), %d rules, %d catalogue items", source,
                    planner.version, _model_version(planner), previous.version if previous else "none",
                    len(planner.rulebase.rules), len(planner.rulebase.items))
        return self._outcome(True, previous)

    def _build(self, source: str) -> Planner:
        try:
            return build_planner(self.rules_dir, self.segmenter)
        except RuleSetError as exc:
            self._record_failure(source, exc.problems)
            raise
        except OSError as exc:
            # A file removed or renamed mid-read, typically while an editor saves.
            problems = [Problem("input_file", {"path": exc.filename or str(self.rules_dir), "detail": exc.strerror})]
            self._record_failure(source, problems)
            raise RuleSetError(problems) from exc

    def _record_failure(self, source: str, problems: list[Problem]) -> None:
        self.last_error = ReloadFailure(datetime.now(timezone.utc), source, problems)
        self._failed_reloads += 1
        errors = [p for p in problems if p.severity == "error"]
        first = "; ".join(f"{p.location()} {p.code}" for p in errors[:3])
        logger.warning("rules reload by %s rejected, version %s keeps serving: %d error(s), first: %s",
                       source, self.version, len(errors), first)

    def _swap(self, planner: Planner, source: str) -> None:
        loaded = _Loaded(planner, datetime.now(timezone.utc), source)
        with self._lock:
            old = self._current
            self._current = loaded
            self._reloads += 1
            self.last_error = None
            close_now = old is not None and old.leases == 0
            if old is not None and not close_now:
                old.retired = True
                self._retired.append(old)
        if close_now:
            old.planner.close()

    def _outcome(self, changed: bool, previous: Planner | None) -> ReloadOutcome:
        loaded = self._current
        assert loaded is not None, "a reload outcome is built only after a planner is loaded"
        planner = loaded.planner
        return ReloadOutcome(changed, planner.version, _model_version(planner),
                             previous.version if previous else None, loaded.loaded_at, list(planner.rulebase.warnings))

    def close(self) -> None:
        """Stop serving: close the current planner now, and retired ones when their requests end."""
        with self._reload_lock, self._lock:
            self._closed = True
            loaded, self._current = self._current, None
            if loaded is not None and loaded.leases > 0:
                loaded.retired = True
                self._retired.append(loaded)
                loaded = None
        if loaded is not None:
            loaded.planner.close()


def files_fingerprint(directory: Path) -> str | None:
    """Hash the names and contents of the rule and model files; None when they cannot be read."""
    digest = hashlib.sha256()
    try:
        for path in sorted(p for p in directory.rglob("*") if p.suffix in WATCHED_SUFFIXES and p.is_file()):
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def _model_version(planner: Planner) -> str | None:
    return planner.segmenter.version if planner.segmenter is not None else None


def _identity(planner: Planner) -> tuple[str, str | None]:
    return planner.version, _model_version(planner)


async def get_registry(request: Request) -> PlannerRegistry:
    """FastAPI dependency: the app's `PlannerRegistry`.

    Routers added to the app (for example `service.routes_batch` and `service.routes_explain`)
    use it like this. One lease per request keeps the whole request on one rule version,
    and a reload cannot close the planner while the lease is held:

        from fastapi import APIRouter, Depends
        from service.auth import Permission, require
        from service.state import PlannerRegistry, get_registry

        router = APIRouter()

        @router.post("/v1/explain", dependencies=[Depends(require(Permission.plan))])
        def explain(body: ..., registry: PlannerRegistry = Depends(get_registry)) -> ...:
            with registry.lease() as planner:
                inference = planner.infer(household)
                ...

    Keep the lease short: a retired planner's durable_rules ruleset is freed only when its
    last lease ends. Plain `def` endpoints run in FastAPI's thread pool, which suits the
    planner (its calls into durable_rules take one process-wide lock).
    """
    return request.app.state.registry
