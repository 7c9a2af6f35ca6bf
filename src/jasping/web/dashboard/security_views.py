"""Dashboard security pages: the second step of logging in, the Security page (two-step verification, recovery
codes, sessions, the organization's MFA policy), re-authentication before sensitive changes, and password reset."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from jasping.config import get_settings
from jasping.errors import DomainError, Forbidden, Unauthorized
from jasping.security import mfa, mfa_codes, password_reset, passwords, sessions
from jasping.security.audit import Actor, record
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Organization, Role, User
from jasping.web.api.auth import clear_session_cookie, set_session_cookie, start_session
from jasping.web.dashboard.render import render
from jasping.web.dashboard.views import Csrf, _anon, _check_pre_csrf, _redirect, _safe_next
from jasping.web.deps import DbSession, client_ip, login_from_cookie
from jasping.web.errors import LoginRequired

router = APIRouter(include_in_schema=False)
MFA_COOKIE = "jasping_mfa"  # the half-finished log-in's token, for the second step only
RESET_COOKIE = "jasping_reset"  # the password-reset link's token, out of the page's address
Code = Annotated[str, Form(max_length=40)]


# ---- the second step of logging in ------------------------------------------------------------
def mfa_step(db: DbSession, user_id: str, next_url: str) -> Response:
    """After a right password on an account with MFA: on to the code page, the log-in's token in a cookie."""
    token = mfa_codes.begin_login(db, user_id=user_id)
    response = _redirect(f"/login/mfa?next={quote(next_url)}")
    response.set_cookie(
        MFA_COOKIE,
        token,
        max_age=600,
        httponly=True,
        samesite="strict",
        secure=get_settings().secure_cookies,
        path="/login",
    )
    return response


def _mfa_page(request: Request, db: DbSession, status_code: int = 200, **ctx) -> Response:
    try:
        pending = mfa_codes.pending_login(db, request.cookies.get(MFA_COOKIE, ""))
    except Unauthorized:
        return _redirect("/login")
    return _anon(request, "login_mfa.html", status_code, methods=mfa.methods(db, pending.user_id), **ctx)


@router.get("/login/mfa")
def login_mfa_page(request: Request, db: DbSession) -> Response:
    return _mfa_page(request, db)


@router.post("/login/mfa")
def login_mfa_submit(
    request: Request,
    db: DbSession,
    csrf: Csrf,
    code: Code = "",
    method: Annotated[str, Form()] = "totp",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not _check_pre_csrf(request, csrf):
        return _mfa_page(request, db, 403, error="the form expired; please try again")
    token = request.cookies.get(MFA_COOKIE, "")
    try:
        user_id = mfa_codes.complete_login(db, token=token, method=method, code=code, ip=client_ip(request))
    except DomainError as exc:
        db.commit()  # the counted try and the audit event stay
        response = _mfa_page(request, db, exc.status, error=exc.message, method=method)
        response.headers.update(getattr(exc, "headers", {}))  # a lockout's Retry-After
        return response
    user = db.get(User, user_id)
    login_token, _ = start_session(request, db, user)
    response = _redirect(_safe_next(next))
    set_session_cookie(response, login_token)
    response.delete_cookie(MFA_COOKIE, path="/login")
    return response


@router.post("/login/mfa/sms")
def login_mfa_sms(request: Request, db: DbSession, csrf: Csrf) -> Response:
    if not _check_pre_csrf(request, csrf):
        return _mfa_page(request, db, 403, error="the form expired; please try again")
    try:
        pending = mfa_codes.pending_login(db, request.cookies.get(MFA_COOKIE, ""))
        hint = mfa_codes.send_sms_code(
            db,
            user_id=pending.user_id,
            purpose="login",
            ref=pending.id,
            actor=Actor("user", pending.user_id, client_ip(request)),
        )
    except DomainError as exc:
        return _mfa_page(request, db, exc.status, error=exc.message)
    return _mfa_page(request, db, sent_to=hint, method="sms")


# ---- the Security page ------------------------------------------------------------------------
def _account(request: Request, db: DbSession) -> tuple[sessions.LoginSession, User]:
    found = login_from_cookie(request, db)
    if found is None:
        raise LoginRequired(quote(request.url.path))
    return found


def _check(login: sessions.LoginSession, csrf: str) -> None:
    if not hmac.compare_digest(login.csrf_token, csrf or ""):
        raise Forbidden("the form expired; please try again", code="csrf")


def _role(db: DbSession, user: User, org_id: str | None) -> Role | None:
    member = tenancy.membership(db, user_id=user.id, org_id=org_id) if org_id else None
    return Role(member.role) if member else None


def _page(request: Request, db: DbSession, template: str, status_code: int = 200, **ctx) -> Response:
    login, user = _account(request, db)
    orgs = [o for _, o in tenancy.memberships(db, user.id)]
    org = next((o for o in orgs if o.id == login.org_id), None) or Organization(name="—")
    role = _role(db, user, login.org_id)
    return render(
        request,
        template,
        status_code,
        user_locale=user.locale,
        user=user,
        org=org,
        orgs=orgs,
        role=role,
        csrf=login.csrf_token,
        can_edit=bool(role and role.allows(Role.admin)),
        **ctx,
    )


def _security(request: Request, db: DbSession, status_code: int = 200, **ctx) -> Response:
    login, user = _account(request, db)
    role = _role(db, user, login.org_id)
    listed = sessions.list_for_user(db, user.id)
    return _page(
        request,
        db,
        "security.html",
        status_code,
        mfa_status=mfa.status(db, user.id),
        sms_available=mfa_codes.sms_available(),
        enrolment=ctx.pop("enrolment", None) or mfa.pending_totp(db, user_id=user.id, email=user.email),
        required=mfa.org_requires_mfa(db, login.org_id),
        sessions=listed,
        current=login.token_hash,
        can_set_policy=bool(role and role.allows(Role.admin)),
        **ctx,
    )


@router.get("/security")
def security_page(request: Request, db: DbSession) -> Response:
    return _security(request, db)


def _step_up(request: Request, db: DbSession, csrf: str) -> tuple[sessions.LoginSession, User, Actor] | Response:
    """The account for a sensitive change, or the redirect to re-authenticate first."""
    login, user = _account(request, db)
    _check(login, csrf)
    if not sessions.recently_authenticated(login):
        return _redirect("/security/reauth?next=/security")
    return login, user, Actor("user", user.id, client_ip(request))


def _change(request: Request, db: DbSession, csrf: str, action) -> Response:  # noqa: ANN001
    """Run a two-step-verification change after the step-up check; its errors are shown on the page."""
    found = _step_up(request, db, csrf)
    if isinstance(found, Response):
        return found
    login, user, actor = found
    try:
        ctx = action(login, user, actor)
    except DomainError as exc:
        db.rollback()
        return _security(request, db, exc.status, error=exc.message)
    if not ctx:
        return _redirect("/security?flash=saved")
    return _security(request, db, **ctx)


def _org_ids(db: DbSession, user: User) -> list[str]:
    return [o.id for _, o in tenancy.memberships(db, user.id)]


@router.post("/security/totp")
def totp_start(request: Request, db: DbSession, csrf: Csrf) -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: {"enrolment": mfa.start_totp(db, user_id=user.id, email=user.email)},
    )


