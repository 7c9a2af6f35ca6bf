"""Consents of contacts (`privacy.consent`), for the business and for the visitor themself.

The business (API key or dashboard login):
- `GET /api/v1/contacts/{contact_id}/consents`: every decision, oldest first, and the state per purpose now;
- `POST /api/v1/contacts/{contact_id}/consents`: record a consent it obtained (a form, a call, a signed paper);
- `POST /api/v1/contacts/{contact_id}/consents/withdraw`: the contact withdrew — the related processing stops at once.

The website visitor (`Authorization: Bearer <session_token>` of the widget session):
- `GET /api/v1/widget/sessions/{conversation_id}/consents`: their decisions;
- `POST /api/v1/widget/sessions/{conversation_id}/consents`: a marketing opt-in (e.g. a box ticked on the lead form);
- `POST /api/v1/widget/sessions/{conversation_id}/consents/withdraw`: withdraw — the chat notice ends the conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from jasping.conversations.models import Contact
from jasping.errors import Invalid, NotFound
from jasping.privacy import consent
from jasping.security.audit import Actor
from jasping.tenancy.models import Role
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession, Principal, client_ip, requires
from jasping.web.widget.api import _check_origin, _visitor_conversation

router = APIRouter(prefix=API, tags=["consents"])
TeamMember = Annotated[Principal, Depends(requires(Role.agent))]


class ConsentRead(BaseModel):
    id: str
    purpose: str
    granted: bool
    method: str | None
    channel: str
    notice_version: str | None
    wording: str
    policy_url: str | None
    language: str | None
    conversation_id: str | None
    created_at: datetime

    model_config = ConfigDict(from_attributes=True)


class ConsentsRead(BaseModel):
    current: dict[str, bool]  # per purpose: whether the latest decision is a grant
    history: list[ConsentRead]


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field(description=f"one of {', '.join(consent.CONTACT_PURPOSES)}")
    granted: bool = True
    wording: str = Field(min_length=1, max_length=2000, description="the text the person agreed to")
    method: str = Field(default="api", description=f"one of {', '.join(consent.METHODS)}")
    notice_version: str | None = Field(default=None, max_length=60)
    policy_url: str | None = Field(default=None, max_length=2000)
    language: str | None = Field(default=None, max_length=8)


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field(description=f"one of {', '.join(consent.CONTACT_PURPOSES)}")
    method: str = Field(default="api", description="how the contact withdrew: api, dashboard, written, verbal_phone…")


class VisitorConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field(default=consent.MARKETING, description="marketing (the chat notice is accepted by chatting)")
    granted: bool = True
    wording: str | None = Field(default=None, max_length=2000, description="the opt-in as shown (default: ours)")
    method: str = Field(default="checkbox")
    language: str | None = Field(default=None, max_length=8)


class VisitorWithdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field(
        description=f"one of {', '.join(consent.CONTACT_PURPOSES)}, or `all`: every consent granted and the chat notice"
    )


def _contact(db: DbSession, principal: Principal, contact_id: str) -> Contact:
    contact = db.get(Contact, contact_id)
    if contact is None or contact.org_id != principal.org_id:
        raise NotFound("no such contact", code="contact_not_found")
    return contact


def _state(db: DbSession, contact_id: str) -> ConsentsRead:
    rows = consent.for_contact(db, contact_id)
    current: dict[str, bool] = {}
    for row in rows:
        current[row.purpose] = row.granted
    return ConsentsRead(current=current, history=[ConsentRead.model_validate(r) for r in rows])


@router.get("/contacts/{contact_id}/consents", response_model=ConsentsRead)
def contact_consents(contact_id: str, principal: CurrentPrincipal, db: DbSession) -> ConsentsRead:
    """Every consent decision of the contact, with the notice version, method, channel and time of each."""
    return _state(db, _contact(db, principal, contact_id).id)


@router.post("/contacts/{contact_id}/consents", status_code=201, response_model=ConsentsRead)
def record_contact_consent(contact_id: str, body: ConsentCreate, principal: TeamMember, db: DbSession) -> ConsentsRead:
    """Record a consent the business obtained (`granted: false` is a withdrawal, with its effects)."""
    contact = _contact(db, principal, contact_id)
    consent.record_for_contact(
        db,
        contact,
        purpose=body.purpose,
        granted=body.granted,
        wording=body.wording.strip(),
        method=body.method,
        actor=principal.actor,
        notice_version=body.notice_version,
        policy_url=body.policy_url,
        language=body.language,
    )
    return _state(db, contact.id)


@router.post("/contacts/{contact_id}/consents/withdraw", response_model=ConsentsRead)
def withdraw_contact_consent(contact_id: str, body: Withdrawal, principal: TeamMember, db: DbSession) -> ConsentsRead:
    """The contact withdrew a consent: recorded, and what it allowed stops now — marketing: lead syncs to marketing
    sinks; being contacted: the lead's consent; the chat notice: their web conversations end."""
    contact = _contact(db, principal, contact_id)
    consent.withdraw(db, contact, purpose=body.purpose, method=body.method, actor=principal.actor)
    return _state(db, contact.id)


