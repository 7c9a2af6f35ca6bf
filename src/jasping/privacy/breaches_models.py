"""Tables of the breach register (GDPR art. 33(5)): incidents and, for each, the businesses affected with the
notice drafted for them. No personal data of the people affected is copied here: counts, never the records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping.db import Base, Timestamped, UtcDateTime


class Breach(Timestamped, Base):
    """A personal-data breach: the authority is to be notified within 72 hours of `detected_at`."""

    __tablename__ = "breaches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    data_categories: Mapped[list] = mapped_column(JSON, default=list)  # data_map categories: conversation, lead…
    records_estimate: Mapped[int | None] = mapped_column(Integer)  # approximate number of records concerned
    subjects_estimate: Mapped[int | None] = mapped_column(Integer)  # approximate number of people concerned
    consequences: Mapped[str] = mapped_column(Text, default="")  # likely consequences
    measures: Mapped[str] = mapped_column(Text, default="")  # measures taken or proposed
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | contained | closed
    authority_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    authority_reference: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BreachOrganization(Timestamped, Base):
    """A business (controller) affected by a breach, how many of its contacts, and the notice written to it:
    drafted from a template, reviewed by the operator, then sent through the mail outbox (`email_id`)."""

    __tablename__ = "breach_organizations"
    __table_args__ = (UniqueConstraint("breach_id", "org_id", name="uq_breach_organizations"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    breach_id: Mapped[str] = mapped_column(String(40), ForeignKey("breaches.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    contacts_affected: Mapped[int | None] = mapped_column(Integer)
    notice_language: Mapped[str] = mapped_column(String(8), default="en")
    notice_subject: Mapped[str] = mapped_column(String(250), default="")
    notice_body: Mapped[str] = mapped_column(Text, default="")
    notice_status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | sent
    notice_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    email_id: Mapped[str | None] = mapped_column(String(40))  # the outbox row (integrations.mail_models.Email)
