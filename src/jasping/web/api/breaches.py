"""`/api/v1/operator/breaches`: the breach register, for the platform's operator only (403 for anyone else).

Create, list, read, update and delete (only while nothing was notified) breaches; each shows its 72-hour deadline,
the seconds left and whether it is overdue. Affected businesses are listed with how many of their contacts are
concerned; each gets a notice drafted in its language, which the operator reviews (`PATCH …/organizations/{org_id}`)
and sends (`POST …/organizations/{org_id}/send`, or `POST …/send` for every draft) through the mail outbox.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from jasping.privacy import breaches, breaches_notices
from jasping.web.api import API
from jasping.web.deps import DbSession, OperatorPrincipal

router = APIRouter(prefix=f"{API}/operator/breaches", tags=["breach register"])


class AffectedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(max_length=40)
    contacts_affected: int | None = Field(default=None, ge=0)


class BreachCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    detected_at: datetime | None = Field(default=None, description="when the breach was detected (default: now)")
    description: str = Field(default="", max_length=20000)
    data_categories: list[str] = Field(default_factory=list, description="categories of the data map")
    records_estimate: int | None = Field(default=None, ge=0)
    subjects_estimate: int | None = Field(default=None, ge=0)
    consequences: str = Field(default="", max_length=20000)
    measures: str = Field(default="", max_length=20000)
    status: str = "open"
    authority_notified_at: datetime | None = None
    authority_reference: str | None = Field(default=None, max_length=200)
    organizations: list[AffectedIn] = Field(default_factory=list)


class BreachUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    detected_at: datetime | None = None
    description: str | None = Field(default=None, max_length=20000)
    data_categories: list[str] | None = None
    records_estimate: int | None = Field(default=None, ge=0)
    subjects_estimate: int | None = Field(default=None, ge=0)
    consequences: str | None = Field(default=None, max_length=20000)
    measures: str | None = Field(default=None, max_length=20000)
    status: str | None = None
    authority_notified_at: datetime | None = None
    authority_reference: str | None = Field(default=None, max_length=200)


class NoticeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notice_subject: str | None = Field(default=None, max_length=250)
    notice_body: str | None = Field(default=None, max_length=50000)
    contacts_affected: int | None = Field(default=None, ge=0)
    redraft: bool = Field(default=False, description="write the draft again from the breach's current facts")


class AffectedRead(BaseModel):
    org_id: str
    name: str
    contacts_affected: int | None
    notice_language: str
    notice_subject: str
    notice_body: str
    notice_status: str  # draft | sent
    notice_sent_at: datetime | None
    email_id: str | None


class BreachRead(BaseModel):
    id: str
    title: str
    detected_at: datetime
    description: str
    data_categories: list[str]
    records_estimate: int | None
    subjects_estimate: int | None
    consequences: str
    measures: str
    status: str
    authority_notified_at: datetime | None
    authority_reference: str | None
    deadline: datetime  # detected_at + 72 hours: notify the supervisory authority by then (GDPR art. 33)
    seconds_left: int  # negative once past
    overdue: bool  # past the deadline with no notification of the authority recorded
    created_at: datetime
    updated_at: datetime | None
    organizations: list[AffectedRead]
    contacts_affected: int


@router.get("", response_model=list[BreachRead])
def list_breaches(operator: OperatorPrincipal, db: DbSession) -> list[dict]:
    """Every breach, newest detection first."""
    return [breaches.describe(db, b) for b in breaches.all_breaches(db)]


@router.post("", status_code=201, response_model=BreachRead)
def create_breach(body: BreachCreate, operator: OperatorPrincipal, db: DbSession) -> dict:
    """Register a breach; each affected organization gets its notice drafted."""
    breach_in = body.model_dump()
    breach_in["organizations"] = [o.model_dump() for o in body.organizations]
    breach = breaches.create(db, breach_in=breach_in, actor=operator.actor)
    return breaches.describe(db, breach)


@router.get("/{breach_id}", response_model=BreachRead)
def get_breach(breach_id: str, operator: OperatorPrincipal, db: DbSession) -> dict:
    return breaches.describe(db, breaches.get(db, breach_id))


@router.patch("/{breach_id}", response_model=BreachRead)
def update_breach(breach_id: str, body: BreachUpdate, operator: OperatorPrincipal, db: DbSession) -> dict:
    """Change the facts as they become known; record `authority_notified_at` once the authority is notified."""
    breach = breaches.get(db, breach_id)
    breaches.update(db, breach, changes=body.model_dump(exclude_unset=True), actor=operator.actor)
    return breaches.describe(db, breach)


@router.delete("/{breach_id}", status_code=204, response_class=Response)
def delete_breach(breach_id: str, operator: OperatorPrincipal, db: DbSession) -> Response:
    """Remove a breach registered by mistake; 409 once a notice was sent or the authority notified."""
    breaches.delete(db, breaches.get(db, breach_id), actor=operator.actor)
    return Response(status_code=204)


@router.post("/{breach_id}/organizations", status_code=201, response_model=BreachRead)
def add_affected(breach_id: str, body: AffectedIn, operator: OperatorPrincipal, db: DbSession) -> dict:
    """List another affected organization (its notice drafted), or update its count of contacts concerned."""
    breach = breaches.get(db, breach_id)
    breaches.add_organization(db, breach, body.org_id, body.contacts_affected, actor=operator.actor)
    return breaches.describe(db, breach)


@router.patch("/{breach_id}/organizations/{org_id}", response_model=BreachRead)
def review_notice(breach_id: str, org_id: str, body: NoticeUpdate, operator: OperatorPrincipal, db: DbSession) -> dict:
    """Review the notice: correct its subject or text, change the count, or draft it again from the facts."""
    breach = breaches.get(db, breach_id)
    row = breaches.affected_one(db, breach.id, org_id)
    if "contacts_affected" in body.model_fields_set:
        breaches.add_organization(db, breach, org_id, body.contacts_affected, actor=operator.actor)
    elif body.redraft:
        breaches_notices.draft(db, breach, row)
    if body.notice_subject is not None or body.notice_body is not None:
        breaches_notices.edit(db, breach, row, subject=body.notice_subject, body=body.notice_body, actor=operator.actor)
    return breaches.describe(db, breach)


@router.delete("/{breach_id}/organizations/{org_id}", response_model=BreachRead)
def remove_affected(breach_id: str, org_id: str, operator: OperatorPrincipal, db: DbSession) -> dict:
    breach = breaches.get(db, breach_id)
    breaches.remove_organization(db, breach, org_id, actor=operator.actor)
    return breaches.describe(db, breach)


@router.post("/{breach_id}/organizations/{org_id}/send", response_model=BreachRead)
def send_notice(breach_id: str, org_id: str, operator: OperatorPrincipal, db: DbSession) -> dict:
    """Send the reviewed notice to the business (its contact email, else its owner) through the mail outbox."""
    breach = breaches.get(db, breach_id)
    breaches_notices.send(db, breach, breaches.affected_one(db, breach.id, org_id), actor=operator.actor)
    return breaches.describe(db, breach)


@router.post("/{breach_id}/send", response_model=BreachRead)
def send_all_notices(breach_id: str, operator: OperatorPrincipal, db: DbSession) -> dict:
    """Send every notice still in draft."""
    breach = breaches.get(db, breach_id)
    for row in breaches.affected(db, breach.id):
        if row.notice_status == "draft":
            breaches_notices.send(db, breach, row, actor=operator.actor)
    return breaches.describe(db, breach)
