"""Dashboard: the breach register for the platform's operator (`/operator/breaches`): each breach with its 72-hour
deadline counting down, the businesses affected, and their notices to review and send (`privacy.breaches`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from jasping.errors import DomainError, Invalid
from jasping.privacy import breaches, breaches_notices
from jasping.privacy.data_map import CATEGORIES
from jasping.tenancy.models import Organization
from jasping.web.dashboard.legal_views import Operator, parse_when
from jasping.web.dashboard.views import Csrf, _page, check_csrf
from jasping.web.deps import DbSession, Principal

router = APIRouter(include_in_schema=False)
Long = Annotated[str, Form(max_length=20000)]
Short = Annotated[str, Form(max_length=200)]


def time_left(seconds: int) -> str:
    """`47 h 05 min` (or `-3 h 10 min` once past), for the countdown."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _count(text: str, name: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise Invalid(f"{name}: a whole number of 0 or more", code="invalid")
    return int(text)


FACT_FIELDS = (
    "title",
    "detected_at",
    "description",
    "records_estimate",
    "subjects_estimate",
    "consequences",
    "measures",
)


def _values(form) -> dict:  # noqa: ANN001 - a Starlette FormData
    values = {k: str(form.get(k, ""))[:20000] for k in FACT_FIELDS}
    values["data_categories"] = [str(c) for c in form.getlist("data_categories")]
    return values


def _facts(form: dict) -> dict:
    return {
        "title": form["title"],
        "detected_at": parse_when(form["detected_at"]),
        "description": form["description"],
        "data_categories": form["data_categories"],
        "records_estimate": _count(form["records_estimate"], "records_estimate"),
        "subjects_estimate": _count(form["subjects_estimate"], "subjects_estimate"),
        "consequences": form["consequences"],
        "measures": form["measures"],
    }


def _list_page(request: Request, db: DbSession, principal: Principal, status: int = 200, **ctx) -> Response:
    rows = [breaches.describe(db, b) for b in breaches.all_breaches(db)]
    return _page(
        request,
        "operator_breaches.html",
        principal,
        db,
        status,
        breaches=rows,
        time_left=time_left,
        categories=CATEGORIES,
        breach=None,
        **ctx,
    )


def _detail_page(
    request: Request, db: DbSession, principal: Principal, breach_id: str, status: int = 200, **ctx
) -> Response:
    breach = breaches.describe(db, breaches.get(db, breach_id))
    orgs = list(db.execute(select(Organization).order_by(Organization.name).limit(500)).scalars())
    return _page(
        request,
        "operator_breach.html",
        principal,
        db,
        status,
        breach=breach,
        time_left=time_left,
        categories=CATEGORIES,
        statuses=breaches.STATUSES,
        organizations=orgs,
        **ctx,
    )


@router.get("/operator/breaches")
def breach_list(request: Request, db: DbSession, principal: Operator) -> Response:
    return _list_page(request, db, principal)


@router.post("/operator/breaches")
async def breach_create(request: Request, db: DbSession, principal: Operator) -> Response:
    form = await request.form()
    check_csrf(principal, str(form.get("csrf_token", "")))
    values = _values(form)
    try:
        breach = breaches.create(db, breach_in=_facts(values), actor=principal.actor)
    except DomainError as exc:
        db.rollback()
        return _list_page(request, db, principal, exc.status, error=exc.message)
    return RedirectResponse(f"/operator/breaches/{breach.id}?flash=saved", status_code=303)


@router.get("/operator/breaches/{breach_id}")
def breach_detail(breach_id: str, request: Request, db: DbSession, principal: Operator) -> Response:
    return _detail_page(request, db, principal, breach_id)


@router.post("/operator/breaches/{breach_id}")
async def breach_update(breach_id: str, request: Request, db: DbSession, principal: Operator) -> Response:
    """Save the facts, the status and the notification of the authority."""
    form = await request.form()
    check_csrf(principal, str(form.get("csrf_token", "")))
    values = _values(form)
    try:
        changes = _facts(values)
        changes["status"] = str(form.get("status", "open"))
        changes["authority_notified_at"] = parse_when(str(form.get("authority_notified_at", "")))
        changes["authority_reference"] = str(form.get("authority_reference", ""))[:200] or None
        breaches.update(db, breaches.get(db, breach_id), changes=changes, actor=principal.actor)
    except DomainError as exc:
        db.rollback()
        return _detail_page(request, db, principal, breach_id, exc.status, error=exc.message)
    return RedirectResponse(f"/operator/breaches/{breach_id}?flash=saved", status_code=303)


@router.post("/operator/breaches/{breach_id}/organizations")
def breach_add_org(
    breach_id: str,
    request: Request,
    db: DbSession,
    principal: Operator,
    csrf: Csrf,
    org_id: Annotated[str, Form(max_length=40)] = "",
    contacts_affected: Short = "",
) -> Response:
    check_csrf(principal, csrf)
    try:
        breach = breaches.get(db, breach_id)
        breaches.add_organization(
            db, breach, org_id, _count(contacts_affected, "contacts_affected"), actor=principal.actor
        )
    except DomainError as exc:
        db.rollback()
        return _detail_page(request, db, principal, breach_id, exc.status, error=exc.message)
    return RedirectResponse(f"/operator/breaches/{breach_id}?flash=saved", status_code=303)


@router.post("/operator/breaches/{breach_id}/organizations/{org_id}")
def breach_review_notice(
    breach_id: str,
    org_id: str,
    request: Request,
    db: DbSession,
    principal: Operator,
    csrf: Csrf,
    notice_subject: Annotated[str, Form(max_length=250)] = "",
    notice_body: Annotated[str, Form(max_length=50000)] = "",
    action: Short = "save",
) -> Response:
    """Save the reviewed notice; `action=send` sends it too, `action=redraft` writes it again from the facts."""
    check_csrf(principal, csrf)
    try:
        breach = breaches.get(db, breach_id)
        row = breaches.affected_one(db, breach.id, org_id)
        if action == "redraft":
            breaches_notices.draft(db, breach, row)
        else:
            breaches_notices.edit(db, breach, row, subject=notice_subject, body=notice_body, actor=principal.actor)
            if action == "send":
                breaches_notices.send(db, breach, row, actor=principal.actor)
    except DomainError as exc:
        db.rollback()
        return _detail_page(request, db, principal, breach_id, exc.status, error=exc.message)
    return RedirectResponse(f"/operator/breaches/{breach_id}?flash=saved", status_code=303)
