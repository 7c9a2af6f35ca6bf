"""Dashboard pages: sign-up, log-in, organization home, agents, settings (API keys: keys_views.py)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import update
from starlette.datastructures import FormData

from jasping.agents import service as agents
from jasping.agents.booking import BookingInvalid
from jasping.agents.models import Agent
from jasping.agents.schemas import AgentCreate, AgentUpdate
from jasping.errors import DomainError, Forbidden, Unauthorized
from jasping.privacy import consent
from jasping.registration import service as registration
from jasping.registration import signals
from jasping.security import mfa, sessions
from jasping.security.ratelimit import RateLimited
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Organization, Role
from jasping.web.api.auth import clear_session_cookie, set_session_cookie, start_session
from jasping.web.api.organization import OrganizationUpdate
from jasping.web.api.registration import signup_signals
from jasping.web.dashboard import onboarding
from jasping.web.dashboard.booking_form import DAYS, booking_form, booking_problem, booking_settings, booking_submitted
from jasping.web.dashboard.render import LANG_COOKIE, language, render
from jasping.web.deps import (
    DbSession,
    MfaEnrolmentRequired,
    PhoneVerificationRequired,
    Principal,
    _principal_from_login,
    client_ip,
    login_from_cookie,
)
from jasping.web.errors import LoginRequired

router = APIRouter(include_in_schema=False)
PRE_CSRF = "jasping_csrf"
Csrf = Annotated[str, Form(alias="csrf_token")]


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def dashboard_principal(request: Request, db: DbSession) -> Principal:
    """The logged-in member, acting in the session's organization; CSRF-checked on POST."""
    found = login_from_cookie(request, db)
    if found is None:
        raise LoginRequired(quote(request.url.path))
    try:
        return _principal_from_login(request, db, *found, None)
    except MfaEnrolmentRequired as exc:  # the organization requires MFA: set it up first
        raise LoginRequired(location="/security?flash=mfa_required") from exc
    except PhoneVerificationRequired as exc:  # a risky sign-up: verify a phone (or ask for a review) first
        raise LoginRequired(location="/verify-phone") from exc


Member = Annotated[Principal, Depends(dashboard_principal)]


def check_csrf(principal: Principal, token: str) -> None:
    if not hmac.compare_digest(principal.login.csrf_token, token or ""):
        raise Forbidden("the form expired; please try again", code="csrf")


def _page(request: Request, template: str, principal: Principal, db: DbSession, status_code: int = 200, **ctx):
    orgs = tenancy.memberships(db, principal.user.id)
    current = next(o for m, o in orgs if o.id == principal.org_id)
    return render(
        request,
        template,
        status_code,
        user_locale=principal.user.locale,
        user=principal.user,
        org=current,
        orgs=[o for _, o in orgs],
        role=principal.role,
        csrf=principal.login.csrf_token,
        can_edit=principal.role.allows(Role.admin),
        **ctx,
    )


# ---- anonymous pages --------------------------------------------------------------------------
def _anon(request: Request, template: str, status_code: int = 200, **ctx) -> Response:
    token = request.cookies.get(PRE_CSRF) or secrets.token_urlsafe(24)
    response = render(
        request, template, status_code, csrf=token, next=_safe_next(request.query_params.get("next")), **ctx
    )
    response.set_cookie(PRE_CSRF, token, httponly=True, samesite="strict", max_age=3600)
    return response


def _check_pre_csrf(request: Request, token: str) -> bool:
    return bool(token) and hmac.compare_digest(request.cookies.get(PRE_CSRF, ""), token)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _anon(request, "login.html")


