"""The daily roll-up behind the analytics: per organization, local day, agent and channel, the conversations that
started and how many were handed off (`analytics_days`), and the reply-time histogram with the declines
(`analytics_reply_times`). A report reads at most a few thousand of these rows instead of the period's conversations
and replies; what depends on the clock (whether a conversation has ended) is counted live, over the conversations
active in the last `IDLE_HOURS` only (`service.py`).

Kept current by `refresh`, called before every report: the days touched since the last refresh are recomputed — the
days on which the conversations with a message (`last_message_at`) or an inbox change (`changed_at`: takeover,
hand-back, close) since then started, and the days of their replies. Everything is rebuilt when there is no roll-up
yet, when the organization's time zone changed, when the application clock went back, when too many conversations
changed at once, or when conversations were deleted (erasure, retention: the organization's count no longer matches).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from jasping import clock
from jasping.analytics.expressions import NO_TIMING, declined, handed_off, reply_ms
from jasping.analytics.models import AnalyticsDay, AnalyticsReplyTime, AnalyticsRollup
from jasping.analytics.periods import Period, day_number, offset_segments
from jasping.conversations.models import Conversation, Message
from jasping.db import session_scope

log = logging.getLogger(__name__)
MARGIN = timedelta(minutes=2)  # a transaction that stamped its rows before the last refresh but committed after it
FULL_ABOVE = 2000  # more changed conversations than this since the last refresh: rebuild everything
FULL = "full"
_EPOCH = date(1970, 1, 1)
C, M = Conversation.__table__, Message.__table__
D, R, R_STATE = AnalyticsDay.__table__, AnalyticsReplyTime.__table__, AnalyticsRollup.__table__


def day_index(day: date) -> int:
    return (day - _EPOCH).days


def _local_day(instant: datetime, tz: ZoneInfo) -> int:
    return day_index(clock.as_utc(instant).astimezone(tz).date())


def _runs(days: set[int]) -> list[tuple[int, int]]:
    """Contiguous runs (first, last) of the day numbers."""
    runs: list[tuple[int, int]] = []
    for d in sorted(days):
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _changed(session: Any, org_id: str, since: datetime) -> list[tuple[str, datetime]]:
    """(id, created_at) of the conversations with a message or an inbox change since `since`."""
    stamps = (C.c.last_message_at, C.c.changed_at)
    found: dict[str, datetime] = {}
    for stamp in stamps:
        q = select(C.c.id, C.c.created_at).where(C.c.org_id == org_id, stamp >= since).limit(FULL_ABOVE + 1)
        found.update((i, at) for i, at in session.execute(q))
    return list(found.items())


def _consistent(session: Any, org_id: str) -> bool:
    """The roll-up counts as many conversations as the organization has (none was deleted since)."""
    counted = session.execute(select(func.coalesce(func.sum(D.c.conversations), 0)).where(D.c.org_id == org_id))
    held = session.execute(select(func.count()).select_from(C).where(C.c.org_id == org_id))
    return counted.scalar_one() == held.scalar_one()


def _plan(session: Any, org_id: str, tz: ZoneInfo, now: datetime) -> set[int] | str | None:
    """The local days to recompute, `FULL`, or None when the roll-up is current."""
    state = session.execute(select(R_STATE.c.timezone, R_STATE.c.refreshed_at).where(R_STATE.c.org_id == org_id))
    state = state.first()
    if state is None or state.timezone != tz.key or now < clock.as_utc(state.refreshed_at) - MARGIN:
        return FULL
    changed = _changed(session, org_id, clock.as_utc(state.refreshed_at) - MARGIN)
    if len(changed) > FULL_ABOVE:
        return FULL
    if not changed:
        return None if _consistent(session, org_id) else set()  # a deletion: the miscounted days, found when writing
    days = {_local_day(created, tz) for _, created in changed}
    ids = [i for i, _ in changed]
    for start in range(0, len(ids), 500):
        q = select(M.c.created_at).where(M.c.conversation_id.in_(ids[start : start + 500]), M.c.role == "assistant")
        days |= {_local_day(at, tz) for at in session.execute(q).scalars()}
    return days


def _build(session: Any, org_id: str, p: Period) -> None:
    """Recompute the rows of the local days of `p`."""
    first, last = day_index(p.first), day_index(p.last)
    for table in (D, R):
        session.execute(delete(table).where(table.c.org_id == org_id, table.c.day.between(first, last)))
    dialect = session.get_bind().dialect.name
    now, handed = clock.now(), handed_off()
    # A day cut by a time-zone transition comes in two segments: its counts are summed here.
    days: defaultdict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    replies: defaultdict[tuple, dict] = defaultdict(lambda: {"replies": 0, "declines": 0, "histogram": Counter()})
    for start, end, offset in offset_segments(p):
        day = day_number(Conversation.created_at, offset, dialect).label("day")
        q = select(day, Conversation.agent_id, Conversation.channel, func.count(), func.sum(case((handed, 1), else_=0)))
        q = q.where(Conversation.org_id == org_id, Conversation.created_at >= start, Conversation.created_at < end)
        for d, agent, channel, n, h in session.execute(q.group_by(day, Conversation.agent_id, Conversation.channel)):
            counts = days[(int(d), agent, channel)]
            counts[0], counts[1] = counts[0] + n, counts[1] + int(h or 0)
        reply_day = day_number(M.c.created_at, offset, dialect).label("day")
        ms = func.coalesce(reply_ms(M, dialect), NO_TIMING).label("ms")
        q = (
            select(reply_day, C.c.agent_id, C.c.channel, ms, func.count(), func.sum(declined(M)))
            .select_from(M.join(C, C.c.id == M.c.conversation_id))
            .where(M.c.org_id == org_id, M.c.role == "assistant", M.c.created_at >= start, M.c.created_at < end)
            .group_by(reply_day, C.c.agent_id, C.c.channel, ms)
        )
        for d, agent, channel, whole, n, dec in session.execute(q):
            row = replies[(int(d), agent, channel)]
            row["replies"], row["declines"] = row["replies"] + n, row["declines"] + int(dec or 0)
            if whole != NO_TIMING:
                row["histogram"][str(int(whole))] += n
    rows = {
        D: [_row(org_id, *k, now) | {"conversations": n, "handoffs": h} for k, (n, h) in days.items()],
        R: [_row(org_id, *k, now) | v | {"histogram": dict(v["histogram"])} for k, v in replies.items()],
    }
    for table, found in rows.items():
        for start in range(0, len(found), 1000):
            session.execute(insert(table), found[start : start + 1000])


def _row(org_id: str, day: int, agent_id: str, channel: str, now: datetime) -> dict:
    return {"org_id": org_id, "day": int(day), "agent_id": agent_id, "channel": channel, "created_at": now}


def _span(session: Any, org_id: str, tz: ZoneInfo) -> Period | None:
    """The local days from the organization's first conversation or reply to its last; None without any."""
    bounds = [
        session.execute(select(func.min(C.c.created_at), func.max(C.c.created_at)).where(C.c.org_id == org_id)).one(),
        session.execute(
            select(func.min(M.c.created_at), func.max(M.c.created_at)).where(
                M.c.org_id == org_id, M.c.role == "assistant"
            )
        ).one(),
    ]
    instants = [clock.as_utc(_instant(x)) for pair in bounds for x in pair if x is not None]
    if not instants:
        return None
    return Period(min(instants).astimezone(tz).date(), max(instants).astimezone(tz).date(), tz)


