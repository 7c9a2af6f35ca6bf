"""Stripe events, verified by the webhook route, then applied here: stored once by event id (a replay changes
nothing), and applied in an order-safe way — each subscription or invoice snapshot carries the event's `created`
time, and an older snapshot never overwrites a newer one, whatever order Stripe delivers them in. A canceled
subscription stays canceled; a paid invoice stays paid.

The state machine of an organization's subscription follows Stripe's statuses: none → (checkout) → trialing or
active → past_due (a payment failed: dunning emails, the plan kept for a grace period) → active again when paid,
or Free when the grace period ends (`jobs.py` tells the owners) → canceled (Free)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jasping import clock
from jasping.billing.models import BillingAccount, Invoice, StripeEvent
from jasping.billing.plans import plan_of_price
from jasping.billing.state import DUNNING, LIVE
from jasping.config import get_settings
from jasping.db import after_commit, session_scope
from jasping.errors import Invalid
from jasping.tenancy.models import Organization

log = logging.getLogger(__name__)
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "invoice.finalized")
INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}  # an invoice never goes back


def when(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None


def check_event(payload: object) -> dict:
    """The event's envelope, checked: id, type, created and data.object."""
    ok = isinstance(payload, dict) and isinstance(payload.get("data"), dict)
    obj = payload.get("data", {}).get("object") if ok else None
    if not ok or not isinstance(obj, dict) or not all(isinstance(payload.get(k), str) for k in ("id", "type")):
        raise Invalid("the body is not a Stripe event (id, type, created, data.object)", code="invalid_event")
    if not isinstance(payload.get("created"), int):
        raise Invalid("the event has no `created` time", code="invalid_event")
    return payload


def receive(payload: dict) -> str:
    """Store the event once and apply it, in one transaction; the outcome (`duplicate` for a replay)."""
    with session_scope() as s:
        row = StripeEvent(id=payload["id"][:80], type=payload["type"][:80], created=payload["created"])
        row.object_id = str(payload["data"]["object"].get("id") or "")[:80] or None
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            return "duplicate"
        org_id, outcome = apply(s, payload)
        row.org_id, row.outcome = org_id, outcome
    log.info("Stripe event %s (%s): %s", payload["id"], payload["type"], outcome)
    return outcome


def apply(session: Session, event: dict) -> tuple[str | None, str]:
    """Apply one event; (organization, outcome)."""
    kind, obj, at = event["type"], event["data"]["object"], event["created"]
    if kind == "checkout.session.completed":
        return _checkout_completed(session, obj)
    if kind in SUBSCRIPTION_EVENTS:
        return _subscription(session, obj, at, deleted=kind.endswith("deleted"))
    if kind in INVOICE_EVENTS:
        return _invoice(session, obj, at, event["id"], kind)
    return None, "ignored"


# ---- finding the organization -----------------------------------------------------------------------
def _org_exists(session: Session, org_id: object) -> str | None:
    if isinstance(org_id, str) and org_id and session.get(Organization, org_id) is not None:
        return org_id
    return None


def _org_of(session: Session, metadata: dict | None, customer: object, subscription: object) -> str | None:
    """The organization of an object: its metadata (set at checkout), else the known customer or subscription."""
    found = _org_exists(session, (metadata or {}).get("org_id"))
    if found:
        return found
    for column, value in (
        (BillingAccount.stripe_customer_id, customer),
        (BillingAccount.subscription_id, subscription),
    ):
        if isinstance(value, str) and value:
            org_id = session.execute(select(BillingAccount.org_id).where(column == value)).scalar()
            if org_id:
                return org_id
    return None


def locked_account(session: Session, org_id: str) -> BillingAccount:
    """The organization's billing account, created when absent, locked for this transaction (PostgreSQL)."""
    if session.get(BillingAccount, org_id) is None:
        try:
            with session.begin_nested():
                session.add(BillingAccount(org_id=org_id))
                session.flush()
        except IntegrityError:
            pass  # created meanwhile by another event
    return session.get(BillingAccount, org_id, with_for_update=True, populate_existing=True)


