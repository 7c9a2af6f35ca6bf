"""`GET /api/v1/analytics` (JSON) and `GET /api/v1/analytics.csv` (the daily series): the organization's figures
over a period of local days (docs/analytics.md)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from jasping import clock
from jasping.analytics import service
from jasping.analytics.periods import Period, period
from jasping.db import ScopedSession
from jasping.tenancy.models import Organization
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix=API, tags=["analytics"])


class Asked:
    """The query of a report: `from`, `to` (YYYY-MM-DD, local days of the organization), `agent_id`, `channel`."""

    def __init__(
        self,
        from_: Annotated[str | None, Query(alias="from", max_length=40, description="first day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, Query(max_length=40, description="last day (included), YYYY-MM-DD")] = None,
        agent_id: Annotated[str | None, Query(max_length=40)] = None,
        channel: Annotated[str | None, Query(pattern="^[a-z_]{1,16}$")] = None,
    ) -> None:
        self.from_, self.to = from_, to
        self.filters = service.Filters(agent_id=agent_id or None, channel=channel or None)


def org_period(db: ScopedSession, org_id: str, asked: Asked) -> Period:
    org = db.get(Organization, org_id)
    return period(asked.from_, asked.to, org.timezone if org else None)


def build(db: ScopedSession, org_id: str, asked: Asked) -> service.Report:
    return service.report(db, org_id=org_id, period=org_period(db, org_id, asked), filters=asked.filters)


def daily_csv(report: service.Report) -> str:
    """The daily series: one row a local day, a column a channel."""
    channels = list(report.by_channel)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    head = ["date", "conversations", *channels, "handoffs", "automated_resolutions", "leads", "bookings"]
    writer.writerow([*head, "csat_answers", "csat_average"])
    for day, row in report.daily.items():
        per_channel = [row["by_channel"].get(c, 0) for c in channels]
        writer.writerow(
            [day.isoformat(), row["conversations"], *per_channel, row["handoffs"], row["automated_resolutions"]]
            + [row["leads"], row["bookings"], row["csat_answers"], _blank(row["csat_average"])]
        )
    return out.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def csv_response(report: service.Report) -> Response:
    filename = f"analytics-{report.period.first}-{report.period.last}.csv"
    return Response(
        ("\ufeff" + daily_csv(report)).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


CSV = {200: {"content": {"text/csv": {}}, "description": "the daily series as CSV (UTF-8 with a BOM)"}}


@router.get("/analytics", responses=CSV)
def analytics(
    principal: CurrentPrincipal,
    db: DbSession,
    asked: Annotated[Asked, Depends()],
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Conversations per day and channel, handoff and automated resolution rates, leads and conversion, bookings,
    reply latency, CSAT (the customers' ratings, by channel), top and unanswered questions — over local days of the
    organization's time zone, the last 30 by default. `?format=csv` gives the daily series."""
    report = build(db, principal.org_id, asked)
    if format == "csv":
        return csv_response(report)
    return {**service.as_json(report), "generated_at": clock.now().isoformat()}


@router.get("/analytics.csv", response_class=Response, responses=CSV)
def analytics_csv(principal: CurrentPrincipal, db: DbSession, asked: Annotated[Asked, Depends()]) -> Response:
    """The daily series of `GET /api/v1/analytics` as CSV: date, conversations, one column a channel, handoffs,
    automated resolutions, leads, bookings, CSAT answers and average."""
    return csv_response(build(db, principal.org_id, asked))
