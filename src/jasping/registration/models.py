"""The registration risk assessment of an account: its score, level and reasons, and what followed (phone
verification, a human review requested and decided). One row per account, deleted with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import PLATFORM, EncryptedText
from jasping.db import Base, Timestamped, UtcDateTime

LOW, MEDIUM, HIGH = "low", "medium", "high"
LEVELS = (LOW, MEDIUM, HIGH)
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class RegistrationRisk(Timestamped, Base):
    """How risky a sign-up looked, why, and whether the account may be used (a platform table: accounts are not an
    organization's). IPs and devices only as keyed hashes; the verified phone only as a keyed hash."""

    __tablename__ = "registration_risks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # reason codes, strongest first
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    verification_required: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_status: Mapped[str | None] = mapped_column(String(10), index=True)  # pending | approved | rejected
    review_comment: Mapped[str | None] = mapped_column(EncryptedText)  # what the person wrote when asking for a review
    review_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(40))  # the operator's user id
    review_note: Mapped[str | None] = mapped_column(EncryptedText)
    request_id: Mapped[str | None] = mapped_column(String(40))  # the data-subject request (automated_decision_review)

    crypto_scope = PLATFORM

    @property
    def blocked(self) -> bool:
        """Whether the account still has to verify a phone before it can be used."""
        return self.verification_required and self.phone_verified_at is None and self.review_status != APPROVED
