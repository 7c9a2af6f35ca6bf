"""Operations endpoints: /healthz (alive), /readyz (database and queue answer), /metrics."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jasping import logs
from jasping import metrics as m
from jasping.config import get_settings
from jasping.db import get_engine
from jasping.jobs import queue

router = APIRouter(include_in_schema=False)
access = logging.getLogger("jasping.access")

REQUESTS, LATENCY = m.REQUESTS, m.LATENCY


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
DASHBOARD_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
]


def route_template(scope: Scope) -> str:
    """The matched route's full path template (`/api/v1/agents/{agent_id}`), or `unmatched`."""
    return getattr(scope.get("route"), "path_format", None) or "unmatched"


PUBLIC_PREFIX = "/api/v1/widget/"  # called from businesses' websites: no cookies, bearer session tokens
CORS_HEADERS = [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]
CORS_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type, Accept"),
    (b"access-control-max-age", b"600"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")  # one year, behind https only


class EdgeMiddleware:
    """Pure ASGI: security headers on every response (HSTS too when the public URL is https), and request metrics
    by route template (never by raw path, which would hold ids)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.always = SECURITY_HEADERS + ([HSTS] if get_settings().secure_cookies else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]
        dashboard = not scope["path"].startswith(("/api/", "/webhooks/", "/widget"))
        public = scope["path"].startswith(PUBLIC_PREFIX)
        if public and scope["method"] == "OPTIONS":  # CORS preflight of the widget on a business's website
            await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS + CORS_PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return

        given = next((v for k, v in scope.get("headers", []) if k == b"x-request-id"), b"")
        rid = logs.new_request_id(given.decode("latin-1"))
        token = logs.request_id.set(rid)

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers += self.always + (DASHBOARD_HEADERS if dashboard else []) + (CORS_HEADERS if public else [])
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            name, seconds = route_template(scope), time.perf_counter() - start
            access.info("%s %s %s %.1f ms", scope["method"], name, status[0], seconds * 1000)  # template, no ids
            logs.request_id.reset(token)
            LATENCY.labels(scope["method"], name).observe(seconds)
            REQUESTS.labels(scope["method"], name, str(status[0])).inc()


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> Response:
    checks = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - reported, not raised
        checks["database"] = "unreachable"
    checks["queue"] = "ok" if queue.queue_reachable() else "unreachable"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks, "queue_backend": queue.backend_name()},
        status_code=200 if ok else 503,
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics: this process's, or every process's on the machine with PROMETHEUS_MULTIPROC_DIR."""
    body, media_type = m.exposition()
    return Response(body, media_type=media_type)
