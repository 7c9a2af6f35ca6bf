"""The outgoing webhook lead sink: each lead is POSTed as JSON to the business's URL, signed like Stripe's webhooks.

Headers: `X-JasPing-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<unix time>.<body>">` under the sink's signing
secret (made here, shown once when the webhook is connected), `X-JasPing-Timestamp` (the same time, so a receiver
refuses old replays), `X-JasPing-Event-Id` (the same across retries: receivers dedupe) and `X-JasPing-Event`.
Connections go through the SSRF guard of the crawler (no private addresses unless `JASPING_ALLOW_PRIVATE_URLS`);
redirects are followed only to the same host (307/308, the POST kept); anything but a 2xx is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.integrations.lead_sinks import LeadEvent, SinkError, register_sink
from jasping.integrations.models import Integration
from jasping.integrations.service import Kind, Prepared, register

SIGNATURE_HEADER = "X-JasPing-Signature"
TIMESTAMP_HEADER = "X-JasPing-Timestamp"
EVENT_ID_HEADER = "X-JasPing-Event-Id"
EVENT_HEADER = "X-JasPing-Event"
USER_AGENT = "JasPing-Webhooks/1.0"
TOLERANCE = 300  # seconds a receiver should accept between the signed time and its own clock
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_REDIRECTS = 3
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that says what the secret is, not a secret


class WebhookIn(BaseModel):
    """An outgoing webhook: the URL that receives each lead (http or https)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="https URL that receives each lead as a signed POST")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("give an http:// or https:// URL")
        if not parts.hostname:
            raise ValueError("the URL has no host name")
        if parts.username or parts.password:
            raise ValueError("put no user name or password in the URL; verify the signature instead")
        if any(c.isspace() for c in value):
            raise ValueError("the URL contains spaces")
        return value


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """What a receiver checks: a `v1` signature of this body at the header's time, made with `secret`, and that
    time within `tolerance` seconds of `now` (default: the current time). False for anything else."""
    fields: dict[str, list[str]] = {}
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


def _prepare(_session: Session, data: WebhookIn) -> Prepared:
    secret = new_secret()
    return Prepared({"url": data.url}, {"signing_secret": secret}, {"signing_secret": secret})


def _same_host(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


class WebhookSink:
    """POSTs a lead event, signed, and raises `SinkError` unless the receiver answers 2xx."""

    def send(self, integration: Integration, event: LeadEvent) -> None:
        from jasping.knowledge.ingest.fetch import make_client
        from jasping.knowledge.types import IngestError

        url, secret = (integration.settings or {}).get("url"), integration.secrets.get("signing_secret")
        if not url or not secret:
            raise SinkError("the webhook has no URL or signing secret; connect it again", retry=False)
        body = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            EVENT_ID_HEADER: event.id,
            EVENT_HEADER: event.type,
        }
        try:
            with make_client(allow_private=get_settings().allow_private_urls, timeout=10.0) as http:
                http.timeout = TIMEOUT
                response = self._post(http, url, body, headers)
        except IngestError as exc:  # the SSRF guard refused the address, or the name does not resolve
            raise SinkError(exc.message, retry=exc.code != "blocked_address") from exc
        except httpx.TimeoutException as exc:
            raise SinkError(f"the receiver did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SinkError(f"could not reach the receiver: {type(exc).__name__}: {exc}"[:300]) from exc
        if not 200 <= response.status_code < 300:  # the body is not kept: it may echo the lead back
            raise SinkError(f"the receiver answered HTTP {response.status_code} {response.reason_phrase}".strip())

    @staticmethod
    def _post(http: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = http.post(url, content=body, headers=headers)
            if not response.is_redirect:
                return response
            target = urljoin(url, response.headers.get("location", ""))
            if response.status_code not in (307, 308) or not _same_host(url, target):
                host = urlsplit(target).hostname or "?"
                raise SinkError(
                    f"the URL redirects (HTTP {response.status_code}) to {host}; JasPing does not follow redirects "
                    "that change the method or the host: update the webhook URL",
                    retry=False,
                )
            url = target
        raise SinkError("too many redirects; update the webhook URL", retry=False)


register(
    Kind(
        "webhook",
        WebhookIn,
        secrets=("signing_secret",),
        needs_agent=False,
        prepare=_prepare,
        description="Outgoing webhook: each lead POSTed as signed JSON to your URL (X-JasPing-Signature); "
        "without agent_id it receives the leads of every agent. The signing secret is shown once.",
    )
)
register_sink("webhook", WebhookSink())
