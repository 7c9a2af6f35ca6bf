"""Tables of the inbox's extras: a customer's satisfaction rating after a conversation is closed (CSAT), and the
organization's saved (canned) replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import ContactScoped, EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class CsatRating(ContactScoped, TenantScoped, Base):
    """One rating (1–5) per closed conversation, from the widget or a WhatsApp reply; the comment is encrypted
    under the contact's key. `agent_id` is the conversation's agent, `assignee_id` the team member who held it."""

    __tablename__ = "csat_ratings"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="ck_csat_ratings_rating"),
        Index("ix_csat_ratings_org_created", "org_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("contacts.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(EncryptedText)


class CannedReply(TenantScoped, Base):
    """A reply the team saved to insert in the inbox's reply box (the business's own words, not personal data)."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_org_title", "org_id", "title"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)
