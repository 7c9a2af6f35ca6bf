"""The security and access log as an organization sees it (issue 11, point 6): its events in the audit log, by kind,
newest first, a page at a time; and the record of refused requests (permission denials, unknown API keys).

An organization's events are those recorded for it (`org_id`) and its members' own account events (log-ins and
failures, lockouts, two-step verification, sessions), which are recorded without an organization because an account
may belong to several. People appear by id (and, for members, their email address); IPs only as a short reference
to their keyed hash, enough to tell one address from another.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from jasping.db import session_scope, unscoped
from jasping.errors import Invalid
from jasping.security import audit, ratelimit
from jasping.security.audit import Actor, AuditEvent

log = logging.getLogger(__name__)

# Kinds of events, by the beginning of their action.
KINDS: dict[str, tuple[str, ...]] = {
    "auth": ("auth.",),
    "mfa": ("mfa.",),
    "session": ("session.",),
    "access": ("access.",),
    "api_key": ("api_key.",),
    "alert": ("security.",),
    "admin": (
        "organization.",
        "agent.",
        "integration.",
        "channel.",
        "kb_source.",
        "billing.",
        "legal_page.",
        "delivery.",
        "lead.sync",
        "user.",
        "operator.",
    ),
    "privacy": ("contact.", "lead.export", "account.", "privacy.", "consent.", "breach.", "data_request."),
}
# 403 answers that are steps of a normal flow rather than denials.
NOT_DENIALS = frozenset({"reauthentication_required", "mfa_enrolment_required"})
MAX_PAGE = 200
REFUSALS_RECORDED = ratelimit.Limit("audit-refusals", 30)  # per caller and minute; beyond, only the log says it


def kind_of(action: str) -> str:
    for kind, prefixes in KINDS.items():
        if action.startswith(prefixes):
            return kind
    return "other"


def anonymous(ip: str | None) -> Actor:
    return Actor("anonymous", None, ip)


def record_refusal(*, actor: Actor, org_id: str | None, method: str, path: str, code: str) -> None:
    """Record a permission denial (`access.denied`) or an unknown API key (`auth.api_key_invalid`) in a transaction
    of its own; at most `REFUSALS_RECORDED` a minute per caller, so a flood cannot flood the log."""
    if ratelimit.hit(REFUSALS_RECORDED, actor.id or actor.ip or "-") > REFUSALS_RECORDED.count:
        log.warning("refused request not recorded (too many from one caller): %s %s", method, path[:200])
        return
    action = "auth.api_key_invalid" if code == "invalid_api_key" else "access.denied"
    with session_scope() as s:
        audit.record(
            s, actor=actor, action=action, org_id=org_id, detail={"method": method, "path": path[:200], "code": code}
        )


def _of_organization(org_id: str) -> ColumnElement[bool]:
    from jasping.tenancy.models import Membership

    members = select(Membership.user_id).where(Membership.org_id == org_id)
    own = or_(
        and_(AuditEvent.actor_type == "user", AuditEvent.actor_id.in_(members)),
        and_(AuditEvent.object_type == "user", AuditEvent.object_id.in_(members)),
    )
    return or_(AuditEvent.org_id == org_id, and_(AuditEvent.org_id.is_(None), own))


@dataclass
class Page:
    events: list[dict[str, Any]]
    next_before: int | None


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise Invalid(f"kind: give one of {', '.join(KINDS)}", code="invalid")
    return kind


def list_events(
    session: Session, *, org_id: str, kind: str | None = None, before: int | None = None, limit: int = 50
) -> Page:
    """A page of the organization's events, newest first; `before` is the previous page's `next_before`."""
    check_kind(kind)
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit: between 1 and {MAX_PAGE}", code="invalid")
    query = select(AuditEvent).where(_of_organization(org_id))
    if kind is not None:
        query = query.where(or_(*(AuditEvent.action.startswith(p, autoescape=True) for p in KINDS[kind])))
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    with unscoped(session):
        rows = session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)).scalars().all()
        more = len(rows) > limit
        rows = rows[:limit]
        emails = _member_emails(session, org_id, {r.actor_id for r in rows} | {r.object_id for r in rows})
    return Page([_describe(r, emails) for r in rows], rows[-1].seq if more and rows else None)


def _member_emails(session: Session, org_id: str, ids: set[str | None]) -> dict[str, str]:
    from jasping.tenancy.models import Membership, User

    ids.discard(None)
    if not ids:
        return {}
    found = session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, User.id.in_(ids))
    ).all()
    return dict(found)


def _describe(row: AuditEvent, emails: dict[str, str]) -> dict[str, Any]:
    at: datetime = row.at
    return {
        "seq": row.seq,
        "at": at,
        "action": row.action,
        "kind": kind_of(row.action),
        "actor_type": row.actor_type,
        "actor_id": row.actor_id,
        "actor_email": emails.get(row.actor_id) if row.actor_type == "user" else None,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "object_email": emails.get(row.object_id) if row.object_type == "user" else None,
        "ip_ref": row.ip_hash[:12] if row.ip_hash else None,
        "detail": json.loads(row.detail or "{}"),
    }