def _full(session: Any, org_id: str, tz: ZoneInfo) -> None:
    for table in (D, R):
        session.execute(delete(table).where(table.c.org_id == org_id))
    if (p := _span(session, org_id, tz)) is not None:
        _build(session, org_id, p)


def _held_per_day(session: Any, p: Period, column: Any, *where: Any) -> Counter:
    """Rows a local day (counted on the indexes: org/created for conversations, org/role/created for replies)."""
    dialect, counts = session.get_bind().dialect.name, Counter()
    for start, end, offset in offset_segments(p):
        day = day_number(column, offset, dialect).label("day")
        q = select(day, func.count()).where(*where, column >= start, column < end).group_by(day)
        for d, n in session.execute(q):
            counts[int(d)] += n
    return counts


def _miscounted(session: Any, org_id: str, tz: ZoneInfo) -> set[int]:
    """The days whose conversations or replies the roll-up counts differently from the tables (after a deletion)."""
    p, days = _span(session, org_id, tz), set()
    for table, column, held in (
        (D, D.c.conversations, lambda: _held_per_day(session, p, C.c.created_at, C.c.org_id == org_id)),
        (
            R,
            R.c.replies,
            lambda: _held_per_day(session, p, M.c.created_at, M.c.org_id == org_id, M.c.role == "assistant"),
        ),
    ):
        counted = Counter(
            dict(
                session.execute(
                    select(table.c.day, func.sum(column)).where(table.c.org_id == org_id).group_by(table.c.day)
                ).all()
            )
        )
        found = held() if p is not None else Counter()
        days |= {d for d in counted.keys() | found.keys() if counted[d] != found[d]}
    return days


