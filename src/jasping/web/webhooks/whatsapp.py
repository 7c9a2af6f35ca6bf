"""`GET|POST /webhooks/whatsapp`: Meta's verification challenge, and signed event notifications."""

from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from jasping.channels import inbound, whatsapp
from jasping.channels.models import ChannelConnection
from jasping.db import session_scope, unscoped
from jasping.errors import Forbidden, Invalid, Unauthorized
from jasping.web.webhooks.common import log, raw_body, route

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("/whatsapp", response_class=PlainTextResponse)
def verify(
    mode: str = Query("", alias="hub.mode", max_length=32),
    token: str = Query("", alias="hub.verify_token", max_length=256),
    challenge: str = Query("", alias="hub.challenge", max_length=256),
) -> PlainTextResponse:
    """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is a connected number's."""
    if mode != "subscribe" or not token:
        raise Forbidden("not a subscription request", code="verification_failed")
    with session_scope(write=False) as s, unscoped(s):
        rows = s.execute(select(ChannelConnection).where(ChannelConnection.type == "whatsapp")).scalars().all()
        known = [c.secrets.get("verify_token", "") for c in rows]
    if not any(hmac.compare_digest(token.encode(), t.encode()) for t in known if t):
        log.warning("WhatsApp verification with an unknown verify token")
        raise Forbidden("unknown verify token", code="verification_failed")
    return PlainTextResponse(challenge)


@router.post("/whatsapp")
async def notify(request: Request) -> dict:
    """An event notification: the signature is checked with the app secret of the number(s) it is for before
    anything is stored; then the events are stored (once each) and handled by a job."""
    body = await raw_body(request)
    signature = request.headers.get("x-hub-signature-256")
    if not signature:
        raise Unauthorized("the X-Hub-Signature-256 header is missing", code="missing_signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(payload, dict):
        raise Invalid("the body is not a WhatsApp notification", code="invalid_payload")
    return await run_in_threadpool(_store, payload, body, signature)


def _store(payload: dict, body: bytes, signature: str) -> dict:
    """Check the signature of every number the payload is for, then store its events (database work: run in a
    worker thread, never on the event loop)."""
    targets = []
    for number in sorted(whatsapp.phone_number_ids(payload)):  # every signature checked before anything is stored
        with session_scope(write=False) as s:
            connection = route(s, "whatsapp", number)
            secret, target = connection.secrets.get("app_secret", ""), (number, connection.org_id, connection.id)
        if not whatsapp.signature_ok(secret, body, signature):
            log.warning("WhatsApp webhook with a wrong signature for %s", target[2])
            raise Forbidden("the signature does not match", code="bad_signature")
        targets.append(target)
    received = 0
    for number, org_id, connection_id in targets:
        events = whatsapp.parse(payload, number)
        with session_scope(org_id) as s:
            received += len(inbound.receive(s, s.get(ChannelConnection, connection_id), events))
    return {"received": received}
