"""The consent record table: who agreed to what, when, through which channel, with the wording shown."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping.db import Base, TenantScoped


class ConsentRecord(TenantScoped, Base):
    """One consent given (or refused) by a contact: the privacy notice of the chat, or being contacted about a
    request. Append-only in spirit: a withdrawal is a new record with `granted` false."""

    __tablename__ = "consent_records"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))  # chat_privacy_notice | contact_about_request
    granted: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    wording: Mapped[str] = mapped_column(Text)  # the text the person saw (not personal data)
    policy_url: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(8))
