"""The tracker of data-subject requests (GDPR art. 15–22): what was asked, by whom, and by when it must be answered.

A request names its subject (a `user` of an account, JasPing being controller; or a `contact` of a business, the
business being controller and `org_id` set), the right exercised, when it was received and its due date (30 days
later). The due date may be extended once or more, with a recorded reason, up to two months beyond it (art. 12(3)).
A daily job (`remind`) emails a reminder 7 days and 1 day before the deadline and flags the requests that passed it.

Other modules open and close requests with `open_request` and `close_request` (the account's self-service export
and deletion; a business's contact export and erasure), in their own transaction.
"""

from __future__ import annotations

import calendar
import math
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from jasping import clock
from jasping.crypto import PLATFORM, EncryptedText
from jasping.db import Base, UtcDateTime, new_id
from jasping.errors import Conflict, Invalid, NotFound
from jasping.privacy.retention import Period
from jasping.security import audit
from jasping.security.audit import Actor

USER, CONTACT = "user", "contact"
SUBJECT_TYPES = (USER, CONTACT)
RIGHTS = (
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "objection",
    "automated_decision_review",
)
OPEN, IN_PROGRESS = "open", "in_progress"
CLOSED = ("completed", "refused", "withdrawn")
STATUSES = (OPEN, IN_PROGRESS, *CLOSED)
CHANNELS = ("self_service", "api", "dashboard", "widget", "whatsapp", "email", "other")

DUE = timedelta(days=30)
MAX_EXTENSION = Period(months=2)  # beyond the due date (art. 12(3): "by two further months")
REMINDERS = ((7, "reminded_7_at"), (1, "reminded_1_at"))  # days before the deadline, the column that records it


class DataRequest(Base):
    """One request of a data subject. Contact requests belong to an organization; user requests to the platform."""

    __tablename__ = "data_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    right: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="api")
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    extended_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extension_reason: Mapped[str | None] = mapped_column(EncryptedText)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    reminded_7_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_1_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when the daily job found it overdue
    # When the platform completes it on its own (an account's erasure after its 30 days): no reminders meanwhile.
    completes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)

    @property
    def crypto_scope(self) -> str:
        return self.org_id or PLATFORM

    @property
    def deadline(self) -> datetime:
        return self.extended_until or self.due_at

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    def days_left(self, now: datetime | None = None) -> int:
        """Days until the deadline, a day begun counting as one (0 or negative once it passed)."""
        return math.ceil((self.deadline - (now or clock.now())) / timedelta(days=1))


