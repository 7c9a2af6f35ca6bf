"""Request dependencies in one place: the database session, who is calling, and their role.

The session starts unscoped, and as soon as the caller's organization is known it is scoped to
it (see `jasping.db`): from then on every query of a tenant table is filtered by organization.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import update

from jasping import clock
from jasping.config import get_settings
from jasping.db import ScopedSession, get_engine, open_session
from jasping.errors import Forbidden, NotFound, Unauthorized
from jasping.security import sessions
from jasping.security.audit import Actor
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import ApiKey, Role, User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _db(request: Request) -> Iterator[ScopedSession]:
    session = open_session(None, write=request.method not in SAFE_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[ScopedSession, Depends(_db, scope="function")]


def _read_db() -> Iterator[ScopedSession]:
    session = open_session(None, write=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# For handlers that read first and write in short transactions of their own (see the widget's messages).
ReadSession = Annotated[ScopedSession, Depends(_read_db, scope="function")]


@dataclass
class Principal:
    """The caller of a request: a user (cookie session) or an API key, acting in one organization."""

    org_id: str
    role: Role
    actor: Actor
    user: User | None = None
    login: sessions.LoginSession | None = None

    def require(self, needed: Role) -> None:
        if not self.role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; you have {self.role.value}")


def scope_to(db: ScopedSession, org_id: str) -> None:
    """From now on, this session sees and writes only `org_id`'s rows."""
    db.flush()
    db.expunge_all()
    db.info["org_id"] = org_id


def _touch_key(db: ScopedSession, key: ApiKey, writing: bool) -> None:
    """Record when a key was last used (at most every 5 minutes)."""
    now = clock.now()
    if key.last_used_at and now - key.last_used_at < timedelta(minutes=5):
        return
    stmt = update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
    if writing:
        db.execute(stmt)  # this request already holds the write transaction
    else:
        with get_engine().begin() as conn:  # a short write of its own: reads stay reads
            conn.execute(stmt)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    host = urlsplit(origin).netloc
    return host in (request.headers.get("host"), urlsplit(get_settings().base_url).netloc)


def login_from_cookie(request: Request, db: ScopedSession) -> tuple[sessions.LoginSession, User] | None:
    login = sessions.lookup(db, request.cookies.get(sessions.COOKIE))
    if login is None:
        return None
    user = db.get(User, login.user_id)
    if user is None or not user.is_active:
        return None
    return login, user


def _principal_from_login(
    request: Request, db: ScopedSession, login: sessions.LoginSession, user: User, org_id: str | None
) -> Principal:
    org_id = org_id or login.org_id
    if not org_id:
        raise Forbidden("choose an organization first", code="no_organization")
    member = tenancy.membership(db, user_id=user.id, org_id=org_id)
    if member is None:
        raise NotFound("no such organization")
    principal = Principal(org_id, Role(member.role), Actor("user", user.id, client_ip(request)), user, login)
    scope_to(db, org_id)
    return principal


def api_principal(request: Request, db: DbSession) -> Principal:
    """The caller of a JSON API request: `Authorization: Bearer <API key>` or the session cookie."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        key = tenancy.resolve_api_key(db, token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise Unauthorized("invalid or revoked API key", code="invalid_api_key")
        _touch_key(db, key, request.method not in SAFE_METHODS)
        principal = Principal(key.org_id, Role(key.role), Actor("api_key", key.id, client_ip(request)))
        scope_to(db, key.org_id)
        return principal
    found = login_from_cookie(request, db)
    if found is None:
        raise Unauthorized("authenticate with an API key (Authorization: Bearer …) or log in", code="unauthenticated")
    if request.method not in SAFE_METHODS:
        # CSRF: a cookie-authenticated write must come from our origin and carry either a JSON body
        # (a cross-site form cannot send one) or the session's X-CSRF-Token header.
        json_body = request.headers.get("content-type", "").startswith("application/json")
        token_ok = hmac.compare_digest(request.headers.get("x-csrf-token", ""), found[0].csrf_token)
        if not _same_origin(request) or not (json_body or token_ok):
            raise Forbidden("cross-site request refused: send JSON or the X-CSRF-Token header", code="csrf")
    return _principal_from_login(request, db, *found, request.headers.get("x-organization"))


CurrentPrincipal = Annotated[Principal, Depends(api_principal)]


def requires(role: Role) -> Callable[[Principal], Principal]:
    """A dependency: the caller, who must hold at least `role`."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(role)
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(requires(Role.admin))]
