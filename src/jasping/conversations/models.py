"""Tables of conversations. Message text and contact identifiers are encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import ContactScoped, EncryptedText, contact_scope
from jasping.db import Base, TenantScoped, UtcDateTime


class Contact(TenantScoped, Base):
    """A customer of the business (data subject); identifiers encrypted, looked up by keyed hash."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # sent STOP
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    restricted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # GDPR art. 18: the agent stops processing
    objected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # GDPR art. 21: nothing sent to them unasked

    @property
    def crypto_scope(self) -> str:
        return contact_scope(self.id)


class Conversation(TenantScoped, Base):
    """One thread between a contact and an agent on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_org_last", "org_id", "last_message_at"),
        Index("ix_conversations_org_changed", "org_id", "changed_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str] = mapped_column(String(40), ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    session_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | handoff | human | closed
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[str | None] = mapped_column(String(40), index=True)  # the team member it is assigned to
    resolution: Mapped[str | None] = mapped_column(String(16))  # on closing: resolved | unresolved | spam | …
    human_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the team was emailed (once)
    language: Mapped[str | None] = mapped_column(String(8))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    flow: Mapped[dict | None] = mapped_column(JSON)  # a dialogue in progress (lead capture, booking)
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # takeover, hand-back, close, assign (live feed)


class Message(ContactScoped, TenantScoped, Base):
    """A message of a conversation: from the contact (`user`), the agent, a human teammate, or the system."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_seq", "conversation_id", "seq", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(40), ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(String(40))  # the conversation's contact: whose data key
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | human | system
    text: Mapped[str] = mapped_column(EncryptedText)
    citations: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # intent, confidence, tool calls, timing


class ConversationFile(ContactScoped, TenantScoped, Base):
    """A file a customer sent in a conversation (a photo, a prescription, a form): stored encrypted, its
    name encrypted too; the message that carried it points here from its `meta`."""

    __tablename__ = "conversation_files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(EncryptedText)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    stored_file: Mapped[str] = mapped_column(String(200))  # storage reference (encrypted bytes on disk)
    channel: Mapped[str] = mapped_column(String(16), default="web")
