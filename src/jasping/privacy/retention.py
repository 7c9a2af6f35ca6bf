"""The retention engine: DESIGN's retention table applied by a daily job (`apply_retention` in jobs/tasks.py).

Policy, then service, then a thin job (STYLE 7). The policy is the periods below and one `Rule` per table of the data
map that expires on its own; the service `apply` walks each rule's expired rows in batches (`BATCH` rows, one short
transaction each, keyset-paginated so a row that must wait never blocks the rest), deletes them, and records the counts
per category and table in the audit log: one event for the platform and one per organization that lost rows.
Running it twice deletes nothing more. An organization may shorten the conversation period
(`organizations.conversation_retention_days`), never lengthen it: the engine takes the earlier of the two cutoffs
whatever is stored.

A table of the data map without a rule is listed in `NO_RULE` with the reason; missing both, nothing is deleted and
`tests/test_data_map.py` fails. Stored files are removed before their rows; a file store that is down keeps the row
(counted as `kept`) for the next run, so no file is ever orphaned.
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.db import session_scope
from jasping.security import audit
from jasping.tenancy.models import Organization

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Period:
    """A retention period in calendar months and days (12 months from 15 March is 15 March next year)."""

    months: int = 0
    days: int = 0

    def before(self, instant: datetime) -> datetime:
        """The cutoff: rows older than this, as of `instant`, have outlived the period."""
        year, month = divmod(instant.month - 1 - self.months, 12)
        year, month = instant.year + year, month + 1
        day = min(instant.day, calendar.monthrange(year, month)[1])
        return instant.replace(year=year, month=month, day=day) - timedelta(days=self.days)

    def __str__(self) -> str:
        parts = [f"{self.months} months"] if self.months else []
        return " ".join(parts + ([f"{self.days} days"] if self.days or not parts else []))


# DESIGN's retention table, as enforced (see docs/privacy.md).
CONVERSATION = Period(months=12)  # AI conversation logs: messages, transcripts, attachments
SECURITY_LOG = Period(months=12)
COOKIE_CONSENT = Period(months=6)
MARKETING_CONSENT = Period(months=36)  # from the last consent, or until withdrawn
BILLING = Period(months=120)  # invoices: their rule registers in billing/jobs.py
ACCOUNT_DELETION = Period(days=30)  # soft delete, then erasure: the account-deletion step registers its rule
# Not in DESIGN's table; chosen within its promises.
LEAD = Period(months=12)  # from creation or last update
APPOINTMENT = Period(months=12)  # after the appointment
TRANSPORT = Period(days=30)  # webhook events, deliveries and emails once handled (never beyond CONVERSATION)
REQUEST_ARTEFACTS = Period(days=7)  # exports and other DSAR artefacts: their rules register with `register`

MAX_CONVERSATION_DAYS = 365  # 12 months is never less than 365 days


def enforced(conversation_days: int | None = None) -> list[dict]:
    """The retention table as this engine enforces it (for one organization's conversation period)."""
    conversation = f"{conversation_days} days" if conversation_days else str(CONVERSATION)
    rows = [
        ("account", "account profile", "while the account is active", "—"),
        (
            "account",
            "account after a deletion request (with the organizations it solely owns)",
            f"{ACCOUNT_DELETION} soft delete",
            "erased",
        ),
        ("conversation", "conversations, by last activity", conversation, "erased"),
        ("conversation", "messages and transcripts, from creation", conversation, "erased"),
        ("file", "files customers send, from upload (stored file and row)", conversation, "erased"),
        ("conversation", "webhook events, deliveries, emails once handled", str(TRANSPORT), "erased"),
        ("conversation", "contacts with nothing left, from last seen", conversation, "erased"),
        ("lead", "leads, from creation or last update", str(LEAD), "erased"),
        ("appointment", "appointments, after their end", str(APPOINTMENT), "erased"),
        ("billing", "billing and payment records (invoices), also after the account is erased", str(BILLING), "erased"),
        ("security_log", "audit log", str(SECURITY_LOG), "erased, a checkpoint kept"),
        ("security_log", "login sessions", "until they expire", "erased"),
        (
            "marketing_consent",
            "marketing consent records",
            f"{MARKETING_CONSENT} from last consent, or until withdrawn",
            "erased",
        ),
        ("cookie_consent", "cookie and chat-notice consent records", str(COOKIE_CONSENT), "erased"),
        (
            "export",
            "exports and other request artefacts",
            str(REQUEST_ARTEFACTS),
            "none stored: exports are built on request and streamed",
        ),
        ("rights_request", "data-subject requests, once closed", "3 years", "erased"),
    ]
    return [{"category": c, "data": d, "retention": r, "after": a} for c, d, r, a in rows]


class InvalidRetention(ValueError):
    """A conversation retention an organization may not choose (longer than the default, or under a day)."""


def check_conversation_days(days: int | None) -> int | None:
    """`days` when it is a valid shorter conversation retention (None: the default 12 months)."""
    if days is None:
        return None
    if days < 1:
        raise InvalidRetention("conversation retention is at least 1 day")
    if days > MAX_CONVERSATION_DAYS:
        raise InvalidRetention(
            f"conversations are kept at most 12 months ({MAX_CONVERSATION_DAYS} days), the privacy policy's promise: "
            "an organization may shorten the retention, never lengthen it"
        )
    return days


@dataclass
class Context:
    """What rules see: the time, and the conversation cutoff of each group of organizations."""

    now: datetime
    conversation_groups: list[tuple[datetime, object]] = field(default_factory=list)  # (cutoff, org id select)

    def conversation_expired(self, org_id: ColumnElement, column: ColumnElement) -> ColumnElement[bool]:
        """`column` is older than its organization's conversation retention."""
        if not self.conversation_groups:
            return false()
        return or_(*(and_(org_id.in_(orgs), column < cutoff) for cutoff, orgs in self.conversation_groups))


def conversation_groups(session: Session, now: datetime) -> list[tuple[datetime, object]]:
    """One (cutoff, organizations) pair per distinct conversation retention; never later than the default's."""
    default = CONVERSATION.before(now)
    groups = []
    for days in session.execute(select(Organization.conversation_retention_days).distinct()).scalars():
        column = Organization.conversation_retention_days
        if days is None:
            groups.append((default, select(Organization.id).where(column.is_(None))))
        else:
            groups.append((max(default, now - timedelta(days=days)), select(Organization.id).where(column == days)))
    return groups


@dataclass(frozen=True)
class Rule:
    """Rows of one table that have outlived their period. `before_delete` gets the batch's keys and answers those
    that may go now (removing what lives outside the database, such as stored files)."""

    table: str
    category: str
    model: type
    expired: Callable[[Context], ColumnElement[bool]]
    before_delete: Callable[[Session, list], list] | None = None

    @property
    def key(self):  # noqa: ANN201 - the model's primary key column
        return self.model.__mapper__.primary_key[0]


@dataclass
class Report:
    """What a run deleted: per table (`tables`), per category, per organization; rows kept for a later run."""

    now: datetime
    tables: Counter = field(default_factory=Counter)
    categories: Counter = field(default_factory=Counter)
    by_org: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    kept: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "categories": {k: v for k, v in sorted(self.categories.items()) if v},
            "tables": {k: v for k, v in sorted(self.tables.items()) if v},
            "kept": {k: v for k, v in sorted(self.kept.items()) if v},
        }


