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
from jasping.db import ScopedSession, open_session, session_scope
from jasping.errors import Forbidden, NotFound, Unauthorized
from jasping.registration import service as registration
from jasping.security import audit, mfa, roles, sessions
from jasping.security.audit import Actor
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import ApiKey, Role, User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_OFFSET = 2**31 - 1  # paging offsets beyond any list (and beyond what a database integer holds) are refused


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


def authorize(request: Request, db: ScopedSession, principal: Principal) -> None:
    """The role matrix (`security/roles.py`) for the matched route, before its handler runs: 403 when the caller's
    role is below what the route needs, or when the route is missing from the matrix (deny by default)."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or request.url.path
    needed = roles.required(request.method, path)
    if needed is None:
        message = f"{request.method} {path} is not in the role matrix (security/roles.py)"
        raise Forbidden(message, code="not_in_role_matrix")
    if needed is roles.SUPERADMIN:
        from jasping.tenancy.operators import is_operator

        if principal.user is None or not is_operator(db, principal.user.id):
            raise Forbidden("only the platform's operator may do this (log in as an operator)", code="operator_only")
    elif needed.role is not None:
        principal.require(needed.role)


def scope_to(db: ScopedSession, org_id: str) -> None:
    """From now on, this session sees and writes only `org_id`'s rows."""
    db.flush()
    db.expunge_all()
    db.info["org_id"] = org_id


def _touch_key(db: ScopedSession, key: ApiKey, request: Request) -> None:
    """Record when a key was last used, and an `api_key.used` security event (at most every 5 minutes a key)."""
    now = clock.now()
    if key.last_used_at and now - key.last_used_at < timedelta(minutes=5):
        return
    stmt = update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
    actor = Actor("api_key", key.id, client_ip(request))
    used = {"actor": actor, "action": "api_key.used", "org_id": key.org_id, "object_type": "api_key"}
    used |= {"object_id": key.id, "detail": {"method": request.method, "path": request.url.path[:200]}}
    if request.method not in SAFE_METHODS:
        db.execute(stmt)  # this request already holds the write transaction
        audit.record(db, **used)
    else:
        with session_scope() as s:  # a short write of its own: reads stay reads
            s.execute(stmt)
            audit.record(s, **used)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    host = urlsplit(origin).netloc
    return host in (request.headers.get("host"), urlsplit(get_settings().base_url).netloc)


def login_from_cookie(request: Request, db: ScopedSession) -> tuple[sessions.LoginSession, User] | None:
    """The live session of the cookie and its user (the session's idle clock restarts), or None."""
    login = sessions.lookup(db, request.cookies.get(sessions.COOKIE))
    if login is None:
        return None
    user = db.get(User, login.user_id)
    if user is None or not user.is_active:
        return None
    sessions.touch(db, login, writing=request.method not in SAFE_METHODS)
    return login, user


def check_cookie_csrf(request: Request, login: sessions.LoginSession) -> None:
    """A cookie-authenticated write must come from our origin and carry either a JSON body (a cross-site form
    cannot send one) or the session's X-CSRF-Token header."""
    if request.method in SAFE_METHODS:
        return
    json_body = request.headers.get("content-type", "").startswith("application/json")
    token_ok = hmac.compare_digest(request.headers.get("x-csrf-token", ""), login.csrf_token)
    if not _same_origin(request) or not (json_body or token_ok):
        raise Forbidden("cross-site request refused: send JSON or the X-CSRF-Token header", code="csrf")


def _principal_from_login(
    request: Request, db: ScopedSession, login: sessions.LoginSession, user: User, org_id: str | None
) -> Principal:
    org_id = org_id or login.org_id
    if not org_id:
        raise Forbidden("choose an organization first", code="no_organization")
    member = tenancy.membership(db, user_id=user.id, org_id=org_id)
    if member is None:
        raise NotFound("no such organization")
    if mfa.enrolment_required(db, user_id=user.id, org_id=org_id):
        raise MfaEnrolmentRequired(
            "this organization requires two-step verification: set it up first (POST /api/v1/auth/mfa/totp, "
            "or the dashboard's Security page)",
            code="mfa_enrolment_required",
        )
    if registration.is_blocked(db, user.id):
        raise PhoneVerificationRequired(
            "your sign-up needs a phone verification before the account can be used: POST "
            "/api/v1/auth/phone-verification (GET /api/v1/auth/registration-risk says why)"
        )
    principal = Principal(org_id, Role(member.role), Actor("user", user.id, client_ip(request)), user, login)
    scope_to(db, org_id)
    request.state.principal = principal  # for the record of a permission denial (web/errors.py)
    authorize(request, db, principal)
    return principal


