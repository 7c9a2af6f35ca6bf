"""Usage metering: customers' messages per organization per calendar month (UTC), counted exactly once each, even
from many threads and processes — one atomic upsert (`INSERT … ON CONFLICT DO UPDATE SET messages = messages + 1
RETURNING messages`) on PostgreSQL and SQLite alike. The count that reaches 80 % or 100 % of the plan's messages
claims that warning with a conditional UPDATE, so the owners are told once a month; from 100 % on the agent
answers with the over-quota reply (`quota.py`). Also the live counts of the other limits (agents, seats…) and
`require_room`, which refuses an addition past the plan's limit."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.billing.models import UsageCounter
from jasping.billing.plans import LIMITS, enabled
from jasping.billing.state import standing
from jasping.channels.models import ChannelConnection
from jasping.db import after_commit, session_scope
from jasping.errors import DomainError
from jasping.knowledge.models import Document
from jasping.tenancy.models import Membership, Organization

log = logging.getLogger(__name__)
WARNINGS = ((100, "warned_100_at"), (80, "warned_80_at"))  # highest first: reaching 100 % at once skips 80 %
NOT_METERED = ("playground",)  # the team trying its agent in the dashboard


def month_of(now: datetime | None = None) -> str:
    return (now or clock.now()).strftime("%Y-%m")


def increment(session: Session, org_id: str, month: str) -> int:
    """Add one message to `org_id`'s counter of `month` (created on first use) and return the new count."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(UsageCounter)
        .values(org_id=org_id, month=month, messages=1)
        .on_conflict_do_update(
            index_elements=[UsageCounter.org_id, UsageCounter.month],
            set_={"messages": UsageCounter.messages + 1},
        )
        .returning(UsageCounter.messages)
    )
    return session.execute(stmt).scalar_one()


def count_message(org_id: str, channel: str | None = None) -> int | None:
    """Count one customer message of `org_id` (in its own short transaction) and send the warnings it crosses;
    returns the month's count, or None when billing is off or the channel is not metered."""
    if not enabled() or channel in NOT_METERED:
        return None
    month = month_of()
    with session_scope(org_id, write=False) as r:  # the plan is read first, outside the write lock
        limit = standing(r, org_id).plan.messages
    for attempt in range(1, 4):
        try:
            with session_scope(org_id) as s:
                count = increment(s, org_id, month)
                _warn(s, org_id, month, count, limit)
            return count
        except OperationalError as exc:  # SQLite: the write lock not had within busy_timeout; nothing was counted
            if attempt == 3 or "locked" not in str(exc):
                raise
            log.warning("usage: the database was busy; counting a message of %s again", org_id)
    return None


def meter(org_id: str, channel: str | None = None) -> None:
    """`count_message` after a customer's message is stored: a failure to count is logged, never the customer's."""
    try:
        count_message(org_id, channel)
    except Exception:  # noqa: BLE001 - the message is stored and answered; one uncounted message is the cost
        log.exception("usage: a message of %s was not counted", org_id)


def _warn(session: Session, org_id: str, month: str, count: int, limit: int | None) -> None:
    if limit is None:
        return
    for level, column in WARNINGS:
        if count * 100 < level * limit:
            continue
        pending = [c for lv, c in WARNINGS if lv <= level]
        claimed = session.execute(
            update(UsageCounter)
            .where(UsageCounter.org_id == org_id, UsageCounter.month == month, getattr(UsageCounter, column).is_(None))
            .values({c: clock.now() for c in pending})
        ).rowcount
        if claimed:
            after_commit(session, lambda lv=level: _queue_warning(org_id, month, lv))
        return


def _queue_warning(org_id: str, month: str, level: int) -> None:
    from jasping.billing.mail import send_quota_warning

    send_quota_warning(org_id, month, level)


def messages_this_month(session: Session, org_id: str, month: str | None = None) -> int:
    return (
        session.execute(
            select(UsageCounter.messages).where(
                UsageCounter.org_id == org_id, UsageCounter.month == (month or month_of())
            )
        ).scalar()
        or 0
    )


def over_quota(session: Session, org_id: str) -> bool:
    """Whether `org_id`'s customers have used up this month's messages (never when billing is off)."""
    if not enabled():
        return False
    limit = standing(session, org_id).plan.messages
    return limit is not None and messages_this_month(session, org_id) >= limit


def count_of(session: Session, org_id: str, name: str) -> int:
    """What the organization uses now of one limit of the plans (`plans.LIMITS`)."""
    queries = {
        "agents": select(func.count()).select_from(Agent).where(Agent.org_id == org_id),
        "channels": select(func.count())
        .select_from(ChannelConnection)
        .where(ChannelConnection.org_id == org_id, ChannelConnection.active.is_(True)),
        "seats": select(func.count()).select_from(Membership).where(Membership.org_id == org_id),
        "knowledge_chars": select(func.sum(Document.chars)).where(Document.org_id == org_id),
    }
    if name == "messages":
        return messages_this_month(session, org_id)
    return session.execute(queries[name]).scalar() or 0


def counts(session: Session, org_id: str) -> dict[str, int]:
    """What the organization uses now, per limit of the plans."""
    return {name: count_of(session, org_id, name) for name in LIMITS}


class PlanLimit(DomainError):
    """The plan in force allows no more of something (an agent, a number…)."""

    status, code = 402, "plan_limit"


NOUNS = {
    "agents": ("agent", "agents"),
    "channels": ("WhatsApp or phone number", "WhatsApp or phone numbers"),
    "seats": ("member", "members"),
    "knowledge_chars": ("character of knowledge", "characters of knowledge"),
}


def refusal(plan_name: str, name: str, limit: int, used: int) -> str:
    """Why a plan refuses more of `name`, and what to do about it."""
    noun = NOUNS.get(name, (name, name))[limit != 1]
    left = f" ({max(0, limit - used)} left)" if name == "knowledge_chars" else ""
    return (
        f"the {plan_name} plan allows {limit} {noun}{left}: choose a larger plan on the Billing page "
        "(POST /api/v1/billing/checkout)"
    )


def require_room(session: Session, org_id: str | None, name: str, adding: int = 1, *, replacing: int = 0) -> None:
    """Refuse (402 `plan_limit`) to add `adding` more of `name` past the plan's limit (`replacing`: what the addition
    takes the place of, such as a source's text read again); nothing when billing is off. What is there already is
    never taken away: over the limit (after a downgrade) only additions are refused. The organization's row is locked
    first (PostgreSQL), so two additions at once cannot both take the last room."""
    if not enabled() or org_id is None:
        return
    plan = standing(session, org_id).plan
    limit = plan.limit(name)
    if limit is None:
        return
    session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update())
    used = count_of(session, org_id, name) - replacing
    if used + adding > limit:
        raise PlanLimit(refusal(plan.name, name, limit, used))
