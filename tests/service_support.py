"""Helpers for the service tests: tokens, a private copy of the rules, and a real uvicorn server."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.loader import DEFAULT_RULES_DIR
from tests.conftest import HOUSEHOLDS_DIR, ROOT

CASEWORKER_TOKEN = "caseworker-token-0123456789"
RULE_ADMIN_TOKEN = "rule-admin-token-0123456789"
BOTH_ROLES_TOKEN = "both-roles-token-0123456789"
TOKENS = {CASEWORKER_TOKEN: "caseworker", RULE_ADMIN_TOKEN: "rule_admin", BOTH_ROLES_TOKEN: ["caseworker", "rule_admin"]}
CASEWORKER = {"Authorization": f"Bearer {CASEWORKER_TOKEN}"}
RULE_ADMIN = {"Authorization": f"Bearer {RULE_ADMIN_TOKEN}"}
BOTH_ROLES = {"Authorization": f"Bearer {BOTH_ROLES_TOKEN}"}

HOST = "127.0.0.1"
SERVER_START_SECONDS = 30


def fixture_households() -> dict[str, dict]:
    """Every `fixtures/households/*.json`, by file stem, as parsed JSON."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(HOUSEHOLDS_DIR.glob("*.json"))}


def copy_rules(target: Path) -> Path:
    """Copy the shipped rules to `target` so a test can change them freely."""
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def set_needs_weight(rules_dir: Path, weight: float) -> None:
    """Rewrite `needs_weight` in scoring.yaml: a valid change that alters every plan's scores."""
    path = rules_dir / "scoring.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [f"needs_weight: {weight}\n" if line.startswith("needs_weight:") else line for line in lines]
    path.write_text("".join(changed), encoding="utf-8")


BROKEN_RULESET = """ruleset: broken
name: 有错误的规则
rules:
  - id: broken_rule
    name: 条件里写错了字段
    when: household.no_such_field >= 1
    then:
      - add_tag: broken
"""
"""A rule file whose condition names an unknown field on line 6, column 11."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """`linli serve` in a subprocess on a free loopback port, with its log in a file."""

    def __init__(self, rules_dir: Path, log_path: Path, **settings: str):
        self.port = free_port()
        self.log_path = log_path
        env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
        env.update({f"LINLI_{key.upper()}": value for key, value in settings.items()})
        env["LINLI_TOKENS"] = json.dumps(TOKENS)
        command = [sys.executable, "-m", "service.cli", "serve", "--host", HOST, "--port", str(self.port),
                   "--rules", str(rules_dir), "--env-file", os.devnull]
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=self._log)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_path.read_text()}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready within {SERVER_START_SECONDS} s: {self.log_path.read_text()}")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=30)

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None,
                connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        """Send one request (JSON-encoding `body` unless it is bytes); return status and body."""
        own = connection is None
        connection = connection or self.connection()
        payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body, ensure_ascii=False).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            if own:
                connection.close()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._log.close()

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
