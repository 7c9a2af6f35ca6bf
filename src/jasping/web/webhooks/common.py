"""What the webhook routes share: a bounded raw body, the public URL a provider signed, routing to a connection."""

from __future__ import annotations

import logging

from fastapi import Request

from jasping.channels import connections
from jasping.channels.models import ChannelConnection
from jasping.config import get_settings
from jasping.db import ScopedSession
from jasping.errors import NotFound, TooLarge
from jasping.security import ratelimit

log = logging.getLogger("jasping.webhooks")
MAX_BODY = 1024 * 1024  # providers' payloads are a few KB


async def raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge("the webhook body is larger than 1 MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge("the webhook body is larger than 1 MB")
    return bytes(body)


def public_url(request: Request) -> str:
    """The URL the provider called, as it sees it: JASPING_BASE_URL + path + query (so that a signature made
    on the public URL verifies behind a proxy that changes the host or the scheme)."""
    base = get_settings().base_url.rstrip("/")
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def route(db: ScopedSession, type_: str, address: str) -> ChannelConnection:
    """The connection a webhook is for; an unknown number is logged and answered 404."""
    connection = connections.route(db, type_, address)
    if connection is None:
        log.warning("%s webhook for an unknown number %s", type_, address[-4:].rjust(len(address), "•"))
        raise NotFound("no agent is connected to this number", code="unknown_number")
    return connection


def limit_by_ip(request: Request) -> None:
    """A dependency of every webhook route: at most `webhook_requests_per_ip` a minute from one address (429 with
    Retry-After, which the providers honour by retrying later), counted before any signature work."""
    ip = request.client.host if request.client else "?"
    ratelimit.check(ratelimit.Limit("webhook-ip", get_settings().webhook_requests_per_ip), ip)
