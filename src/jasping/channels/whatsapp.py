"""WhatsApp Cloud API: webhook signatures (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the app
secret), every inbound payload kind turned into `Incoming` events, and outbound messages through the Graph API
(`POST {graph}/{phone_number_id}/messages`): text, reply buttons, lists, media, templates. Media the customer
sends is fetched in two steps (`GET {graph}/{media_id}` gives a short-lived URL, fetched with the same token).

Payloads are read defensively: a field newer or older than we know (`user_id`, `errors`, `referral`…) never
makes a message disappear; anything we cannot read becomes an `unsupported` event that is answered politely.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import httpx

from jasping.channels.base import Capabilities, Incoming, Outgoing, ProviderError, Sent
from jasping.channels.connections import e164
from jasping.channels.http import client
from jasping.channels.models import ChannelConnection
from jasping.config import get_settings

CAPABILITIES = Capabilities(buttons=3, list_rows=10, button_chars=20, media=True, templates=True, max_chars=4096)
_RETRY_CODES = {4, 80007, 130429, 131000, 131016, 131048, 131056, 133004}  # rate limits, temporary errors
_WINDOW_CODES = {131047, 470}  # re-engagement: more than 24 hours since the customer's last message
_MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body under app_secret>`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[7:].strip().lower())


def phone_number_ids(payload: dict) -> set[str]:
    """The business numbers a webhook payload is for (it may carry several changes)."""
    ids = set()
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            number = _dict(value.get("metadata")).get("phone_number_id")
            if number:
                ids.add(str(number))
    return ids


def parse(payload: dict, phone_number_id: str) -> list[Incoming]:
    """The events of `payload` for the business number `phone_number_id`."""
    events: list[Incoming] = []
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            if str(_dict(value.get("metadata")).get("phone_number_id")) != phone_number_id:
                continue
            names = {
                str(c.get("wa_id")): _dict(c.get("profile")).get("name") or ""
                for c in map(_dict, _list(value.get("contacts")))
            }
            for message in map(_dict, _list(value.get("messages"))):
                event = _message(message, names)
                if event is not None:
                    events.append(event)
            for status in map(_dict, _list(value.get("statuses"))):
                if status.get("id") and status.get("status"):
                    errors = [_dict(e) for e in _list(status.get("errors"))]
                    error = "; ".join(f"{e.get('code')}: {e.get('title') or e.get('message')}" for e in errors)
                    events.append(
                        Incoming(
                            kind="status",
                            provider_id=str(status["id"]),
                            sender=e164(str(status.get("recipient_id") or "")) or "",
                            type="status",
                            status=str(status["status"]),
                            error=error or None,
                            timestamp=_int(status.get("timestamp")),
                        )
                    )
    return events


def _message(m: dict, names: dict[str, str]) -> Incoming | None:
    sender, provider_id = str(m.get("from") or ""), str(m.get("id") or "")
    phone = e164(sender)
    if not phone or not provider_id:
        return None
    kind = str(m.get("type") or "unsupported")
    base = {
        "kind": "message",
        "provider_id": provider_id,
        "sender": phone,
        "sender_name": names.get(sender, ""),
        "timestamp": _int(m.get("timestamp")),
        "reply_to": _dict(m.get("context")).get("id"),
    }
    if kind == "text":
        return Incoming(**base, type="text", text=str(_dict(m.get("text")).get("body") or ""))
    if kind == "interactive":
        inter = _dict(m.get("interactive"))
        reply = _dict(inter.get("button_reply") or inter.get("list_reply"))
        if reply:
            return Incoming(**base, type="choice", text=str(reply.get("title") or ""), choice_id=reply.get("id"))
    if kind == "button":  # a quick-reply button of a template
        button = _dict(m.get("button"))
        return Incoming(**base, type="choice", text=str(button.get("text") or ""), choice_id=button.get("payload"))
    if kind in _MEDIA_TYPES:
        media = _dict(m.get(kind))
        if media.get("id"):
            info = {
                "id": str(media["id"]),
                "mime_type": media.get("mime_type"),
                "filename": media.get("filename"),
                "caption": media.get("caption"),
                "kind": "voice" if media.get("voice") else kind,
            }
            return Incoming(**base, type="media", text=str(media.get("caption") or ""), media=info)
    if kind == "location":
        loc = _dict(m.get("location"))
        place = ", ".join(str(x) for x in (loc.get("name"), loc.get("address")) if x)
        text = f"📍 {loc.get('latitude')}, {loc.get('longitude')}" + (f" ({place})" if place else "")
        return Incoming(**base, type="location", text=text)
    if kind == "contacts":
        people = []
        for c in map(_dict, _list(m.get("contacts"))):
            name = _dict(c.get("name")).get("formatted_name") or ""
            phones = ", ".join(str(_dict(p).get("phone") or "") for p in _list(c.get("phones")))
            people.append(f"{name} {phones}".strip())
        return Incoming(**base, type="contacts", text="👤 " + "; ".join(p for p in people if p))
    if kind == "reaction":
        reaction = _dict(m.get("reaction"))
        return Incoming(
            **{**base, "reply_to": reaction.get("message_id")}, type="reaction", text=str(reaction.get("emoji") or "")
        )
    if kind == "order":
        items = _list(_dict(m.get("order")).get("product_items"))
        text = "🛒 " + ", ".join(f"{_dict(i).get('quantity')} × {_dict(i).get('product_retailer_id')}" for i in items)
        return Incoming(**base, type="order", text=text)
    return Incoming(**base, type="unsupported", text="")


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


# ---- outbound ------------------------------------------------------------------------------------


def _graph() -> str:
    return get_settings().whatsapp_graph_url.rstrip("/")


def _slug(text: str, n: int) -> str:
    return f"{n}:{re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')[:40]}"


def request_body(to: str, out: Outgoing) -> dict:
    """The Graph API `messages` request for `out` (already fitted to WhatsApp's capabilities)."""
    body: dict = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+")}
    if out.template:
        template = out.template
        params = [{"type": "text", "text": str(p)} for p in template.get("parameters") or []]
        body.update(
            type="template",
            template={
                "name": template["name"],
                "language": {"code": template.get("language") or "en"},
                **({"components": [{"type": "body", "parameters": params}]} if params else {}),
            },
        )
    elif out.media:
        kind = out.media.get("type") or "document"
        media = {"link": out.media["link"]} if out.media.get("link") else {"id": out.media.get("id")}
        if out.text and kind != "audio":
            media["caption"] = out.text[:1024]
        body.update(type=kind, **{kind: media})
    elif out.buttons:
        body.update(
            type="interactive",
            interactive={
                "type": "button",
                "body": {"text": out.text[:1024] or "…"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": _slug(b, n), "title": b[:20]}}
                        for n, b in enumerate(out.buttons, 1)
                    ]
                },
            },
        )
    elif out.choices:
        body.update(
            type="interactive",
            interactive={
                "type": "list",
                "body": {"text": out.text[:4096] or "…"},
                "action": {
                    "button": "Choisir / Choose",
                    "sections": [
                        {
                            "title": "Options",
                            "rows": [{"id": _slug(c, n), "title": c[:24]} for n, c in enumerate(out.choices, 1)],
                        }
                    ],
                },
            },
        )
    else:
        body.update(type="text", text={"preview_url": False, "body": out.text[:4096]})
    return body


