"""Registration risk through the API: the person's own assessment explained (EN/FR), their phone verification by SMS
code, their request for a human review (GDPR art. 22), and the operator's review queue and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jasping.errors import Conflict, DomainError
from jasping.registration import explain, service, signals
from jasping.registration.models import RegistrationRisk
from jasping.web.api import API
from jasping.web.deps import CurrentAccount, DbSession, OperatorPrincipal, client_ip

router = APIRouter(prefix=API, tags=["registration risk"])
Lang = Literal["en", "fr"]


class ReasonOut(BaseModel):
    code: str
    explanation: str


class ReviewOut(BaseModel):
    status: str | None = Field(description="null (none asked), pending, approved or rejected")
    requested_at: datetime | None = None
    decided_at: datetime | None = None


class RiskOut(BaseModel):
    level: str
    score: int
    summary: str
    reasons: list[ReasonOut]
    phone_verification_required: bool
    phone_verified: bool
    review: ReviewOut


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=3, max_length=40, description="international form, e.g. +33612345678")


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=20)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=2000, description="anything the reviewer should know")


class SentOut(BaseModel):
    sent_to: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)


class QueueItemOut(BaseModel):
    user_id: str
    email: str
    level: str
    score: int
    reasons: list[ReasonOut]
    comment: str | None
    requested_at: datetime | None


class DecisionOut(BaseModel):
    user_id: str
    review: ReviewOut
    phone_verification_required: bool
    account_active: bool


def signup_signals(request: Request, email: str, **fields) -> signals.Signup:
    """What the sign-up request shows to the risk assessment (headers, address; `fields` from the form or body)."""
    return signals.Signup(
        email=email,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        accept_language=request.headers.get("accept-language"),
        **{"device_id": request.headers.get("x-device-id") or request.cookies.get(signals.DEVICE_COOKIE), **fields},
    )


def risk_out(row: RegistrationRisk, lang: str) -> RiskOut:
    return RiskOut(
        level=row.level,
        score=row.score,
        summary=explain.summary(row.level, lang),
        reasons=[ReasonOut(**r) for r in explain.explain(row.reasons, lang)],
        phone_verification_required=row.blocked,
        phone_verified=row.phone_verified_at is not None,
        review=_review(row),
    )


def _review(row: RegistrationRisk) -> ReviewOut:
    return ReviewOut(status=row.review_status, requested_at=row.review_requested_at, decided_at=row.reviewed_at)


def _row(db: Session, user_id: str) -> RegistrationRisk:
    row = service.for_user(db, user_id)
    if row is None:
        raise Conflict("this account was created before sign-ups were assessed", code="no_assessment")
    return row


@router.get("/auth/registration-risk", response_model=RiskOut)
def my_risk(account: CurrentAccount, db: DbSession, lang: Lang | None = Query(default=None)) -> RiskOut:
    """Your sign-up's risk assessment: its level and each reason as a sentence (`lang`: en, fr; default your
    language), whether a phone verification is required, and your review request."""
    return risk_out(_row(db, account.user.id), lang or account.user.locale)


@router.post("/auth/phone-verification", status_code=202, response_model=SentOut)
def send_phone_code(body: PhoneIn, account: CurrentAccount, db: DbSession) -> SentOut:
    """Text a one-time code to your phone (valid 10 minutes, 5 tries; 5 SMS a quarter of an hour)."""
    hint = service.send_code(db, user_id=account.user.id, phone=body.phone, actor=account.actor)
    return SentOut(sent_to=hint)


@router.post("/auth/phone-verification/confirm", response_model=RiskOut)
def confirm_phone_code(body: CodeIn, account: CurrentAccount, db: DbSession) -> RiskOut:
    """Enter the code: right, your account can be used; wrong, 422 `invalid_code` (10 wrong codes an hour: 429)."""
    try:
        row = service.verify_code(db, user_id=account.user.id, code=body.code, actor=account.actor)
    except DomainError:
        db.commit()  # keep the counted try and its audit record
        raise
    return risk_out(row, account.user.locale)


@router.post("/auth/registration-risk/review", status_code=202, response_model=RiskOut)
def ask_for_review(account: CurrentAccount, db: DbSession, body: ReviewIn | None = None) -> RiskOut:
    """Ask a person at the platform to review the automated decision (GDPR art. 22); tracked as a data request."""
    row = service.request_review(
        db, user_id=account.user.id, comment=body.comment if body else None, actor=account.actor
    )
    return risk_out(row, account.user.locale)


# ---- the operator ------------------------------------------------------------------------------------------------
@router.get("/operator/registration-reviews", response_model=dict[str, list[QueueItemOut]], tags=["operator"])
def review_queue(principal: OperatorPrincipal, db: DbSession) -> dict:
    """Reviews asked for and not decided, oldest first."""
    return {
        "reviews": [
            QueueItemOut(
                user_id=user.id,
                email=user.email,
                level=row.level,
                score=row.score,
                reasons=[ReasonOut(**r) for r in explain.explain(row.reasons)],
                comment=row.review_comment,
                requested_at=row.review_requested_at,
            )
            for row, user in service.pending_reviews(db)
        ]
    }


@router.post("/operator/registration-reviews/{user_id}", response_model=DecisionOut, tags=["operator"])
def decide_review(user_id: str, body: DecisionIn, principal: OperatorPrincipal, db: DbSession) -> DecisionOut:
    """Approve (the phone verification is waived) or reject (the account is disabled); in the audit log."""
    row = service.decide(
        db, user_id=user_id[:40], approve=body.decision == "approve", note=body.note, actor=principal.actor
    )
    user = db.get(service.User, row.user_id)
    return DecisionOut(
        user_id=row.user_id,
        review=_review(row),
        phone_verification_required=row.blocked,
        account_active=bool(user and user.is_active),
    )
