"""Server-side login sessions: the cookie holds a random token, the database its SHA-256.

A session ends after `session_idle_minutes` without a request (idle timeout) and `session_absolute_hours` after
log-in whatever happens (absolute timeout). Logging in always starts a new session with a new token and ends the
one the browser held (rotation), so a token planted before log-in is worth nothing after it. `auth_at` is when the
person last proved who they are (password or second factor): sensitive actions need it recent (step-up).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from jasping import clock
from jasping.config import get_settings
from jasping.db import Base, UtcDateTime, get_engine, new_id

COOKIE = "jasping_session"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


class LoginSession(Base):
    """A logged-in browser (or API client using the cookie)."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("ses"))
    user_id: Mapped[str] = mapped_column(String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("organizations.id", ondelete="SET NULL"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the absolute timeout
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    auth_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ip_prefix: Mapped[str | None] = mapped_column(String(64))  # the network, never the address: /24 or /48


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ip_prefix(ip: str | None) -> str | None:
    """The client's network, enough to recognise a session, not to identify a household: IPv4 /24, IPv6 /48."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def idle_limit() -> timedelta:
    return timedelta(minutes=get_settings().session_idle_minutes)


def absolute_limit() -> timedelta:
    return timedelta(hours=get_settings().session_absolute_hours)


def start(
    session: Session,
    *,
    user_id: str,
    org_id: str | None,
    user_agent: str | None = None,
    ip: str | None = None,
    replaces: str | None = None,
) -> tuple[str, LoginSession]:
    """A new login session (ending the `replaces` token's one); returns the cookie token (shown once) and the row."""
    end(session, replaces)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=_hash(token),
        id=new_id("ses"),
        user_id=user_id,
        org_id=org_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        last_seen_at=now,
        auth_at=now,
        expires_at=now + absolute_limit(),
        user_agent=(user_agent or "")[:200] or None,
        ip_prefix=ip_prefix(ip),
    )
    session.add(row)
    session.flush()
    return token, row


def is_live(row: LoginSession, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return row.expires_at > now and now - row.last_seen_at <= idle_limit()


def lookup(session: Session, token: str | None) -> LoginSession | None:
    """The live session for a cookie token (not past its idle or absolute timeout), or None."""
    if not token or len(token) > 200:
        return None
    row = session.get(LoginSession, _hash(token))
    if row is None or not is_live(row):
        return None
    return row


def touch(session: Session, row: LoginSession, *, writing: bool) -> None:
    """Record that the session was used now (at most once a minute), which keeps it from idling out."""
    now = clock.now()
    if now - row.last_seen_at < TOUCH_EVERY:
        return
    stmt = update(LoginSession).where(LoginSession.token_hash == row.token_hash).values(last_seen_at=now)
    if writing:
        session.execute(stmt)  # this request already holds the write transaction
    else:
        with get_engine().begin() as conn:  # a short write of its own: reads stay reads
            conn.execute(stmt)
    set_committed_value(row, "last_seen_at", now)  # written above: nothing left for the session to flush


def recently_authenticated(row: LoginSession | None) -> bool:
    """Whether the person entered their password or a second-factor code within `step_up_minutes`."""
    if row is None:
        return False
    return clock.now() - row.auth_at <= timedelta(minutes=get_settings().step_up_minutes)


def mark_authenticated(session: Session, row: LoginSession) -> None:
    """The person just proved who they are again (step-up)."""
    now = clock.now()
    session.execute(update(LoginSession).where(LoginSession.token_hash == row.token_hash).values(auth_at=now))
    set_committed_value(row, "auth_at", now)


def list_for_user(session: Session, user_id: str) -> list[LoginSession]:
    """The user's live sessions, the most recently used first."""
    rows = session.execute(
        select(LoginSession).where(LoginSession.user_id == user_id).order_by(LoginSession.last_seen_at.desc())
    ).scalars()
    now = clock.now()
    return [r for r in rows if is_live(r, now)]


def revoke(session: Session, *, user_id: str, session_id: str) -> LoginSession | None:
    """End one of the user's sessions by its public id; None when the user has no such session."""
    row = session.execute(
        select(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user_id)
    ).scalar()
    if row is not None:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == row.token_hash))
    return row


def end(session: Session, token: str | None) -> None:
    if token and len(token) <= 200:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def end_all_for_user(session: Session, user_id: str, *, keep_hash: str | None = None) -> int:
    """End every session of the user (but the one whose token hash is `keep_hash`); returns how many ended."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_hash:
        stmt = stmt.where(LoginSession.token_hash != keep_hash)
    return session.execute(stmt).rowcount or 0


def purge_expired(session: Session) -> int:
    """Delete sessions that expired before now; returns how many."""
    ids = session.execute(select(LoginSession.token_hash).where(LoginSession.expires_at <= clock.now())).scalars().all()
    if ids:
        session.execute(delete(LoginSession).where(LoginSession.token_hash.in_(ids)))
    return len(ids)
