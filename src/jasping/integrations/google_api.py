"""Authorized calls to Google's APIs for one connected integration: where each API lives, the access token
(refreshed when expired, or once after a 401), and errors turned into `GoogleApiError`.

Plain httpx rather than the discovery-built client: one HTTP stack for the whole platform with explicit timeouts,
and the refresh-once rule (and the integration's `error` state) in our hands rather than inside httplib2. The
request shapes follow the discovery documents bundled in google-api-python-client; tests check them there.

Where the APIs live: Calendar and Drive under https://www.googleapis.com, Sheets under sheets.googleapis.com,
Gmail under gmail.googleapis.com (each document's `rootUrl`). Their paths never collide (`calendar/v3/…`,
`drive/v3/…`, `upload/drive/v3/…`, `v4/spreadsheets/…`, `gmail/v1/…`), so when `JASPING_GOOGLE_API_URL` is set to
anything but its default, that one base URL serves all four (a test server, a proxy, a regional endpoint).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from jasping import clock
from jasping.config import get_settings
from jasping.integrations import google_oauth as oauth
from jasping.integrations import service as integrations
from jasping.integrations.models import Integration

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://www.googleapis.com"
ROOTS = {
    "calendar": "https://www.googleapis.com",
    "drive": "https://www.googleapis.com",
    "sheets": "https://sheets.googleapis.com",
    "gmail": "https://gmail.googleapis.com",
}
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
USE_NOTE_EVERY = timedelta(minutes=5)


class GoogleApiError(Exception):
    """A Google API call failed; `retry` says whether trying again later may help, `status` is Google's answer."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool = True, reason: str = ""):
        super().__init__(message)
        self.message, self.status, self.retry, self.reason = message, status, retry, reason


class GoogleAuthError(GoogleApiError):
    """The integration's access is gone (refresh refused, or the token refused after a refresh): reconnect it."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, status=status, retry=False, reason="auth")


def api_root(api: str) -> str:
    base = get_settings().google_api_url.rstrip("/")
    return ROOTS[api] if base == DEFAULT_API_URL else base


def segment(value: str) -> str:
    """One path segment (a calendar id like `team@group.calendar.google.com`, a sheet range)."""
    return quote(value, safe="")


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return clock.parse_instant(text).astimezone(UTC)


# ---- tokens ---------------------------------------------------------------------------------------------
def access_token(integration: Integration) -> tuple[str, bool]:
    """A usable access token, and whether it was just refreshed (the stored one expires within a minute)."""
    stored = integration.secrets
    if stored.get("access_token") and int(stored.get("expires_at") or 0) > clock.now().timestamp() + 60:
        return stored["access_token"], False
    return refresh(integration), True


def refresh(integration: Integration) -> str:
    """A new access token from the refresh token, stored in the secrets; a failure marks the integration `error`."""
    stored = integration.secrets
    client_id, client_secret = oauth.client_credentials()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": stored.get("refresh_token") or "",
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        answer = oauth.post_token(data)
    except oauth.TokenError as exc:
        reason = f"refreshing the Google access failed: {exc.message}"
        if exc.refused:
            reason += "; connect the Google account again"
        integrations.record_use(integration, reason)
        if exc.refused:
            raise GoogleAuthError(reason) from exc
        raise GoogleApiError(reason, retry=True, reason="token_endpoint") from exc
    integration.secrets = oauth.token_secrets(answer, stored)
    return integration.secrets["access_token"]


def keep_tokens(used: Integration, loaded_secrets: str) -> None:
    """After calls made with no session open (a job): store a token they refreshed, unless the integration was
    re-authorized (or disconnected) meanwhile."""
    if used.secrets_json == loaded_secrets:
        return
    from jasping.db import session_scope

    with session_scope(used.org_id) as s:
        stored = s.get(Integration, used.id)
        if stored is not None and stored.secrets_json == loaded_secrets:
            stored.secrets_json = used.secrets_json


# ---- calls ----------------------------------------------------------------------------------------------
def call(
    integration: Integration,
    method: str,
    api: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    also_ok: tuple[int, ...] = (),
) -> httpx.Response:
    """One authorized request to `api` (calendar, sheets, drive, gmail). A 401 refreshes the token once and retries
    once; a second 401 marks the integration `error`. Other failures raise `GoogleApiError` and are recorded."""
    if integration.type != "google":
        raise GoogleApiError(f"integration {integration.id} is not a Google integration", retry=False)
    url = f"{api_root(api)}/{path}"
    token, refreshed = access_token(integration)
    with httpx.Client(timeout=TIMEOUT) as http:
        response = _send(http, method, url, token, params, json, content, headers)
        if response.status_code == 401 and not refreshed:
            response = _send(http, method, url, refresh(integration), params, json, content, headers)
    if response.status_code == 401:
        reason = "Google refused the access token even after refreshing it; connect the Google account again"
        integrations.record_use(integration, reason)
        raise GoogleAuthError(reason, status=401)
    if response.is_success or response.status_code in also_ok:
        _note_success(integration)
        return response
    error = _error(api, response)
    integrations.record_use(integration, error.message)
    raise error


def _note_success(integration: Integration) -> None:
    """`active` again after an error; otherwise the time of use is written at most every few minutes."""
    last = clock.as_utc(integration.last_used_at)
    if integration.status != "active" or last is None or clock.now() - last > USE_NOTE_EVERY:
        integrations.record_use(integration)


def _send(
    http: httpx.Client,
    method: str,
    url: str,
    token: str,
    params: dict[str, Any] | None,
    json: Any,
    content: bytes | None,
    headers: dict[str, str] | None,
) -> httpx.Response:
    all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
    try:
        return http.request(method, url, params=params, json=json, content=content, headers=all_headers)
    except httpx.HTTPError as exc:
        raise GoogleApiError(f"Google could not be reached ({type(exc).__name__})", retry=True) from exc


def _error(api: str, response: httpx.Response) -> GoogleApiError:
    """Google's `{"error": {"code", "message", "errors": [{"reason"}]}}` as a `GoogleApiError`."""
    try:
        body = response.json().get("error") or {}
    except (ValueError, AttributeError):
        body = {}
    body = body if isinstance(body, dict) else {"message": str(body)}
    reasons = [e.get("reason", "") for e in body.get("errors") or [] if isinstance(e, dict)]
    reason = reasons[0] if reasons else str(body.get("status", ""))
    status = response.status_code
    message = f"Google {api.capitalize()} answered {status}: {body.get('message') or response.reason_phrase}"
    retry = status == 429 or status >= 500 or reason in ("rateLimitExceeded", "userRateLimitExceeded")
    return GoogleApiError(message[:400], status=status, retry=retry, reason=reason)
