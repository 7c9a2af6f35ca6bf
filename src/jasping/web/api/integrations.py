"""`/api/v1/integrations`: connect the business's calendars, lead sinks, mailers and file stores; list them;
disconnect them (tokens revoked, syncing stopped). Secrets are stored encrypted and never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from jasping.integrations import service
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession, RecentAuth

router = APIRouter(prefix=f"{API}/integrations", tags=["integrations"])


class IntegrationRead(BaseModel):
    id: str
    agent_id: str | None
    type: str
    name: str
    settings: dict
    secrets: list[str]  # the names of the secrets stored (never their values)
    status: str  # active | error
    last_error: str | None
    last_used_at: datetime | None
    created_at: datetime
    shown_once: dict | None = None  # values made here (a signing secret), in the creating response only


class KindRead(BaseModel):
    type: str
    needs_agent: bool
    description: str
    settings_schema: dict


@router.post("", status_code=201, response_model=IntegrationRead, response_model_exclude_none=False)
def connect(
    principal: AdminPrincipal, db: DbSession, _recent: RecentAuth, body: dict[str, Any] = Body(...)
) -> IntegrationRead:
    """Connect an integration: `{"type", "agent_id"?, "name"?, …its settings}`. `GET /api/v1/integrations/types`
    lists the types and the JSON Schema of each one's settings."""
    try:
        integration, shown_once = service.connect(db, body=body, actor=principal.actor, org_id=principal.org_id)
    except service.BodyInvalid as exc:
        raise RequestValidationError(exc.errors) from None
    return IntegrationRead(**service.describe(integration), shown_once=shown_once or None)


@router.get("/types", response_model=dict[str, list[KindRead]])
def list_types(principal: CurrentPrincipal) -> dict:
    rows = [
        KindRead(
            type=k.type,
            needs_agent=k.needs_agent,
            description=k.description,
            settings_schema=k.model.model_json_schema(),
        )
        for k in sorted(service.kinds().values(), key=lambda k: k.type)
    ]
    return {"types": rows}


@router.get("", response_model=dict[str, list[IntegrationRead]])
def list_integrations(
    principal: CurrentPrincipal,
    db: DbSession,
    agent_id: str | None = Query(None, max_length=40),
    type: str | None = Query(None, max_length=16),  # noqa: A002 - the API's parameter name
) -> dict:
    rows = service.list_integrations(db, agent_id=agent_id, type_=type)
    return {"integrations": [IntegrationRead(**service.describe(i)) for i in rows]}


@router.get("/{integration_id}", response_model=IntegrationRead)
def get_integration(integration_id: str, principal: CurrentPrincipal, db: DbSession) -> IntegrationRead:
    return IntegrationRead(**service.describe(service.get_integration(db, integration_id)))


@router.delete("/{integration_id}", status_code=204)
def disconnect(integration_id: str, principal: AdminPrincipal, db: DbSession) -> Response:
    service.disconnect(db, integration_id=integration_id, actor=principal.actor)
    return Response(status_code=204)
