"""Retry bookkeeping shared by the outboxes (channel deliveries, lead syncs): a row is leased while it is sent, tried
again after a growing pause, given up after the last try, and queued again by a sweep when a worker died with it.

A row of an outbox has `state`, `attempts` and `next_attempt_at`. "sending" rows hold a lease until
`next_attempt_at`; waiting rows (the outbox says which states wait: "queued", a lead sync's "failed") are due at it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.db import after_commit, unscoped

BACKOFF = (5, 30, 120, 600, 1800)  # seconds before the 2nd, 3rd… attempt; after the last, given up
QUEUED_GRACE = timedelta(seconds=30)  # a waiting row not taken by its job within this is queued again
EARLY = timedelta(seconds=1)  # a job may run this much before its row is due


def lease() -> timedelta:
    """How long a send may take before the row is taken to be lost with its worker and sent again."""
    return timedelta(seconds=get_settings().delivery_lease_seconds)


def claim(row: Any, now: datetime, waiting: tuple[str, ...] = ("queued",)) -> str | None:
    """Lease `row` for one attempt (state "sending", one more attempt, due again when the lease ends); None when it
    was claimed, else why not: its state, "sending" while another worker holds the lease, or a waiting state when it
    is not due yet (an early copy of a scheduled retry)."""
    if row.state not in (*waiting, "sending"):
        return row.state
    due = clock.as_utc(row.next_attempt_at)
    if row.state == "sending" and due > now:
        return "sending"
    if row.state != "sending" and due > now + EARLY:
        return row.state
    row.state, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, now + lease()
    return None


def retry_delay(attempts: int, backoff: tuple[int, ...] = BACKOFF) -> int | None:
    """Seconds to wait before trying again after `attempts` failed tries; None when that was the last try."""
    return backoff[attempts - 1] if 1 <= attempts <= len(backoff) else None


def stale(
    session: Session, model: type, *, waiting: tuple[str, ...] = ("queued",), limit: int = 500
) -> list[tuple[str, str]]:
    """Rows of every organization that no job holds: waiting past their time (by `QUEUED_GRACE`) or leased too long.
    They are marked "queued", due now; returns their (org_id, id) for the caller to enqueue after commit."""
    now = clock.now()
    with unscoped(session):
        rows = list(
            session.execute(
                select(model)
                .where(
                    or_(
                        and_(model.state == "sending", model.next_attempt_at <= now),  # the lease ran out
                        and_(model.state.in_(waiting), model.next_attempt_at <= now - QUEUED_GRACE),
                    )
                )
                .limit(limit)
            ).scalars()
        )
        for row in rows:
            row.state, row.next_attempt_at = "queued", now
        session.flush()
        return [(r.org_id, r.id) for r in rows]


def requeue_dead(session: Session, row: Any, enqueue: Callable[[str, str], None]) -> None:
    """A dead row queued again ("send again"), from the first try of the backoff, sent once this commits; a row
    that is not dead is left as it is."""
    if row.state == "dead":
        row.state, row.attempts, row.next_attempt_at = "queued", 0, clock.now()
        org_id, row_id = row.org_id, row.id
        after_commit(session, lambda: enqueue(org_id, row_id))
