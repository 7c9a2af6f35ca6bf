"""`/api/v1/contacts`: a contact's rights, the business being controller — find them by email or phone, read,
export (JSON valid against `/api/v1/schemas/contact-export.json`), rectify, restrict, object, erase (with the record
of what was removed and what could not be)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from jasping.db import session_scope
from jasping.privacy import contact_export, contacts, erasure, requests
from jasping.security import audit
from jasping.tenancy.models import Role
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, DbSession, Principal, RecentAuth, requires

router = APIRouter(prefix=f"{API}/contacts", tags=["contacts"])
schemas = APIRouter(prefix=f"{API}/schemas", tags=["contacts"])
TeamMember = Annotated[Principal, Depends(requires(Role.agent))]


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    sms_opted_out: bool
    restricted_at: datetime | None
    objected_at: datetime | None
    created_at: datetime
    last_seen_at: datetime


class ContactUpdate(BaseModel):
    """The fields to correct; a field left out stays, `null` clears it."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)


class ErasureTaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str  # stored_file | sheet_row | drive_file | calendar_event
    integration_id: str | None
    state: str  # queued | sending | failed (retried at next_attempt_at) | done | dead (given up)
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    done_at: datetime | None


class ErasureRead(BaseModel):
    id: str
    contact_id: str
    state: str  # running | done | partial
    removed: dict
    not_removed: list
    created_at: datetime
    finished_at: datetime | None
    tasks: list[ErasureTaskRead]


def _erasure_read(db: DbSession, erasure_id: str) -> ErasureRead:
    row = erasure.get_erasure(db, erasure_id)
    return ErasureRead(
        id=row.id,
        contact_id=row.contact_id,
        state=row.state,
        removed=row.removed or {},
        not_removed=row.not_removed or [],
        created_at=row.created_at,
        finished_at=row.finished_at,
        tasks=[ErasureTaskRead.model_validate(t) for t in erasure.tasks_of(db, row.id)],
    )


@schemas.get("/contact-export.json")
def export_schema() -> dict:
    """The JSON Schema (draft 2020-12) of `GET /api/v1/contacts/{id}/export`."""
    return contact_export.schema()


@router.get("", response_model=dict[str, list[ContactRead]])
def find_contacts(
    principal: TeamMember,
    db: DbSession,
    email: str | None = Query(None, max_length=254),
    phone: str | None = Query(None, max_length=40),
) -> dict:
    """The contacts with this email or phone (a national number is read in the organization's country); both
    given: the contacts with both."""
    return {"contacts": contacts.find(db, org_id=principal.org_id, email=email, phone=phone)}


@router.get("/erasures/{erasure_id}", response_model=ErasureRead)
def get_erasure(erasure_id: str, principal: AdminPrincipal, db: DbSession) -> ErasureRead:
    """An erasure's record: rows deleted per table, the copies elsewhere being deleted (`tasks`), and what could not
    be removed, with the reason."""
    return _erasure_read(db, erasure_id)


@router.get("/{contact_id}", response_model=ContactRead)
def get_contact(contact_id: str, principal: TeamMember, db: DbSession) -> ContactRead:
    return ContactRead.model_validate(contacts.get(db, contact_id))


def _answered(session, principal: Principal, contact_id: str, right: str, note: str) -> None:  # noqa: ANN001
    """A data-subject request the business answered at once, in the request tracker (privacy.requests)."""
    tracked = requests.open_request(
        session, subject_type="contact", subject_id=contact_id, right=right, org_id=principal.org_id,
        actor=principal.actor,
    )  # fmt: skip
    requests.close_request(session, request_id=tracked.id, note=note, org_id=principal.org_id, actor=principal.actor)


@router.get("/{contact_id}/export")
def export_contact(
    contact_id: str,
    principal: AdminPrincipal,
    db: DbSession,
    _recent: RecentAuth,
    include_files: bool = Query(False, description="add each file's bytes in base64 (`content_base64`)"),
) -> dict:
    """Everything held about the contact, as JSON valid against `/api/v1/schemas/contact-export.json` (a person's
    log-in must have entered its password recently; tracked as an access request answered at once)."""
    document = contact_export.export(db, contacts.get(db, contact_id), include_files=include_files)
    with session_scope(principal.org_id) as s:  # its own short write: the export itself only reads
        _answered(s, principal, contact_id, "access", "exported through the API")
        audit.record(
            s,
            actor=principal.actor,
            action="contact.export",
            org_id=principal.org_id,
            object_type="contact",
            object_id=contact_id,
            detail={"conversations": len(document["conversations"]), "files": include_files},
        )
    return document


@router.patch("/{contact_id}", response_model=ContactRead)
def rectify_contact(contact_id: str, body: ContactUpdate, principal: AdminPrincipal, db: DbSession) -> ContactRead:
    """Correct the contact's name, email or phone; their leads and appointments are corrected with them."""
    changes = body.model_dump(exclude_unset=True)
    contact = contacts.rectify(db, contacts.get(db, contact_id), changes=changes, actor=principal.actor)
    return ContactRead.model_validate(contact)


@router.post("/{contact_id}/restrict", response_model=ContactRead)
def restrict_contact(contact_id: str, principal: AdminPrincipal, db: DbSession) -> ContactRead:
    """Restrict processing (GDPR art. 18): the agent stops answering them (a person follows up) and nothing is
    sent to them."""
    return ContactRead.model_validate(
        contacts.set_restricted(db, contacts.get(db, contact_id), on=True, actor=principal.actor)
    )


@router.delete("/{contact_id}/restrict", response_model=ContactRead)
def lift_restriction(contact_id: str, principal: AdminPrincipal, db: DbSession) -> ContactRead:
    return ContactRead.model_validate(
        contacts.set_restricted(db, contacts.get(db, contact_id), on=False, actor=principal.actor)
    )


@router.post("/{contact_id}/object", response_model=ContactRead)
def object_contact(contact_id: str, principal: AdminPrincipal, db: DbSession) -> ContactRead:
    """Record the contact's objection (GDPR art. 21): nothing is sent to them unasked (reminders)."""
    return ContactRead.model_validate(
        contacts.set_objected(db, contacts.get(db, contact_id), on=True, actor=principal.actor)
    )


@router.delete("/{contact_id}/object", response_model=ContactRead)
def withdraw_objection(contact_id: str, principal: AdminPrincipal, db: DbSession) -> ContactRead:
    return ContactRead.model_validate(
        contacts.set_objected(db, contacts.get(db, contact_id), on=False, actor=principal.actor)
    )


@router.delete("/{contact_id}", status_code=202, response_model=ErasureRead)
def erase_contact(contact_id: str, principal: AdminPrincipal, db: DbSession, _recent: RecentAuth) -> ErasureRead:
    """Erase the contact: every row about them at once, their data keys shredded; the copies elsewhere (stored
    files, sheet rows, Drive files, calendar events) by jobs — follow them at `/api/v1/contacts/erasures/{id}`.
    Tracked as an erasure request, closed with the erasure record's id."""
    row = erasure.erase(db, contact_id=contact_id, actor=principal.actor)
    _answered(db, principal, contact_id, "erasure", f"erased through the API (erasure record {row.id})")
    return _erasure_read(db, row.id)
