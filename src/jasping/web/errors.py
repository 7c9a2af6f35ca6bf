"""One mapping from errors to responses: JSON `{"error": {"code", "message"}}` under /api,
friendly pages in the dashboard."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from jasping.crypto import CryptoError
from jasping.db import TenantMismatch
from jasping.errors import DomainError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class LoginRequired(Exception):
    """A dashboard page needs a logged-in user."""

    def __init__(self, next_url: str = "/", location: str | None = None):
        self.next_url = next_url
        self.location = location  # somewhere else than the log-in page (the Security page to set up MFA)


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.startswith("/webhooks/") or path in ("/healthz", "/readyz")


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
    from jasping.web.dashboard.render import render_error

    response = render_error(request, status, message)
    response.headers.update(headers or {})  # a 429 page keeps its Retry-After
    return response


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if exc.status in (401, 403):
            await _record_refusal(request, exc)
        return error_response(request, exc.status, exc.code, exc.message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, "invalid", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "there is nothing at this address"
        return error_response(
            request, exc.status_code, _CODES.get(exc.status_code, "error"), message, getattr(exc, "headers", None)
        )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.location or f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(TenantMismatch)
    async def _tenant(request: Request, exc: TenantMismatch) -> Response:
        log.error("tenant mismatch blocked on %s", request.url.path)
        return error_response(request, 404, "not_found", "no such object")

    @app.exception_handler(CryptoError)
    async def _crypto(request: Request, exc: CryptoError) -> Response:
        log.error("encryption error on %s: %s", request.url.path, type(exc).__name__)
        return error_response(request, 503, "unavailable", "encrypted data cannot be read; check the master key")

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> Response:
        if "database is locked" in str(exc.orig):  # SQLite under heavy concurrent writes: retry shortly
            log.warning("database busy on %s %s", request.method, request.url.path)
            return error_response(
                request, 503, "busy", "the service is busy; please retry in a moment", {"Retry-After": "2"}
            )
        log.exception("database error on %s %s", request.method, request.url.path)
        return error_response(
            request, 503, "unavailable", "the database is not answering; please retry shortly", {"Retry-After": "5"}
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        """A value the database cannot hold (a NUL character in a text on PostgreSQL, a number beyond 64 bits):
        the request's input, refused with a 422 rather than a 500 (found by the schemathesis run)."""
        log.warning("unstorable value refused on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_response(
            request, 422, "invalid", "a value cannot be stored: no NUL characters in text, numbers within 64 bits"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal", "something went wrong on our side; it has been logged")


async def _record_refusal(request: Request, exc: DomainError) -> None:
    """A permission denial (403 to a known caller) or an unknown API key (401) goes to the security log, in a
    transaction of its own: the request's was rolled back with the error."""
    from jasping.security import events

    principal = getattr(request.state, "principal", None)
    if exc.status == 403 and principal is not None and exc.code not in events.NOT_DENIALS:
        actor, org_id = principal.actor, principal.org_id
    elif exc.status == 401 and exc.code == "invalid_api_key":
        actor, org_id = events.anonymous(request.client.host if request.client else None), None
    else:
        return
    try:
        await run_in_threadpool(
            events.record_refusal,
            actor=actor,
            org_id=org_id,
            method=request.method,
            path=request.url.path,
            code=exc.code,
        )
    except Exception:  # noqa: BLE001 - the answer goes out even when the log cannot be written
        log.exception("could not record a refused request on %s", request.url.path)


def html_error(status: int, body: str) -> HTMLResponse:
    return HTMLResponse(body, status_code=status)
