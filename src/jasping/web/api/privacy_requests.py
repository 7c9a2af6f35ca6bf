"""`/api/v1/privacy/requests`: the tracker of data-subject requests (GDPR art. 15-22).

A business tracks its customers' (contacts') requests: listed to every member and API key of the organization,
opened and changed by admins. A logged-in user also sees their own requests about their account and may open one
(rectification, objection…) or withdraw it; the platform's operator (`jasping operator grant EMAIL`) sees every
account holder's request and answers it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from jasping import clock
from jasping.conversations.models import Contact
from jasping.errors import Forbidden, NotFound
from jasping.privacy import requests
from jasping.tenancy.models import Role
from jasping.tenancy.operators import is_operator
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession, Principal

router = APIRouter(prefix=f"{API}/privacy/requests", tags=["privacy"])

Right = Literal[
    "access", "portability", "rectification", "erasure", "restriction", "objection", "automated_decision_review"
]


class DataRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_type: Literal["user", "contact"] = "contact"
    subject_id: str | None = Field(default=None, max_length=40, description="the contact's id; a user's own: omit")
    right: Right
    channel: Literal["api", "dashboard", "widget", "whatsapp", "email", "other"] = "api"
    received_at: datetime | None = Field(default=None, description="when the request arrived (default: now)")
    notes: str | None = Field(default=None, max_length=4000)


class DataRequestUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "in_progress", "completed", "refused", "withdrawn"] | None = None
    note: str | None = Field(default=None, max_length=4000, description="a line added to the notes")
    extended_until: datetime | None = Field(default=None, description="a new deadline, at most due date + 2 months")
    extension_reason: str | None = Field(default=None, max_length=2000)


class DataRequestRead(BaseModel):
    id: str
    organization_id: str | None
    subject_type: str
    subject_id: str
    right: str
    channel: str
    status: str
    received_at: datetime
    due_at: datetime
    extended_until: datetime | None
    extension_reason: str | None
    deadline: datetime
    days_left: int
    overdue: bool
    completes_at: datetime | None
    closed_at: datetime | None
    notes: str | None


def read(r: requests.DataRequest) -> DataRequestRead:
    now = clock.now()
    return DataRequestRead(
        id=r.id,
        organization_id=r.org_id,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        right=r.right,
        channel=r.channel,
        status=r.status,
        received_at=r.received_at,
        due_at=r.due_at,
        extended_until=r.extended_until,
        extension_reason=r.extension_reason,
        deadline=r.deadline,
        days_left=r.days_left(now),
        overdue=r.is_open and r.deadline <= now,
        completes_at=r.completes_at,
        closed_at=r.closed_at,
        notes=r.notes,
    )


def _user_id(principal: Principal) -> str | None:
    return principal.user.id if principal.user is not None else None


def _operator(principal: Principal, db: DbSession) -> bool:
    return principal.user is not None and is_operator(db, principal.user.id)


def tracked_request(request_id: str, principal: CurrentPrincipal, db: DbSession) -> requests.DataRequest:
    """A request the caller may see (404 otherwise): their organization's, their own, or (operator) any user's."""
    return requests.visible(
        db, request_id, org_id=principal.org_id, user_id=_user_id(principal), operator=_operator(principal, db)
    )


TrackedRequest = Annotated[requests.DataRequest, Depends(tracked_request)]


@router.get("", response_model=list[DataRequestRead])
def list_requests(
    principal: CurrentPrincipal,
    db: DbSession,
    subject_type: Annotated[Literal["user", "contact"] | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> list[DataRequestRead]:
    """The organization's contact requests and, for a logged-in user, their own (for the platform's operator with
    `subject_type=user`: every account holder's); nearest deadline first."""
    rows = []
    if subject_type in (None, "contact"):
        rows += requests.for_org(db, principal.org_id, open_only=open_only)
    if subject_type == "user" and _operator(principal, db):
        rows += requests.for_all_users(db, open_only=open_only)
    elif subject_type in (None, "user") and principal.user is not None:
        rows += requests.for_user(db, principal.user.id, open_only=open_only)
    return [read(r) for r in rows]


@router.post("", status_code=201, response_model=DataRequestRead)
def open_request(
    body: DataRequestCreate, request: Request, principal: CurrentPrincipal, db: DbSession
) -> DataRequestRead:
    """Track a request received: a contact's (admins; `subject_id` is the contact's id) or your own (`user`)."""
    if body.subject_type == "user":
        if principal.user is None or body.subject_id not in (None, principal.user.id):
            raise Forbidden("a user's request is opened by that user, logged in", code="user_only")
        subject_id, org_id = principal.user.id, None
    else:
        principal.require(Role.admin)
        if not body.subject_id or db.get(Contact, body.subject_id) is None:
            raise NotFound("subject_id: no such contact in this organization", code="contact_not_found")
        subject_id, org_id = body.subject_id, principal.org_id
    tracked = requests.open_request(
        db,
        subject_type=body.subject_type,
        subject_id=subject_id,
        right=body.right,
        org_id=org_id,
        channel=body.channel,
        notes=body.notes,
        received_at=clock.as_utc(body.received_at) if body.received_at else None,
        actor=principal.actor,
    )
    return read(tracked)


@router.get("/{request_id}", response_model=DataRequestRead)
def get_request(tracked: TrackedRequest) -> DataRequestRead:
    return read(tracked)


@router.patch("/{request_id}", response_model=DataRequestRead)
def update_request(
    body: DataRequestUpdate, tracked: TrackedRequest, principal: CurrentPrincipal, db: DbSession
) -> DataRequestRead:
    """Change a request: its status, a note, or an extension of its deadline (with the reason, at most two months
    beyond the due date). On their own requests, users may only add a note or withdraw; the operator answers them."""
    if tracked.subject_type == requests.CONTACT:
        principal.require(Role.admin)
    elif _operator(principal, db):
        pass  # the platform's operator answers account holders' requests
    elif body.status not in (None, "withdrawn") or body.extended_until or body.extension_reason:
        raise Forbidden("on your own request you may add a note or withdraw it", code="user_request")
    changed = requests.update(
        db,
        tracked,
        status=body.status,
        note=body.note,
        extended_until=body.extended_until,
        extension_reason=body.extension_reason,
        actor=principal.actor,
    )
    return read(changed)