# ---- the visitor, from the widget -------------------------------------------------------------------------------
def _visitor(db: DbSession, request: Request, conversation_id: str):  # noqa: ANN202
    conversation, agent = _visitor_conversation(db, request, conversation_id)
    _check_origin(agent, request)
    contact = db.get(Contact, conversation.contact_id)
    return conversation, contact, Actor("visitor", conversation.id, client_ip(request))


@router.get("/widget/sessions/{conversation_id}/consents", response_model=ConsentsRead, tags=["widget"])
def visitor_consents(conversation_id: str, request: Request, db: DbSession) -> ConsentsRead:
    """The visitor's own consent decisions."""
    _, contact, _ = _visitor(db, request, conversation_id)
    return _state(db, contact.id)


@router.post(
    "/widget/sessions/{conversation_id}/consents", status_code=201, response_model=ConsentsRead, tags=["widget"]
)
def visitor_consent(conversation_id: str, body: VisitorConsent, request: Request, db: DbSession) -> ConsentsRead:
    """The visitor opts in to marketing (or out, with `granted: false`): the wording shown is kept with it."""
    conversation, contact, actor = _visitor(db, request, conversation_id)
    if body.purpose != consent.MARKETING:
        raise Invalid(
            "purpose: only marketing is chosen here; the chat notice is accepted by chatting", code="invalid_purpose"
        )
    if not body.granted:
        consent.withdraw(
            db, contact, purpose=body.purpose, method="widget_link", actor=actor, conversation_id=conversation.id
        )
        return _state(db, contact.id)
    lang = (body.language or conversation.language or "en")[:2]
    consent.record(
        db,
        conversation,
        purpose=consent.MARKETING,
        wording=(body.wording or "").strip() or consent.MARKETING_TEXT.get(lang, consent.MARKETING_TEXT["en"]),
        language=lang,
        method=body.method,
        ip=actor.ip,
    )
    return _state(db, contact.id)


@router.post("/widget/sessions/{conversation_id}/consents/withdraw", response_model=ConsentsRead, tags=["widget"])
def visitor_withdraw(conversation_id: str, body: VisitorWithdrawal, request: Request, db: DbSession) -> ConsentsRead:
    """The visitor withdraws a consent (`all`: the widget's "withdraw my consent" — every consent they granted, then
    the chat notice, in one transaction). Withdrawing the chat notice ends this conversation at once: the session
    token stops working and the agent processes nothing more from it."""
    conversation, contact, actor = _visitor(db, request, conversation_id)
    if body.purpose == "all":
        consent.withdraw_all(db, contact, method="widget_link", actor=actor, conversation_id=conversation.id)
    else:
        consent.withdraw(
            db, contact, purpose=body.purpose, method="widget_link", actor=actor, conversation_id=conversation.id
        )
    return _state(db, contact.id)
