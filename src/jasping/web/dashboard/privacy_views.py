"""Dashboard: the record of processing (the data map and the retention enforced), the conversation retention, and the
contact page — find a customer by email or phone, see their consents, export or erase them (step-up first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from jasping.errors import Invalid
from jasping.privacy import consent, contact_export, contacts, erasure, requests, retention
from jasping.security import sessions
from jasping.security.audit import record
from jasping.tenancy.models import Organization, Role
from jasping.web.api.privacy import record_of_processing_for
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession, Principal

router = APIRouter(include_in_schema=False)


def _record_page(request: Request, db: DbSession, principal: Member, status_code: int = 200, **ctx) -> Response:
    org = db.get(Organization, principal.org_id)
    return _page(
        request,
        "privacy_record.html",
        principal,
        db,
        status_code,
        record=record_of_processing_for(org),
        max_days=retention.MAX_CONVERSATION_DAYS,
        **ctx,
    )


@router.get("/privacy/record")
def record_of_processing(request: Request, db: DbSession, principal: Member) -> Response:
    return _record_page(request, db, principal)


@router.post("/privacy/record/retention")
def set_conversation_retention(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    conversation_retention_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Shorten (or give back the default of) how long the organization's conversations are kept."""
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    text = conversation_retention_days.strip()
    try:
        days = retention.check_conversation_days(int(text)) if text else None
    except ValueError as exc:
        message = str(exc) if isinstance(exc, retention.InvalidRetention) else "Give a whole number."
        return _record_page(request, db, principal, 422, error=message, days_given=text)
    org = db.get(Organization, principal.org_id)
    org.conversation_retention_days = days
    record(
        db,
        actor=principal.actor,
        action="organization.update",
        org_id=org.id,
        object_type="organization",
        object_id=org.id,
        detail={"fields": ["conversation_retention_days"]},
    )
    return RedirectResponse("/privacy/record?flash=saved", status_code=303)


# ---- a contact's rights (the business is controller; the same services as /api/v1/contacts) -------------------
@router.get("/privacy/contacts")
def find_contacts(
    request: Request,
    db: DbSession,
    principal: Member,
    email: Annotated[str, Query(max_length=254)] = "",
    phone: Annotated[str, Query(max_length=40)] = "",
    erased: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Look a customer up by email and/or phone (through the keyed hashes, as the API does)."""
    email, phone = email.strip(), phone.strip()
    found, error = None, None
    if email or phone:
        try:
            found = contacts.find(db, org_id=principal.org_id, email=email or None, phone=phone or None)
        except Invalid as exc:
            error = exc.message
    return _page(
        request,
        "privacy_contacts.html",
        principal,
        db,
        422 if error else 200,
        found=found,
        email=email,
        phone=phone,
        error=error,
        erased=erased,
    )


@router.get("/privacy/contacts/{contact_id}")
def contact_page(contact_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    contact = contacts.get(db, contact_id)
    rows = consent.for_contact(db, contact.id)
    current = {row.purpose: row for row in rows}  # oldest first: the last decision per purpose wins
    return _page(request, "privacy_contact.html", principal, db, contact=contact, consents=rows, current=current)


def _step_up(principal: Principal, contact_id: str, action: str = "") -> Response | None:
    """Export and erasure need the password (or a code) entered recently: off to the step-up page first."""
    principal.require(Role.admin)
    if sessions.recently_authenticated(principal.login):
        return None
    return RedirectResponse(f"/security/reauth?next=/privacy/contacts/{contact_id}{action}", status_code=303)


def _answered(db: DbSession, principal: Principal, contact_id: str, right: str, note: str) -> None:
    tracked = requests.open_request(
        db, subject_type="contact", subject_id=contact_id, right=right, org_id=principal.org_id, channel="dashboard",
        actor=principal.actor,
    )  # fmt: skip
    requests.close_request(db, request_id=tracked.id, note=note, org_id=principal.org_id, actor=principal.actor)


@router.get("/privacy/contacts/{contact_id}/export")
def contact_export_download(contact_id: str, db: DbSession, principal: Member) -> Response:
    """The contact's data as the JSON the API gives (valid against the published schema), as a download."""
    contact = contacts.get(db, contact_id)
    if (redirect := _step_up(principal, contact.id, "/export")) is not None:
        return redirect
    document = contact_export.export(db, contact)
    _answered(db, principal, contact.id, "access", "exported from the dashboard")
    record(
        db,
        actor=principal.actor,
        action="contact.export",
        org_id=principal.org_id,
        object_type="contact",
        object_id=contact.id,
        detail={"conversations": len(document["conversations"]), "files": False},
    )
    headers = {
        "Content-Disposition": f'attachment; filename="contact-{contact.id}.json"',
        "Cache-Control": "no-store",
    }
    return JSONResponse(document, headers=headers)


@router.post("/privacy/contacts/{contact_id}/erase")
def contact_erase(
    contact_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    confirm: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Erase the contact once `ERASE` is typed, after a recent password: the same erasure as the API's."""
    check_csrf(principal, csrf)
    contact = contacts.get(db, contact_id)
    if (redirect := _step_up(principal, contact.id)) is not None:
        return redirect
    if confirm.strip() != "ERASE":
        rows = consent.for_contact(db, contact.id)
        return _page(
            request,
            "privacy_contact.html",
            principal,
            db,
            422,
            contact=contact,
            consents=rows,
            current={row.purpose: row for row in rows},
            error="Type ERASE to confirm: the erasure cannot be undone.",
        )
    row = erasure.erase(db, contact_id=contact.id, actor=principal.actor)
    _answered(db, principal, contact_id, "erasure", f"erased from the dashboard (erasure record {row.id})")
    return RedirectResponse(f"/privacy/contacts?erased={row.id}", status_code=303)
