"""`POST /webhooks/stripe`: Stripe's events, verified with `Stripe-Signature` (JASPING_STRIPE_WEBHOOK_SECRET, the
`stripe` package's check, 5 minutes of tolerance) before anything is stored; then stored once by event id and
applied (billing.events). A replay answers 200 and changes nothing."""

from __future__ import annotations

import json

import stripe
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from jasping.billing import events
from jasping.billing.plans import enabled
from jasping.config import get_settings
from jasping.errors import Forbidden, Invalid, NotFound, Unauthorized
from jasping.web.webhooks.common import log, raw_body

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
TOLERANCE = 300  # seconds between Stripe's signing time and now


@router.post("/stripe")
async def stripe_event(request: Request) -> dict:
    """A Stripe event: 401 without a signature, 403 with a forged or stale one, 200 once stored (or a replay)."""
    secret = get_settings().stripe_webhook_secret
    if not enabled() or not secret:
        raise NotFound("billing is off on this server", code="billing_disabled")
    body = await raw_body(request)
    signature = request.headers.get("stripe-signature")
    if not signature:
        raise Unauthorized("the Stripe-Signature header is missing", code="missing_signature")
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature, secret, TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        log.warning("Stripe webhook refused: %s", exc)
        raise Forbidden("the signature does not match, or it is older than 5 minutes", code="bad_signature") from exc
    try:
        payload = events.check_event(json.loads(body))
    except ValueError as exc:
        raise Invalid("the body is not valid JSON", code="invalid_json") from exc
    outcome = await run_in_threadpool(events.receive, payload)
    return {"received": True, "outcome": outcome}
