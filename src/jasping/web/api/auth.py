"""Accounts through the JSON API (session cookie): register, log in (two steps with MFA), log out, who am I,
re-authenticate for sensitive actions, the list of one's sessions, and password reset by email link."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jasping.config import get_settings
from jasping.errors import DomainError, NotFound, Unauthorized
from jasping.privacy import consent
from jasping.registration import service as registration
from jasping.security import mfa, mfa_codes, password_reset, passwords, ratelimit, sessions
from jasping.security.audit import Actor, record
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import User
from jasping.web.api import API
from jasping.web.api.registration import signup_signals
from jasping.web.deps import CurrentAccount, DbSession, client_ip, login_from_cookie

router = APIRouter(prefix=f"{API}/auth", tags=["auth"])
MFA_VERIFY = ratelimit.Limit("mfa_verify", 10)  # second-factor tries per account and minute
REAUTH = ratelimit.Limit("reauthenticate", 10)


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    organization_name: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    locale: str = Field(default="en", pattern="^(en|fr)$")
    accept_privacy_notice: bool | None = Field(
        default=None,
        description="required, true: the person accepted the privacy policy (/privacy) — recorded as their consent",
    )
    privacy_notice_version: str | None = Field(
        default=None,
        max_length=60,
        description="the privacy policy's version the person was shown (e.g. privacy/v2); refused unless in force",
    )
    # Optional signals of the registration risk assessment (docs/security.md); none is stored as given.
    phone: str | None = Field(default=None, max_length=40, description="the person's phone, international form")
    country: str | None = Field(default=None, pattern="^[A-Za-z]{2}$", description="ISO country code, e.g. MA")
    timezone: str | None = Field(default=None, max_length=64, description="the browser's time zone, e.g. Europe/Paris")
    device_id: str | None = Field(
        default=None, max_length=200, description="a stable id of the device (or the X-Device-Id header)"
    )


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
    mfa_enabled: bool = False
    mfa_enrolment_required: bool = False  # the organization requires MFA: set it up before anything else
    # The sign-up looked risky: verify a phone (POST /api/v1/auth/phone-verification) before using the account.
    phone_verification_required: bool = False


class RiskSummaryOut(BaseModel):
    level: Literal["low", "medium", "high"]
    reasons: list[str] = Field(description="reason codes; GET /api/v1/auth/registration-risk explains them")


class RegisterOut(MeOut):
    risk: RiskSummaryOut


class MfaRequiredOut(BaseModel):
    """The password was right; finish with `POST /api/v1/auth/mfa/verify` and one of `methods`."""

    mfa_required: Literal[True] = True
    methods: list[str]
    mfa_token: str


Method = Literal["totp", "sms", "recovery"]


class MfaVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mfa_token: str = Field(max_length=200)
    method: Method
    code: str = Field(min_length=1, max_length=40)


class MfaTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mfa_token: str = Field(max_length=200)


class SmsSentOut(BaseModel):
    sent_to: str


class ReauthIn(BaseModel):
    """Either the password, or a second-factor code with its method."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, max_length=1024)
    method: Method | None = None
    code: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _one_way(self) -> ReauthIn:
        with_code = self.code is not None or self.method is not None
        if (self.password is not None) == with_code or (with_code and not (self.code and self.method)):
            raise ValueError("give either password, or method and code")
        return self


class ReauthOut(BaseModel):
    reauthenticated_until: datetime


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip_prefix: str | None
    current: bool


class RevokeAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_current: bool = False


class ResetRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)


class ResetConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies)


def _me(db: DbSession, user, login) -> MeOut:
    orgs = [OrganizationOut(id=o.id, name=o.name, role=m.role) for m, o in tenancy.memberships(db, user.id)]
    return MeOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        organization_id=login.org_id,
        organizations=orgs,
        csrf_token=login.csrf_token,
        mfa_enabled=mfa.has_mfa(db, user.id),
        mfa_enrolment_required=mfa.enrolment_required(db, user_id=user.id, org_id=login.org_id),
        phone_verification_required=registration.is_blocked(db, user.id),
    )


def start_session(request: Request, db: DbSession, user: User) -> tuple[str, sessions.LoginSession]:
    """A new session for `user` in their first organization, ending the one this browser held (rotation)."""
    orgs = tenancy.memberships(db, user.id)
    return sessions.start(
        db,
        user_id=user.id,
        org_id=orgs[0][1].id if orgs else None,
        user_agent=request.headers.get("user-agent"),
        ip=client_ip(request),
        replaces=request.cookies.get(sessions.COOKIE),
    )


