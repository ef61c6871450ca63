"""Access control: bearer tokens with roles, checked in constant time.

Caseworkers plan households and read the catalogue and rules; rule administrators read
them too and validate and reload rules. Routers protect an endpoint with a dependency:

    @router.post("/v1/things", dependencies=[Depends(require(Permission.plan))])
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.http_errors import ApiError
from service.settings import Role


class Permission(StrEnum):
    plan = "plan"
    read = "read"
    manage_rules = "manage_rules"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.caseworker: frozenset({Permission.plan, Permission.read}),
    Role.rule_admin: frozenset({Permission.read, Permission.manage_rules}),
}

_bearer = HTTPBearer(auto_error=False, description="API 令牌：Authorization: Bearer <令牌>")


@dataclass(frozen=True)
class Caller:
    """The sender of a request: the roles of its token, or all roles when authentication is off."""

    roles: frozenset[Role]
    authenticated: bool


class TokenStore:
    """The configured tokens; `enabled` is False only for `linli serve --no-auth`."""

    def __init__(self, token_roles: dict[str, frozenset[Role]], enabled: bool = True):
        self.enabled = enabled
        self._tokens = [(token.encode(), roles) for token, roles in token_roles.items()]

    def roles_for(self, presented: str) -> frozenset[Role] | None:
        """Return the roles of `presented`, or None.

        It is compared with every token, so the response time does not reveal which one matched.
        """
        candidate = presented.encode("utf-8", "surrogateescape")
        found: frozenset[Role] | None = None
        for token, roles in self._tokens:
            if hmac.compare_digest(token, candidate):
                found = roles
        return found


def require(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """Build a dependency that admits a caller whose token grants `permission`, else 401/403."""

    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
        store: TokenStore = request.app.state.tokens
        if not store.enabled:
            caller = Caller(frozenset(Role), authenticated=False)
        else:
            caller = _authenticate(store, credentials)
        _authorise(caller, permission)
        request.state.roles = sorted(caller.roles)
        return caller

    return check


def _authenticate(store: TokenStore, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    roles = store.roles_for(credentials.credentials) if credentials else None
    if roles is None:
        raise ApiError(401, "unauthorized", "http_unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return Caller(roles, authenticated=True)


def _authorise(caller: Caller, permission: Permission) -> None:
    if any(permission in ROLE_PERMISSIONS[role] for role in caller.roles):
        return
    required = [role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted]
    raise ApiError(403, "forbidden", "http_forbidden",
                   {"roles": ", ".join(sorted(caller.roles)), "required": ", ".join(required)})
