"""`/api/v1/billing`: the summary, Checkout and the Customer Portal through JASPING_STRIPE_API_URL (a local stand-in
checking the calls against Stripe's documented parameters), bad input, the dashboard page, and billing off."""

from __future__ import annotations

import time

import billing_fixtures
from billing_fixtures import PRICE_PRO, SECRET_KEY, event, post_event, stripe_object

billing_on, stripe_stub = billing_fixtures.billing_on, billing_fixtures.stripe_stub


def test_billing_off_means_every_feature_and_no_limits(client, make_org) -> None:
    org = make_org()
    body = org.get("/api/v1/billing").json()
    assert body["enabled"] is False and body["status"] == "off"
    assert body["plan"]["key"] == "unlimited" and all(u["limit"] is None for u in body["usage"].values())
    r = org.post("/api/v1/billing/checkout", json={"plan": "pro"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "billing_disabled"
    assert org.post("/api/v1/billing/portal").status_code == 409
    hook = client.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert hook.status_code == 404 and hook.json()["error"]["code"] == "billing_disabled"
    page = org.client.get("/billing")
    assert page.status_code == 200 and "Billing is off on this server" in page.text


def test_a_new_organization_is_on_the_trial_with_its_limits(client, billing_on, make_org) -> None:
    org = make_org()
    body = org.get("/api/v1/billing").json()
    assert body["enabled"] is True and body["status"] == "trial" and body["plan"]["key"] == "pro"
    assert body["trial_ends_at"] is not None
    assert body["usage"]["seats"] == {"used": 1, "limit": 15, "percent": 7}
    assert body["usage"]["messages"]["used"] == 0 and body["usage"]["messages"]["month"]
    assert {p["key"] for p in body["plans"]} == {"free", "starter", "pro"}


def test_checkout_sends_the_documented_parameters_and_answers_stripes_url(client, billing_on, make_org) -> None:
    org = make_org()
    r = org.client.post("/api/v1/billing/checkout", json={"plan": "pro", "currency": "mad"})  # the owner's session
    assert r.status_code == 200, r.text
    assert r.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [call] = billing_on.calls
    assert call.path == "/v1/checkout/sessions"
    assert call.headers["authorization"] == f"Bearer {SECRET_KEY}"
    form = call.form
    assert form["mode"] == "subscription" and form["line_items[0][price]"] == PRICE_PRO
    assert form["line_items[0][quantity]"] == "1" and form["currency"] == "mad"
    assert form["client_reference_id"] == org.id and form["metadata[org_id]"] == org.id
    assert form["subscription_data[metadata][org_id]"] == org.id
    assert form["customer_email"] == org.email
    assert form["success_url"].startswith("http://testserver/billing?checkout=success")
    assert form["cancel_url"] == "http://testserver/billing?checkout=cancelled"
    assert int(form["subscription_data[trial_end]"]) > time.time() + 13 * 86400  # the trial's days are kept


def test_checkout_refuses_bad_input_with_clear_errors(client, billing_on, make_org) -> None:
    org = make_org()
    assert org.post("/api/v1/billing/checkout", json={"plan": "gold"}).status_code == 422
    assert org.post("/api/v1/billing/checkout", json={"plan": "pro", "currency": "usd"}).status_code == 422
    assert org.post("/api/v1/billing/checkout", json={"plan": "pro", "extra": 1}).status_code == 422
    billing_on.fail_with = 500
    down = org.post("/api/v1/billing/checkout", json={"plan": "starter"})
    assert down.status_code == 502 and down.json()["error"]["code"] == "stripe_unavailable"


def test_the_portal_opens_once_stripe_knows_the_customer(client, billing_on, make_org) -> None:
    org = make_org()
    r = org.post("/api/v1/billing/portal")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_customer"
    session = stripe_object("checkout.session.completed", client_reference_id=org.id)
    post_event(client, event("checkout.session.completed", session))
    r = org.post("/api/v1/billing/portal")
    assert r.status_code == 200 and r.json()["url"].startswith("https://billing.stripe.com/p/session/")
    call = billing_on.calls[-1]
    assert call.path == "/v1/billing_portal/sessions"
    assert call.form == {"customer": session["customer"], "return_url": "http://testserver/billing"}


def test_a_viewer_cannot_subscribe(client, billing_on, make_org) -> None:
    org = make_org()
    key = org.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    r = client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403
    assert client.get("/api/v1/billing", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_the_billing_page_shows_plan_usage_and_invoices(client, billing_on, make_org) -> None:
    org = make_org()
    invoice = stripe_object("invoice", currency="eur", metadata={"org_id": org.id})
    post_event(client, event("invoice.paid", invoice))
    page = org.client.get("/billing")
    assert page.status_code == 200
    assert "Free trial" in page.text and "<progress" in page.text and invoice["number"] in page.text
    assert invoice["invoice_pdf"] in page.text and 'action="/billing/checkout"' in page.text
    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get("/billing")
    assert "Facturation" in fr.text and "Essai gratuit" in fr.text
    form = {"csrf_token": org.client.headers["X-CSRF-Token"], "plan": "starter", "currency": "eur"}
    go = org.client.post("/billing/checkout", data=form, follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"].startswith("https://checkout.stripe.com/")


def test_the_plan_limits_new_agents_and_numbers(client, billing_on, make_org, monkeypatch) -> None:
    from jasping.config import get_settings

    monkeypatch.setenv("JASPING_BILLING_TRIAL_DAYS", "0")  # no trial: Free (1 agent, no WhatsApp or phone number)
    get_settings.cache_clear()
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "One"})
    assert agent.status_code == 201, agent.text
    second = org.post("/api/v1/agents", json={"name": "Two"})
    assert second.status_code == 402 and second.json()["error"]["code"] == "plan_limit"
    assert "Free plan allows 1 agent:" in second.json()["error"]["message"]
    number = {
        "type": "twilio",
        "phone_number": "+33612345678",
        "account_sid": "AC" + "0" * 32,
        "auth_token": "t" * 32,
    }
    r = org.post(f"/api/v1/agents/{agent.json()['id']}/channels", json=number)
    assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit"
    usage = org.get("/api/v1/billing").json()["usage"]
    assert usage["agents"] == {"used": 1, "limit": 1, "percent": 100} and usage["channels"]["used"] == 0
