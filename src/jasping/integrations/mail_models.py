"""The outbox of emails: one row per message, queued in the caller's transaction and sent by a job. The recipient
and the whole rendered message (headers, text, HTML, attachments) are encrypted; a retry sends the same bytes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime

KINDS = (
    "confirmation",
    "cancellation",
    "reminder",
    "lead_notice",
    "code",
    "breach_notice",
    "security_alert",
    "handoff_notice",
)


class Email(TenantScoped, Base):
    """An email to send. `state`: queued → sending (leased to a worker) → sent; after the last failed try, or when
    the server refuses it for good, dead (sent again only by `mail_outbox.retry`)."""

    __tablename__ = "emails"
    __table_args__ = (Index("ix_emails_state_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of KINDS
    ref: Mapped[str | None] = mapped_column(String(40), index=True)  # the appointment or lead it is about
    to: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)  # the MIME message, 7-bit clean
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
