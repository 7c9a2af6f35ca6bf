"""`POST /webhooks/twilio/voice`, `/webhooks/twilio/voice/gather` and `/webhooks/twilio/voice/dial-status`: a phone
call to a connected Twilio number, answered with TwiML. Every request is checked with `X-Twilio-Signature` (on the
public URL, query string included) before anything is stored; the number called (`To`) picks the agent.
Call status callbacks arrive at `/webhooks/twilio/status` (see `web/webhooks/twilio.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from jasping.channels import twilio_voice, voice_twiml
from jasping.web.webhooks.twilio import signed_form

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="application/xml")


def _number(value: str | None, default: int, top: int = 10_000) -> int:
    """A small counter from our own action URL (signed by Twilio with it); out of range reads as `default`."""
    return int(value) if value and value.isdigit() and 0 <= int(value) <= top else default


@router.post("/voice")
async def voice(request: Request) -> Response:
    """An incoming call: the greeting (it knows whether the team is in) and a speech gather."""
    form, org_id, connection_id = await signed_form(request, "To")
    return _twiml(await run_in_threadpool(twilio_voice.incoming, org_id, connection_id, form))


@router.post("/voice/gather")
async def voice_gather(request: Request) -> Response:
    """What the caller said (`SpeechResult`, empty on silence): the agent's reply, spoken, and what comes next."""
    form, org_id, connection_id = await signed_form(request, "To")
    query = request.query_params
    xml = await run_in_threadpool(
        lambda: twilio_voice.gathered(
            org_id,
            connection_id,
            form,
            seq=_number(query.get("seq"), 1) or 1,
            silent=_number(query.get("silent"), 0, top=voice_twiml.MAX_SILENCES),
            offer=query.get("offer"),
        )
    )
    return _twiml(xml)


@router.post("/voice/dial-status")
async def voice_dial_status(request: Request) -> Response:
    """How the transfer to the team ended (`DialCallStatus`): nobody answered leaves a callback lead."""
    form, org_id, connection_id = await signed_form(request, "To")
    seq = _number(request.query_params.get("seq"), 1) or 1
    xml = await run_in_threadpool(lambda: twilio_voice.dial_status(org_id, connection_id, form, seq=seq))
    return _twiml(xml)
