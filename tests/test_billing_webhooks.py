"""`POST /webhooks/stripe`: events built from real Stripe objects and signed as Stripe signs them; forged, stale and
replayed events; the subscription state machine in and out of order; dunning; invoices and receipts."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

import billing_fixtures
from billing_fixtures import event, mails_to, post_event, sign, stripe_object
from jasping import clock
from jasping.billing.models import BillingAccount, Invoice, StripeEvent
from jasping.db import session_scope

billing_on, mailbox, stripe_stub = billing_fixtures.billing_on, billing_fixtures.mailbox, billing_fixtures.stripe_stub
T0 = int(time.time()) - 3600  # Stripe times of the events below: an hour ago, then later


def _subscription(org_id: str, kind: str = "created", **changes) -> dict:
    obj = stripe_object(f"subscription.{kind}", **changes)
    obj["metadata"] = {"org_id": org_id, "plan": "starter"}
    return obj


def _billing(org) -> dict:  # noqa: ANN001
    r = org.get("/api/v1/billing")
    assert r.status_code == 200, r.text
    return r.json()


def _events() -> int:
    with session_scope() as s:
        return s.execute(select(func.count()).select_from(StripeEvent)).scalar()


def test_missing_forged_and_stale_signatures_are_refused_and_nothing_is_stored(client, billing_on, make_org) -> None:
    org = make_org()
    payload = event("customer.subscription.created", _subscription(org.id, status="active"))
    unsigned = client.post("/webhooks/stripe", json=payload)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "missing_signature"
    forged = post_event(client, payload, secret="whsec_not_ours")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"
    stale = post_event(client, payload, at=int(time.time()) - 301)  # Stripe's 5-minute tolerance
    assert stale.status_code == 403
    body = b'{"id": "evt_1", "type": "invoice.paid"}'
    tampered = client.post("/webhooks/stripe", content=body + b" ", headers={"Stripe-Signature": sign(body)})
    assert tampered.status_code == 403
    assert _events() == 0
    assert _billing(org)["status"] == "trial"
    bad = client.post("/webhooks/stripe", content=b"[]", headers={"Stripe-Signature": sign(b"[]")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_event"


def test_a_replayed_event_changes_nothing(client, billing_on, make_org) -> None:
    org = make_org()
    payload = event("customer.subscription.created", _subscription(org.id, status="active"), created=T0)
    first = post_event(client, payload)
    assert first.status_code == 200 and first.json()["outcome"] == "active"
    again = post_event(client, payload)  # Stripe delivers again, signed anew
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert _events() == 1


def test_checkout_then_subscription_lifecycle_in_order(client, billing_on, make_org) -> None:
    org = make_org()
    session = stripe_object("checkout.session.completed", client_reference_id=org.id)
    r = post_event(client, event("checkout.session.completed", session, created=T0))
    assert r.json()["outcome"] == "linked"
    customer = session["customer"]
    sub = _subscription(org.id, status="trialing", customer=customer)
    assert (
        post_event(client, event("customer.subscription.created", sub, created=T0 + 1)).json()["outcome"] == "trialing"
    )
    billing = _billing(org)
    assert (billing["plan"]["key"], billing["status"]) == ("starter", "trialing")
    assert billing["period"]["end"].startswith("2017-03-08")  # the object's current_period_end
    updated = _subscription(org.id, "updated", status="active", customer=customer, cancel_at_period_end=True)
    post_event(client, event("customer.subscription.updated", updated, created=T0 + 2))
    billing = _billing(org)
    assert (billing["status"], billing["period"]["cancel_at_period_end"]) == ("active", True)
    assert billing["period"]["end"].startswith("2017-03-08")  # from the item (API versions from 2025)
    deleted = _subscription(org.id, "deleted", customer=customer)
    assert post_event(client, event("customer.subscription.deleted", deleted, created=T0 + 3)).json()["outcome"] == (
        "canceled"
    )
    billing = _billing(org)
    assert (billing["plan"]["key"], billing["status"]) == ("free", "canceled")
    with session_scope() as s:
        assert s.get(BillingAccount, org.id).stripe_customer_id == customer


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_the_state_follows_stripe_time_not_arrival_order(client, billing_on, make_org, order) -> None:
    org = make_org()
    snapshots = [
        ("customer.subscription.created", _subscription(org.id, status="active")),
        ("customer.subscription.updated", _subscription(org.id, "updated", status="past_due")),
        ("customer.subscription.deleted", _subscription(org.id, "deleted")),
    ]
    for n in order:
        kind, obj = snapshots[n]
        assert post_event(client, event(kind, obj, created=T0 + n)).status_code == 200
    assert _billing(org)["status"] == "canceled"  # the last in Stripe's time, whatever arrived last


def test_an_older_snapshot_never_overwrites_a_newer_one(client, billing_on, make_org) -> None:
    org = make_org()
    post_event(client, event("customer.subscription.updated", _subscription(org.id, status="active"), created=T0 + 5))
    late = post_event(
        client, event("customer.subscription.created", _subscription(org.id, status="incomplete"), created=T0)
    )
    assert late.json()["outcome"] == "stale"
    assert _billing(org)["status"] == "active"
    # a new subscription after a cancellation wins; late news of the old one is ignored
    post_event(client, event("customer.subscription.deleted", _subscription(org.id, "deleted"), created=T0 + 6))
    newer = _subscription(org.id, status="active", id="sub_new", created=1_700_000_000)
    post_event(client, event("customer.subscription.created", newer, created=T0 + 7))
    old = post_event(
        client, event("customer.subscription.updated", _subscription(org.id, status="active"), created=T0 + 8)
    )
    assert old.json()["outcome"] == "older_subscription"
    assert _billing(org)["status"] == "active"
    with session_scope() as s:
        assert s.get(BillingAccount, org.id).subscription_id == "sub_new"


def _invoice(org_id: str, kind: str, **changes) -> dict:
    name = "invoice.payment_failed" if kind == "failed" else "invoice"
    obj = stripe_object(name, **changes)
    obj["parent"] = {
        "type": "subscription_details",
        "subscription_details": {"subscription": "sub_00000000000000", "metadata": {"org_id": org_id}},
    }
    return obj


def test_dunning_grace_period_emails_and_downgrade(client, billing_on, mailbox, make_org, monkeypatch) -> None:
    org = make_org()
    post_event(client, event("customer.subscription.created", _subscription(org.id, status="active"), created=T0))
    failed = _invoice(org.id, "failed", id="in_dunning", currency="eur")
    r = post_event(client, event("invoice.payment_failed", failed, created=T0 + 10))
    assert r.json()["outcome"] == "payment_failed"
    post_event(
        client, event("customer.subscription.updated", _subscription(org.id, status="past_due"), created=T0 + 11)
    )
    billing = _billing(org)
    assert (billing["plan"]["key"], billing["status"]) == ("starter", "past_due")  # the plan is kept in grace
    assert billing["grace_ends_at"] is not None
    assert mails_to(mailbox, org.email) == ["Your payment of 249.00 EUR failed"]
    again = _invoice(org.id, "failed", id="in_dunning", currency="eur", attempt_count=2)
    post_event(client, event("invoice.payment_failed", again, created=T0 + 20))  # the grace does not restart
    assert len(mails_to(mailbox, org.email)) == 2

    from jasping.billing import jobs

    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert _billing(org)["status"] == "downgraded" and _billing(org)["plan"]["key"] == "free"
    assert jobs.billing_grace_ends() == {"downgraded": 1}
    assert jobs.billing_grace_ends() == {"downgraded": 0}  # the owners are told once
    assert mails_to(mailbox, org.email)[-1] == "Acme is now on the Free plan"

    paid = _invoice(org.id, "paid", id="in_dunning", currency="eur", status="paid", amount_paid=24900)
    post_event(client, event("invoice.paid", paid, created=T0 + 30))
    assert _billing(org)["status"] == "active" and _billing(org)["plan"]["key"] == "starter"
    late_failure = post_event(client, event("invoice.payment_failed", again, created=T0 + 25))
    assert late_failure.json()["outcome"] in ("stale", "invoice_paid")  # arrived after the payment: no dunning
    assert _billing(org)["status"] == "active"


def test_invoices_are_recorded_receipted_once_and_kept_after_the_organization_is_erased(
    client, billing_on, mailbox, make_org
) -> None:
    org = make_org()
    invoice = stripe_object("invoice", currency="mad", metadata={"org_id": org.id})
    invoice["total_taxes"] = [{"amount": 3800, "tax_behavior": "exclusive"}]
    early = stripe_object("invoice", currency="mad", status="open", metadata={"org_id": org.id})
    post_event(client, event("invoice.paid", invoice, created=T0 + 2))
    post_event(client, event("invoice.finalized", early, created=T0 + 1))  # older news: the invoice stays paid
    post_event(client, event("invoice.paid", invoice, created=T0 + 3))  # the same news, another event id
    r = org.get("/api/v1/billing/invoices")
    [row] = r.json()["invoices"]
    assert row["status"] == "paid" and row["currency"] == "mad" and row["tax"] == 3800
    assert row["total"] == invoice["total"] and row["hosted_invoice_url"] == invoice["hosted_invoice_url"]
    assert row["invoice_pdf"] == invoice["invoice_pdf"]
    subjects = mails_to(mailbox, org.email)
    assert subjects == [f"Receipt for invoice {invoice['number']}"]  # once, however many events say paid

    from jasping.privacy import retention
    from jasping.privacy.account_deletion import erase_organization

    with session_scope() as s:  # account erasure's path: billing detached, then the organization erased
        erase_organization(s, org.id)
    with session_scope() as s:
        kept = s.get(Invoice, invoice["id"])
        assert kept.org_id is None and kept.customer_email == invoice["customer_email"]  # readable: platform key
    ends = kept.issued_at.replace(year=kept.issued_at.year + 10)  # 10 years (120 calendar months) after issue
    if ends.tzinfo is None:
        ends = ends.replace(tzinfo=UTC)
    retention.apply(now=ends - timedelta(days=1))
    with session_scope() as s:
        assert s.get(Invoice, invoice["id"]) is not None
    retention.apply(now=ends + timedelta(days=1))
    with session_scope() as s:
        assert s.get(Invoice, invoice["id"]) is None


def test_an_invoice_before_the_checkout_is_claimed_by_it(client, billing_on, make_org) -> None:
    org = make_org()
    invoice = stripe_object("invoice", customer="cus_early")
    assert post_event(client, event("invoice.paid", invoice, created=T0)).status_code == 200
    assert org.get("/api/v1/billing/invoices").json()["invoices"] == []
    session = stripe_object("checkout.session.completed", client_reference_id=org.id, customer="cus_early")
    post_event(client, event("checkout.session.completed", session, created=T0 + 1))
    assert [i["id"] for i in org.get("/api/v1/billing/invoices").json()["invoices"]] == [invoice["id"]]


def test_unknown_events_are_acknowledged_and_ignored(client, billing_on) -> None:
    r = post_event(client, event("setup_intent.created", {"id": "seti_1", "object": "setup_intent"}))
    assert r.status_code == 200 and r.json()["outcome"] == "ignored"
    orphan = post_event(client, event("checkout.session.completed", stripe_object("checkout.session.completed")))
    assert orphan.json()["outcome"] == "unknown_organization"
