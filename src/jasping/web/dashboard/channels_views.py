"""Dashboard page of an agent's channels: the WhatsApp and Twilio numbers it answers on (with the webhook URL to
give the provider), the forms to connect one, disconnecting, and the replies that could not be delivered.

The forms are checked by the API's own models (`WhatsAppIn`, `TwilioIn`) and saved by `connections.connect`;
each problem is said in the user's language next to the field it is about. What the user typed is shown again,
except the secrets (tokens, app secret, verify token), which are never written back into a page.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from jasping import clock
from jasping.agents.service import get_agent
from jasping.channels import connections, deliveries
from jasping.channels.connections import TwilioIn, WhatsAppIn
from jasping.channels.models import ChannelConnection
from jasping.config import get_settings
from jasping.errors import Conflict
from jasping.tenancy.models import Organization, Role
from jasping.web.api.channels import _read, send_again
from jasping.web.dashboard.i18n import translator
from jasping.web.dashboard.render import language
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)

WHATSAPP_FIELDS = (
    "phone_number_id",
    "waba_id",
    "access_token",
    "app_secret",
    "verify_token",
    "template_name",
    "template_language",
)
TWILIO_FIELDS = ("phone_number", "account_sid", "auth_token", "voice", "handoff_number", "record_calls")
SECRET_FIELDS = frozenset({"access_token", "app_secret", "verify_token", "auth_token"})  # never shown again
NOTICES = {
    "connected": "Number connected. Now give the provider the webhook URL shown below.",
    "disconnected": "Number disconnected.",
    "resent": "The reply is queued to be sent again.",
    "not_dead": "This reply is no longer in the list: it was sent again already.",
}
# what a problem found by the models means, in plain words (the English text is the key of its translation)
_PATTERN = {
    "phone_number_id": "Give the phone number ID from Meta's API Setup page: 5 to 20 digits "
    "(it is not the phone number itself).",
    "waba_id": "Give the WhatsApp Business Account ID from Meta's API Setup page: 5 to 20 digits.",
    "account_sid": "The Account SID starts with AC followed by 32 letters and digits, as in the Twilio console.",
    "template_name": "A template name has only lowercase letters, digits and _, as in WhatsApp Manager.",
}
TAKEN = "This number is already connected to an agent. Disconnect it from that agent first, or choose another number."
_MAX_KEPT = 300  # a value shown again is cut to this length


def _form_values(fields: dict[str, str | bool]) -> dict[str, str | bool]:
    """What the user typed, to show the form again: everything but the secrets."""
    return {
        name: (value if isinstance(value, bool) else value[:_MAX_KEPT])
        for name, value in fields.items()
        if name not in SECRET_FIELDS
    }


def _field_of(loc: tuple) -> str:
    if loc[:1] == ("template",):
        return "template_language" if loc[1:2] == ("language",) else "template_name"
    return str(loc[0]) if loc else ""


def field_problems(exc: ValidationError, submitted: dict[str, str | bool], lang: str) -> dict[str, str]:
    """Each field's first problem, in plain words in `lang` (the form's field names as keys)."""
    _ = translator(lang)
    problems: dict[str, str] = {}
    for err in exc.errors():
        field = _field_of(tuple(err.get("loc", ())))
        if field in problems:
            continue
        kind, ctx = err.get("type", ""), err.get("ctx") or {}
        if submitted.get(field) in ("", None) and kind in ("string_too_short", "string_pattern_mismatch", "missing"):
            message = _("Fill in this field.")
        elif kind == "string_pattern_mismatch" and field in _PATTERN:
            message = _(_PATTERN[field])
        elif kind == "string_too_short":
            message = _("Too short: at least {n} characters.").format(n=ctx.get("min_length", "?"))
        elif kind == "string_too_long":
            message = _("Too long: at most {n} characters.").format(n=ctx.get("max_length", "?"))
        else:  # the models' own words (e.g. a number not in international form)
            text = str(err.get("msg", "")).removeprefix("Value error, ")
            message = _(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        problems[field] = message
    return problems


def _local(when: datetime | None, tz: str) -> datetime | None:
    if when is None:
        return None
    try:
        return clock.as_utc(when).astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return clock.as_utc(when)


def _dead_letters(db: DbSession, agent_id: str, channels: dict[str, ChannelConnection], tz: str) -> list[dict]:
    rows = []
    for d in deliveries.dead_letters(db, agent_id=agent_id, limit=100):
        try:
            text = str(json.loads(d.body).get("text") or "")
        except (ValueError, AttributeError):
            text = ""
        connection = channels.get(d.connection_id)
        rows.append(
            {
                "id": d.id,
                "at": _local(d.created_at, tz),
                "conversation_id": d.conversation_id,
                "attempts": d.attempts,
                "last_error": d.last_error or "",
                "text": text[:200] + ("…" if len(text) > 200 else ""),
                "channel": connection.type if connection else "",
                "address": connection.address if connection else "",
            }
        )
    return rows


def _channels_page(
    request: Request, db: DbSession, principal: Member, agent_id: str, status_code: int = 200, **ctx
) -> Response:
    agent = get_agent(db, agent_id)
    org = db.get(Organization, principal.org_id)
    tz = org.timezone if org else "UTC"
    rows = connections.list_connections(db, agent_id)
    base_url = get_settings().base_url.rstrip("/")
    ctx.setdefault("wa", {"template_language": ""})
    ctx.setdefault("tw", {"record_calls": False})
    return _page(
        request,
        "channels.html",
        principal,
        db,
        status_code,
        agent=agent,
        channels=[_read(c) for c in rows],
        dead=_dead_letters(db, agent_id, {c.id: c for c in rows}, tz),
        tz=tz,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        base_url=base_url,
        public_https=base_url.startswith("https://") and "localhost" not in base_url and "127.0.0.1" not in base_url,
        **ctx,
    )


def _guard(principal: Member, csrf: str) -> None:
    check_csrf(principal, csrf)
    principal.require(Role.admin)


def _back(agent_id: str, notice: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/agents/{agent_id}/channels?notice={notice}{anchor}", status_code=303)


@router.get("/agents/{agent_id}/channels")
def channels(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _channels_page(request, db, principal, agent_id)


def _connect(
    request: Request,
    db: DbSession,
    principal: Member,
    agent_id: str,
    kind: str,
    fields: dict[str, str | bool],
    data: dict,
) -> Response:
    """Check `data` with the API's model of `kind` and connect; the form again, with its problems, otherwise."""
    agent = get_agent(db, agent_id)  # 404 before anything is checked
    prefix = "wa" if kind == "whatsapp" else "tw"
    lang = language(request, principal.user.locale)
    _ = translator(lang)
    try:
        channel_in = (WhatsAppIn if kind == "whatsapp" else TwilioIn).model_validate(data)
        connections.connect(db, agent_id=agent.id, data=channel_in, actor=principal.actor)
    except ValidationError as exc:
        problems = field_problems(exc, fields, lang)
        alert = _("Check the fields marked below.")
        return _channels_page(
            request,
            db,
            principal,
            agent_id,
            422,
            **{prefix: _form_values(fields), f"{prefix}_errors": problems, f"{prefix}_alert": alert},
        )
    except Conflict:
        address = "phone_number_id" if kind == "whatsapp" else "phone_number"
        message = _(TAKEN)
        return _channels_page(
            request,
            db,
            principal,
            agent_id,
            409,
            **{prefix: _form_values(fields), f"{prefix}_errors": {address: message}, f"{prefix}_alert": message},
        )
    return _back(agent_id, "connected", "#connected")


