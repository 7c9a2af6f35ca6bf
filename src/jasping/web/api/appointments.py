"""`/api/v1/appointments`: the bookings the organization's agents made."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from jasping.scheduling import service
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/appointments", tags=["appointments"])


class AppointmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent_id: str
    conversation_id: str | None
    service_id: str
    service_name: str
    start: datetime
    end: datetime
    status: str
    name: str | None
    phone: str | None
    language: str | None
    created_at: datetime


@router.get("", response_model=dict[str, list[AppointmentRead]])
def list_appointments(
    principal: CurrentPrincipal,
    db: DbSession,
    agent_id: str | None = Query(None, max_length=40),
    status: str | None = Query(None, pattern="^(booked|cancelled)$"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict:
    """In start order."""
    rows = service.list_appointments(db, agent_id=agent_id, status=status, limit=limit, offset=offset)
    return {"appointments": [AppointmentRead.model_validate(a) for a in rows]}
