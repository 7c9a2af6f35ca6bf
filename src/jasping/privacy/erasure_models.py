"""Tables of contact erasures: the record of one erasure (what was removed, what could not be) and its remote
deletions (stored files, sheet rows, Drive files, calendar events), each retried by a job until done or given up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.db import Base, TenantScoped, UtcDateTime


class ContactErasure(TenantScoped, Base):
    """One erased contact: the rows deleted per table (`removed`), the copies elsewhere still to delete or that
    could not be (`not_removed`). Holds counts and references only, never the erased data: `contact_id` is the
    random id of a contact that no longer exists. `state`: running (remote deletions pending) → done, or partial
    when some copy could not be deleted."""

    __tablename__ = "contact_erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done | partial
    removed: Mapped[dict] = mapped_column(JSON, default=dict)  # table -> rows deleted; data keys shredded
    not_removed: Mapped[list] = mapped_column(JSON, default=list)  # [{kind, integration_id, reason}]
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ErasureTask(TenantScoped, Base):
    """One copy to delete outside the database: a stored file, a sheet row we appended, a Drive file we uploaded, a
    calendar event we created. `state`: queued → sending (leased) → done; failed waits for its retry; dead gave up."""

    __tablename__ = "erasure_tasks"
    __table_args__ = (Index("ix_erasure_tasks_state_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("contact_erasures.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # stored_file | sheet_row | drive_file | calendar_event
    integration_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    ref: Mapped[str] = mapped_column(String(1000))  # storage reference, A1 range, Drive id or event URL/id
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
