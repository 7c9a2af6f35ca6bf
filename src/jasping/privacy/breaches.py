"""The breach register (GDPR art. 33): every personal-data breach with its facts, effects and the remedial action
taken, whether or not it had to be notified. The supervisory authority is to be notified within 72 hours of the
breach being detected (`deadline`); the register shows the time left and flags a breach past it without a recorded
notification (`overdue`). The businesses affected (controllers) get a notice drafted for each of them
(`breaches_notices`), reviewed and sent without undue delay. Every change is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.db import new_id
from jasping.errors import Conflict, Invalid, NotFound
from jasping.privacy.breaches_models import Breach, BreachOrganization
from jasping.privacy.data_map import CATEGORIES
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.tenancy.models import Organization

NOTIFY_WITHIN = timedelta(hours=72)
STATUSES = ("open", "contained", "closed")
EDITABLE = (
    "title",
    "detected_at",
    "description",
    "data_categories",
    "records_estimate",
    "subjects_estimate",
    "consequences",
    "measures",
    "status",
    "authority_notified_at",
    "authority_reference",
)


def deadline(breach: Breach) -> datetime:
    """When the authority must have been notified: 72 hours after detection."""
    return clock.as_utc(breach.detected_at) + NOTIFY_WITHIN


def seconds_left(breach: Breach, now: datetime | None = None) -> int:
    """Seconds until the deadline (negative once past)."""
    return int((deadline(breach) - (now or clock.now())).total_seconds())


def overdue(breach: Breach, now: datetime | None = None) -> bool:
    """Past the 72 hours with no notification of the authority recorded."""
    return breach.authority_notified_at is None and seconds_left(breach, now) < 0


def _checked(changes: dict, now: datetime) -> dict:
    out = dict(changes)
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"]:
            raise Invalid("title: say in a few words what happened", code="invalid")
    for name in ("detected_at", "authority_notified_at"):
        if out.get(name) is not None:
            out[name] = clock.as_utc(out[name])
            if out[name] > now + timedelta(minutes=5):
                raise Invalid(f"{name}: cannot be in the future", code="invalid_date")
    if out.get("data_categories") is not None:
        unknown = sorted(set(out["data_categories"]) - set(CATEGORIES))
        if unknown:
            raise Invalid(f"data_categories: unknown {', '.join(unknown)}; one of {', '.join(CATEGORIES)}")
        out["data_categories"] = sorted(set(out["data_categories"]))
    if "status" in out and out["status"] not in STATUSES:
        raise Invalid(f"status: one of {', '.join(STATUSES)}", code="invalid_status")
    for name in ("records_estimate", "subjects_estimate"):
        if out.get(name) is not None and out[name] < 0:
            raise Invalid(f"{name}: a number of 0 or more", code="invalid")
    for name in ("description", "consequences", "measures"):
        if name in out:
            out[name] = out[name] or ""
    return out


def create(session: Session, *, breach_in: dict, actor: Actor) -> Breach:
    """Register a breach; `organizations` (org ids with their `contacts_affected`) get their notice drafted."""
    now = clock.now()
    fields = _checked({k: v for k, v in breach_in.items() if k in EDITABLE}, now)
    if not fields.get("title"):
        raise Invalid("title: say in a few words what happened", code="invalid")
    breach = Breach(id=new_id("brc"), created_at=now, detected_at=fields.pop("detected_at", None) or now, **fields)
    if breach.authority_notified_at and breach.authority_notified_at < breach.detected_at:
        raise Invalid("authority_notified_at: cannot be before detected_at", code="invalid_date")
    session.add(breach)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="breach.created",
        object_type="breach",
        object_id=breach.id,
        detail={"detected_at": breach.detected_at.isoformat(), "categories": breach.data_categories},
    )
    for affected in breach_in.get("organizations") or []:
        add_organization(session, breach, affected["org_id"], affected.get("contacts_affected"), actor=actor)
    return breach


def update(session: Session, breach: Breach, *, changes: dict, actor: Actor) -> Breach:
    fields = _checked({k: v for k, v in changes.items() if k in EDITABLE}, clock.now())
    if "title" in fields and not fields["title"]:
        raise Invalid("title: say in a few words what happened", code="invalid")
    if "detected_at" in fields and fields["detected_at"] is None:
        raise Invalid("detected_at: required", code="invalid_date")
    for name, value in fields.items():
        setattr(breach, name, value)
    if breach.authority_notified_at and breach.authority_notified_at < clock.as_utc(breach.detected_at):
        raise Invalid("authority_notified_at: cannot be before detected_at", code="invalid_date")
    breach.updated_at = clock.now()
    audit.record(
        session,
        actor=actor,
        action="breach.updated",
        object_type="breach",
        object_id=breach.id,
        detail={"fields": sorted(fields)},
    )
    return breach


def get(session: Session, breach_id: str) -> Breach:
    breach = session.get(Breach, breach_id)
    if breach is None:
        raise NotFound("no such breach")
    return breach


def all_breaches(session: Session) -> list[Breach]:
    """Newest detection first."""
    return list(session.execute(select(Breach).order_by(Breach.detected_at.desc(), Breach.id)).scalars())


def affected(session: Session, breach_id: str) -> list[BreachOrganization]:
    query = select(BreachOrganization).where(BreachOrganization.breach_id == breach_id)
    return list(session.execute(query.order_by(BreachOrganization.created_at, BreachOrganization.id)).scalars())


def affected_one(session: Session, breach_id: str, org_id: str) -> BreachOrganization:
    row = session.execute(
        select(BreachOrganization).where(BreachOrganization.breach_id == breach_id, BreachOrganization.org_id == org_id)
    ).scalar()
    if row is None:
        raise NotFound("this organization is not listed as affected by the breach")
    return row


def add_organization(
    session: Session, breach: Breach, org_id: str, contacts_affected: int | None, *, actor: Actor
) -> BreachOrganization:
    """List a business as affected (its notice drafted in its language); again: the count is updated."""
    from jasping.privacy import breaches_notices

    if session.get(Organization, org_id) is None:
        raise Invalid(f"organizations: no organization {org_id}", code="unknown_organization")
    if contacts_affected is not None and contacts_affected < 0:
        raise Invalid("contacts_affected: a number of 0 or more", code="invalid")
    row = session.execute(
        select(BreachOrganization).where(BreachOrganization.breach_id == breach.id, BreachOrganization.org_id == org_id)
    ).scalar()
    if row is None:
        row = BreachOrganization(
            id=new_id("bro"), breach_id=breach.id, org_id=org_id, notice_status="draft", created_at=clock.now()
        )
        session.add(row)
    row.contacts_affected = contacts_affected
    if row.notice_status == "draft":
        breaches_notices.draft(session, breach, row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="breach.organization_affected",
        org_id=org_id,
        object_type="breach",
        object_id=breach.id,
        detail={"contacts_affected": contacts_affected},
    )
    return row


def remove_organization(session: Session, breach: Breach, org_id: str, *, actor: Actor) -> None:
    row = affected_one(session, breach.id, org_id)
    if row.notice_status == "sent":
        raise Conflict("the notice was already sent to this organization; it stays in the register")
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="breach.organization_removed",
        org_id=org_id,
        object_type="breach",
        object_id=breach.id,
    )


def delete(session: Session, breach: Breach, *, actor: Actor) -> None:
    """Remove a breach registered by mistake — only while no notice went out (the register is proof)."""
    if any(row.notice_status == "sent" for row in affected(session, breach.id)):
        raise Conflict("notices of this breach were sent: it stays in the register (close it instead)")
    if breach.authority_notified_at is not None:
        raise Conflict("the authority was notified of this breach: it stays in the register (close it instead)")
    session.delete(breach)
    audit.record(session, actor=actor, action="breach.deleted", object_type="breach", object_id=breach.id)


def describe(session: Session, breach: Breach, now: datetime | None = None) -> dict:
    """The breach with its deadline, time left, overdue flag and affected businesses."""
    now = now or clock.now()
    rows = affected(session, breach.id)
    orgs = (
        {
            o.id: o.name
            for o in session.execute(
                select(Organization).where(Organization.id.in_([r.org_id for r in rows]))
            ).scalars()
        }
        if rows
        else {}
    )
    return {
        "id": breach.id,
        "title": breach.title,
        "detected_at": breach.detected_at,
        "description": breach.description,
        "data_categories": list(breach.data_categories or []),
        "records_estimate": breach.records_estimate,
        "subjects_estimate": breach.subjects_estimate,
        "consequences": breach.consequences,
        "measures": breach.measures,
        "status": breach.status,
        "authority_notified_at": breach.authority_notified_at,
        "authority_reference": breach.authority_reference,
        "deadline": deadline(breach),
        "seconds_left": seconds_left(breach, now),
        "overdue": overdue(breach, now),
        "created_at": breach.created_at,
        "updated_at": breach.updated_at,
        "organizations": [
            {
                "org_id": r.org_id,
                "name": orgs.get(r.org_id, ""),
                "contacts_affected": r.contacts_affected,
                "notice_language": r.notice_language,
                "notice_subject": r.notice_subject,
                "notice_body": r.notice_body,
                "notice_status": r.notice_status,
                "notice_sent_at": r.notice_sent_at,
                "email_id": r.email_id,
            }
            for r in rows
        ],
        "contacts_affected": sum(r.contacts_affected or 0 for r in rows),
    }
