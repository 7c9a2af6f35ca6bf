"""The consent record table: who agreed to what, when, how, through which channel, with the wording and the version
of the notice shown, and a keyed hash of the address it came from (never the address)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping.db import Base, TenantScoped


class ConsentRecord(TenantScoped, Base):
    """One consent given (or refused, or withdrawn) by a contact of the business — the chat's privacy notice, being
    contacted about a request, marketing — or by a user signing up (the platform's privacy notice). Append-only: a
    withdrawal is a new record with `granted` false; the current state is the latest record."""

    __tablename__ = "consent_records"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    # the account signing up (purpose account_privacy_notice); the record goes with the account
    user_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # privacy.consent.PURPOSES
    granted: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    wording: Mapped[str] = mapped_column(Text)  # the text the person saw (not personal data)
    policy_url: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(8))
    notice_version: Mapped[str | None] = mapped_column(String(60))  # the page version in force, e.g. agent_notice/v2
    method: Mapped[str | None] = mapped_column(String(24))  # privacy.consent.METHODS
    ip_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash (Keyring.mac), never the address
