"""Registration risk as a service: assess a sign-up and store the outcome, verify a phone by SMS code, ask for and
decide a human review. Medium and high sign-ups cannot use their account (`blocked`) until a phone is verified or an
operator approves them; an operator's rejection disables the account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.channels.connections import e164
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id
from jasping.errors import Conflict, Invalid, NotFound
from jasping.privacy import requests as data_requests
from jasping.registration import signals
from jasping.registration.models import APPROVED, HIGH, LOW, MEDIUM, PENDING, REJECTED, RegistrationRisk
from jasping.security import audit, mfa_codes, ratelimit, sessions
from jasping.security.audit import Actor
from jasping.tenancy.models import User

MEDIUM_AT, HIGH_AT = 30, 60
PHONE_PURPOSE = "signup"
# Wrong codes per account and hour, across codes (each code also allows 5 tries, and 5 SMS a quarter of an hour).
VERIFY_TRIES = ratelimit.Limit("signup-phone-verify", 10, 3600)


@dataclass(frozen=True)
class Assessment:
    score: int
    level: str
    reasons: list[str]

    @property
    def verification_required(self) -> bool:
        return self.level in (MEDIUM, HIGH)


def level_of(score: int) -> str:
    return HIGH if score >= HIGH_AT else MEDIUM if score >= MEDIUM_AT else LOW


def assess(signup: signals.Signup) -> Assessment:
    """Score a sign-up from its signals (counts it in the velocity windows)."""
    reasons = signals.all_reasons(signup)
    score = min(100, sum(signals.WEIGHTS[code] for code in reasons))
    return Assessment(score, level_of(score), reasons)


def assess_and_record(session: Session, *, user_id: str, signup: signals.Signup) -> RegistrationRisk:
    """Assess the sign-up of `user_id` and store the outcome with a `registration.risk_assessed` event."""
    result = assess(signup)
    ip_hash = get_keyring().mac(PLATFORM, signup.ip, purpose="registration ip") if signup.ip else None
    row = RegistrationRisk(
        id=new_id("rrk"),
        user_id=user_id,
        score=result.score,
        level=result.level,
        reasons=result.reasons,
        ip_hash=ip_hash,
        device_hash=signup.device_hash,
        verification_required=result.verification_required,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=Actor("user", user_id, signup.ip),
        action="registration.risk_assessed",
        object_type="user",
        object_id=user_id,
        detail={"score": result.score, "level": result.level, "reasons": result.reasons},
    )
    return row


def for_user(session: Session, user_id: str) -> RegistrationRisk | None:
    return session.execute(select(RegistrationRisk).where(RegistrationRisk.user_id == user_id)).scalar()


def is_blocked(session: Session, user_id: str) -> bool:
    """Whether the account must still verify a phone before it can be used (accounts from before: never)."""
    row = for_user(session, user_id)
    return row is not None and row.blocked


def _pending_row(session: Session, user_id: str) -> RegistrationRisk:
    row = for_user(session, user_id)
    if row is None or not row.blocked:
        raise Conflict("this account needs no phone verification", code="phone_verification_not_required")
    return row


# ---- phone verification -----------------------------------------------------------------------------------------
def send_code(session: Session, *, user_id: str, phone: str, actor: Actor) -> str:
    """Text a one-time code to `phone` (international form); returns the number's hint."""
    _pending_row(session, user_id)
    number = e164(phone)
    if number is None or not phone.strip().startswith("+"):
        raise Invalid("phone: give the number in international form, e.g. +33612345678", code="invalid_phone")
    return mfa_codes.send_sms_code(session, user_id=user_id, purpose=PHONE_PURPOSE, phone=number, actor=actor)


def verify_code(session: Session, *, user_id: str, code: str, actor: Actor) -> RegistrationRisk:
    """Check the code; the account is unblocked when it is right. 422 `invalid_code` when wrong or expired; 429
    after too many wrong codes."""
    row = _pending_row(session, user_id)
    if ratelimit.locked_for(VERIFY_TRIES.name, user_id):
        raise ratelimit.RateLimited("too many wrong codes; try again later", ratelimit.retry_after(VERIFY_TRIES))
    challenge = mfa_codes.check_sms_code(session, user_id=user_id, purpose=PHONE_PURPOSE, code=code)
    if challenge is None:
        audit.record(session, actor=actor, action="registration.phone_failed", object_type="user", object_id=user_id)
        if ratelimit.hit(VERIFY_TRIES, user_id) >= VERIFY_TRIES.count:
            ratelimit.lock(VERIFY_TRIES.name, user_id, VERIFY_TRIES.window)
        raise Invalid("that code is wrong or has expired; ask for a new one", code="invalid_code")
    row.phone_verified_at = clock.now()
    row.phone_hash = get_keyring().mac(PLATFORM, challenge.phone or "", purpose="registration phone")
    audit.record(session, actor=actor, action="registration.phone_verified", object_type="user", object_id=user_id)
    return row


# ---- human review (GDPR art. 22) --------------------------------------------------------------------------------
def request_review(session: Session, *, user_id: str, comment: str | None, actor: Actor) -> RegistrationRisk:
    """Ask a person at the platform to look at the decision; tracked as an `automated_decision_review` request."""
    row = for_user(session, user_id)
    if row is None or not row.verification_required:
        raise Conflict("there is no automated decision to review on this account", code="nothing_to_review")
    if row.review_status is not None:
        raise Conflict(f"a review was asked already ({row.review_status})", code="review_exists")
    tracked = data_requests.open_request(
        session,
        subject_type="user",
        subject_id=user_id,
        right="automated_decision_review",
        notes="registration risk assessment",
        actor=actor,
    )
    row.review_status, row.review_requested_at = PENDING, clock.now()
    row.review_comment = (comment or "").strip()[:2000] or None
    row.request_id = tracked.id
    audit.record(
        session,
        actor=actor,
        action="registration.review_requested",
        object_type="user",
        object_id=user_id,
        detail={"request_id": tracked.id},
    )
    return row


def pending_reviews(session: Session) -> list[tuple[RegistrationRisk, User]]:
    """The operator's queue: reviews asked for and not decided, oldest first."""
    rows = session.execute(
        select(RegistrationRisk, User)
        .join(User, User.id == RegistrationRisk.user_id)
        .where(RegistrationRisk.review_status == PENDING)
        .order_by(RegistrationRisk.review_requested_at)
    ).all()
    return [(r, u) for r, u in rows]


def decide(session: Session, *, user_id: str, approve: bool, note: str | None, actor: Actor) -> RegistrationRisk:
    """The operator's decision: approve (no phone verification needed) or reject (the account is disabled and
    logged out everywhere). Recorded in the audit log; the data-subject request is closed."""
    row = for_user(session, user_id)
    if row is None or row.review_status != PENDING:
        raise NotFound("no review is waiting for this account")
    row.review_status = APPROVED if approve else REJECTED
    row.reviewed_at, row.reviewed_by = clock.now(), actor.id
    row.review_note = (note or "").strip()[:2000] or None
    if not approve:
        user = session.get(User, user_id)
        if user is not None:
            user.is_active = False
        sessions.end_all_for_user(session, user_id)
    tracked = session.get(data_requests.DataRequest, row.request_id) if row.request_id else None
    if tracked is not None and tracked.is_open:
        data_requests.close_request(
            session, request_id=row.request_id, note=f"review: {row.review_status}", actor=actor
        )
    audit.record(
        session,
        actor=actor,
        action="registration.review_decided",
        object_type="user",
        object_id=user_id,
        detail={"decision": row.review_status, "level": row.level, "reasons": row.reasons},
    )
    return row
