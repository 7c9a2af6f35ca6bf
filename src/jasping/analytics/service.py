"""The organization's figures over a period, counted in SQL (conversations, handoffs, automated resolutions, leads,
bookings, reply latency); only the sampled questions' texts are read (`questions.py`).

Definitions (docs/analytics.md):
- a conversation belongs to the local day (organization's time zone) it started on;
- *handed off*: a person was asked for or stepped in — `needs_human`, a status of `HANDOFF_STATUSES`, or a message
  written by a teammate (`role="human"`);
- *resolved automatically*: not handed off, and closed or ended (no message for `IDLE_HOURS`);
- *conversion*: leads created in the period / conversations started in it;
- *latency*: the agent's reply time (`meta.total_ms` of its replies: the customer's message received → reply stored),
  whole milliseconds, nearest-rank percentiles;
- *CSAT*: the ratings (1–5) customers gave after a conversation was closed (`csat_ratings`), by the day they gave
  them; *resolution labels*: the label given on closing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.analytics import questions, rollup
from jasping.analytics.expressions import CLOSED_STATUSES, NO_TIMING, declined, handed_off, reply_ms
from jasping.analytics.periods import Period, day_number, day_of, offset_segments
from jasping.conversations.inbox_models import CsatRating
from jasping.conversations.models import Conversation, Message
from jasping.db import session_scope
from jasping.errors import NotFound
from jasping.leads.models import Lead
from jasping.scheduling.models import Appointment

IDLE_HOURS = 24
CHANNELS = ("web", "whatsapp", "sms", "voice")


@dataclass
class Filters:
    agent_id: str | None = None
    channel: str | None = None


@dataclass
class Report:
    period: Period
    filters: Filters
    daily: dict[date, dict[str, Any]]
    by_channel: Counter
    handoffs: int
    resolved: int
    leads: int
    leads_by_kind: Counter
    bookings: int
    bookings_cancelled: int
    latency: dict[str, Any]
    csat: dict[str, Any]
    resolutions: dict[str, int]
    top_questions: list[dict[str, Any]] = field(default_factory=list)
    unanswered: dict[str, Any] = field(default_factory=dict)

    @property
    def conversations(self) -> int:
        return sum(self.by_channel.values())


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _scoped(query: Any, model: Any, org_id: str, filters: Filters, *, via_conversation: bool) -> Any:
    query = query.where(model.org_id == org_id)
    if filters.agent_id:
        query = query.where(model.agent_id == filters.agent_id)
    if filters.channel:
        if via_conversation:
            query = query.join(Conversation, Conversation.id == model.conversation_id)
        query = query.where(Conversation.channel == filters.channel)
    return query


def _empty_day(channels: list[str]) -> dict[str, Any]:
    return {
        "conversations": 0,
        "by_channel": dict.fromkeys(channels, 0),
        "handoffs": 0,
        "automated_resolutions": 0,
        "leads": 0,
        "bookings": 0,
        "csat_answers": 0,
        "csat_total": 0,
    }


def _per_day(session: Session, p: Period, column: Any, query_for: Any) -> list[tuple]:
    """Rows of `query_for(day_expression)` over each constant-offset piece of the period."""
    dialect = session.get_bind().dialect.name
    rows: list[tuple] = []
    for start, end, offset in offset_segments(p):
        day = day_number(column, offset, dialect).label("day")
        rows += session.execute(query_for(day).where(column >= start, column < end).group_by(day)).all()
    return rows


def _conversation_rows(session: Session, org_id: str, p: Period, f: Filters) -> list[tuple]:
    idle_since = clock.now() - timedelta(hours=IDLE_HOURS)
    handed = handed_off()
    ended = or_(Conversation.status.in_(CLOSED_STATUSES), Conversation.last_message_at < idle_since)
    resolved = and_(~handed, ended)

    def query(day: Any) -> Any:
        q = select(
            day,
            Conversation.channel,
            func.count(),
            func.sum(case((handed, 1), else_=0)),
            func.sum(case((resolved, 1), else_=0)),
        ).group_by(Conversation.channel)
        q = q.where(Conversation.last_message_at >= p.start)  # always true: lets the org/last-message index serve
        return _scoped(q, Conversation, org_id, f, via_conversation=False)

    return _per_day(session, p, Conversation.created_at, query)


def _still_going(session: Session, org_id: str, p: Period, f: Filters) -> dict[tuple[int, str], int]:
    """Conversations of the period neither handed off, closed nor ended, by local day and channel: only those active
    in the last `IDLE_HOURS` are read (the org/last-message index; the period is applied here, as a condition on
    `created_at` would lead the planner to scan the period), so this part of a roll-up report is counted live."""
    idle_since = clock.now() - timedelta(hours=IDLE_HOURS)
    q = select(Conversation.created_at, Conversation.channel).where(
        Conversation.last_message_at >= idle_since, Conversation.status.notin_(CLOSED_STATUSES), ~handed_off()
    )
    going: Counter = Counter()
    for created, channel in session.execute(_scoped(q, Conversation, org_id, f, via_conversation=False)):
        if p.start <= created < p.end:
            going[(rollup.day_index(created.astimezone(p.tz).date()), channel)] += 1
    return going


def _rolled_up(org_id: str, p: Period, f: Filters) -> tuple[list[tuple], list[tuple]] | None:
    """The conversation rows (as `_conversation_rows`) and the reply histogram rows (as `replies` reads them) from
    the roll-up, refreshed first and read in a session that sees the refresh; None when it could not be refreshed."""
    if not rollup.refresh(org_id, p.tz):
        return None
    with session_scope(org_id, write=False) as s:
        going = _still_going(s, org_id, p, f)
        conv = [
            (day, channel, n, h, n - h - going.get((day, channel), 0))
            for day, channel, n, h in rollup.conversation_rows(s, org_id, p, f.agent_id, f.channel)
        ]
        return conv, rollup.reply_rows(s, org_id, p, f.agent_id, f.channel)


def _count_rows(session: Session, org_id: str, p: Period, f: Filters, model: Any, kind: Any) -> list[tuple]:
    def query(day: Any) -> Any:
        q = select(day, kind, func.count()).group_by(kind)
        return _scoped(q, model, org_id, f, via_conversation=True)

    return _per_day(session, p, model.created_at, query)


def replies(session: Session, org_id: str, p: Period, f: Filters) -> tuple[dict[str, Any], int]:
    """One pass over the agent's replies in the period: the reply-time histogram (whole milliseconds, counted in SQL)
    as p50/p95, and the number of declines (`meta.intent == "unknown"`)."""
    dialect = session.get_bind().dialect.name
    m = Message.__table__  # driven from the conversations active in the period (their org/last-message index)
    q = (
        select(reply_ms(m, dialect).label("ms"), func.count(), func.sum(declined(m)))
        .select_from(Conversation)
        .join(m, m.c.conversation_id == Conversation.id)
        .where(Conversation.org_id == org_id, Conversation.last_message_at >= p.start)
        .where(m.c.role == "assistant", m.c.created_at >= p.start, m.c.created_at < p.end)
        .group_by("ms")
        .order_by("ms")
    )
    if f.agent_id:
        q = q.where(Conversation.agent_id == f.agent_id)
    if f.channel:
        q = q.where(Conversation.channel == f.channel)
    return reply_timing(session.execute(q).all())


def reply_timing(rows: list[tuple]) -> tuple[dict[str, Any], int]:
    """(ms, replies, declines) rows, ms ascending, as the timing figures and the number of declines."""
    histogram = [(int(ms), n) for ms, n, _ in rows if ms is not None and ms != NO_TIMING]
    timing = {"replies": sum(n for _, n in histogram), **percentiles(histogram, (50, 95))}
    return timing, sum(int(d or 0) for *_, d in rows)


def percentiles(histogram: list[tuple[int, int]], qs: tuple[int, ...]) -> dict[str, int | None]:
    """Nearest-rank percentiles of sorted (value, count) pairs: the smallest value with rank ≥ ceil(q/100 · n)."""
    n = sum(count for _, count in histogram)
    out: dict[str, int | None] = {}
    for q in qs:
        if not n:
            out[f"p{q}"] = None
            continue
        rank, seen = max(1, math.ceil(q / 100 * n)), 0
        for value, count in histogram:
            seen += count
            if seen >= rank:
                out[f"p{q}"] = value
                break
    return out


def _average(total: int, answers: int) -> float | None:
    return round(total / answers, 2) if answers else None


def csat(session: Session, org_id: str, p: Period, f: Filters, daily: dict[date, dict[str, Any]]) -> dict[str, Any]:
    """The customers' ratings (1–5) given in the period: count and average, by channel, and each day's into `daily`."""

    def query(day: Any) -> Any:
        q = select(day, CsatRating.channel, func.count(), func.sum(CsatRating.rating)).group_by(CsatRating.channel)
        q = q.where(CsatRating.org_id == org_id)
        q = q.where(CsatRating.agent_id == f.agent_id) if f.agent_id else q
        return q.where(CsatRating.channel == f.channel) if f.channel else q

    by_channel: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for number, channel, answers, total in _per_day(session, p, CsatRating.created_at, query):
        row = daily[day_of(number)]
        row["csat_answers"] += answers
        row["csat_total"] += int(total)
        by_channel[channel][0] += answers
        by_channel[channel][1] += int(total)
    for row in daily.values():
        row["csat_average"] = _average(row.pop("csat_total"), row["csat_answers"])
    answers, total = sum(a for a, _ in by_channel.values()), sum(t for _, t in by_channel.values())
    return {
        "answers": answers,
        "average": _average(total, answers),
        "by_channel": {c: {"answers": a, "average": _average(t, a)} for c, (a, t) in sorted(by_channel.items())},
    }


def resolutions(session: Session, org_id: str, p: Period, f: Filters) -> dict[str, int]:
    """The labels given on closing the period's conversations (read through the org/resolution index: only the
    conversations closed with a label)."""
    column = Conversation.resolution
    q = select(column, func.count()).where(
        column.is_not(None), Conversation.created_at >= p.start, Conversation.created_at < p.end
    )
    q = _scoped(q.group_by(column), Conversation, org_id, f, via_conversation=False)
    q = q.with_hint(Conversation, "INDEXED BY ix_conversations_org_resolution", "sqlite")
    return {str(label): n for label, n in session.execute(q).all()}


def check_agent(session: Session, agent_id: str | None) -> None:
    """404 for an agent of another organization (the session is scoped to the caller's)."""
    if agent_id and session.get(Agent, agent_id) is None:
        raise NotFound("no such agent", code="agent_not_found")


def report(
    session: Session, *, org_id: str, period: Period, filters: Filters, sample: int = 300, live: bool = False
) -> Report:
    """The figures of the period; conversations and replies from the daily roll-up unless `live` (both count alike:
    tests/test_analytics_rollup.py)."""
    check_agent(session, filters.agent_id)
    rolled = None if live else _rolled_up(org_id, period, filters)
    if rolled is None:
        conv_rows = _conversation_rows(session, org_id, period, filters)
        timing, declined_total = replies(session, org_id, period, filters)
    else:
        conv_rows, reply_rows = rolled
        timing, declined_total = reply_timing(reply_rows)
    lead_rows = _count_rows(session, org_id, period, filters, Lead, Lead.kind)
    booking_rows = _count_rows(session, org_id, period, filters, Appointment, Appointment.status)
    seen = {channel for _, channel, *_ in conv_rows}
    channels = [c for c in CHANNELS if not filters.channel or c == filters.channel]
    channels += sorted(seen - set(channels))
    daily = {day: _empty_day(channels) for day in period.days}
    by_channel: Counter = Counter(dict.fromkeys(channels, 0))
    handoffs = resolved = 0
    for number, channel, count, handed, auto in conv_rows:
        row = daily[day_of(number)]
        row["conversations"] += count
        row["by_channel"][channel] = row["by_channel"].get(channel, 0) + count
        row["handoffs"] += int(handed or 0)
        row["automated_resolutions"] += int(auto or 0)
        by_channel[channel] += count
        handoffs, resolved = handoffs + int(handed or 0), resolved + int(auto or 0)
    leads_by_kind: Counter = Counter()
    for number, kind, count in lead_rows:
        daily[day_of(number)]["leads"] += count
        leads_by_kind[kind] += count
    bookings_by_status: defaultdict[str, int] = defaultdict(int)
    for number, status, count in booking_rows:
        daily[day_of(number)]["bookings"] += count
        bookings_by_status[status] += count
    found = questions.find(
        session, org_id=org_id, period=period, filters=filters, sample=sample, declined=declined_total
    )
    return Report(
        period=period,
        filters=filters,
        daily=daily,
        by_channel=by_channel,
        handoffs=handoffs,
        resolved=resolved,
        leads=sum(leads_by_kind.values()),
        leads_by_kind=leads_by_kind,
        bookings=sum(bookings_by_status.values()),
        bookings_cancelled=bookings_by_status.get("cancelled", 0),
        latency=timing,
        csat=csat(session, org_id, period, filters, daily),
        resolutions=resolutions(session, org_id, period, filters),
        top_questions=found.top,
        unanswered=found.unanswered,
    )


def as_json(r: Report) -> dict[str, Any]:
    n = r.conversations
    return {
        "from": r.period.first.isoformat(),
        "to": r.period.last.isoformat(),
        "timezone": r.period.tz.key,
        "agent_id": r.filters.agent_id,
        "channel": r.filters.channel,
        "conversations": n,
        "conversations_by_channel": dict(r.by_channel),
        "handoffs": r.handoffs,
        "handoff_rate": _rate(r.handoffs, n),
        "automated_resolutions": r.resolved,
        "automated_resolution_rate": _rate(r.resolved, n),
        "leads": r.leads,
        "leads_by_kind": dict(r.leads_by_kind),
        "lead_conversion_rate": _rate(r.leads, n),
        "bookings": r.bookings,
        "bookings_cancelled": r.bookings_cancelled,
        "latency_ms": r.latency,
        "csat": r.csat,
        "resolutions": r.resolutions,
        "daily": [{"date": day.isoformat(), **row} for day, row in r.daily.items()],
        "top_questions": r.top_questions,
        "unanswered_questions": r.unanswered,
    }