@router.post("/login")
def login_submit(
    request: Request,
    db: DbSession,
    csrf: Csrf,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not _check_pre_csrf(request, csrf):
        return _anon(request, "login.html", 403, error="the form expired; please try again", email=email)
    try:
        user = tenancy.authenticate(db, email=email, password=password, ip=client_ip(request))
    except (Unauthorized, RateLimited) as exc:
        db.commit()  # the failed attempt's audit record (and a lockout's, an alert's)
        response = _anon(request, "login.html", exc.status, error=exc.message, email=email)
        response.headers.update(getattr(exc, "headers", {}))  # 429: Retry-After
        return response
    if mfa.methods(db, user.id):  # the second step, on its own page
        from jasping.web.dashboard.security_views import mfa_step

        return mfa_step(db, user.id, _safe_next(next))
    token, _ = start_session(request, db, user)
    response = _redirect(_safe_next(next))
    set_session_cookie(response, token)
    return response


def _register_form(request: Request, status_code: int = 200, **ctx) -> Response:
    """The sign-up form with its signed render time; the browser gets a random device id for the risk assessment."""
    response = _anon(request, "register.html", status_code, form_token=signals.form_token(), **ctx)
    if not request.cookies.get(signals.DEVICE_COOKIE):
        device = secrets.token_urlsafe(16)
        response.set_cookie(signals.DEVICE_COOKIE, device, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


@router.get("/register")
def register_page(request: Request) -> Response:
    return _register_form(request)


@router.post("/register")
def register_submit(
    request: Request,
    db: DbSession,
    csrf: Csrf,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    organization_name: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    website: Annotated[str, Form(max_length=200)] = "",  # the honeypot: hidden from people
    form_token: Annotated[str, Form(max_length=200)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {"email": email, "organization_name": organization_name, "name": name}
    if not _check_pre_csrf(request, csrf):
        return _register_form(request, 403, error="the form expired; please try again", form=form)
    lang = request.cookies.get(LANG_COOKIE, "en")
    try:
        user, org = tenancy.register(
            db,
            email=email,
            password=password,
            organization_name=organization_name,
            name=name,
            locale=lang if lang in ("en", "fr") else "en",
            ip=client_ip(request),
        )
    except DomainError as exc:
        db.rollback()
        return _register_form(request, exc.status, error=exc.message, form=form)
    consent.record_signup_notice(db, user_id=user.id, org_id=org.id, lang=lang, ip=client_ip(request))
    signup = signup_signals(request, user.email, timezone=timezone or None, form_checked=True)
    signup.form_token, signup.honeypot = form_token, website
    risk = registration.assess_and_record(db, user_id=user.id, signup=signup)
    token, _ = start_session(request, db, user)
    response = _redirect("/verify-phone" if risk.blocked else "/agents/new")
    set_session_cookie(response, token)
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, csrf: Csrf) -> Response:
    found = login_from_cookie(request, db)  # not `Member`: one sent to set up MFA may still log out
    if found is None:
        return _redirect("/login")
    if not hmac.compare_digest(found[0].csrf_token, csrf or ""):
        raise Forbidden("the form expired; please try again", code="csrf")
    sessions.end(db, request.cookies.get(sessions.COOKIE))
    response = _redirect("/login")
    clear_session_cookie(response)
    return response


@router.get("/lang/{code}")
def set_language(code: str, request: Request) -> Response:
    response = _redirect(_safe_next(request.query_params.get("next")))
    if code in ("en", "fr"):
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


# ---- organization -----------------------------------------------------------------------------
@router.get("/")
def home(request: Request, db: DbSession, principal: Member) -> Response:
    found = agents.list_agents(db)
    steps = onboarding.checklist(db, found)
    return _page(
        request, "home.html", principal, db, agents=found, key_count=len(tenancy.list_api_keys(db)), steps=steps
    )


@router.post("/org/switch")
def switch_org(
    request: Request, db: DbSession, principal: Member, csrf: Csrf, org_id: Annotated[str, Form(max_length=40)]
) -> Response:
    check_csrf(principal, csrf)
    if tenancy.membership(db, user_id=principal.user.id, org_id=org_id) is None:
        return _redirect("/")
    db.execute(
        update(sessions.LoginSession)
        .where(sessions.LoginSession.token_hash == principal.login.token_hash)
        .values(org_id=org_id)
    )
    return _redirect("/")


@router.get("/settings")
def settings_page(request: Request, db: DbSession, principal: Member) -> Response:
    return _page(request, "settings.html", principal, db, agents=agents.list_agents(db))


@router.post("/settings")
def settings_submit(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=200)] = "",
    country: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
    default_language: Annotated[str, Form()] = "en",
    contact_email: Annotated[str, Form()] = "",
    contact_phone: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    try:
        update = OrganizationUpdate(
            name=name,
            country=country.upper() or None,
            timezone=timezone,
            default_language=default_language,
            contact_email=contact_email or None,
            contact_phone=contact_phone or None,
        )
    except ValidationError as exc:
        return _page(request, "settings.html", principal, db, 422, error=_first_error(exc))
    org = db.get(Organization, principal.org_id)
    for field, value in update.model_dump(exclude_unset=True).items():
        setattr(org, field, value)
    from jasping.security.audit import record

    record(
        db,
        actor=principal.actor,
        action="organization.update",
        org_id=org.id,
        object_type="organization",
        object_id=org.id,
    )
    return _redirect("/settings?flash=saved")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err.get("loc", ()))
    return f"{field}: {str(err.get('msg', '')).removeprefix('Value error, ')}"


# ---- agents -----------------------------------------------------------------------------------
@router.get("/agents")
def agents_page(request: Request, db: DbSession, principal: Member) -> Response:
    return _page(request, "agents.html", principal, db, agents=agents.list_agents(db))


@router.get("/agents/new")
def agent_new(request: Request, db: DbSession, principal: Member) -> Response:
    return _page(request, "agent_form.html", principal, db, agent=None, form={"languages": ["en"]})


def _agent_form(
    name: str,
    languages: list[str],
    instructions: str,
    greeting: str,
    widget_color: str = "",
    allowed_origins: str | list[str] = "",
) -> dict:
    origins = allowed_origins.split() if isinstance(allowed_origins, str) else list(allowed_origins or [])
    return {
        "name": name,
        "languages": languages,
        "instructions": instructions,
        "greeting": greeting,
        "widget_color": widget_color or None,
        "allowed_origins": origins,
    }


AgentName = Annotated[str, Form(max_length=500)]
AgentLangs = Annotated[list[str], Form()]
AgentText = Annotated[str, Form(max_length=40_000)]


@router.post("/agents/new")
def agent_create(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    name: AgentName = "",
    languages: AgentLangs = None,
    instructions: AgentText = "",
    greeting: AgentText = "",
    widget_color: Annotated[str, Form(max_length=7)] = "",
    allowed_origins: AgentText = "",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    form = _agent_form(name, languages or [], instructions, greeting, widget_color, allowed_origins)
    try:
        agent_in = AgentCreate(**form)
    except ValidationError as exc:
        return _page(request, "agent_form.html", principal, db, 422, agent=None, form=form, error=_first_error(exc))
    agent = agents.create_agent(db, agent_in=agent_in, actor=principal.actor)
    return _redirect(f"/agents/{agent.id}?flash=agent_created")


def _agent_page(
    request: Request, db: DbSession, principal: Principal, agent: Agent, status_code: int = 200, **ctx
) -> Response:
    """The agent's page: its settings form (`form`) and its booking section (`booking`), stored values by default."""
    ctx.setdefault(
        "form",
        _agent_form(
            agent.name,
            agent.languages,
            agent.instructions,
            agent.greeting,
            agent.widget_color or "",
            agent.allowed_origins or [],
        ),
    )
    ctx.setdefault("booking", booking_form(agent.booking))
    return _page(request, "agent_form.html", principal, db, status_code, agent=agent, booking_days=DAYS, **ctx)


@router.get("/agents/{agent_id}")
def agent_edit(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _agent_page(request, db, principal, agents.get_agent(db, agent_id))


@router.post("/agents/{agent_id}")
def agent_update(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    name: AgentName = "",
    languages: AgentLangs = None,
    instructions: AgentText = "",
    greeting: AgentText = "",
    widget_color: Annotated[str, Form(max_length=7)] = "",
    allowed_origins: AgentText = "",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    agent = agents.get_agent(db, agent_id)
    form = _agent_form(name, languages or [], instructions, greeting, widget_color, allowed_origins)
    try:
        agent_in = AgentUpdate(**form)
    except ValidationError as exc:
        return _agent_page(request, db, principal, agent, 422, form=form, error=_first_error(exc))
    agents.update_agent(db, agent_id=agent.id, agent_in=agent_in, actor=principal.actor)
    return _redirect(f"/agents/{agent.id}?flash=saved")


async def _form_data(request: Request) -> FormData:
    return await request.form()


@router.post("/agents/{agent_id}/booking")
def agent_booking_update(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    data: Annotated[FormData, Depends(_form_data)],
) -> Response:
    """Turn booking on or off, and save its services, weekly hours, closed dates and rules."""
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    agent = agents.get_agent(db, agent_id)
    form = booking_submitted(data)
    rows: list[int] = []
    try:
        if form["enabled"]:
            settings, rows = booking_settings(form, agent.booking)
            agent_in = AgentUpdate(booking=settings)
        else:
            agent_in = AgentUpdate(booking=None)
    except (BookingInvalid, ValidationError) as exc:
        cause = exc if isinstance(exc, BookingInvalid) else (exc.errors()[0].get("ctx") or {}).get("error")
        lang = language(request, principal.user.locale)
        if isinstance(cause, BookingInvalid):
            message, field = booking_problem(cause, lang, rows)
        else:
            message, field = _first_error(exc), None
        form["tz"] = (agent.booking or {}).get("tz")
        return _agent_page(request, db, principal, agent, 422, booking=form, booking_error=message, booking_field=field)
    agents.update_agent(db, agent_id=agent.id, agent_in=agent_in, actor=principal.actor)
    return _redirect(f"/agents/{agent.id}?flash=saved")


@router.post("/agents/{agent_id}/delete")
def agent_delete(agent_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    agents.delete_agent(db, agent_id=agent_id, actor=principal.actor)
    return _redirect("/agents?flash=agent_deleted")
