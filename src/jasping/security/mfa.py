"""Two-step verification: authenticator apps (TOTP, RFC 6238), recovery codes, and the organization policy.

A TOTP code works once: the factor keeps the last time-step accepted and a conditional UPDATE takes a step only when
it is newer, so a code replayed — even by two requests at the same instant — is refused. Secrets are encrypted at
rest (EncryptedText); recovery codes are kept as keyed hashes and each works once. SMS codes are in `mfa_codes`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id
from jasping.errors import Conflict, Invalid, NotFound
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.security.mfa_models import MfaFactor, OrgSecurityPolicy, RecoveryCode

ISSUER = "JasPing"
TOTP, SMS, RECOVERY = "totp", "sms", "recovery"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from paper


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class MfaStatus:
    totp: bool
    sms: bool
    phone_hint: str | None
    recovery_codes_left: int

    @property
    def enabled(self) -> bool:
        return self.totp or self.sms


def phone_hint(phone: str | None) -> str | None:
    """A number with all but its last two digits hidden: `+33•••••••78`."""
    if not phone:
        return None
    return phone[:3] + "•" * max(len(phone) - 5, 0) + phone[-2:]


def _factor(session: Session, user_id: str, kind: str) -> MfaFactor | None:
    return session.execute(select(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.kind == kind)).scalar()


def confirmed_factors(session: Session, user_id: str) -> dict[str, MfaFactor]:
    rows = session.execute(
        select(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.confirmed_at.is_not(None))
    ).scalars()
    return {f.kind: f for f in rows}


def recovery_codes_left(session: Session, user_id: str) -> int:
    return session.execute(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def status(session: Session, user_id: str) -> MfaStatus:
    factors = confirmed_factors(session, user_id)
    sms = factors.get(SMS)
    return MfaStatus(
        TOTP in factors, sms is not None, phone_hint(sms.phone if sms else None), recovery_codes_left(session, user_id)
    )


def has_mfa(session: Session, user_id: str) -> bool:
    return bool(confirmed_factors(session, user_id))


def methods(session: Session, user_id: str) -> list[str]:
    """The ways this user can pass the second step now: `totp`, `sms`, `recovery`."""
    found = [k for k in (TOTP, SMS) if k in confirmed_factors(session, user_id)]
    if found and recovery_codes_left(session, user_id):
        found.append(RECOVERY)
    return found


# ---- TOTP -------------------------------------------------------------------------------------
def _normalise_code(code: str) -> str:
    return "".join((code or "").split())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time-step (now, or one either side for clock drift) whose code is `code`."""
    code = _normalise_code(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _take_step(session: Session, factor: MfaFactor, step: int) -> bool:
    """Claim `step` for the factor; False when it (or a later one) was used already."""
    now = clock.now()
    result = session.execute(
        update(MfaFactor)
        .where(MfaFactor.id == factor.id, or_(MfaFactor.last_used_step.is_(None), MfaFactor.last_used_step < step))
        .values(last_used_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    factor.last_used_step, factor.last_used_at = step, now
    return True


def start_totp(session: Session, *, user_id: str, email: str) -> TotpEnrolment:
    """A new authenticator secret (unconfirmed until `confirm_totp`); 409 when an app is set up already."""
    factor = _factor(session, user_id, TOTP)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("an authenticator app is set up already; remove it first to use another", code="mfa_exists")
    secret = pyotp.random_base32()
    if factor is None:
        factor = MfaFactor(id=new_id("mfa"), user_id=user_id, kind=TOTP)
        session.add(factor)
    factor.secret, factor.last_used_step, factor.created_at = secret, None, clock.now()
    session.flush()
    return _enrolment(secret, email)


def pending_totp(session: Session, *, user_id: str, email: str) -> TotpEnrolment | None:
    """The authenticator set-up in progress (to show its QR code again), or None."""
    factor = _factor(session, user_id, TOTP)
    if factor is None or factor.confirmed_at is not None or not factor.secret:
        return None
    return _enrolment(factor.secret, email)


def _enrolment(secret: str, email: str) -> TotpEnrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app")
    return TotpEnrolment(secret, uri, svg)


def confirm_totp(session: Session, *, user_id: str, code: str, actor: Actor) -> list[str] | None:
    """Turn the app on once it shows the right code; the first factor also gets recovery codes (returned once)."""
    factor = _factor(session, user_id, TOTP)
    if factor is None or factor.confirmed_at is not None or not factor.secret:
        raise NotFound("start the authenticator set-up first (POST /api/v1/auth/mfa/totp)", code="no_enrolment")
    step = _matching_step(factor.secret, code, clock.now())
    if step is None or not _take_step(session, factor, step):
        raise Invalid(
            "that code is not the one your app shows now; check the app's clock and retry", code="invalid_code"
        )
    return _confirm(session, factor, actor)


def _confirm(session: Session, factor: MfaFactor, actor: Actor) -> list[str] | None:
    first = not has_mfa(session, factor.user_id)
    factor.confirmed_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mfa.enrol",
        object_type="user",
        object_id=factor.user_id,
        detail={"method": factor.kind},
    )
    if first or not recovery_codes_left(session, factor.user_id):
        return _new_recovery_codes(session, factor.user_id)
    return None


def verify_totp(session: Session, *, user_id: str, code: str) -> bool:
    factor = confirmed_factors(session, user_id).get(TOTP)
    if factor is None or not factor.secret:
        return False
    step = _matching_step(factor.secret, code, clock.now())
    return step is not None and _take_step(session, factor, step)


# ---- recovery codes ---------------------------------------------------------------------------
def _code_hash(user_id: str, code: str) -> str:
    normal = "".join(c for c in (code or "").lower() if c.isalnum())
    return get_keyring().mac(PLATFORM, f"{user_id}:{normal}", purpose="mfa recovery code")


def _new_recovery_codes(session: Session, user_id: str) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(id=new_id("rec"), user_id=user_id, code_hash=_code_hash(user_id, raw)))
    session.flush()
    return codes


def regenerate_recovery_codes(session: Session, *, user_id: str, actor: Actor) -> list[str]:
    """Ten new codes; the old ones stop working. Only with two-step verification on."""
    if not has_mfa(session, user_id):
        raise Conflict("turn on two-step verification first", code="mfa_not_enabled")
    codes = _new_recovery_codes(session, user_id)
    audit.record(session, actor=actor, action="mfa.recovery_codes_regenerated", object_type="user", object_id=user_id)
    return codes


def use_recovery_code(session: Session, *, user_id: str, code: str) -> bool:
    """Spend one recovery code; False when it is wrong or was used."""
    if not code or len(code) > 40:
        return False
    digest = _code_hash(user_id, code)
    row = session.execute(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id, RecoveryCode.code_hash == digest, RecoveryCode.used_at.is_(None)
        )
    ).scalar()
    if row is None:
        return False
    taken = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