def commit_and_raise(db: DbSession, exc: DomainError) -> None:
    """Keep what a refused attempt recorded (audit event, counted try), then answer the error."""
    db.commit()
    raise exc


@router.post("/register", status_code=201, response_model=RegisterOut)
def register(body: RegisterIn, request: Request, response: Response, db: DbSession) -> RegisterOut:
    """Create an account and its first organization, and log in. The person must have accepted the privacy policy
    (`accept_privacy_notice: true`, 422 `consent_required` otherwise): recorded with the version in force.

    The sign-up's risk is assessed (email domain, sign-ups per IP and device, automation hints, locale and time zone
    against `phone`/`country`): `risk` gives its level and reason codes. At medium or high,
    `phone_verification_required` is true and the account cannot act in its organization (403
    `phone_verification_required`) until a phone is verified (`POST /api/v1/auth/phone-verification`) or a review
    asked for (`POST /api/v1/auth/registration-risk/review`) approves it."""
    consent.signup_notice_in_force(
        db, accepted=body.accept_privacy_notice, version=body.privacy_notice_version, lang=body.locale
    )
    user, org = tenancy.register(
        db,
        email=body.email,
        password=body.password,
        organization_name=body.organization_name,
        name=body.name,
        locale=body.locale,
        ip=client_ip(request),
    )
    consent.record_signup_notice(
        db, user_id=user.id, org_id=org.id, lang=body.locale, ip=client_ip(request), channel="api", method="api"
    )
    fields = {k: getattr(body, k) for k in ("phone", "country", "timezone") if getattr(body, k)}
    signup = signup_signals(request, user.email, **fields)
    if body.device_id:
        signup.device_id = body.device_id
    risk = registration.assess_and_record(db, user_id=user.id, signup=signup)
    token, login = start_session(request, db, user)
    set_session_cookie(response, token)
    me = _me(db, user, login)
    return RegisterOut(**me.model_dump(), risk=RiskSummaryOut(level=risk.level, reasons=risk.reasons))


@router.post("/login", response_model=MeOut | MfaRequiredOut)
def login(body: LoginIn, request: Request, response: Response, db: DbSession) -> MeOut | MfaRequiredOut:
    """Log in with email and password; sets the HttpOnly session cookie. With two-step verification on, answers
    `{"mfa_required": true, "methods", "mfa_token"}` instead: finish with `POST /api/v1/auth/mfa/verify`."""
    try:
        user = tenancy.authenticate(db, email=body.email, password=body.password, ip=client_ip(request))
    except (Unauthorized, ratelimit.RateLimited) as exc:
        commit_and_raise(db, exc)  # keep the audit record of the failed attempt (and of a lockout or an alert)
    methods = mfa.methods(db, user.id)
    if methods:
        token = mfa_codes.begin_login(db, user_id=user.id)
        return MfaRequiredOut(methods=methods, mfa_token=token)
    token, login = start_session(request, db, user)
    set_session_cookie(response, token)
    return _me(db, user, login)


@router.post("/mfa/verify", response_model=MeOut)
def mfa_verify(body: MfaVerifyIn, request: Request, response: Response, db: DbSession) -> MeOut:
    """The second step of a log-in: a code from the authenticator app, an SMS, or a recovery code."""
    pending = mfa_codes.pending_login(db, body.mfa_token)
    ratelimit.check(MFA_VERIFY, pending.user_id)
    try:
        user_id = mfa_codes.complete_login(
            db, token=body.mfa_token, method=body.method, code=body.code, ip=client_ip(request)
        )
    except Unauthorized as exc:
        commit_and_raise(db, exc)
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("this account cannot log in", code="bad_credentials")
    token, login = start_session(request, db, user)
    set_session_cookie(response, token)
    return _me(db, user, login)


@router.post("/mfa/sms/send", status_code=202, response_model=SmsSentOut)
def mfa_send_sms(body: MfaTokenIn, request: Request, db: DbSession) -> SmsSentOut:
    """Text a code for the second step of this log-in to the account's phone."""
    pending = mfa_codes.pending_login(db, body.mfa_token)
    hint = mfa_codes.send_sms_code(
        db,
        user_id=pending.user_id,
        purpose="login",
        ref=pending.id,
        actor=Actor("user", pending.user_id, client_ip(request)),
    )
    return SmsSentOut(sent_to=hint)


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
    clear_session_cookie(response)
    return response