@router.post("/security/totp/confirm")
def totp_confirm(request: Request, db: DbSession, csrf: Csrf, code: Code = "") -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: {
            "new_codes": mfa.confirm_totp(db, user_id=user.id, code=code, actor=actor),
            "enabled_now": True,
        },
    )


@router.post("/security/totp/disable")
def totp_disable(request: Request, db: DbSession, csrf: Csrf) -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: mfa.disable(
            db, user_id=user.id, kind=mfa.TOTP, actor=actor, org_ids=_org_ids(db, user)
        ),
    )


@router.post("/security/sms")
def sms_start(request: Request, db: DbSession, csrf: Csrf, phone: Annotated[str, Form(max_length=32)] = "") -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: {
            "sms_sent_to": mfa_codes.start_sms_enrolment(db, user_id=user.id, phone=phone, actor=actor)
        },
    )


@router.post("/security/sms/confirm")
def sms_confirm(request: Request, db: DbSession, csrf: Csrf, code: Code = "") -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: {
            "new_codes": mfa_codes.confirm_sms_enrolment(db, user_id=user.id, code=code, actor=actor),
            "enabled_now": True,
        },
    )


@router.post("/security/sms/disable")
def sms_disable(request: Request, db: DbSession, csrf: Csrf) -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: mfa.disable(
            db, user_id=user.id, kind=mfa.SMS, actor=actor, org_ids=_org_ids(db, user)
        ),
    )


@router.post("/security/recovery-codes")
def recovery_codes(request: Request, db: DbSession, csrf: Csrf) -> Response:
    return _change(
        request,
        db,
        csrf,
        lambda login, user, actor: {"new_codes": mfa.regenerate_recovery_codes(db, user_id=user.id, actor=actor)},
    )


@router.post("/security/policy")
def policy(request: Request, db: DbSession, csrf: Csrf, require_mfa: Annotated[str, Form()] = "") -> Response:
    def change(login, user, actor):  # noqa: ANN001, ANN202
        role = _role(db, user, login.org_id)
        if not (role and role.allows(Role.admin)) or not login.org_id:
            raise Forbidden("only owners and admins can change the organization's security policy")
        mfa.set_policy(db, org_id=login.org_id, require_mfa=require_mfa == "on", actor=actor)

    return _change(request, db, csrf, change)


