"""Register, log in, log out, and who am I — for the JSON API (session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from jasping.config import get_settings
from jasping.errors import Unauthorized
from jasping.security import sessions
from jasping.security.audit import Actor, record
from jasping.tenancy import service as tenancy
from jasping.web.api import API
from jasping.web.deps import DbSession, client_ip, login_from_cookie

router = APIRouter(prefix=f"{API}/auth", tags=["auth"])


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    organization_name: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    locale: str = Field(default="en", pattern="^(en|fr)$")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class OrganizationOut(BaseModel):
    id: str
    name: str
    role: str


class MeOut(BaseModel):
    user_id: str
    email: str
    name: str | None
    organization_id: str | None
    organizations: list[OrganizationOut]
    csrf_token: str | None = None


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _me(db: DbSession, user, login) -> MeOut:
    orgs = [OrganizationOut(id=o.id, name=o.name, role=m.role) for m, o in tenancy.memberships(db, user.id)]
    return MeOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        organization_id=login.org_id,
        organizations=orgs,
        csrf_token=login.csrf_token,
    )


@router.post("/register", status_code=201, response_model=MeOut)
def register(body: RegisterIn, request: Request, response: Response, db: DbSession) -> MeOut:
    """Create an account and its first organization, and log in."""
    user, org = tenancy.register(
        db,
        email=body.email,
        password=body.password,
        organization_name=body.organization_name,
        name=body.name,
        locale=body.locale,
        ip=client_ip(request),
    )
    token, login = sessions.start(db, user_id=user.id, org_id=org.id)
    set_session_cookie(response, token)
    return _me(db, user, login)


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, db: DbSession) -> MeOut:
    """Log in with email and password; sets the HttpOnly session cookie."""
    try:
        user = tenancy.authenticate(db, email=body.email, password=body.password, ip=client_ip(request))
    except Unauthorized:
        db.commit()  # keep the audit record of the failed attempt
        raise
    orgs = tenancy.memberships(db, user.id)
    token, login = sessions.start(db, user_id=user.id, org_id=orgs[0][1].id if orgs else None)
    set_session_cookie(response, token)
    return _me(db, user, login)


@router.post("/logout", status_code=204)
def logout(request: Request, db: DbSession) -> Response:
    """End the current session (idempotent)."""
    found = login_from_cookie(request, db)
    if found:
        record(
            db,
            actor=Actor("user", found[1].id, client_ip(request)),
            action="auth.logout",
            object_type="user",
            object_id=found[1].id,
        )
    sessions.end(db, request.cookies.get(sessions.COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
def me(request: Request, db: DbSession) -> MeOut:
    """The logged-in user and their organizations."""
    found = login_from_cookie(request, db)
    if found is None:
        raise Unauthorized("not logged in", code="unauthenticated")
    login, user = found
    return _me(db, user, login)
