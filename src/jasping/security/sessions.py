"""Server-side login sessions: the cookie holds a random token, the database its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from jasping import clock
from jasping.config import get_settings
from jasping.db import Base, UtcDateTime

COOKIE = "jasping_session"


class LoginSession(Base):
    """A logged-in browser (or API client using the cookie)."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("organizations.id", ondelete="SET NULL"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, *, user_id: str, org_id: str | None) -> tuple[str, LoginSession]:
    """A new login session; returns the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=_hash(token),
        user_id=user_id,
        org_id=org_id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=clock.now() + timedelta(days=get_settings().session_days),
    )
    session.add(row)
    session.flush()
    return token, row


def lookup(session: Session, token: str | None) -> LoginSession | None:
    """The live session for a cookie token, or None."""
    if not token or len(token) > 200:
        return None
    row = session.get(LoginSession, _hash(token))
    if row is None or row.expires_at <= clock.now():
        return None
    return row


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def end_all_for_user(session: Session, user_id: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def purge_expired(session: Session) -> int:
    """Delete sessions that expired before now; returns how many."""
    ids = session.execute(select(LoginSession.token_hash).where(LoginSession.expires_at <= clock.now())).scalars().all()
    if ids:
        session.execute(delete(LoginSession).where(LoginSession.token_hash.in_(ids)))
    return len(ids)
