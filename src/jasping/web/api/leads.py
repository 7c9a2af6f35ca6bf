"""`/api/v1/leads`: the leads the organization's agents collected, where each stands with each sink, the CSV export,
and "send again" for a sync that failed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from jasping import clock
from jasping.db import session_scope
from jasping.integrations.models import Integration
from jasping.leads import export as lead_export
from jasping.leads import service, syncs
from jasping.leads.models import Lead, LeadSync
from jasping.security import audit
from jasping.tenancy.models import Role
from jasping.web.api import API
from jasping.web.deps import MAX_OFFSET, CurrentPrincipal, DbSession, Principal, requires

router = APIRouter(prefix=f"{API}/leads", tags=["leads"])
TeamMember = Annotated[Principal, Depends(requires(Role.agent))]


class LeadSyncRead(BaseModel):
    id: str
    integration_id: str
    integration_type: str
    integration_name: str
    event: str  # created | updated
    state: str  # queued | sending | sent | failed (a retry is due at next_attempt_at) | dead (send it again)
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


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
    updated_at: datetime | None
    syncs: list[LeadSyncRead] = []


def lead_filter(
    agent_id: str | None = Query(None, max_length=40),
    status: Literal["new", "contacted", "closed"] | None = Query(None),
    kind: Literal["lead", "callback"] | None = Query(None),
    created_from: datetime | None = Query(None, description="leads created at or after this instant (ISO 8601)"),
    created_to: datetime | None = Query(None, description="leads created before this instant (ISO 8601)"),
) -> service.LeadFilter:
    """The filters shared by the list and the CSV export (a time without a zone is UTC)."""
    return service.LeadFilter(
        agent_id, status, kind, created_from and clock.as_utc(created_from), created_to and clock.as_utc(created_to)
    )


Filters = Annotated[service.LeadFilter, Depends(lead_filter)]


def _sync_read(sync: LeadSync, integration: Integration) -> LeadSyncRead:
    waiting = sync.state in ("queued", "failed", "sending")
    return LeadSyncRead(
        id=sync.id,
        integration_id=integration.id,
        integration_type=integration.type,
        integration_name=integration.name,
        event=sync.event,
        state=sync.state,
        attempts=sync.attempts,
        last_error=sync.last_error,
        next_attempt_at=sync.next_attempt_at if waiting else None,
        sent_at=sync.sent_at,
    )


def _reads(db: DbSession, leads: list[Lead]) -> list[LeadRead]:
    by_lead = syncs.for_leads(db, [lead.id for lead in leads])
    return [
        LeadRead.model_validate(lead).model_copy(
            update={"syncs": [_sync_read(s, i) for s, i in by_lead.get(lead.id, [])]}
        )
        for lead in leads
    ]


@router.get("", response_model=dict[str, list[LeadRead]])
def list_leads(
    principal: CurrentPrincipal,
    db: DbSession,
    where: Filters,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Newest first, each with its sync state per sink."""
    return {"leads": _reads(db, service.list_leads(db, where=where, limit=limit, offset=offset))}


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the leads as CSV (UTF-8 with a BOM)"}},
)
def export_csv(principal: CurrentPrincipal, db: DbSession, where: Filters) -> Response:
    """The leads the filters select, newest first, as a CSV file for Excel, LibreOffice or Google Sheets."""
    body, count = lead_export.export(db, where)
    with session_scope(principal.org_id) as s:  # its own short write: the export itself only reads
        audit.record(
            s,
            actor=principal.actor,
            action="lead.export",
            org_id=principal.org_id,
            object_type="lead",
            detail={"rows": count, "agent_id": where.agent_id, "status": where.status, "kind": where.kind},
        )
    filename = f"leads-{clock.now():%Y%m%d-%H%M%S}.csv"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@router.get("/{lead_id}", response_model=LeadRead)
def get_lead(lead_id: str, principal: CurrentPrincipal, db: DbSession) -> LeadRead:
    (read,) = _reads(db, [service.get_lead(db, lead_id)])
    return read


@router.post("/{lead_id}/syncs/{sync_id}/retry", status_code=202, response_model=LeadSyncRead)
def retry_sync(lead_id: str, sync_id: str, principal: TeamMember, db: DbSession) -> LeadSyncRead:
    """Send again: a failed or dead sync gets a fresh set of tries now; a sent one is sent again as a new event.
    409 while it is queued or being sent."""
    service.get_lead(db, lead_id)
    sync = syncs.retry(db, lead_id=lead_id, sync_id=sync_id, actor=principal.actor)
    return _sync_read(sync, db.get(Integration, sync.integration_id))