def _instant(value: Any) -> datetime:
    """SQLite answers min()/max() of a date-time column as text."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _apply(session: Any, org_id: str, tz: ZoneInfo, now: datetime, plan: set[int] | str) -> None:
    state = session.execute(select(R_STATE.c.org_id).where(R_STATE.c.org_id == org_id).with_for_update()).first()
    if state is None:
        first_state = {"org_id": org_id, "timezone": tz.key, "refreshed_at": now, "created_at": now}
        session.execute(insert(R_STATE), [first_state])
    if plan != FULL:
        for first, last in _runs(plan):
            _build(session, org_id, Period(_EPOCH + timedelta(days=first), _EPOCH + timedelta(days=last), tz))
        if not _consistent(session, org_id):
            for first, last in _runs(_miscounted(session, org_id, tz)):
                _build(session, org_id, Period(_EPOCH + timedelta(days=first), _EPOCH + timedelta(days=last), tz))
            plan = FULL if not _consistent(session, org_id) else plan
    if plan == FULL:
        _full(session, org_id, tz)
    session.execute(R_STATE.update().where(R_STATE.c.org_id == org_id).values(timezone=tz.key, refreshed_at=now))


def refresh(org_id: str, tz: ZoneInfo) -> bool:
    """Bring the organization's roll-up up to date; False when it could not (the report is then counted live)."""
    now = clock.now()
    try:
        with session_scope(org_id, write=False) as s:
            plan = _plan(s, org_id, tz, now)
        if plan is not None:
            with session_scope(org_id) as s:
                _apply(s, org_id, tz, now, plan)
    except (IntegrityError, DBAPIError) as exc:  # a concurrent first build, a lock held too long
        log.warning("analytics roll-up of %s not refreshed (%s); counted live", org_id, type(exc).__name__)
        return False
    return True


def conversation_rows(session: Any, org_id: str, p: Period, agent_id: str | None, channel: str | None) -> list:
    """(day number, channel, conversations, handoffs) of the period's days."""
    q = select(D.c.day, D.c.channel, func.sum(D.c.conversations), func.sum(D.c.handoffs)).where(
        D.c.org_id == org_id, D.c.day.between(day_index(p.first), day_index(p.last))
    )
    q = q.where(D.c.agent_id == agent_id) if agent_id else q
    q = q.where(D.c.channel == channel) if channel else q
    return session.execute(q.group_by(D.c.day, D.c.channel)).all()


def reply_rows(session: Any, org_id: str, p: Period, agent_id: str | None, channel: str | None) -> list:
    """(ms, replies, declines) of the period's days as `service.replies` counts them: the timed replies by whole ms,
    ascending, then the declines (and the replies without a time) under `NO_TIMING`."""
    q = select(R.c.replies, R.c.declines, R.c.histogram).where(
        R.c.org_id == org_id, R.c.day.between(day_index(p.first), day_index(p.last))
    )
    q = q.where(R.c.agent_id == agent_id) if agent_id else q
    q = q.where(R.c.channel == channel) if channel else q
    histogram: Counter = Counter()
    untimed = declines = 0
    for replies, declined_here, times in session.execute(q):
        histogram.update(times)
        untimed, declines = untimed + replies - sum(times.values()), declines + declined_here
    return [(int(ms), n, 0) for ms, n in sorted(histogram.items(), key=lambda kv: int(kv[0]))] + [
        (NO_TIMING, untimed, declines)
    ]