def _check(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise Invalid(f"{field}: one of {', '.join(allowed)} (got {value!r})", code=f"invalid_{field}")
    return value


def _clean_text(value: str | None, field: str, limit: int = 4000) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(f"{field}: at most {limit} characters", code="invalid")
    return value or None


def _audit(session: Session, request: DataRequest, action: str, actor: Actor | None, **detail: object) -> None:
    audit.record(
        session,
        actor=actor or audit.SYSTEM,
        action=action,
        org_id=request.org_id,
        object_type="data_request",
        object_id=request.id,
        detail={"right": request.right, "status": request.status, **detail},
    )


def open_request(
    session: Session,
    *,
    subject_type: str,
    subject_id: str,
    right: str,
    org_id: str | None = None,
    channel: str = "api",
    notes: str | None = None,
    received_at: datetime | None = None,
    actor: Actor | None = None,
) -> DataRequest:
    """Track a new request; due 30 days after it was received. A contact's request needs its `org_id`."""
    _check(subject_type, SUBJECT_TYPES, "subject_type")
    _check(right, RIGHTS, "right")
    _check(channel, CHANNELS, "channel")
    if (subject_type == CONTACT) != (org_id is not None):
        raise Invalid("a contact's request belongs to an organization; a user's to none", code="invalid_subject")
    if not subject_id or len(subject_id) > 40:
        raise Invalid("subject_id: the id of the user or contact", code="invalid_subject")
    received = received_at or clock.now()
    if received > clock.now():
        raise Invalid("received_at: a request cannot be received in the future", code="invalid")
    request = DataRequest(
        id=new_id("dsr"),
        org_id=org_id,
        subject_type=subject_type,
        subject_id=subject_id,
        right=right,
        channel=channel,
        status=OPEN,
        received_at=received,
        due_at=received + DUE,
        notes=_clean_text(notes, "notes"),
    )
    session.add(request)
    session.flush()
    _audit(session, request, "data_request.open", actor, subject_type=subject_type)
    return request


def close_request(
    session: Session,
    *,
    request_id: str,
    status: str = "completed",
    note: str | None = None,
    org_id: str | None = None,
    actor: Actor | None = None,
) -> DataRequest:
    """Close a request (completed, refused or withdrawn), adding `note` to its notes. Closing it twice is a
    conflict. `org_id`, when given, must be the request's organization (NotFound otherwise)."""
    request = session.get(DataRequest, request_id)
    if request is None or (org_id is not None and request.org_id != org_id):
        raise NotFound("no such data request", code="request_not_found")
    _check(status, CLOSED, "status")
    if not request.is_open:
        raise Conflict(f"this request is already {request.status}", code="request_closed")
    request.status, request.closed_at = status, clock.now()
    add_note(request, note)
    _audit(session, request, "data_request.close", actor)
    return request


def add_note(request: DataRequest, note: str | None) -> None:
    """Append a line to the request's notes."""
    note = _clean_text(note, "note")
    if note:
        request.notes = _clean_text(f"{request.notes}\n{note}" if request.notes else note, "notes", 20000)


def extension_limit(request: DataRequest) -> datetime:
    """The latest deadline the request may be given: its due date plus two months."""
    due = request.due_at
    months = due.month - 1 + MAX_EXTENSION.months
    year, month = due.year + months // 12, months % 12 + 1
    return due.replace(year=year, month=month, day=min(due.day, calendar.monthrange(year, month)[1]))


def extend(
    session: Session, request: DataRequest, *, until: datetime, reason: str, actor: Actor | None = None
) -> DataRequest:
    """Move the deadline to `until` (after the due date, at most two months beyond it), with the reason recorded."""
    if not request.is_open:
        raise Conflict(f"this request is already {request.status}", code="request_closed")
    reason = _clean_text(reason, "extension_reason", 2000)
    if not reason:
        raise Invalid("extension_reason: say why the request needs more time (art. 12(3))", code="reason_required")
    until = clock.as_utc(until)
    limit = extension_limit(request)
    if until <= request.due_at:
        raise Invalid("extended_until: a date after the due date", code="invalid_extension")
    if until > limit:
        raise Invalid(
            f"extended_until: at most two months beyond the due date, {limit.date().isoformat()}",
            code="extension_too_long",
        )
    request.extended_until, request.extension_reason = until, reason
    request.reminded_7_at = request.reminded_1_at = request.overdue_at = None  # remind again before the new deadline
    _audit(session, request, "data_request.extend", actor, until=until.isoformat())
    return request


def update(
    session: Session,
    request: DataRequest,
    *,
    status: str | None = None,
    note: str | None = None,
    extended_until: datetime | None = None,
    extension_reason: str | None = None,
    actor: Actor | None = None,
) -> DataRequest:
    """Apply a change from the API: an extension, a note, a new status (closing or in progress)."""
    if extended_until is not None or extension_reason is not None:
        if extended_until is None:
            raise Invalid("extended_until: give the new deadline with its reason", code="invalid_extension")
        extend(session, request, until=extended_until, reason=extension_reason or "", actor=actor)
    if status in CLOSED:
        return close_request(session, request_id=request.id, status=status, note=note, actor=actor)
    if status is not None:
        _check(status, (OPEN, IN_PROGRESS), "status")
        if not request.is_open:
            raise Conflict(f"this request is already {request.status}", code="request_closed")
        request.status = status
        _audit(session, request, "data_request.update", actor)
    add_note(request, note)
    return request


def for_org(session: Session, org_id: str, *, open_only: bool = False) -> list[DataRequest]:
    """The organization's contact requests, nearest deadline first."""
    query = select(DataRequest).where(DataRequest.org_id == org_id)
    return _ordered(session, query, open_only)


def for_user(session: Session, user_id: str, *, open_only: bool = False) -> list[DataRequest]:
    """A user's own requests about their account."""
    query = select(DataRequest).where(DataRequest.subject_type == USER, DataRequest.subject_id == user_id)
    return _ordered(session, query, open_only)


def _ordered(session: Session, query, open_only: bool) -> list[DataRequest]:  # noqa: ANN001
    if open_only:
        query = query.where(DataRequest.status.not_in(CLOSED))
    rows = list(session.execute(query.order_by(DataRequest.received_at.desc(), DataRequest.id)).scalars())
    return sorted(rows, key=lambda r: (not r.is_open, r.deadline if r.is_open else -r.received_at.timestamp()))


def for_all_users(session: Session, *, open_only: bool = False) -> list[DataRequest]:
    """Every account holder's requests (the platform's operator answers them)."""
    return _ordered(session, select(DataRequest).where(DataRequest.subject_type == USER), open_only)


def visible(
    session: Session, request_id: str, *, org_id: str | None, user_id: str | None, operator: bool = False
) -> DataRequest:
    """The request if the caller may see it: a contact request of their organization, their own user request, or
    any user request for the platform's operator."""
    request = session.get(DataRequest, request_id)
    if request is not None:
        if request.subject_type == CONTACT and org_id is not None and request.org_id == org_id:
            return request
        if request.subject_type == USER and ((user_id is not None and request.subject_id == user_id) or operator):
            return request
    raise NotFound("no such data request", code="request_not_found")


def due_for_reminder(session: Session, now: datetime) -> list[tuple[DataRequest, str | None]]:
    """Open requests whose deadline is within 7 days, with the reminder now owed (or None: only overdue to flag)."""
    soon = now + timedelta(days=REMINDERS[0][0])
    rows = session.execute(
        select(DataRequest).where(
            DataRequest.status.not_in(CLOSED),
            DataRequest.completes_at.is_(None),
            or_(
                DataRequest.extended_until <= soon,
                and_(DataRequest.extended_until.is_(None), DataRequest.due_at <= soon),
            ),
        )
    ).scalars()
    out = []
    for request in rows:
        owed = None
        for days, column in REMINDERS:
            if request.deadline - now <= timedelta(days=days) and getattr(request, column) is None:
                owed = column
        if owed or (request.deadline <= now and request.overdue_at is None):
            out.append((request, owed))
    return out


def mark_reminded(request: DataRequest, column: str, now: datetime) -> None:
    """Record the reminder sent, and the earlier ones it makes pointless."""
    for _, name in REMINDERS:
        if getattr(request, name) is None:
            setattr(request, name, now)
        if name == column:
            break


def flag_overdue(session: Session, request: DataRequest, now: datetime) -> bool:
    """Flag a request whose deadline passed (once); True when flagged now."""
    if request.deadline > now or request.overdue_at is not None:
        return False
    request.overdue_at = now
    _audit(session, request, "data_request.overdue", None)
    return True
