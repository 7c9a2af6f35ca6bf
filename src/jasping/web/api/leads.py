"""`/api/v1/leads`: the leads the organization's agents collected."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from jasping.leads import service
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/leads", tags=["leads"])


class LeadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent_id: str
    conversation_id: str | None
    name: str | None
    email: str | None
    phone: str | None
    custom: dict
    language: str | None
    kind: str
    status: str
    consent: bool
    consent_at: datetime | None
    created_at: datetime


@router.get("", response_model=dict[str, list[LeadRead]])
def list_leads(
    principal: CurrentPrincipal,
    db: DbSession,
    agent_id: str | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict:
    """Newest first."""
    return {
        "leads": [
            LeadRead.model_validate(x) for x in service.list_leads(db, agent_id=agent_id, limit=limit, offset=offset)
        ]
    }