RULES: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add a rule (a later privacy step's table: exports, billing records, deleted accounts)."""
    RULES[:] = [r for r in RULES if (r.table, r.category) != (rule.table, rule.category)] + [rule]
    return rule


def _delete_batches(rule: Rule, ctx: Context, report: Report, batch_size: int) -> None:
    key = rule.key
    org_col = getattr(rule.model, "org_id", None)
    last = None
    while True:
        with session_scope() as s:
            query = select(key, org_col if org_col is not None else key).where(rule.expired(ctx))
            if last is not None:
                query = query.where(key > last)
            rows = s.execute(query.order_by(key).limit(batch_size)).all()
            if not rows:
                return
            last = rows[-1][0]
            keys = [r[0] for r in rows]
            allowed = set(rule.before_delete(s, keys) if rule.before_delete else keys)
            if allowed:
                # the condition again: a row that came back to life since the select (a new message) stays
                s.execute(
                    delete(rule.model)
                    .where(key.in_(allowed), rule.expired(ctx))
                    .execution_options(synchronize_session=False)
                )
        gone = [(k, org) for k, org in rows if k in allowed]
        report.tables[rule.table] += len(gone)
        report.categories[rule.category] += len(gone)
        report.kept[rule.table] += len(rows) - len(gone)
        for _, org in gone:
            if org_col is not None and org:
                report.by_org[org][rule.category] += 1
        if len(rows) < batch_size:
            return


def remove_stored_files(session: Session, refs: dict[str, str | None]) -> list[str]:
    """Delete the stored files (`{key: ref}`) and answer the keys whose file is gone; a file store that is down keeps
    its rows for the next run."""
    done = []
    for key, ref in refs.items():
        try:
            storage.delete(ref, strict=True)
        except storage.StorageUnavailable:
            log.warning("retention: the file store is unavailable; %s kept for the next run", key)
            continue
        done.append(key)
    return done


def _audit_retention(ctx: Context, batch_size: int) -> int:
    """Drop audit rows older than SECURITY_LOG from the start of the chain, in batches, each batch leaving a checkpoint
    (the last dropped row's hash) so the rest still verifies."""
    cutoff = SECURITY_LOG.before(ctx.now)
    with session_scope(write=False) as s:
        first_kept = s.execute(select(func.min(audit.AuditEvent.seq)).where(audit.AuditEvent.at >= cutoff)).scalar()
        upto = first_kept - 1 if first_kept is not None else s.execute(select(func.max(audit.AuditEvent.seq))).scalar()
    dropped = 0
    while upto is not None:
        with session_scope() as s:
            rows = s.execute(
                select(audit.AuditEvent.seq, audit.AuditEvent.hash)
                .where(audit.AuditEvent.seq <= upto)
                .order_by(audit.AuditEvent.seq)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            last = rows[-1]
            s.execute(delete(audit.AuditEvent).where(audit.AuditEvent.seq <= last.seq))
            checkpoint = audit.AuditCheckpoint(last_seq=last.seq, last_hash=last.hash, at=ctx.now)
            s.add(checkpoint)
            s.flush()
            s.execute(delete(audit.AuditCheckpoint).where(audit.AuditCheckpoint.id < checkpoint.id))
        dropped += len(rows)
        if len(rows) < batch_size:
            break
    return dropped


def apply(*, now: datetime | None = None, batch_size: int = BATCH) -> Report:
    """Delete everything that has outlived its retention as of `now`, and record the counts in the audit log."""
    from jasping.privacy import retention_rules  # noqa: F401 - registers the rules of the data map's tables

    now = now or clock.now()
    with session_scope(write=False) as s:
        ctx = Context(now, conversation_groups(s, now))
    report = Report(now)
    for rule in list(RULES):
        _delete_batches(rule, ctx, report, batch_size)
    dropped = _audit_retention(ctx, batch_size)
    report.tables["audit_events"] += dropped
    report.categories["security_log"] += dropped
    with session_scope() as s:
        for org_id, counts in sorted(report.by_org.items()):
            if s.get(Organization, org_id) is not None:
                audit.record(
                    s,
                    actor=audit.SYSTEM,
                    action="privacy.retention",
                    org_id=org_id,
                    detail={"categories": dict(sorted(counts.items()))},
                )
        audit.record(s, actor=audit.SYSTEM, action="privacy.retention", detail=report.as_dict())
    log.info("retention as of %s: %s", now.isoformat(), dict(report.categories))
    return report
