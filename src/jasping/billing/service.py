"""Billing services: what an organization's billing looks like (`summary`, for the API and the dashboard), the
Checkout and Customer Portal sessions, invoices, and `detach_organization` for account erasure."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.billing.models import BillingAccount, Invoice, StripeEvent, UsageCounter
from jasping.billing.plans import LIMITS, PAID, PLANS, enabled, price_of
from jasping.billing.state import standing
from jasping.billing.usage import counts, month_of
from jasping.config import get_settings
from jasping.errors import Conflict, Invalid

CURRENCIES = ("eur", "mad")
MIN_TRIAL_LEFT = timedelta(hours=49)  # Stripe wants a trial_end at least 48 hours away


class BillingDisabled(Conflict):
    code = "billing_disabled"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary(session: Session, org_id: str) -> dict:
    """Plan, status, period and usage (each limit: used, limit, percent) of an organization."""
    now = clock.now()
    where = standing(session, org_id, now)
    account, plan = where.account, where.plan
    used = counts(session, org_id)
    usage = {}
    for name in LIMITS:
        limit = plan.limit(name)
        percent = None if not limit else min(100, round(100 * used[name] / limit))
        usage[name] = {"used": used[name], "limit": limit, "percent": percent}
    usage["messages"]["month"] = month_of(now)
    return {
        "enabled": enabled(),
        "plan": plan.as_dict(),
        "status": where.status,
        "subscribed_plan": account.plan if account is not None and account.plan in PAID else None,
        "trial_ends_at": _iso(where.trial_ends_at) if where.status == "trial" else None,
        "grace_ends_at": _iso(where.grace_ends_at),
        "period": {
            "start": _iso(account.period_start) if account else None,
            "end": _iso(account.period_end) if account else None,
            "cancel_at_period_end": bool(account and account.cancel_at_period_end),
        },
        "has_customer": bool(account and account.stripe_customer_id),
        "usage": usage,
        "plans": [p.as_dict() for p in PLANS.values()],
    }


def invoices(session: Session, org_id: str, limit: int = 100) -> list[Invoice]:
    """The organization's invoices, newest first (a platform table: filtered here, by hand)."""
    query = select(Invoice).where(Invoice.org_id == org_id).order_by(Invoice.issued_at.desc(), Invoice.id)
    return list(session.execute(query.limit(limit)).scalars())


def invoice_dict(invoice: Invoice) -> dict:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_paid": invoice.amount_paid,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
        "period_start": _iso(invoice.period_start),
        "period_end": _iso(invoice.period_end),
        "issued_at": _iso(invoice.issued_at),
        "paid_at": _iso(invoice.paid_at),
    }


def _require_enabled() -> None:
    if not enabled():
        raise BillingDisabled("billing is off on this server (no JASPING_STRIPE_SECRET_KEY): every feature is free")


def _return_url(path: str) -> str:
    return get_settings().base_url.rstrip("/") + path


def checkout_params(
    session: Session,
    *,
    org_id: str,
    plan: str,
    currency: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> dict:
    """The parameters of a Stripe Checkout Session subscribing `org_id` to `plan` (`stripe_api.create_checkout_session`
    sends them, once the caller's transaction is over). The organization travels as `client_reference_id` and in
    the metadata of the session and of the subscription."""
    _require_enabled()
    if plan not in PAID:
        raise Invalid(f"plan must be one of {', '.join(PAID)}", code="invalid_plan")
    if currency is not None and currency.lower() not in CURRENCIES:
        raise Invalid("currency must be eur or mad", code="invalid_currency")
    price = price_of(plan)
    if not price:
        raise Conflict(f"the {plan} plan has no Stripe price on this server (JASPING_STRIPE_PRICE_{plan.upper()})")
    where = standing(session, org_id)
    if where.status in ("active", "trialing", "past_due"):
        raise Conflict(
            "this organization already has a subscription: change it in the customer portal", code="already_subscribed"
        )
    account = session.get(BillingAccount, org_id)
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": price, "quantity": 1}],
        "client_reference_id": org_id,
        "metadata": {"org_id": org_id, "plan": plan},
        "subscription_data": {"metadata": {"org_id": org_id, "plan": plan}},
        "success_url": _return_url("/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
        "cancel_url": _return_url("/billing?checkout=cancelled"),
        "locale": locale if locale in ("en", "fr") else "auto",
    }
    if currency:
        params["currency"] = currency.lower()
    if account is not None and account.stripe_customer_id:
        params["customer"] = account.stripe_customer_id
    elif email:
        params["customer_email"] = email
    if where.status == "trial" and where.trial_ends_at and where.trial_ends_at - clock.now() > MIN_TRIAL_LEFT:
        params["subscription_data"]["trial_end"] = int(where.trial_ends_at.timestamp())  # the trial's days kept
    return params


def portal_params(session: Session, *, org_id: str, locale: str | None = None) -> dict:
    """The parameters of a Stripe Customer Portal session (change card or plan, cancel, invoices)."""
    _require_enabled()
    account = session.get(BillingAccount, org_id)
    if account is None or not account.stripe_customer_id:
        raise Conflict(
            "subscribe first: the customer portal opens once Stripe knows this organization", code="no_customer"
        )
    params = {"customer": account.stripe_customer_id, "return_url": _return_url("/billing")}
    if locale in ("en", "fr"):
        params["locale"] = locale
    return params


def detach_organization(session: Session, org_id: str) -> int:
    """Before an organization is erased: keep its invoices (billing records, 10 years) without their link to it,
    and drop its billing account and usage counters. Invoices keep what the invoice itself says (number, amounts,
    the billed name and address as Stripe issued them); nothing in them points to a user. Returns the invoices
    kept."""
    kept = session.execute(update(Invoice).where(Invoice.org_id == org_id).values(org_id=None)).rowcount
    session.execute(update(StripeEvent).where(StripeEvent.org_id == org_id).values(org_id=None))
    session.execute(delete(UsageCounter).where(UsageCounter.org_id == org_id))
    session.execute(delete(BillingAccount).where(BillingAccount.org_id == org_id))
    return kept
