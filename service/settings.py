"""Service settings: one pydantic-settings class, read once at start-up.

Every field can be set by an environment variable named `LINLI_<FIELD>` (for example
`LINLI_PORT=8080`) or by the same line in a `.env` file in the working directory.
The environment wins over the file, and the file wins over the defaults. `linli serve`
options override both. An invalid value stops start-up with the variable and value named.

Fields:
    host: address to bind; 127.0.0.1 by default so that nothing is exposed by accident.
    port: TCP port, 1-65535.
    rules_dir: rules directory (`LINLI_RULES_DIR`, the same variable the CLI reads);
        the bundled `rules/` when unset.
    tokens: API tokens and their roles as JSON, for example
        `LINLI_TOKENS='{"<token>": "caseworker", "<token2>": ["caseworker", "rule_admin"]}'`.
    tokens_file: a JSON file with the same mapping, merged with `tokens`.
    no_auth: serve without tokens; allowed only with a loopback `host`.
    max_body_bytes: largest request body accepted; larger ones get HTTP 413.
    batch_max_items: maximum number of households in one `POST /v1/plans/batch` request.
    watch_rules: reload the rules when a file in `rules_dir` changes.
    watch_debounce_ms: how long the watcher waits for more changes before reloading.
    log_level: level of the JSON log lines written to standard error.
"""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_TOKEN_LENGTH = 16


class Role(StrEnum):
    """A token's role: caseworkers plan households, rule admins check and reload rules."""

    caseworker = "caseworker"
    rule_admin = "rule_admin"


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


RoleList = Annotated[list[Role], BeforeValidator(_as_list), Field(min_length=1)]
"""One role ("caseworker") or a list of roles (["caseworker", "rule_admin"])."""


class Settings(BaseSettings):
    """Configuration of `linli serve`; see the module docstring for each field."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    rules_dir: Path | None = None
    tokens: dict[str, RoleList] = Field(default_factory=dict, repr=False)
    tokens_file: Path | None = None
    no_auth: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    batch_max_items: int = Field(default=200, ge=1, le=10_000)
    watch_rules: bool = False
    watch_debounce_ms: int = Field(default=300, ge=10, le=60_000)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("tokens")
    @classmethod
    def _long_tokens(cls, tokens: dict[str, list[Role]]) -> dict[str, list[Role]]:
        for token in tokens:
            _check_token(token)
        return tokens

    @model_validator(mode="after")
    def _auth_configured(self) -> Settings:
        if self.no_auth and not is_loopback(self.host):
            raise PydanticCustomError("settings_no_auth_host",
                                      "no_auth is allowed only on a loopback host (127.0.0.1, ::1, localhost), "
                                      "not {host}; configure LINLI_TOKENS instead", {"host": self.host})
        if not self.no_auth and not self.token_roles():
            raise PydanticCustomError("settings_no_tokens",
                                      "no API tokens configured: set LINLI_TOKENS or LINLI_TOKENS_FILE, "
                                      "or run `linli serve --no-auth` on 127.0.0.1")
        return self

    def token_roles(self) -> dict[str, frozenset[Role]]:
        """Merge `tokens` and `tokens_file` into token → roles; the environment wins on a clash."""
        merged = dict(_read_tokens_file(self.tokens_file)) if self.tokens_file else {}
        merged.update(self.tokens)
        return {token: frozenset(roles) for token, roles in merged.items()}


def is_loopback(host: str) -> bool:
    """Tell whether `host` is a loopback name or address (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_token(token: str) -> None:
    if len(token) < MIN_TOKEN_LENGTH or token != token.strip():
        raise PydanticCustomError("settings_token_short",
                                  "every API token needs at least {min_length} characters and no surrounding "
                                  "spaces; generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                                  {"min_length": MIN_TOKEN_LENGTH})


def _read_tokens_file(path: Path) -> dict[str, list[Role]]:
    """Read a tokens file: a JSON object mapping each token to a role or a list of roles."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PydanticCustomError("settings_tokens_file", "cannot read tokens file {path}: {detail}",
                                  {"path": str(path), "detail": str(exc), "detail_zh": str(exc)}) from None
    if not isinstance(data, dict):
        raise PydanticCustomError("settings_tokens_file", "cannot read tokens file {path}: {detail}",
                                  {"path": str(path), "detail": "not a JSON object", "detail_zh": "内容应为 JSON 对象"})

    tokens: dict[str, list[Role]] = {}
    for token, roles in data.items():
        _check_token(token)
        names = [roles] if isinstance(roles, str) else roles
        if not isinstance(names, list) or not names or not all(n in Role.__members__ for n in names):
            raise PydanticCustomError("settings_tokens_file", "cannot read tokens file {path}: {detail}",
                                      {"path": str(path), "detail": f"unknown role {roles!r}; roles: {', '.join(Role)}",
                                       "detail_zh": f"未知角色 {roles!r}，可用角色：{'、'.join(Role)}"})
        tokens[token] = [Role(n) for n in names]
    return tokens