Text = Annotated[str, Form()]


@router.post("/agents/{agent_id}/channels/whatsapp")
def connect_whatsapp(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    phone_number_id: Text = "",
    waba_id: Text = "",
    access_token: Text = "",
    app_secret: Text = "",
    verify_token: Text = "",
    template_name: Text = "",
    template_language: Text = "",
) -> Response:
    """Connect a WhatsApp Business number (checked as `POST /api/v1/agents/{id}/channels` checks it)."""
    _guard(principal, csrf)
    fields: dict[str, str | bool] = {
        "phone_number_id": phone_number_id.strip(),
        "waba_id": waba_id.strip(),
        "access_token": access_token.strip(),
        "app_secret": app_secret.strip(),
        "verify_token": verify_token.strip(),
        "template_name": template_name.strip(),
        "template_language": template_language.strip(),
    }
    data = {"type": "whatsapp", **{k: fields[k] for k in WHATSAPP_FIELDS[:5]}}
    if fields["template_name"] or fields["template_language"]:
        data["template"] = {"name": fields["template_name"], "language": fields["template_language"] or "en"}
    return _connect(request, db, principal, agent_id, "whatsapp", fields, data)


@router.post("/agents/{agent_id}/channels/twilio")
def connect_twilio(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    phone_number: Text = "",
    account_sid: Text = "",
    auth_token: Text = "",
    voice: Text = "",
    handoff_number: Text = "",
    record_calls: Text = "",
) -> Response:
    """Connect a Twilio number (checked as `POST /api/v1/agents/{id}/channels` checks it); recording is off
    unless its box is ticked."""
    _guard(principal, csrf)
    fields: dict[str, str | bool] = {
        "phone_number": phone_number.strip(),
        "account_sid": account_sid.strip(),
        "auth_token": auth_token.strip(),
        "voice": voice.strip(),
        "handoff_number": handoff_number.strip(),
        "record_calls": bool(record_calls),
    }
    data = {
        "type": "twilio",
        "phone_number": fields["phone_number"],
        "account_sid": fields["account_sid"],
        "auth_token": fields["auth_token"],
        "voice": fields["voice"] or None,
        "handoff_number": fields["handoff_number"] or None,
        "record_calls": fields["record_calls"],
    }
    return _connect(request, db, principal, agent_id, "twilio", fields, data)


@router.post("/agents/{agent_id}/channels/{channel_id}/disconnect")
def disconnect(agent_id: str, channel_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    _guard(principal, csrf)
    get_agent(db, agent_id)
    connections.disconnect(db, agent_id=agent_id, channel_id=channel_id, actor=principal.actor)
    return _back(agent_id, "disconnected")


@router.post("/agents/{agent_id}/dead-letters/{delivery_id}/retry")
def retry(agent_id: str, delivery_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    """Send an undelivered reply again (the API's `POST …/dead-letters/{id}/retry`)."""
    _guard(principal, csrf)
    _, was_dead = send_again(db, agent_id=agent_id, delivery_id=delivery_id, actor=principal.actor)
    return _back(agent_id, "resent" if was_dead else "not_dead", "#dead-letters")
