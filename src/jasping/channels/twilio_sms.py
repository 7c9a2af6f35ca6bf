"""Twilio SMS: inbound messages from Twilio's webhook form, outbound through the REST API
(`POST {api}/2010-04-01/Accounts/{sid}/Messages.json`), and the STOP / START opt-out keywords honoured.

Twilio itself blocks messages to a number that sent STOP (error 21610) and confirms the opt-out to the customer;
we also record it on the contact so the agent never queues a message to them until they send START again.
"""

from __future__ import annotations

import httpx

from jasping.channels.base import Capabilities, Incoming, Outgoing, ProviderError, Sent
from jasping.channels.connections import e164
from jasping.channels.http import client
from jasping.channels.models import ChannelConnection
from jasping.config import get_settings

CAPABILITIES = Capabilities(buttons=0, list_rows=0, media=False, templates=False, max_chars=1600)
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt", "stop sms"}
# Not "yes", which Twilio also takes as an opt-in: here it is far more often the answer to the agent's question, and
# a keyword gets no reply. Twilio's own opt-out confirmation tells the customer to send START.
START_WORDS = {"start", "unstop"}
_NO_RETRY = {21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006}  # invalid / unreachable / opted out


HELP_WORDS = {"help", "info", "aide"}  # Twilio answers these itself: the agent stays silent


def keyword(text: str) -> str | None:
    """ "stop", "start" or "help" when the whole message is one of the carrier keywords."""
    word = " ".join(text.strip().lower().split()).strip(".!")
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def parse(form: dict[str, str]) -> Incoming | None:
    """An inbound SMS (Twilio's webhook parameters), or None when it is not one we can read."""
    sid, sender = form.get("MessageSid") or form.get("SmsSid"), e164(form.get("From") or "")
    if not sid or not sender:
        return None
    body = (form.get("Body") or "")[:1600]
    kind = "keyword" if keyword(body) else "text"  # STOP, START, HELP: for the opt-out, never for the agent
    return Incoming(kind="message", provider_id=sid, sender=sender, type=kind, text=body)


def parse_status(form: dict[str, str]) -> Incoming | None:
    """A message status callback (queued, sent, delivered, undelivered, failed)."""
    sid, status = form.get("MessageSid"), (form.get("MessageStatus") or "").lower()
    if not sid or not status:
        return None
    mapped = {"undelivered": "failed", "failed": "failed", "delivered": "delivered", "read": "read"}.get(status, "sent")
    error = form.get("ErrorCode")
    return Incoming(
        kind="status", provider_id=sid, type="status", status=mapped, error=f"Twilio {error}" if error else None
    )


class TwilioSmsAdapter:
    capabilities = CAPABILITIES

    def send(self, connection: ChannelConnection, to: str, out: Outgoing, *, window_open: bool = True) -> Sent:
        fitted = out.fit(CAPABILITIES)
        sid, token = connection.secrets["account_sid"], connection.secrets["auth_token"]
        url = f"{get_settings().twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        base = get_settings().base_url
        form = {"From": connection.address, "To": to, "Body": fitted.text}
        if base:
            form["StatusCallback"] = f"{base.rstrip('/')}/webhooks/twilio/status"
        try:
            response = client().post(url, data=form, auth=(sid, token))
        except httpx.HTTPError as exc:
            raise ProviderError(f"Twilio unreachable: {type(exc).__name__}", retry=True) from exc
        if response.status_code >= 300:
            try:
                err = response.json()
            except ValueError:
                err = {}
            code = err.get("code")
            retry = (response.status_code >= 500 or response.status_code == 429) and code not in _NO_RETRY
            raise ProviderError(
                f"Twilio {response.status_code}: {err.get('message') or response.text[:200]}",
                retry=retry,
                code=str(code) if code else None,
                opted_out=code == 21610,  # the number sent STOP to Twilio
            )
        try:
            return Sent(str(response.json()["sid"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError("Twilio: no message sid in the reply", retry=False) from exc

    def download(self, connection: ChannelConnection, media: dict) -> tuple[bytes, str]:
        raise ProviderError("SMS carries no media we keep", retry=False)
