"""Tables of account rights: deletion requests (the 30-day soft delete) and a user's marketing consent history.

Both are platform tables (JasPing is the controller of account data); their rows go with the user's row when the
account is erased (foreign keys with ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.db import Base, UtcDateTime


class AccountDeletion(Base):
    """A user's request to delete their account: login is refused from `requested_at`, the account is erased once
    `erase_after` has passed unless it was restored (`restored_at`) through the emailed link."""

    __tablename__ = "account_deletions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    erase_after: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    restored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    request_id: Mapped[str | None] = mapped_column(String(40))  # the tracked erasure request (privacy.requests)


class AccountConsent(Base):
    """One consent decision of a user (granted or withdrawn), never updated: the history is the rows in order."""

    __tablename__ = "account_consents"
    __table_args__ = (Index("ix_account_consents_user_purpose", "user_id", "purpose", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))  # marketing_email
    granted: Mapped[bool] = mapped_column(Boolean)
    notice_version: Mapped[str] = mapped_column(String(40))  # which wording of the notice the person saw
    method: Mapped[str] = mapped_column(String(16))  # api | dashboard | registration
    ip_hash: Mapped[str | None] = mapped_column(String(64))  # a keyed hash, never the address
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
