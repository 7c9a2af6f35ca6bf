"""`POST /webhooks/twilio/sms` and `/webhooks/twilio/status`: Twilio's form posts, each checked with
`X-Twilio-Signature` (the `twilio` package's RequestValidator, on the public URL from JASPING_BASE_URL)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

from jasping.channels import inbound, twilio_sms, twilio_voice
from jasping.channels.connections import e164
from jasping.channels.models import ChannelConnection
from jasping.db import session_scope
from jasping.errors import Forbidden, Invalid, Unauthorized
from jasping.web.webhooks.common import log, public_url, raw_body, route

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def signed_form(
    request: Request, number_field: str | Callable[[dict[str, str]], str]
) -> tuple[dict[str, str], str, str]:
    """The form Twilio posted, once its signature is checked with the auth token of the number it is for;
    (form, org_id, connection_id). `number_field` names the form field holding that number, or picks it from the
    form (a status callback is about a message we sent or about a call we took)."""
    body = await raw_body(request)
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise Unauthorized("the X-Twilio-Signature header is missing", code="missing_signature")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise Invalid("the body is not a form", code="invalid_form") from exc
    if callable(number_field):
        number_field = number_field(form)
    number = e164(form.get(number_field) or "")
    if not number:
        raise Invalid(f"the form has no {number_field} number", code="invalid_form")
    token, org_id, connection_id = await run_in_threadpool(_route, number)
    if not RequestValidator(token).validate(public_url(request), form, signature):
        log.warning("Twilio webhook with a wrong signature for %s", connection_id)
        raise Forbidden("the signature does not match", code="bad_signature")
    return form, org_id, connection_id


def _route(number: str) -> tuple[str, str, str]:
    with session_scope(write=False) as s:
        connection = route(s, "twilio", number)
        return connection.secrets.get("auth_token", ""), connection.org_id, connection.id


def _store(org_id: str, connection_id: str, event) -> None:  # noqa: ANN001
    with session_scope(org_id) as s:
        inbound.receive(s, s.get(ChannelConnection, connection_id), [event] if event else [])


@router.post("/sms")
async def sms(request: Request) -> Response:
    """An SMS to a connected number: stored, then answered by SMS (STOP and START are honoured)."""
    form, org_id, connection_id = await signed_form(request, "To")
    await run_in_threadpool(_store, org_id, connection_id, twilio_sms.parse(form))  # a write: off the event loop
    return Response(EMPTY_TWIML, media_type="application/xml")


def _is_call(form: dict[str, str]) -> bool:
    return bool(form.get("CallSid") and form.get("CallStatus") and not form.get("MessageSid"))


@router.post("/status")
async def status(request: Request) -> Response:
    """A status callback of a message we sent (`From` is the business number), or of a call to the business
    (`CallSid` and `CallStatus`, `To` is the business number): an ended call closes its voice conversation."""
    form, org_id, connection_id = await signed_form(request, lambda f: "To" if _is_call(f) else "From")
    if _is_call(form):
        await run_in_threadpool(twilio_voice.call_status, org_id, connection_id, form)
        return Response(status_code=204)
    await run_in_threadpool(_store, org_id, connection_id, twilio_sms.parse_status(form))
    return Response(status_code=204)
