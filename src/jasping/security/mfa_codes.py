"""The second step of a log-in, SMS codes, and checking any second-factor code.

A password that is right for an account with two-step verification gives a short-lived `mfa_token` (its hash kept)
instead of a session; `complete_login` turns it into a session once a code is right. Five wrong codes end the
token, and it works once. SMS codes go out through the platform's Twilio number (the same Twilio sender the
channels use), are kept as keyed hashes, expire after ten minutes and allow five tries.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.channels.base import Outgoing, ProviderError
from jasping.channels.connections import e164
from jasping.config import get_settings
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id
from jasping.errors import Conflict, DomainError, Invalid, Unauthorized
from jasping.security import audit, lockout, mfa
from jasping.security.audit import Actor
from jasping.security.mfa_models import AuthChallenge, MfaFactor

LOGIN_TTL = timedelta(minutes=10)
SMS_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SMS_PER_QUARTER_HOUR = 5
PURPOSES = ("login", "enrol", "step_up", "signup")  # signup: the phone check of a risky sign-up (registration/)


class SmsUnavailable(DomainError):
    status, code = 503, "sms_unavailable"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _claim(session: Session, challenge: AuthChallenge) -> bool:
    """Mark a challenge used; False when another request used it first."""
    now = clock.now()
    done = session.execute(
        update(AuthChallenge)
        .where(AuthChallenge.id == challenge.id, AuthChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    challenge.used_at = now
    return done.rowcount == 1


def _count_attempt(session: Session, challenge: AuthChallenge) -> None:
    challenge.attempts += 1
    values: dict = {"attempts": AuthChallenge.attempts + 1}
    if challenge.attempts >= MAX_ATTEMPTS:
        values["used_at"] = challenge.used_at = clock.now()
    session.execute(
        update(AuthChallenge)
        .where(AuthChallenge.id == challenge.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# ---- SMS --------------------------------------------------------------------------------------
def sms_available() -> bool:
    s = get_settings()
    return bool(s.sms_twilio_account_sid and s.sms_twilio_auth_token and s.sms_from)


@dataclass(frozen=True)
class _PlatformNumber:
    """The platform's Twilio number, shaped as the channel connection the Twilio sender takes."""

    address: str
    secrets: dict


def _send_sms(to: str, text: str) -> None:
    from jasping.channels.twilio_sms import TwilioSmsAdapter

    s = get_settings()
    if not sms_available():
        raise SmsUnavailable("SMS codes are not set up on this server; use an authenticator app")
    number = _PlatformNumber(
        s.sms_from, {"account_sid": s.sms_twilio_account_sid, "auth_token": s.sms_twilio_auth_token}
    )
    try:
        TwilioSmsAdapter().send(number, to, Outgoing(text=text))  # type: ignore[arg-type]
    except ProviderError as exc:
        raise SmsUnavailable("the SMS could not be sent; try again in a minute or use another method") from exc


def _code_hash(challenge_id: str, code: str) -> str:
    return get_keyring().mac(PLATFORM, f"{challenge_id}:{code}", purpose="mfa sms code")


