"""The appointment table (the builtin calendar). Contact details are encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class Appointment(TenantScoped, Base):
    """A booked slot of an agent's calendar."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_agent_start", "agent_id", "start"),)

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
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked | cancelled
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str | None] = mapped_column(String(8))
