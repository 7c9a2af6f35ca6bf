"""Connecting a Google account: OAuth 2 authorization code with PKCE, tokens kept encrypted, refreshed, revoked.

`start` checks what the business chose (calendar, sheets, drive, gmail), asks Google for the narrowest scopes those
need, and returns the consent URL. Its `state` is sealed (AES-GCM under a key derived from the master key): it names
the organization, the choices and the PKCE verifier, expires after `STATE_TTL`, and nobody — the browser included —
can read or change it. `finish` exchanges the code (with the verifier), checks every scope was granted and only then
writes the integration: nothing is stored for a refused, tampered or expired attempt. Tokens live in the
integration's encrypted secrets; `access_token` refreshes an expired one, `revoke` runs on disconnect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents import service as agents
from jasping.config import get_settings
from jasping.crypto import load_master_keys
from jasping.db import new_id
from jasping.errors import Conflict, DomainError, Invalid
from jasping.integrations import service as integrations
from jasping.integrations.models import Integration
from jasping.security import audit
from jasping.security.audit import Actor

log = logging.getLogger(__name__)

CALLBACK_PATH = "/oauth/google/callback"
DEFAULT_OAUTH_URL = "https://oauth2.googleapis.com"
CONSENT_URL = "https://accounts.google.com/o/oauth2/v2/auth"
STATE_TTL = 15 * 60  # seconds a person has to answer Google's consent page
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_AUTH = "https://www.googleapis.com/auth/"
# The narrowest scopes each use needs (see docs/google.md).
SCOPES: dict[str, tuple[str, ...]] = {
    "calendar": (_AUTH + "calendar.events", _AUTH + "calendar.events.freebusy"),
    "sheets": (_AUTH + "spreadsheets",),
    "drive": (_AUTH + "drive.file",),
    "gmail": (_AUTH + "gmail.send",),
}
Use = Literal["calendar", "sheets", "drive", "gmail"]

# Run before a Google integration is deleted (for example: detach the appointments synced to its calendar).
disconnect_hooks: list[Callable[[Session, Integration], None]] = []


class GoogleIn(BaseModel):
    """What a Google integration is used for, and where: the body of `POST /api/v1/integrations/google/authorize`."""

    model_config = ConfigDict(extra="forbid")
    uses: list[Use] = Field(min_length=1, description="calendar, sheets, drive and/or gmail")
    calendar_id: str = Field("primary", min_length=1, max_length=300, description="the calendar bookings go to")
    spreadsheet_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{10,100}$", description="for sheets")
    sheet_name: str = Field("Leads", min_length=1, max_length=100, description="the tab leads are appended to")
    drive_folder: str = Field("JasPing", min_length=1, max_length=200, description="folder made for customers' files")
    send_as: EmailStr | None = Field(None, description="for gmail: the From address (the account's or an alias)")

    @model_validator(mode="after")
    def _needed(self) -> GoogleIn:
        self.uses = list(dict.fromkeys(self.uses))
        if "sheets" in self.uses and not self.spreadsheet_id:
            raise ValueError("spreadsheet_id: give the id of the spreadsheet leads go to (from its URL)")
        if "gmail" in self.uses and not self.send_as:
            raise ValueError("send_as: give the address mail is sent from")
        return self


def scopes_for(uses: list[str]) -> list[str]:
    return [scope for use in sorted(set(uses)) for scope in SCOPES[use]]


# ---- errors ---------------------------------------------------------------------------------------------
class GoogleNotConfigured(DomainError):
    status, code = 409, "google_not_configured"


class ConnectFailed(DomainError):
    """The consent was refused, the state was not ours or too old, or Google refused the code."""

    status, code = 400, "google_connect_failed"


class GoogleUnavailable(DomainError):
    status, code = 502, "google_unavailable"


class TokenError(Exception):
    """The token endpoint refused (`refused`) or could not be reached / failed on its side."""

    def __init__(self, message: str, *, refused: bool):
        super().__init__(message)
        self.message, self.refused = message, refused


# ---- endpoints ------------------------------------------------------------------------------------------
def _oauth_base() -> str:
    return get_settings().google_oauth_url.rstrip("/")


def consent_url() -> str:
    """Google's consent page; with `JASPING_GOOGLE_OAUTH_URL` overridden, that server's `/o/oauth2/v2/auth`."""
    base = _oauth_base()
    return CONSENT_URL if base == DEFAULT_OAUTH_URL else f"{base}/o/oauth2/v2/auth"


def token_url() -> str:
    return f"{_oauth_base()}/token"


def revoke_url() -> str:
    return f"{_oauth_base()}/revoke"


def redirect_uri() -> str:
    return get_settings().base_url.rstrip("/") + CALLBACK_PATH


def client_credentials() -> tuple[str, str]:
    settings = get_settings()
    if not settings.google_client_id or not settings.google_client_secret:
        raise GoogleNotConfigured(
            "Google is not set up on this server: the operator sets JASPING_GOOGLE_CLIENT_ID and "
            "JASPING_GOOGLE_CLIENT_SECRET (see docs/google.md)"
        )
    return settings.google_client_id, settings.google_client_secret


# ---- state ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """An authorization in progress, as sealed in its state."""

    org_id: str
    agent_id: str | None
    name: str | None
    settings: dict[str, Any]
    verifier: str
    actor: Actor
    integration_id: str | None = None  # re-authorizing an existing integration


def _state_keys() -> list[AESGCM]:
    current, old = load_master_keys(get_settings(), create=True)
    hkdf = lambda raw: HKDF(hashes.SHA256(), 32, salt=None, info=b"jasping google oauth state").derive(raw)  # noqa: E731
    return [AESGCM(hkdf(raw)) for raw in [current, *old]]


def seal_state(pending: Pending) -> str:
    payload = {
        "o": pending.org_id,
        "a": pending.agent_id,
        "n": pending.name,
        "s": pending.settings,
        "v": pending.verifier,
        "u": [pending.actor.type, pending.actor.id],
        "i": pending.integration_id,
        "e": int(clock.now().timestamp()) + STATE_TTL,
    }
    nonce = secrets.token_bytes(12)
    sealed = _state_keys()[0].encrypt(nonce, json.dumps(payload, separators=(",", ":")).encode(), b"google-state")
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_state(state: str) -> Pending:
    """The authorization a state names; `ConnectFailed` when it was changed, made elsewhere, or expired."""
    try:
        blob = base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))
    except ValueError:
        blob = b""
    payload = None
    for key in _state_keys() if 28 < len(blob) < 8192 else []:
        try:
            payload = json.loads(key.decrypt(blob[:12], blob[12:], b"google-state"))
            break
        except InvalidTag:
            continue
    if payload is None:
        raise ConnectFailed("this Google connection link was changed or not made here; start again", code="bad_state")
    if clock.now().timestamp() >= payload["e"]:
        raise ConnectFailed("this Google connection took too long and expired; start again", code="expired_state")
    actor = Actor(payload["u"][0], payload["u"][1])
    return Pending(payload["o"], payload["a"], payload["n"], payload["s"], payload["v"], actor, payload.get("i"))


# ---- the flow -------------------------------------------------------------------------------------------
def challenge(verifier: str) -> str:
    """PKCE S256: base64url(SHA-256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def start(
    session: Session,
    *,
    org_id: str,
    actor: Actor,
    body: GoogleIn,
    agent_id: str | None,
    name: str | None = None,
    integration_id: str | None = None,
) -> str:
    """The URL of Google's consent page for these uses (nothing is stored until `finish`)."""
    client_id, _ = client_credentials()
    if integration_id:
        existing = integrations.get_integration(session, integration_id)  # 404 for another organization's
        if existing.type != "google":
            raise Invalid("integration_id: give the id of a Google integration")
        agent_id = existing.agent_id
    elif not agent_id:
        raise Invalid("agent_id: a Google integration belongs to an agent; give its id")
    else:
        agents.get_agent(session, agent_id)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-] (RFC 7636: 43 to 128)
    settings = body.model_dump(mode="json")
    state = seal_state(Pending(org_id, agent_id, name, settings, verifier, actor, integration_id))
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri(),
        "response_type": "code",
        "scope": " ".join(scopes_for(body.uses)),
        "state": state,
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
        "access_type": "offline",  # a refresh token, so bookings work while nobody is logged in
        "prompt": "consent",  # Google sends a refresh token again when an account reconnects
    }
    return f"{consent_url()}?{urlencode(query)}"