def send_sms_code(
    session: Session,
    *,
    user_id: str,
    purpose: str,
    phone: str | None = None,
    ref: str | None = None,
    actor: Actor | None = None,
) -> str:
    """Text a new 6-digit code to `phone` (or the user's SMS factor); returns the number's hint."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    if phone is None:
        factor = mfa.confirmed_factors(session, user_id).get(mfa.SMS)
        if factor is None or not factor.phone:
            raise Conflict("no phone is set up for SMS codes", code="sms_not_enabled")
        phone = factor.phone
    now = clock.now()
    recent = session.execute(
        select(func.count()).where(
            AuthChallenge.user_id == user_id,
            AuthChallenge.kind == "sms",
            AuthChallenge.created_at > now - timedelta(minutes=15),
        )
    ).scalar_one()
    if recent >= SMS_PER_QUARTER_HOUR:
        raise Conflict(
            "too many SMS codes were sent; wait a quarter of an hour or use another method", code="sms_limit"
        )
    # an earlier code for the same purpose stops working: only the latest one counts
    session.execute(
        update(AuthChallenge)
        .where(
            AuthChallenge.user_id == user_id,
            AuthChallenge.kind == "sms",
            AuthChallenge.purpose == purpose,
            AuthChallenge.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = AuthChallenge(
        id=new_id("chl"),
        user_id=user_id,
        kind="sms",
        purpose=purpose,
        ref=ref,
        phone=phone,
        expires_at=now + SMS_TTL,
    )
    challenge.code_hash = _code_hash(challenge.id, code)
    session.add(challenge)
    session.flush()
    _send_sms(phone, f"{code} is your JasPing verification code. It expires in 10 minutes; never share it.")
    audit.record(
        session,
        actor=actor or Actor("user", user_id),
        action="mfa.sms_sent",
        object_type="user",
        object_id=user_id,
        detail={"purpose": purpose},
    )
    return mfa.phone_hint(phone) or ""


def check_sms_code(
    session: Session, *, user_id: str, purpose: str, code: str, ref: str | None = None
) -> AuthChallenge | None:
    """The SMS challenge the code answers (now used up), or None (a wrong try is counted)."""
    query = select(AuthChallenge).where(
        AuthChallenge.user_id == user_id,
        AuthChallenge.kind == "sms",
        AuthChallenge.purpose == purpose,
        AuthChallenge.used_at.is_(None),
        AuthChallenge.expires_at > clock.now(),
    )
    if ref is not None:
        query = query.where(AuthChallenge.ref == ref)
    challenge = session.execute(query.order_by(AuthChallenge.created_at.desc()).limit(1)).scalar()
    if challenge is None:
        return None
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()) or _code_hash(challenge.id, code) != challenge.code_hash:
        _count_attempt(session, challenge)
        return None
    return challenge if _claim(session, challenge) else None


def start_sms_enrolment(session: Session, *, user_id: str, phone: str, actor: Actor) -> str:
    number = e164(phone)
    if number is None or not phone.strip().startswith("+"):
        raise Invalid("phone: give the number in international form, e.g. +33612345678", code="invalid_phone")
    factor = mfa.confirmed_factors(session, user_id).get(mfa.SMS)
    if factor is not None:
        raise Conflict("SMS codes are set up already; remove them first to use another number", code="mfa_exists")
    return send_sms_code(session, user_id=user_id, purpose="enrol", phone=number, actor=actor)


def confirm_sms_enrolment(session: Session, *, user_id: str, code: str, actor: Actor) -> list[str] | None:
    challenge = check_sms_code(session, user_id=user_id, purpose="enrol", code=code)
    if challenge is None:
        raise Invalid("that code is wrong or has expired; ask for a new one", code="invalid_code")
    factor = session.execute(
        select(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.kind == mfa.SMS)
    ).scalar() or MfaFactor(id=new_id("mfa"), user_id=user_id, kind=mfa.SMS)
    factor.phone = challenge.phone
    session.add(factor)
    session.flush()
    return mfa._confirm(session, factor, actor)


# ---- any second factor ------------------------------------------------------------------------
def verify(
    session: Session, *, user_id: str, method: str, code: str, purpose: str, ref: str | None = None, actor: Actor
) -> None:
    """Check a code of `method` (`totp`, `sms`, `recovery`); `Unauthorized` (invalid_code) when it is not right,
    `LockedOut` (429) while the account's second step is locked after too many wrong codes."""
    lockout.check_mfa(user_id=user_id)
    if method == mfa.TOTP:
        ok = mfa.verify_totp(session, user_id=user_id, code=code)
    elif method == mfa.SMS:
        ok = check_sms_code(session, user_id=user_id, purpose=purpose, code=code, ref=ref) is not None
    elif method == mfa.RECOVERY:
        ok = mfa.use_recovery_code(session, user_id=user_id, code=code)
    else:
        raise Invalid("method: one of totp, sms, recovery", code="invalid")
    if not ok:
        audit.record(
            session,
            actor=actor,
            action="mfa.failed",
            object_type="user",
            object_id=user_id,
            detail={"method": method, "purpose": purpose},
        )
        lockout.mfa_failed(session, user_id=user_id, ip=actor.ip)
        raise Unauthorized("the code is wrong, expired or was used already", code="invalid_code")
    action = "mfa.recovery_code_used" if method == mfa.RECOVERY else "mfa.verified"
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user_id,
        detail={"method": method, "purpose": purpose, "left": mfa.recovery_codes_left(session, user_id)}
        if method == mfa.RECOVERY
        else {"method": method, "purpose": purpose},
    )


# ---- the two-step log-in ----------------------------------------------------------------------
def begin_login(session: Session, *, user_id: str) -> str:
    """A token for the second step of this log-in (returned once, its hash kept)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthChallenge(
            id=new_id("chl"),
            user_id=user_id,
            kind="mfa_login",
            token_hash=_token_hash(token),
            expires_at=clock.now() + LOGIN_TTL,
        )
    )
    session.flush()
    return token


def pending_login(session: Session, token: str) -> AuthChallenge:
    """The unfinished log-in of an `mfa_token`; 401 when it is unknown, used, expired or out of tries."""
    challenge = None
    if token and len(token) <= 200:
        challenge = session.execute(
            select(AuthChallenge).where(
                AuthChallenge.token_hash == _token_hash(token), AuthChallenge.kind == "mfa_login"
            )
        ).scalar()
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= clock.now():
        raise Unauthorized(
            "this log-in has expired or was finished; log in again with your password", code="mfa_token_invalid"
        )
    return challenge


def complete_login(session: Session, *, token: str, method: str, code: str, ip: str | None) -> str:
    """Finish a two-step log-in; returns the user id. A wrong code counts against the token's five tries."""
    challenge = pending_login(session, token)
    actor = Actor("user", challenge.user_id, ip)
    try:
        verify(
            session, user_id=challenge.user_id, method=method, code=code, purpose="login", ref=challenge.id, actor=actor
        )
    except Unauthorized:
        _count_attempt(session, challenge)
        raise
    if not _claim(session, challenge):
        raise Unauthorized("this log-in was finished already", code="mfa_token_invalid")
    audit.record(
        session,
        actor=actor,
        action="auth.login_mfa",
        object_type="user",
        object_id=challenge.user_id,
        detail={"method": method},
    )
    return challenge.user_id