@router.get("/me", response_model=MeOut)
def me(request: Request, db: DbSession) -> MeOut:
    """The logged-in user and their organizations."""
    found = login_from_cookie(request, db)
    if found is None:
        raise Unauthorized("not logged in", code="unauthenticated")
    login, user = found
    return _me(db, user, login)


# ---- step-up ----------------------------------------------------------------------------------
@router.post("/reauthenticate", response_model=ReauthOut)
def reauthenticate(body: ReauthIn, account: CurrentAccount, db: DbSession) -> ReauthOut:
    """Confirm it is you (password, or a second-factor code) before a sensitive action."""
    ratelimit.check(REAUTH, account.user.id)
    if body.password is not None:
        if not passwords.verify_password(account.user.password_hash, body.password):
            record(
                db,
                actor=account.actor,
                action="auth.reauthenticate_failed",
                object_type="user",
                object_id=account.user.id,
            )
            commit_and_raise(db, Unauthorized("wrong password", code="bad_credentials"))
        how = "password"
    else:
        try:
            mfa_codes.verify(
                db, user_id=account.user.id, method=body.method, code=body.code, purpose="step_up", actor=account.actor
            )
        except Unauthorized as exc:
            commit_and_raise(db, exc)
        how = body.method
    sessions.mark_authenticated(db, account.login)
    record(
        db,
        actor=account.actor,
        action="auth.reauthenticate",
        object_type="user",
        object_id=account.user.id,
        detail={"method": how},
    )
    until = account.login.auth_at + timedelta(minutes=get_settings().step_up_minutes)
    return ReauthOut(reauthenticated_until=until)


@router.post("/reauthenticate/sms", status_code=202, response_model=SmsSentOut)
def reauthenticate_sms(account: CurrentAccount, db: DbSession) -> SmsSentOut:
    """Text a code to re-authenticate with (`method: "sms"`)."""
    return SmsSentOut(
        sent_to=mfa_codes.send_sms_code(db, user_id=account.user.id, purpose="step_up", actor=account.actor)
    )


# ---- sessions ---------------------------------------------------------------------------------
@router.get("/sessions", response_model=dict[str, list[SessionOut]])
def list_sessions(account: CurrentAccount, db: DbSession) -> dict:
    """Where you are logged in: each live session, the current one marked."""
    rows = sessions.list_for_user(db, account.user.id)
    return {
        "sessions": [
            SessionOut(
                id=r.id,
                created_at=r.created_at,
                last_seen_at=r.last_seen_at,
                expires_at=r.expires_at,
                user_agent=r.user_agent,
                ip_prefix=r.ip_prefix,
                current=r.token_hash == account.login.token_hash,
            )
            for r in rows
        ]
    }


@router.delete("/sessions/{session_id}", status_code=204)
def revoke_session(session_id: str, account: CurrentAccount, db: DbSession) -> Response:
    """Log out one session (another browser, a lost phone)."""
    row = sessions.revoke(db, user_id=account.user.id, session_id=session_id[:40])
    if row is None:
        raise NotFound("no such session")
    record(db, actor=account.actor, action="session.revoke", object_type="session", object_id=row.id)
    response = Response(status_code=204)
    if row.token_hash == account.login.token_hash:
        clear_session_cookie(response)
    return response


@router.post("/sessions/revoke-all")
def revoke_all_sessions(
    account: CurrentAccount, db: DbSession, response: Response, body: RevokeAllIn | None = None
) -> dict[str, int]:
    """Log out everywhere (with `keep_current`, everywhere but here)."""
    keep = body is not None and body.keep_current
    count = sessions.end_all_for_user(db, account.user.id, keep_hash=account.login.token_hash if keep else None)
    record(
        db,
        actor=account.actor,
        action="session.revoke_all",
        object_type="user",
        object_id=account.user.id,
        detail={"revoked": count, "kept_current": keep},
    )
    if not keep:
        clear_session_cookie(response)
    return {"revoked": count}


# ---- password reset ---------------------------------------------------------------------------
@router.post("/password-reset", status_code=202)
def request_password_reset(body: ResetRequestIn, request: Request, db: DbSession) -> dict:
    """Email a single-use reset link. The answer is the same whether or not an account uses the address."""
    password_reset.request_reset(db, email=body.email, ip=client_ip(request))
    return {"status": "if an account uses this address, a reset link is on its way"}


@router.post("/password-reset/confirm", status_code=204)
def confirm_password_reset(body: ResetConfirmIn, request: Request, db: DbSession) -> Response:
    """Set a new password with the link's token; every session of the account ends."""
    password_reset.confirm_reset(db, token=body.token, password=body.password, ip=client_ip(request))
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response