def post_token(data: dict[str, str]) -> dict[str, Any]:
    """POST to the token endpoint; its JSON answer, or `TokenError`."""
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            response = http.post(token_url(), data=data, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise TokenError(f"Google's token endpoint could not be reached ({type(exc).__name__})", refused=False) from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500 or not isinstance(body, dict):
        raise TokenError(f"Google's token endpoint answered {response.status_code}", refused=False)
    if response.status_code != 200 or not body.get("access_token"):
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        raise TokenError(f"Google refused: {reason}", refused=True)
    return body


def token_secrets(answer: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The secrets stored from a token answer; a refresh answer may omit the refresh token and the scope."""
    before = before or {}
    return {
        "access_token": answer["access_token"],
        "refresh_token": answer.get("refresh_token") or before.get("refresh_token"),
        "expires_at": int(clock.now().timestamp()) + int(answer.get("expires_in") or 3600),
        "scope": answer.get("scope") or before.get("scope", ""),
    }


def exchange_code(pending: Pending, code: str) -> dict[str, Any]:
    """Trade the code (and the PKCE verifier) for tokens; checks every scope asked for was granted."""
    client_id, client_secret = client_credentials()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": pending.verifier,
        "redirect_uri": redirect_uri(),
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        answer = post_token(data)
    except TokenError as exc:
        if exc.refused:
            raise ConnectFailed(f"{exc.message}; start the connection again", code="code_refused") from exc
        raise GoogleUnavailable(f"{exc.message}; try again in a moment") from exc
    tokens = token_secrets(answer)
    missing = set(scopes_for(pending.settings["uses"])) - set(tokens["scope"].split())
    if missing or not tokens["refresh_token"]:
        revoke_token(tokens["refresh_token"] or tokens["access_token"])
        what = ", ".join(sorted(s.removeprefix(_AUTH) for s in missing)) or "offline access"
        raise ConnectFailed(f"Google did not grant {what}: tick every box on Google's page", code="scope_missing")
    return tokens


def finish(session: Session, *, pending: Pending, tokens: dict[str, Any]) -> Integration:
    """Store the connected account (a new integration, or new tokens for the one re-authorized)."""
    if pending.integration_id:
        integration = integrations.get_integration(session, pending.integration_id)
        integration.settings = {**pending.settings, "drive_folder_id": integration.settings.get("drive_folder_id")}
        integrations.record_use(integration)
    else:
        if pending.agent_id:
            agents.get_agent(session, pending.agent_id)  # deleted meanwhile: 404, nothing written
        integration = Integration(
            id=new_id("int"),
            org_id=pending.org_id,
            agent_id=pending.agent_id,
            type="google",
            name=(pending.name or "").strip() or "google",
            settings=pending.settings,
        )
        session.add(integration)
    integration.secrets = tokens
    session.flush()
    audit.record(
        session,
        actor=pending.actor,
        action="integration.connect",
        org_id=pending.org_id,
        object_type="integration",
        object_id=integration.id,
        detail={"type": "google", "agent_id": pending.agent_id, "uses": pending.settings["uses"]},
    )
    return integration


# ---- disconnecting --------------------------------------------------------------------------------------
def revoke_token(token: str | None) -> bool:
    """Ask Google to revoke a token (and the grant behind it); False (logged) when that did not happen."""
    if not token:
        return False
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            response = http.post(revoke_url(), data={"token": token})
    except httpx.HTTPError as exc:
        log.warning("google: the revoke endpoint could not be reached (%s); the tokens are deleted here anyway", exc)
        return False
    if response.status_code != 200:
        log.warning("google: the revoke endpoint answered %s; the tokens are deleted here anyway", response.status_code)
        return False
    return True


def _refuse_direct(_session: Session, _data: BaseModel) -> integrations.Prepared:
    raise Conflict(
        "a Google account is connected through Google's consent page: POST /api/v1/integrations/google/authorize "
        "with the same body, then open the authorization_url it returns",
        code="google_needs_consent",
    )


def _on_disconnect(session: Session, integration: Integration) -> None:
    """Stop syncing, revoke the grant at Google (failure logged), forget the tokens."""
    for hook in disconnect_hooks:
        hook(session, integration)
    stored = integration.secrets
    revoke_token(stored.get("refresh_token") or stored.get("access_token"))
    integration.secrets = {}


integrations.register(
    integrations.Kind(
        "google",
        GoogleIn,
        prepare=_refuse_direct,
        on_disconnect=_on_disconnect,
        description="A Google account, connected through Google's consent page "
        "(POST /api/v1/integrations/google/authorize): Calendar (busy times, bookings), Sheets (leads), "
        "Drive (customers' files) and Gmail (sending mail), each with the narrowest scope it needs.",
    )
)