def api_principal(request: Request, db: DbSession) -> Principal:
    """The caller of a JSON API request: `Authorization: Bearer <API key>` or the session cookie."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        key = tenancy.resolve_api_key(db, token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise Unauthorized("invalid or revoked API key", code="invalid_api_key")
        _touch_key(db, key, request)
        principal = Principal(key.org_id, Role(key.role), Actor("api_key", key.id, client_ip(request)))
        scope_to(db, key.org_id)
        request.state.principal = principal  # for the record of a permission denial (web/errors.py)
        authorize(request, db, principal)
        return principal
    found = login_from_cookie(request, db)
    if found is None:
        raise Unauthorized("authenticate with an API key (Authorization: Bearer …) or log in", code="unauthenticated")
    check_cookie_csrf(request, found[0])
    return _principal_from_login(request, db, *found, request.headers.get("x-organization"))


CurrentPrincipal = Annotated[Principal, Depends(api_principal)]


def requires(role: Role) -> Callable[[Principal], Principal]:
    """A dependency: the caller, who must hold at least `role`."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(role)
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(requires(Role.admin))]


# ---- the logged-in person (not acting in an organization) and step-up ---------------------------
@dataclass
class Account:
    """A person calling with their session cookie, for what concerns them alone (their MFA, their sessions)."""

    user: User
    login: sessions.LoginSession
    actor: Actor


def current_account(request: Request, db: DbSession) -> Account:
    """The logged-in user (cookie only: API keys belong to an organization, not a person); CSRF-checked writes."""
    found = login_from_cookie(request, db)
    if found is None:
        raise Unauthorized("log in first", code="unauthenticated")
    check_cookie_csrf(request, found[0])
    login, user = found
    return Account(user, login, Actor("user", user.id, client_ip(request)))


CurrentAccount = Annotated[Account, Depends(current_account)]


class MfaEnrolmentRequired(Forbidden):
    """The organization requires two-step verification and this member has not set it up."""


class PhoneVerificationRequired(Forbidden):
    """The sign-up was assessed medium or high risk and no phone was verified yet (registration/)."""

    code = "phone_verification_required"


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"


def check_recent_auth(login: sessions.LoginSession | None) -> None:
    """403 `reauthentication_required` unless the password or a second-factor code was entered recently."""
    if login is not None and not sessions.recently_authenticated(login):
        minutes = get_settings().step_up_minutes
        raise ReauthenticationRequired(
            f"confirm it is you: enter your password or a code (POST /api/v1/auth/reauthenticate) — sensitive actions "
            f"need it within the last {minutes} minutes — then try again"
        )


def require_recent_auth(principal: CurrentPrincipal) -> Principal:
    """A dependency for sensitive actions (API keys, exports, deletions, integration secrets): a cookie session
    must have re-authenticated within `step_up_minutes`. API keys pass: they are machine credentials that cannot
    re-authenticate, and only an admin can create one."""
    check_recent_auth(principal.login)
    return principal


RecentAuth = Annotated[Principal, Depends(require_recent_auth)]


def require_recent_auth_account(account: CurrentAccount) -> Account:
    """The same step-up rule for a person's own settings (two-step verification changes)."""
    check_recent_auth(account.login)
    return account


RecentAccount = Annotated[Account, Depends(require_recent_auth_account)]


# ---- the platform's operator ----------------------------------------------------------------------
def require_operator(principal: CurrentPrincipal, db: DbSession) -> Principal:
    """A person logged in who operates the platform (`jasping operator grant EMAIL`), else 403. API keys belong to an
    organization and never pass. Operator work is platform work: the session is no longer scoped to an organization."""
    from jasping.tenancy.operators import is_operator

    if principal.user is None or not is_operator(db, principal.user.id):
        raise Forbidden("only the platform's operator may do this (log in as an operator)", code="operator_only")
    db.info.pop("org_id", None)
    return principal


OperatorPrincipal = Annotated[Principal, Depends(require_operator)]
