"""The lead table (identifiers encrypted, found again by keyed hash; consent recorded with its time and wording)
and the sync table (where each lead stands with each sink it is sent to)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import ContactScoped, EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class Lead(ContactScoped, TenantScoped, Base):
    """A customer's request to be contacted, captured by an agent. One per person and agent: a returning customer
    (same email or phone) updates it (`updated_at`)."""

    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("contacts.id", ondelete="SET NULL"))
    name: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed hash of the lower-cased email
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed hash of the E.164 number
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="lead")  # lead | callback
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | contacted | closed
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consent_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when a returning customer last updated it


class LeadSync(TenantScoped, Base):
    """A lead on its way to one sink (an integration: a webhook, a sheet). Queued in the transaction that saves the
    lead; sent by a job; `failed` waits for its retry at `next_attempt_at`, `dead` waits for "send again".
    `revision` grows each time the lead changes, so a receiver sees each version once (the event id)."""

    __tablename__ = "lead_syncs"
    __table_args__ = (
        UniqueConstraint("lead_id", "integration_id", name="uq_lead_syncs_lead_integration"),
        Index("ix_lead_syncs_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(40), ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16), default="created")  # created | updated
    revision: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | sent | failed | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    remote_refs: Mapped[list | None] = mapped_column(JSON)  # where the sink put each version (sheet ranges): erasure