# ---- turning factors off ----------------------------------------------------------------------
def disable(session: Session, *, user_id: str, kind: str, actor: Actor, org_ids: list[str]) -> None:
    """Remove one factor; the last one cannot go while an organization of the user requires two-step verification."""
    factor = _factor(session, user_id, kind)
    if factor is None:
        raise NotFound(f"no {kind} factor is set up", code="not_found")
    others = [k for k in confirmed_factors(session, user_id) if k != kind]
    if factor.confirmed_at is not None and not others and any(org_requires_mfa(session, o) for o in org_ids):
        raise Conflict(
            "an organization you belong to requires two-step verification; set up another method before removing "
            "this one",
            code="mfa_required_by_organization",
        )
    session.execute(delete(MfaFactor).where(MfaFactor.id == factor.id))
    if not others:
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    audit.record(
        session, actor=actor, action="mfa.disable", object_type="user", object_id=user_id, detail={"method": kind}
    )


# ---- organization policy ----------------------------------------------------------------------
def org_requires_mfa(session: Session, org_id: str | None) -> bool:
    if not org_id:
        return False
    policy = session.get(OrgSecurityPolicy, org_id)
    return bool(policy and policy.require_mfa)


def enrolment_required(session: Session, *, user_id: str, org_id: str | None) -> bool:
    """Whether the organization requires two-step verification and this member has not set it up yet."""
    return org_requires_mfa(session, org_id) and not has_mfa(session, user_id)


def set_policy(session: Session, *, org_id: str, require_mfa: bool, actor: Actor) -> OrgSecurityPolicy:
    """Require two-step verification of every member (or stop requiring it). Whoever turns it on must have it."""
    if require_mfa and actor.type == "user" and actor.id and not has_mfa(session, actor.id):
        raise Conflict(
            "set up two-step verification for yourself before requiring it of every member",
            code="mfa_not_enabled",
        )
    policy = session.get(OrgSecurityPolicy, org_id)
    if policy is None:
        policy = OrgSecurityPolicy(org_id=org_id)
        session.add(policy)
    policy.require_mfa, policy.updated_at = require_mfa, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="organization.mfa_policy",
        org_id=org_id,
        object_type="organization",
        object_id=org_id,
        detail={"require_mfa": require_mfa},
    )
    return policy
