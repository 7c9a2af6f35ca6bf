"""The lead table (identifiers encrypted; consent recorded with its time and wording)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class Lead(TenantScoped, Base):
    """A customer's request to be contacted, captured by an agent."""

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
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="lead")  # lead | callback
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | contacted | closed
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consent_text: Mapped[str | None] = mapped_column(Text)
