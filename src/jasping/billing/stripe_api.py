"""Calls to Stripe's API (the `stripe` package, through JASPING_STRIPE_API_URL): a Checkout Session to subscribe, a
Customer Portal session to change card or plan or cancel. Card numbers never reach JasPing: both are Stripe pages."""

from __future__ import annotations

import logging

import stripe

from jasping.config import get_settings
from jasping.errors import DomainError

log = logging.getLogger(__name__)


class StripeUnavailable(DomainError):
    """Stripe refused the call or could not be reached."""

    status, code = 502, "stripe_unavailable"


def client() -> stripe.StripeClient:
    settings = get_settings()
    return stripe.StripeClient(
        settings.stripe_secret_key or "",
        base_addresses={"api": settings.stripe_api_url.rstrip("/")},
        max_network_retries=2,
    )


def _call(what: str, fn, params: dict) -> dict:  # noqa: ANN001
    try:
        result = fn(params=params)
    except stripe.StripeError as exc:
        log.warning("Stripe refused %s: %s", what, exc.user_message or exc)
        raise StripeUnavailable(f"Stripe could not create the {what}: {exc.user_message or 'try again later'}") from exc
    return {"id": result["id"], "url": result["url"]}


def create_checkout_session(params: dict) -> dict:
    """POST /v1/checkout/sessions; {id, url}."""
    return _call("checkout session", client().v1.checkout.sessions.create, params)


def create_portal_session(params: dict) -> dict:
    """POST /v1/billing_portal/sessions; {id, url}."""
    return _call("customer portal session", client().v1.billing_portal.sessions.create, params)
