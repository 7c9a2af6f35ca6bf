"""The table of file copies: a customer's file on its way to (or in) a connected Google Drive folder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.db import Base, TenantScoped, UtcDateTime


class FileCopy(TenantScoped, Base):
    """One conversation file copied into one integration's Drive folder. Queued in the transaction that saves the
    file; sent by a job. `failed` waits for its retry at `next_attempt_at`, `dead` gave up (the file itself is safe
    in the file store). `remote_id` is Drive's id of the copy, kept so erasure can delete it there too."""

    __tablename__ = "file_copies"
    __table_args__ = (
        UniqueConstraint("file_id", "integration_id", name="uq_file_copies_file_integration"),
        Index("ix_file_copies_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    file_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("conversation_files.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | copied | failed | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    copied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(200))
