"""Dashboard: the Billing page — plan and status, usage bars, invoices, and the buttons to Stripe Checkout (subscribe)
and the Customer Portal (card, plan, cancellation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from jasping.billing import service, stripe_api
from jasping.billing.mail import money
from jasping.errors import Forbidden, Invalid
from jasping.tenancy.models import Role
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)
LIMIT_LABELS = {
    "messages": "Customer messages this month",
    "agents": "Agents",
    "channels": "WhatsApp and phone numbers",
    "seats": "Members",
    "knowledge_chars": "Knowledge (characters)",
}
STATUS_LABELS = {
    "trial": "Free trial",
    "trialing": "Trial, subscribed",
    "active": "Active",
    "past_due": "Payment failed: grace period",
    "unpaid": "Unpaid",
    "downgraded": "Moved to Free: payment missing",
    "canceled": "Cancelled",
    "free": "Free",
    "paused": "Paused",
    "incomplete_expired": "Checkout not completed",
    "draft": "Draft",
    "open": "Open",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}


@router.get("/billing")
def billing_page(request: Request, db: DbSession, principal: Member) -> Response:
    invoices = service.invoices(db, principal.org_id, 24)
    return _page(
        request,
        "billing.html",
        principal,
        db,
        billing=service.summary(db, principal.org_id),
        invoices=invoices,
        money=money,
        labels=LIMIT_LABELS,
        statuses=STATUS_LABELS,
        returned=request.query_params.get("checkout"),
    )


def _admin(principal: Member, csrf: str) -> None:
    check_csrf(principal, csrf)
    if not principal.role.allows(Role.admin):
        raise Forbidden("only owners and admins manage billing")


@router.post("/billing/checkout")
def billing_checkout(
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    plan: Annotated[str, Form(max_length=16)],
    currency: Annotated[str, Form(max_length=3)] = "eur",
) -> Response:
    _admin(principal, csrf)
    if currency not in ("eur", "mad"):
        raise Invalid("currency must be eur or mad", code="invalid_currency")
    params = service.checkout_params(
        db,
        org_id=principal.org_id,
        plan=plan,
        currency=currency,
        email=principal.user.email,
        locale=principal.user.locale,
    )
    db.commit()  # no transaction held while Stripe answers
    return RedirectResponse(stripe_api.create_checkout_session(params)["url"], status_code=303)


@router.post("/billing/portal")
def billing_portal(db: DbSession, principal: Member, csrf: Csrf) -> Response:
    _admin(principal, csrf)
    params = service.portal_params(db, org_id=principal.org_id, locale=principal.user.locale)
    db.commit()
    return RedirectResponse(stripe_api.create_portal_session(params)["url"], status_code=303)
