"""Dashboard: `/analytics` — the figures of `GET /api/v1/analytics`, its charts as SVG, the questions to answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from jasping.agents.models import Agent
from jasping.analytics import charts, service
from jasping.analytics.views import Asked, build
from jasping.errors import DomainError
from jasping.web.dashboard.views import Member, _page
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


@router.get("/analytics")
def analytics_page(request: Request, db: DbSession, principal: Member) -> Response:
    q = request.query_params
    channel = (q.get("channel") or "")[:16] or None
    asked = Asked(from_=(q.get("from") or "")[:40] or None, to=(q.get("to") or "")[:40] or None)
    asked.filters = service.Filters(agent_id=(q.get("agent_id") or "")[:40] or None, channel=channel)
    agents = list(db.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all())
    form = {"from": q.get("from", ""), "to": q.get("to", ""), "agent_id": asked.filters.agent_id, "channel": channel}
    ctx = {"agents": agents, "channels": service.CHANNELS, "form": form, "percent": _percent}
    try:
        report = build(db, principal.org_id, asked)
    except DomainError as exc:
        return _page(request, "analytics.html", principal, db, exc.status, error=str(exc), report=None, **ctx)
    data = service.as_json(report)
    channels = list(report.by_channel)
    query = {k: v for k, v in {"from": data["from"], "to": data["to"], **asked.filters.__dict__}.items() if v}
    form.update({"from": data["from"], "to": data["to"]})
    return _page(
        request,
        "analytics.html",
        principal,
        db,
        report=data,
        daily_chart=charts.daily_bars(report.daily, channels),
        channel_chart=charts.share_bars(dict(report.by_channel)),
        csv_query=query,
        **ctx,
    )