def _error(response: httpx.Response) -> ProviderError:
    try:
        err = response.json().get("error") or {}
    except ValueError:
        err = {}
    code = err.get("code")
    message = f"Graph API {response.status_code}: {err.get('message') or response.text[:200]}"
    if code in _WINDOW_CODES:
        return ProviderError(message, retry=False, window_closed=True, code=str(code))
    retry = response.status_code >= 500 or response.status_code == 429 or code in _RETRY_CODES
    return ProviderError(message, retry=retry, code=str(code) if code is not None else None)


class WhatsAppAdapter:
    capabilities = CAPABILITIES

    def send(self, connection: ChannelConnection, to: str, out: Outgoing, *, window_open: bool = True) -> Sent:
        """Send `out`; outside the 24-hour window free text is not tried: the provider would refuse it."""
        if not window_open and not out.template:
            raise ProviderError("outside the 24-hour window: a template is needed", retry=False, window_closed=True)
        fitted = out if out.template else out.fit(CAPABILITIES)
        token = connection.secrets["access_token"]
        try:
            response = client().post(
                f"{_graph()}/{connection.address}/messages",
                json=request_body(to, fitted),
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"Graph API unreachable: {type(exc).__name__}", retry=True) from exc
        if response.status_code >= 300:
            raise _error(response)
        try:
            return Sent(str(response.json()["messages"][0]["id"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError("Graph API: no message id in the reply", retry=False) from exc

    def download(self, connection: ChannelConnection, media: dict) -> tuple[bytes, str]:
        """The bytes of a customer's media and a file name for it."""
        headers = {"Authorization": f"Bearer {connection.secrets['access_token']}"}
        limit = get_settings().widget_max_file_mb * 1024 * 1024
        try:
            info = client().get(f"{_graph()}/{media['id']}", headers=headers)
            if info.status_code >= 300:
                raise _error(info)
            url = info.json().get("url")
            if not url:
                raise ProviderError("Graph API: no URL for the media", retry=False)
            with client().stream("GET", url, headers=headers, follow_redirects=True) as response:
                if response.status_code >= 300:
                    raise _error(response)
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > limit:
                        break  # save_file refuses it as too large
        except httpx.HTTPError as exc:
            raise ProviderError(f"Graph API unreachable: {type(exc).__name__}", retry=True) from exc
        name = media.get("filename") or f"{media.get('kind') or 'media'}-{media['id']}"
        return bytes(data), str(name)
