"""Dashboard: the organization's security events (owners and admins), filtered by kind, a page at a time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jasping.errors import Invalid
from jasping.security import events
from jasping.tenancy.models import Role
from jasping.web.dashboard.views import Member, _page
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)
PAGE = 50


def _whole(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise Invalid("before: give the number from the “Older” link")
    return int(value)


@router.get("/security/events")
def security_events(request: Request, db: DbSession, principal: Member) -> Response:
    principal.require(Role.admin)
    kind = request.query_params.get("kind") or None
    before = _whole(request.query_params.get("before"))
    page = events.list_events(db, org_id=principal.org_id, kind=events.check_kind(kind), before=before, limit=PAGE)
    return _page(
        request,
        "security_events.html",
        principal,
        db,
        events=page.events,
        next_before=page.next_before,
        kinds=list(events.KINDS),
        kind=kind,
    )
