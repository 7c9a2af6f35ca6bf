"""Tables of two-step verification and short-lived security challenges (account data: JasPing is controller)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import PLATFORM, EncryptedText
from jasping.db import Base, UtcDateTime


class MfaFactor(Base):
    """A second factor of a user: an authenticator app (TOTP secret, encrypted) or a phone for SMS codes."""

    __tablename__ = "mfa_factors"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # totp | sms
    secret: Mapped[str | None] = mapped_column(EncryptedText)  # TOTP: the base32 shared secret
    phone: Mapped[str | None] = mapped_column(EncryptedText)  # SMS: the number, E.164
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None while enrolment is unfinished
    last_used_step: Mapped[int | None] = mapped_column(Integer)  # TOTP: the last time-step accepted (no replay)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    crypto_scope = PLATFORM


class RecoveryCode(Base):
    """A one-time recovery code (its keyed hash only), for when the second factor is lost."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class AuthChallenge(Base):
    """A short-lived, single-use proof in progress: a half-finished two-step log-in (`mfa_login`, by its token), an
    SMS code (`sms`, for a log-in, an enrolment or a step-up) or a password-reset link (`password_reset`). Tokens
    and codes are stored as hashes; wrong tries are counted and end the challenge at the limit."""

    __tablename__ = "auth_challenges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mfa_login | sms | password_reset
    purpose: Mapped[str | None] = mapped_column(String(16))  # sms: login | enrol | step_up
    ref: Mapped[str | None] = mapped_column(String(64), index=True)  # sms for a log-in: the mfa_login's id
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(EncryptedText)  # sms enrolment: the number being confirmed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    crypto_scope = PLATFORM


class OrgSecurityPolicy(Base):
    """An organization's security rules: whether every member must use two-step verification."""

    __tablename__ = "org_security_policies"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