@router.post("/security/sessions/{session_id}/revoke")
def session_revoke(session_id: str, request: Request, db: DbSession, csrf: Csrf) -> Response:
    login, user = _account(request, db)
    _check(login, csrf)
    row = sessions.revoke(db, user_id=user.id, session_id=session_id[:40])
    if row is not None:
        record(
            db,
            actor=Actor("user", user.id, client_ip(request)),
            action="session.revoke",
            object_type="session",
            object_id=row.id,
        )
    if row is not None and row.token_hash == login.token_hash:
        response = _redirect("/login")
        clear_session_cookie(response)
        return response
    return _redirect("/security?flash=session_revoked")


@router.post("/security/sessions/revoke-all")
def sessions_revoke_all(
    request: Request, db: DbSession, csrf: Csrf, keep_current: Annotated[str, Form()] = ""
) -> Response:
    login, user = _account(request, db)
    _check(login, csrf)
    keep = keep_current == "on"
    count = sessions.end_all_for_user(db, user.id, keep_hash=login.token_hash if keep else None)
    record(
        db,
        actor=Actor("user", user.id, client_ip(request)),
        action="session.revoke_all",
        object_type="user",
        object_id=user.id,
        detail={"revoked": count, "kept_current": keep},
    )
    if keep:
        return _redirect("/security?flash=sessions_revoked")
    response = _redirect("/login")
    clear_session_cookie(response)
    return response


# ---- re-authentication (step-up) --------------------------------------------------------------
@router.get("/security/reauth")
def reauth_page(request: Request, db: DbSession) -> Response:
    login, user = _account(request, db)
    return _page(
        request, db, "reauth.html", methods=mfa.methods(db, user.id), next=_safe_next(request.query_params.get("next"))
    )


@router.post("/security/reauth")
def reauth_submit(
    request: Request,
    db: DbSession,
    csrf: Csrf,
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Code = "",
    method: Annotated[str, Form()] = "password",
    next: Annotated[str, Form()] = "/security",
) -> Response:
    login, user = _account(request, db)
    _check(login, csrf)
    actor = Actor("user", user.id, client_ip(request))
    try:
        if method == "password":
            if not passwords.verify_password(user.password_hash, password):
                record(db, actor=actor, action="auth.reauthenticate_failed", object_type="user", object_id=user.id)
                raise Unauthorized("wrong password", code="bad_credentials")
        else:
            mfa_codes.verify(db, user_id=user.id, method=method, code=code, purpose="step_up", actor=actor)
    except DomainError as exc:
        db.commit()
        return _page(
            request, db, "reauth.html", exc.status, error=exc.message, methods=mfa.methods(db, user.id), next=next
        )
    sessions.mark_authenticated(db, login)
    record(
        db, actor=actor, action="auth.reauthenticate", object_type="user", object_id=user.id, detail={"method": method}
    )
    return _redirect(_safe_next(next))


# ---- password reset ---------------------------------------------------------------------------
@router.get("/password-reset")
def reset_page(request: Request) -> Response:
    return _anon(request, "password_reset.html")


@router.post("/password-reset")
def reset_submit(
    request: Request, db: DbSession, csrf: Csrf, email: Annotated[str, Form(max_length=254)] = ""
) -> Response:
    if not _check_pre_csrf(request, csrf):
        return _anon(request, "password_reset.html", 403, error="the form expired; please try again")
    try:
        password_reset.request_reset(db, email=email, ip=client_ip(request))
    except DomainError as exc:  # too many requests from this address
        return _anon(request, "password_reset.html", exc.status, error=exc.message)
    return _anon(request, "password_reset.html", 202, sent=True)


@router.get("/password-reset/confirm")
def reset_confirm_page(request: Request, db: DbSession) -> Response:
    """The link from the email: its token moves into a cookie at once, so no page address holds it (history,
    Referer)."""
    token = request.query_params.get("token")
    if token is not None:
        response = _redirect("/password-reset/confirm")
        response.set_cookie(
            RESET_COOKIE,
            token[:200],
            max_age=get_settings().password_reset_minutes * 60,
            httponly=True,
            samesite="lax",
            secure=get_settings().secure_cookies,
            path="/password-reset",
        )
        return response
    try:
        password_reset.check_link(db, request.cookies.get(RESET_COOKIE, ""))
    except DomainError as exc:
        return _anon(request, "password_reset_confirm.html", 400, error=exc.message, broken=True)
    return _anon(request, "password_reset_confirm.html")


@router.post("/password-reset/confirm")
def reset_confirm_submit(
    request: Request, db: DbSession, csrf: Csrf, password: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    if not _check_pre_csrf(request, csrf):
        return _anon(request, "password_reset_confirm.html", 403, error="the form expired; please try again")
    try:
        password_reset.confirm_reset(
            db, token=request.cookies.get(RESET_COOKIE, ""), password=password, ip=client_ip(request)
        )
    except DomainError as exc:
        db.rollback()
        broken = exc.code == "invalid_reset_link"
        return _anon(request, "password_reset_confirm.html", exc.status, error=exc.message, broken=broken)
    response = RedirectResponse("/login?flash=password_changed", status_code=303)
    clear_session_cookie(response)
    response.delete_cookie(RESET_COOKIE, path="/password-reset")
    return response
