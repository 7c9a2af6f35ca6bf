"""Connecting a Google account: `POST /api/v1/integrations/google/authorize` gives the consent URL, Google sends the
person back to `GET /oauth/google/callback`, which stores the integration and returns to the dashboard (or answers
JSON to a client that asks for it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from jasping.db import session_scope
from jasping.errors import DomainError
from jasping.integrations import google_oauth as google
from jasping.integrations import service
from jasping.web.api import API
from jasping.web.api.integrations import IntegrationRead
from jasping.web.deps import AdminPrincipal, DbSession, RecentAuth

router = APIRouter(tags=["integrations"])


class AuthorizeIn(google.GoogleIn):
    agent_id: str | None = Field(None, max_length=40, description="the agent the account serves")
    name: str | None = Field(None, max_length=200)
    integration_id: str | None = Field(None, max_length=40, description="re-authorize this Google integration")


class AuthorizeRead(BaseModel):
    authorization_url: str  # open it in the browser of the person who owns the Google account


@router.post(f"{API}/integrations/google/authorize", response_model=AuthorizeRead)
def authorize(principal: AdminPrincipal, db: DbSession, body: AuthorizeIn, _recent: RecentAuth) -> AuthorizeRead:
    """Start connecting a Google account for `uses` (calendar, sheets, drive, gmail). Nothing is stored until the
    person agrees on Google's page and Google sends them back to `/oauth/google/callback` (15 minutes at most)."""
    choices = google.GoogleIn.model_validate(body.model_dump(exclude={"agent_id", "name", "integration_id"}))
    url = google.start(
        db,
        org_id=principal.org_id,
        actor=principal.actor,
        body=choices,
        agent_id=body.agent_id,
        name=body.name,
        integration_id=body.integration_id,
    )
    return AuthorizeRead(authorization_url=url)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get(google.CALLBACK_PATH, include_in_schema=False)
def callback(request: Request, code: str | None = None, state: str | None = None, error: str | None = None) -> Response:
    try:
        integration = _complete(code, state, error)
    except DomainError as exc:
        if _wants_json(request):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        raise
    if _wants_json(request):
        return JSONResponse(IntegrationRead(**integration).model_dump(mode="json"))
    target = f"/agents/{integration['agent_id']}/integrations" if integration["agent_id"] else "/"
    return RedirectResponse(f"{target}?connected=google", status_code=303)


def _complete(code: str | None, state: str | None, error: str | None) -> dict:
    """Check the state, trade the code for tokens (no transaction open meanwhile), then store in one transaction."""
    if not state:
        raise google.ConnectFailed("Google sent no state back; start the connection again", code="bad_state")
    pending = google.open_state(state)
    if error:
        what = "you declined on Google's page" if error == "access_denied" else f"Google answered {error[:60]}"
        raise google.ConnectFailed(f"the Google account was not connected: {what}", code="consent_denied")
    if not code:
        raise google.ConnectFailed("Google sent no authorization code; start the connection again", code="no_code")
    tokens = google.exchange_code(pending, code)
    try:
        with session_scope(pending.org_id) as session:
            return service.describe(google.finish(session, pending=pending, tokens=tokens))
    except BaseException:
        google.revoke_token(tokens["refresh_token"])  # nothing was stored: leave no grant behind either
        raise