def _id(value: object) -> str | None:
    """A Stripe reference that may be expanded (`"cus_…"` or `{"id": "cus_…"}`)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


# ---- checkout -----------------------------------------------------------------------------------------
def _checkout_completed(session: Session, obj: dict) -> tuple[str | None, str]:
    org_id = _org_exists(session, obj.get("client_reference_id")) or _org_exists(
        session, (obj.get("metadata") or {}).get("org_id")
    )
    if org_id is None:
        return None, "unknown_organization"
    account = locked_account(session, org_id)
    customer, subscription = _id(obj.get("customer")), _id(obj.get("subscription"))
    if customer:
        account.stripe_customer_id = customer
        claim_invoices(session, org_id, customer)
    if subscription and account.subscription_id is None:
        account.subscription_id = subscription  # its own events bring the plan and the status
    return org_id, "linked"


def claim_invoices(session: Session, org_id: str, customer: str) -> None:
    """Invoices that arrived before the customer was known to be this organization's."""
    session.execute(
        update(Invoice).where(Invoice.stripe_customer_id == customer, Invoice.org_id.is_(None)).values(org_id=org_id)
    )


# ---- subscriptions --------------------------------------------------------------------------------------
def _first_item(obj: dict) -> dict:
    items = (obj.get("items") or {}).get("data") or []
    return items[0] if items and isinstance(items[0], dict) else {}


def _subscription(session: Session, obj: dict, at: int, *, deleted: bool) -> tuple[str | None, str]:
    sub_id, customer = _id(obj.get("id")), _id(obj.get("customer"))
    org_id = _org_of(session, obj.get("metadata"), customer, sub_id)
    if org_id is None or sub_id is None:
        return None, "unknown_organization"
    account = locked_account(session, org_id)
    created = int(obj.get("created") or 0)
    if account.subscription_id not in (None, sub_id) and (account.subscription_created or 0) > created:
        return org_id, "older_subscription"  # an earlier subscription's late news
    same = account.subscription_id == sub_id and account.subscription_created is not None
    if same and account.status == "canceled":
        return org_id, "already_canceled"  # Stripe never revives a canceled subscription
    status = "canceled" if deleted else str(obj.get("status") or "incomplete")
    if same and at < account.state_at:
        return org_id, "stale"
    item = _first_item(obj)
    price = item.get("price") or obj.get("plan") or obj.get("price") or {}
    plan = plan_of_price(_id(price))
    account.subscription_id, account.subscription_created, account.state_at = sub_id, created, at
    account.stripe_customer_id = account.stripe_customer_id or customer
    account.status = status
    account.plan = plan or account.plan
    account.currency = (price.get("currency") or obj.get("currency") or account.currency or "")[:3] or None
    account.period_start = when(obj.get("current_period_start") or item.get("current_period_start"))
    account.period_end = when(obj.get("current_period_end") or item.get("current_period_end"))
    account.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    if status in LIVE:
        end_dunning(account)
    elif status in DUNNING:
        start_dunning(account, at)
    if customer:
        claim_invoices(session, org_id, customer)
    return org_id, status if plan else f"{status}_unknown_price"


def start_dunning(account: BillingAccount, at: int) -> None:
    """A payment failed: the grace period starts at the first failure (later failures keep it)."""
    if account.payment_failed_at is None:
        account.payment_failed_at = when(at)
        account.grace_ends_at = account.payment_failed_at + timedelta(days=get_settings().billing_grace_days)
        account.downgraded_at = None


def end_dunning(account: BillingAccount) -> None:
    account.payment_failed_at = account.grace_ends_at = account.downgraded_at = None


# ---- invoices -----------------------------------------------------------------------------------------
def _invoice_subscription(obj: dict) -> tuple[str | None, dict]:
    """The invoice's subscription and its metadata (`parent.subscription_details` in API versions from 2025,
    `subscription` and `subscription_details` before)."""
    details = ((obj.get("parent") or {}).get("subscription_details")) or obj.get("subscription_details") or {}
    return _id(details.get("subscription") or obj.get("subscription")), details.get("metadata") or {}


