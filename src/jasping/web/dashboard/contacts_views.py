"""Dashboard: `/contacts` — the organization's customers, most recently seen first, found by email, phone or name;
a contact's page with their conversations, leads, appointments and files, where an admin corrects their details
(rectification) and restricts processing or records an objection. Export and erasure stay on the privacy contact
page (`privacy_views.py`, step-up first). The same services as `/api/v1/contacts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from jasping.conversations.models import Contact, Conversation, ConversationFile
from jasping.errors import Invalid
from jasping.leads.models import Lead
from jasping.privacy import contacts
from jasping.scheduling.models import Appointment
from jasping.tenancy.models import Role
from jasping.web.dashboard.labels import label
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import MAX_OFFSET, DbSession, Principal

router = APIRouter(include_in_schema=False)
PAGE = 50
NAME_SCAN = 1000  # names are encrypted: a name search reads the most recently seen contacts, decrypted


def _search(db: DbSession, org_id: str, q: str) -> list[Contact]:
    """An email (through its keyed hash), a phone number (idem), or part of a name among the recent contacts."""
    if "@" in q:
        return contacts.find(db, org_id=org_id, email=q)
    if sum(ch.isdigit() for ch in q) >= 6:
        return contacts.find(db, org_id=org_id, phone=q)
    recent = db.execute(select(Contact).order_by(Contact.last_seen_at.desc()).limit(NAME_SCAN)).scalars()
    needle = q.casefold()
    return [c for c in recent if c.name and needle in c.name.casefold()][:PAGE]


@router.get("/contacts")
def contacts_page(
    request: Request,
    db: DbSession,
    principal: Member,
    q: Annotated[str, Query(max_length=254)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    q = q.strip()
    error, found = None, []
    if q:
        try:
            found = _search(db, principal.org_id, q)
        except Invalid as exc:
            error = exc.message
    else:
        query = select(Contact).order_by(Contact.last_seen_at.desc(), Contact.id).limit(PAGE + 1).offset(offset)
        found = list(db.execute(query).scalars())
    more = not q and len(found) > PAGE
    return _page(
        request,
        "contacts.html",
        principal,
        db,
        422 if error else 200,
        contacts=found[:PAGE],
        q=q,
        error=error,
        offset=offset,
        next_offset=offset + PAGE if more else None,
        prev_offset=max(0, offset - PAGE) if offset else None,
    )


def _contact_page(
    request: Request, db: DbSession, principal: Principal, contact: Contact, status_code: int = 200, **ctx
) -> Response:
    def of_contact(model, order):  # noqa: ANN001, ANN202
        return list(
            db.execute(select(model).where(model.contact_id == contact.id).order_by(order).limit(200)).scalars()
        )

    ctx.setdefault("form", {"name": contact.name or "", "email": contact.email or "", "phone": contact.phone or ""})
    return _page(
        request,
        "contact.html",
        principal,
        db,
        status_code,
        contact=contact,
        label=label,
        conversations=of_contact(Conversation, Conversation.last_message_at.desc()),
        leads=of_contact(Lead, Lead.created_at.desc()),
        appointments=of_contact(Appointment, Appointment.start.desc()),
        files=of_contact(ConversationFile, ConversationFile.created_at.desc()),
        **ctx,
    )


@router.get("/contacts/{contact_id}")
def contact_page(contact_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _contact_page(request, db, principal, contacts.get(db, contact_id))


@router.post("/contacts/{contact_id}/rectify")
def contact_rectify(
    contact_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Correct the name, email or phone (an emptied field is cleared); their leads and appointments follow."""
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    contact = contacts.get(db, contact_id)
    form = {"name": name.strip(), "email": email.strip(), "phone": phone.strip()}
    changes = {k: v or None for k, v in form.items() if v != (getattr(contact, k) or "")}
    try:
        contacts.rectify(db, contact, changes=changes, actor=principal.actor)
    except Invalid as exc:
        db.rollback()
        contact = contacts.get(db, contact_id)
        return _contact_page(request, db, principal, contact, 422, form=form, error=exc.message)
    return RedirectResponse(f"/contacts/{contact.id}?flash=saved", status_code=303)


@router.post("/contacts/{contact_id}/processing")
def contact_processing(
    contact_id: str,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    right: Annotated[str, Form(pattern="^(restrict|object)$")],
    on: Annotated[bool, Form()],
) -> Response:
    """Restrict processing (GDPR art. 18) or record an objection (art. 21) — or lift either."""
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    contact = contacts.get(db, contact_id)
    change = contacts.set_restricted if right == "restrict" else contacts.set_objected
    change(db, contact, on=on, actor=principal.actor)
    return RedirectResponse(f"/contacts/{contact.id}?flash=saved", status_code=303)
