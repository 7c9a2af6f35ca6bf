"""The append-only, hash-chained audit log of security and access events.

Each row's hash is an HMAC (under a key only the master key unlocks) of its content and the
previous row's hash, so editing or removing a row breaks the chain from that row on, and someone
with write access to the database alone cannot forge a consistent chain. Rows name people by
id and keep IPs as keyed hashes, so an erasure never rewrites the chain. Appends are serialized
(a PostgreSQL advisory lock; SQLite write transactions are already exclusive)
and `seq` is unique, so the chain cannot fork.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from jasping import clock
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import Base, UtcDateTime

GENESIS = "0" * 64
_PG_LOCK = 7_310_001


class AuditEvent(Base):
    """One security or access event. Never updated; retention drops the oldest rows only."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(40))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """Where the chain starts after retention dropped older rows: the last dropped row's hash."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, an API key, the system, or a website visitor."""

    type: str
    id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


def _digest(e: AuditEvent) -> str:
    at = e.at.astimezone(UTC).isoformat(timespec="microseconds")
    body = [
        e.seq,
        at,
        e.org_id,
        e.actor_type,
        e.actor_id,
        e.action,
        e.object_type,
        e.object_id,
        e.ip_hash,
        e.detail,
        e.prev_hash,
    ]
    return get_keyring().mac(PLATFORM, json.dumps(body, separators=(",", ":")), purpose="audit chain")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    org_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction (it commits or rolls back with the change)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    if last is None:
        cp = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()
        seq, prev = (cp.last_seq + 1, cp.last_hash) if cp else (1, GENESIS)
    else:
        seq, prev = last.seq + 1, last.hash
    event = AuditEvent(
        seq=seq,
        at=clock.now(),
        org_id=org_id,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip_hash=get_keyring().blind_index(PLATFORM, actor.ip) if actor.ip else None,
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
        prev_hash=prev,
    )
    event.hash = _digest(event)
    session.add(event)
    session.flush()
    return event


@dataclass
class Verification:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain; report the first row that was edited, removed or inserted out of order."""
    cp = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()
    expected_seq, prev = (cp.last_seq + 1, cp.last_hash) if cp else (1, GENESIS)
    checked = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return Verification(True, checked)
        for row in rows:
            if row.seq != expected_seq:
                return Verification(False, checked, f"row {expected_seq} is missing (next is {row.seq})", expected_seq)
            if row.prev_hash != prev:
                return Verification(False, checked, f"row {row.seq} does not follow row {row.seq - 1}", row.seq)
            if _digest(row) != row.hash:
                return Verification(False, checked, f"row {row.seq} was altered", row.seq)
            prev, expected_seq, checked = row.hash, row.seq + 1, checked + 1
        session.expunge_all()