def _tax(obj: dict) -> int:
    taxes = obj.get("total_taxes")
    if isinstance(taxes, list):
        return sum(int(t.get("amount") or 0) for t in taxes if isinstance(t, dict))
    return int(obj.get("tax") or 0)


def _invoice(session: Session, obj: dict, at: int, event_id: str, kind: str) -> tuple[str | None, str]:
    invoice_id, customer = _id(obj.get("id")), _id(obj.get("customer"))
    if invoice_id is None or not obj.get("currency"):
        return None, "invalid_invoice"
    sub_id, sub_metadata = _invoice_subscription(obj)
    org_id = _org_of(session, {**sub_metadata, **(obj.get("metadata") or {})}, customer, sub_id)
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        invoice = Invoice(
            id=invoice_id,
            status="draft",
            state_at=0,
            currency=obj["currency"][:3],
            issued_at=when(obj.get("created")) or clock.now(),
        )
        session.add(invoice)
    fresh = at >= invoice.state_at and INVOICE_RANK.get(obj.get("status"), 0) >= INVOICE_RANK.get(invoice.status, 0)
    if fresh:
        _copy_invoice(invoice, obj, at, org_id, customer, sub_id)
    invoice.org_id = invoice.org_id or org_id
    session.flush()
    org_id = invoice.org_id
    if kind in ("invoice.paid", "invoice.payment_succeeded") and org_id:
        _paid(session, invoice, org_id)
    elif kind == "invoice.payment_failed" and org_id and invoice.status != "paid":
        account = locked_account(session, org_id)
        if sub_id is None or account.subscription_id in (None, sub_id):
            start_dunning(account, at)
            after_commit(session, lambda: _queue("send_payment_failed", invoice_id, event_id))
        return org_id, "payment_failed"
    return org_id, f"invoice_{invoice.status}" if fresh else "stale"


def _copy_invoice(invoice: Invoice, obj: dict, at: int, org_id, customer, sub_id) -> None:  # noqa: ANN001
    lines = (obj.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines and isinstance(lines[0], dict) else None) or {}
    transitions = obj.get("status_transitions") or {}
    invoice.org_id = invoice.org_id or org_id
    invoice.stripe_customer_id = customer or invoice.stripe_customer_id
    invoice.subscription_id = sub_id or invoice.subscription_id
    invoice.number = obj.get("number") or invoice.number
    invoice.status = str(obj.get("status") or invoice.status)
    invoice.currency = obj["currency"][:3].lower()
    invoice.subtotal, invoice.tax = int(obj.get("subtotal") or 0), _tax(obj)
    invoice.total, invoice.amount_paid = int(obj.get("total") or 0), int(obj.get("amount_paid") or 0)
    invoice.hosted_invoice_url = obj.get("hosted_invoice_url") or invoice.hosted_invoice_url
    invoice.invoice_pdf = obj.get("invoice_pdf") or invoice.invoice_pdf
    invoice.customer_name = obj.get("customer_name") or invoice.customer_name
    invoice.customer_email = obj.get("customer_email") or invoice.customer_email
    invoice.period_start = when(period.get("start") or obj.get("period_start"))
    invoice.period_end = when(period.get("end") or obj.get("period_end"))
    invoice.issued_at = when(obj.get("created")) or invoice.issued_at or clock.now()
    invoice.paid_at = when(transitions.get("paid_at")) or invoice.paid_at
    invoice.state_at = at


def _paid(session: Session, invoice: Invoice, org_id: str) -> None:
    """A paid invoice ends the dunning of its subscription and is receipted once."""
    account = session.get(BillingAccount, org_id)
    if (
        account is not None
        and account.payment_failed_at is not None
        and invoice.subscription_id
        in (
            None,
            account.subscription_id,
        )
    ):
        account = locked_account(session, org_id)
        end_dunning(account)
        if account.status in DUNNING:
            account.status = "active"
    claimed = session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.receipt_sent_at.is_(None))
        .values(receipt_sent_at=clock.now())
    ).rowcount
    if claimed:
        after_commit(session, lambda: _queue("send_receipt", invoice.id))


def _queue(task: str, *args: str) -> None:
    from jasping.billing import mail

    getattr(mail, task)(*args)
