"""Dashboard: `/leads` — the leads and callback requests the agents collected, filtered by agent, status, kind and
days, with where each stands with each connected integration (Google Sheets, a webhook…) and "send again" for a sync
that failed; the CSV export is the API's (`/api/v1/leads/export.csv`) with the same filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from jasping.agents.models import Agent
from jasping.errors import DomainError
from jasping.leads import service, syncs
from jasping.tenancy.models import Role
from jasping.web.dashboard.labels import label
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import MAX_OFFSET, DbSession

router = APIRouter(include_in_schema=False)
STATUSES = ("new", "contacted", "closed")
KINDS = ("lead", "callback")
PAGE = 50


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@router.get("/leads")
def leads_page(
    request: Request,
    db: DbSession,
    principal: Member,
    agent_id: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """Newest first; days are UTC days (`from` and `to` included)."""
    first, last = _day(from_), _day(to)
    form = {"agent_id": agent_id, "status": status, "kind": kind, "from": from_, "to": to}
    where = service.LeadFilter(
        agent_id or None,
        status if status in STATUSES else None,
        kind if kind in KINDS else None,
        _midnight(first) if first else None,
        _midnight(last + timedelta(days=1)) if last else None,
    )
    found = service.list_leads(db, where=where, limit=PAGE + 1, offset=offset)
    by_lead = syncs.for_leads(db, [lead.id for lead in found[:PAGE]])
    export = {
        "agent_id": where.agent_id,
        "status": where.status,
        "kind": where.kind,
        "created_from": where.created_from and where.created_from.isoformat(),
        "created_to": where.created_to and where.created_to.isoformat(),
    }
    kept = {k: v for k, v in form.items() if v}
    return _page(
        request,
        "leads.html",
        principal,
        db,
        status_code,
        leads=found[:PAGE],
        syncs=by_lead,
        agents=dict(db.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all()),
        statuses=STATUSES,
        kinds=KINDS,
        form=form,
        error=error,
        export_url="/api/v1/leads/export.csv?" + urlencode({k: v for k, v in export.items() if v}),
        next_url=f"/leads?{urlencode(kept | {'offset': offset + PAGE})}" if len(found) > PAGE else None,
        prev_url=f"/leads?{urlencode(kept | {'offset': max(0, offset - PAGE)})}" if offset else None,
        can_act=principal.role.allows(Role.agent),
        label=label,
    )


@router.post("/leads/{lead_id}/syncs/{sync_id}/retry")
def lead_sync_retry(lead_id: str, sync_id: str, request: Request, db: DbSession, principal: Member, csrf: Csrf):
    """Send again (the API's `POST /api/v1/leads/{lead_id}/syncs/{sync_id}/retry`)."""
    check_csrf(principal, csrf)
    service.get_lead(db, lead_id)
    try:
        syncs.retry(db, lead_id=lead_id, sync_id=sync_id, actor=principal.actor)
    except DomainError as exc:
        db.rollback()
        return leads_page(request, db, principal, error=exc.message, status_code=exc.status)
    return RedirectResponse(f"/leads?flash=sync_queued#lead-{lead_id}", status_code=303)
