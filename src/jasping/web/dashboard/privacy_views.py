"""Dashboard: the record of processing (the data map and the retention enforced) and the conversation retention."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from jasping.privacy import retention
from jasping.security.audit import record
from jasping.tenancy.models import Organization, Role
from jasping.web.api.privacy import record_of_processing_for
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession

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
