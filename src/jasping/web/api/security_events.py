"""`GET /api/v1/security/events`: the organization's security and access log (owners and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from jasping.security import events
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, DbSession

router = APIRouter(prefix=f"{API}/security", tags=["security"])


class SecurityEventRead(BaseModel):
    seq: int
    at: datetime
    action: str
    kind: str
    actor_type: str
    actor_id: str | None
    actor_email: str | None
    object_type: str | None
    object_id: str | None
    object_email: str | None
    ip_ref: str | None  # the start of the IP's keyed hash: tells addresses apart, never shows one
    detail: dict[str, Any]


class SecurityEventsPage(BaseModel):
    events: list[SecurityEventRead]
    next_before: int | None  # pass as `before` for the next (older) page; null on the last page
    kinds: list[str]


@router.get("/events", response_model=SecurityEventsPage)
def list_security_events(
    principal: AdminPrincipal,
    db: DbSession,
    kind: str | None = Query(None, max_length=16, description=f"one of {', '.join(events.KINDS)}"),
    before: int | None = Query(None, ge=1, description="the previous page's next_before"),
    limit: int = Query(50, ge=1, le=events.MAX_PAGE),
) -> SecurityEventsPage:
    """Log-ins and failures, lockouts and alerts, two-step verification, sessions, permission denials, API key use,
    administration, exports and erasures — newest first, `limit` at a time."""
    page = events.list_events(db, org_id=principal.org_id, kind=kind, before=before, limit=limit)
    return SecurityEventsPage(
        events=[SecurityEventRead(**e) for e in page.events], next_before=page.next_before, kinds=list(events.KINDS)
    )
