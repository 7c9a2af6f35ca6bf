"""Helpers of the billing tests: a local stand-in for Stripe's API at the HTTP boundary (it checks each call against
the shapes in Stripe's API reference and records it), Stripe events built from the real objects in
../shared/data/webhooks/stripe/ and signed as Stripe signs them, billing switched on, and a real SMTP server."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import stripe

from jasping.config import get_settings
from test_mail import SmtpServer, free_port

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "webhooks" / "stripe"
SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_" + "test_jasping_billing"
PRICE_STARTER = "FFBEGINNER_00000000000000"  # the price of the sample subscription objects
PRICE_PRO = "price_1ProJasPing"

# What Stripe's API reference requires of the two calls JasPing makes (form-encoded, bracketed keys).
REQUIRED = {
    "/v1/checkout/sessions": ("mode", "success_url", "line_items[0][price]", "line_items[0][quantity]"),
    "/v1/billing_portal/sessions": ("customer",),
}
ALLOWED = {
    "/v1/checkout/sessions": (
        "mode",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "customer",
        "customer_email",
        "currency",
        "locale",
        "line_items[0][price]",
        "line_items[0][quantity]",
        "metadata[org_id]",
        "metadata[plan]",
        "subscription_data[metadata][org_id]",
        "subscription_data[metadata][plan]",
        "subscription_data[trial_end]",
    ),
    "/v1/billing_portal/sessions": ("customer", "return_url", "locale", "configuration"),
}


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class StripeStub:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    fail_with: int | None = None  # answer every call with this status (Stripe's error shape)

    def start(self) -> StripeStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, param: str | None = None) -> None:
                self._answer(status, {"error": {"type": "invalid_request_error", "message": message, "param": param}})

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = dict(parse_qsl(raw, keep_blank_values=True))
                stub.calls.append(Call(self.path, {k.lower(): v for k, v in self.headers.items()}, form))
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    return self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    return self._error(400, "bodies are form-encoded")
                if stub.fail_with:
                    return self._answer(stub.fail_with, {"error": {"type": "api_error", "message": "Stripe is down"}})
                if self.path not in REQUIRED:
                    return self._error(404, f"Unrecognized request URL (POST: {self.path})")
                for name in REQUIRED[self.path]:
                    if not form.get(name):
                        return self._error(400, f"Missing required param: {name}.", name)
                unknown = [k for k in form if k not in ALLOWED[self.path]]
                if unknown:
                    return self._error(400, f"Received unknown parameter: {unknown[0]}", unknown[0])
                if self.path == "/v1/checkout/sessions":
                    return self._answer(200, _checkout_session(form))
                return self._answer(200, _portal_session(form))

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _checkout_session(form: dict) -> dict:
    """A Checkout Session object as the API answers it (the fields JasPing and a browser use)."""
    sid = "cs_test_" + secrets.token_hex(16)
    return {
        "id": sid,
        "object": "checkout.session",
        "mode": form["mode"],
        "client_reference_id": form.get("client_reference_id"),
        "customer": form.get("customer"),
        "customer_email": form.get("customer_email"),
        "currency": form.get("currency"),
        "metadata": {"org_id": form.get("metadata[org_id]")},
        "status": "open",
        "success_url": form["success_url"],
        "cancel_url": form.get("cancel_url"),
        "url": f"https://checkout.stripe.com/c/pay/{sid}",
        "livemode": False,
    }


def _portal_session(form: dict) -> dict:
    sid = "bps_" + secrets.token_hex(12)
    return {
        "id": sid,
        "object": "billing_portal.session",
        "customer": form["customer"],
        "return_url": form.get("return_url"),
        "created": int(time.time()),
        "livemode": False,
        "url": f"https://billing.stripe.com/p/session/test_{sid}",
    }


# ---- events -------------------------------------------------------------------------------------------
def stripe_object(name: str, **changes) -> dict:
    """A real Stripe object from the shared data (`subscription.created`, `invoice`…), with `changes` applied."""
    data = json.loads((DATA / f"{name}.json").read_text())
    obj = copy.deepcopy(data.get("object") if isinstance(data.get("object"), dict) else data)
    obj.update(changes)
    return obj


def event(kind: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    """An event envelope shaped like Stripe's (docs_event_object_example.json) around `obj`."""
    envelope = json.loads((DATA / "docs_event_object_example.json").read_text())
    envelope.update(
        id=event_id or "evt_" + secrets.token_hex(12),
        type=kind,
        created=created if created is not None else int(time.time()),
        data={"object": obj},
    )
    return envelope


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header as Stripe computes it: t=<time>,v1=HMAC-SHA256(secret, "<time>.<body>");
    checked here with the stripe package's own verification so the format cannot drift."""
    at = int(time.time()) if at is None else at
    v1 = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={at},v1={v1}"
    if secret == WEBHOOK_SECRET and abs(time.time() - at) < 300:
        stripe.WebhookSignature.verify_header(body.decode(), header, WEBHOOK_SECRET, 300)
    return header


def post_event(client, payload: dict, **sign_kw):  # noqa: ANN001, ANN201
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": sign(body, **sign_kw), "Content-Type": "application/json"},
    )


# ---- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def billing_on(monkeypatch, stripe_stub: StripeStub) -> StripeStub:  # noqa: ANN001
    """Billing switched on, Stripe's API pointed at the stand-in; jobs run inline."""
    from jasping.jobs.queue import huey

    monkeypatch.setattr(huey, "immediate", True)
    for name, value in (
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_PRICE_STARTER", PRICE_STARTER),
        ("STRIPE_PRICE_PRO", PRICE_PRO),
        ("STRIPE_API_URL", stripe_stub.url),
    ):
        monkeypatch.setenv(f"JASPING_{name}", value)
    get_settings.cache_clear()
    yield stripe_stub
    get_settings.cache_clear()


@pytest.fixture
def mailbox(monkeypatch) -> Iterator[SmtpServer]:  # noqa: ANN001
    """A real SMTP server as the platform's mailer."""
    server = SmtpServer(free_port())
    server.start()
    monkeypatch.setenv("JASPING_SMTP_URL", server.url)
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


def mails_to(server: SmtpServer, to: str) -> list[str]:
    """The subjects of the mails `to` received."""
    return [
        m["Subject"]
        for (_, rcpt, _), m in zip(server.inbox.received, server.inbox.messages(), strict=True)
        if to in rcpt
    ]
