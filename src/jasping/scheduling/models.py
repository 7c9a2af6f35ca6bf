"""The appointment table (the builtin calendar). Contact details are encrypted.

An appointment booked in an external calendar (a `caldav` integration) remembers it in `calendar_id`, the event's
address there in `external_id`, and how far the copy got in `sync_state`: `pending` (to write, move or delete),
`synced`, or `failed` (retried by a periodic job; `sync_error` says why). No external calendar: `sync_state` None.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import ContactScoped, EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime

STATUSES = ("booked", "cancelled", "no_show")


class Appointment(ContactScoped, TenantScoped, Base):
    """A booked slot of an agent's calendar."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_agent_start", "agent_id", "start"),
        Index("ix_appointments_sync_state", "sync_state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("contacts.id", ondelete="SET NULL"))
    service_id: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(200))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    busy_until: Mapped[datetime] = mapped_column(UtcDateTime)  # end plus the service's buffer
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked | cancelled | no_show
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str | None] = mapped_column(String(8))
    tz: Mapped[str | None] = mapped_column(String(64))  # the business's time zone when booked (events carry it)
    calendar_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(1000))  # the event's URL in the external calendar
    sync_state: Mapped[str | None] = mapped_column(String(16))  # pending | synced | failed; None: builtin only
    sync_error: Mapped[str | None] = mapped_column(Text)
    sync_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    sync_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when a failed write is tried again
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
