"""Tables of channels: a connection of an agent to a provider number, the inbound events received (deduplicated
on the provider's id) and the outbound deliveries (retried, then dead-lettered)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class ChannelConnection(TenantScoped, Base):
    """An agent connected to a WhatsApp Business number or a Twilio number. `address` routes webhooks to it:
    the WhatsApp `phone_number_id`, or the Twilio number in E.164. Secrets are encrypted and never shown again."""

    __tablename__ = "channel_connections"
    __table_args__ = (UniqueConstraint("type", "address", name="uq_channel_connections_type_address"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # whatsapp | twilio
    address: Mapped[str] = mapped_column(String(64))
    secrets_json: Mapped[str] = mapped_column(EncryptedText)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # waba_id, template, voice, handoff number…
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def secrets(self) -> dict:
        return json.loads(self.secrets_json or "{}")


class InboundEvent(TenantScoped, Base):
    """A webhook event kept until the worker has handled it. `(connection_id, provider_id)` is unique: a payload
    delivered five times is stored and answered once."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("connection_id", "provider_id", name="uq_inbound_events_provider_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("channel_connections.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # message | status | call
    body: Mapped[str] = mapped_column(EncryptedText)  # the normalised event as JSON (holds personal data)
    state: Mapped[str] = mapped_column(String(16), default="received")  # received | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Delivery(TenantScoped, Base):
    """A message to send through a provider. Queued in the same transaction as the agent's reply; the worker
    sends it, retries with backoff, and moves it to the dead-letter list (`dead`) when it cannot."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("channel_connections.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str | None] = mapped_column(String(40))
    to: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)  # the outbound message as JSON
    # queued | sending | sent | delivered | read | failed (provider said so after sending) | dead
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    provider_id: Mapped[str | None] = mapped_column(String(200), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
