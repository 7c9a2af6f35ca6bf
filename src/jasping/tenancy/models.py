"""Tables of tenancy: organizations, users, memberships, API keys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import PLATFORM, EncryptedText
from jasping.db import Base, TenantScoped, Timestamped, UtcDateTime


class Role(enum.StrEnum):
    """What a member may do; each role includes the ones below it."""

    owner = "owner"
    admin = "admin"
    agent = "agent"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "agent": 1, "admin": 2, "owner": 3}[self.value]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class Organization(Timestamped, Base):
    """A business using JasPing: the tenant that owns agents, knowledge and conversations."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    contact_email: Mapped[str | None] = mapped_column(EncryptedText)
    contact_phone: Mapped[str | None] = mapped_column(EncryptedText)
    # How long conversations are kept, when the business chose shorter than the default 12 months (privacy.retention)
    conversation_retention_days: Mapped[int | None] = mapped_column(Integer)

    @property
    def crypto_scope(self) -> str:
        return self.id


class User(Timestamped, Base):
    """A person who logs in to the dashboard (account data; JasPing is its controller)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(EncryptedText)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(EncryptedText)
    password_hash: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    crypto_scope = PLATFORM


class Membership(TenantScoped, Base):
    """A user's role in one organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.viewer.value)


class ApiKey(TenantScoped, Base):
    """A secret for scripts, scoped to one organization; only its hash and prefix are stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(24), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default=Role.admin.value)
    created_by: Mapped[str | None] = mapped_column(String(40))
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
