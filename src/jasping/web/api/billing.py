"""`/api/v1/billing`: plan, status, period and usage; invoices; Stripe Checkout to subscribe and the Customer Portal
to change card or plan or cancel (both answer the Stripe page's URL to send the person to)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from jasping.billing import service, stripe_api
from jasping.security.audit import record
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/billing", tags=["billing"])


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Literal["starter", "pro"]
    currency: Literal["eur", "mad"] | None = None


class StripePage(BaseModel):
    id: str
    url: str


@router.get("")
def read(principal: CurrentPrincipal, db: DbSession) -> dict:
    """The plan in force, its status (off, trial, trialing, active, past_due, downgraded, canceled, free), the
    subscription period, and usage against each limit (`limit` null: no limit)."""
    return service.summary(db, principal.org_id)


@router.get("/invoices")
def invoices(principal: CurrentPrincipal, db: DbSession, limit: int = Query(100, ge=1, le=500)) -> dict:
    """Invoices, newest first: amounts in the currency's minor unit, tax, hosted page and PDF links."""
    return {"invoices": [service.invoice_dict(i) for i in service.invoices(db, principal.org_id, limit)]}


def _locale(principal) -> str | None:  # noqa: ANN001
    return principal.user.locale if principal.user is not None else None


@router.post("/checkout", response_model=StripePage)
def checkout(body: CheckoutCreate, principal: AdminPrincipal, db: DbSession) -> StripePage:
    """A Stripe Checkout Session for `plan`; send the person to `url`. The webhook records the subscription."""
    params = service.checkout_params(
        db,
        org_id=principal.org_id,
        plan=body.plan,
        currency=body.currency,
        email=principal.user.email if principal.user is not None else None,
        locale=_locale(principal),
    )
    record(db, actor=principal.actor, action="billing.checkout", org_id=principal.org_id, detail={"plan": body.plan})
    db.commit()  # no transaction (no SQLite write lock) held while Stripe answers
    return StripePage(**stripe_api.create_checkout_session(params))


@router.post("/portal", response_model=StripePage)
def portal(principal: AdminPrincipal, db: DbSession) -> StripePage:
    """A Stripe Customer Portal session: change the card or the plan, cancel, download invoices."""
    params = service.portal_params(db, org_id=principal.org_id, locale=_locale(principal))
    db.commit()
    return StripePage(**stripe_api.create_portal_session(params))
