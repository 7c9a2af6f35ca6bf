"""Dashboard: `/appointments` — the agenda by day or week in the organization's time zone, and cancelling or moving
an appointment through the scheduling services (`scheduling/service.py`), so the calendar event and the customer's
email follow exactly as when the API (`DELETE /api/v1/appointments/{id}`, `POST …/move`) or the customer does it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from jasping import clock
from jasping.agents.models import Agent
from jasping.analytics.periods import zone
from jasping.errors import DomainError
from jasping.scheduling import service
from jasping.scheduling.models import Appointment
from jasping.tenancy.models import Organization, Role
from jasping.web.dashboard.labels import label
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession, Principal

router = APIRouter(include_in_schema=False)
VIEWS = ("day", "week")


def _span(view: str, day: date) -> tuple[date, date]:
    """The first and last local day shown: the day, or its week from Monday."""
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def _agenda(
    request: Request,
    db: DbSession,
    principal: Principal,
    view: str = "week",
    day: str = "",
    agent_id: str = "",
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    org = db.get(Organization, principal.org_id)
    tz = zone(org.timezone if org else None)
    try:
        shown = date.fromisoformat(day) if day else clock.now().astimezone(tz).date()
    except ValueError:
        shown, status_code, error = clock.now().astimezone(tz).date(), 422, "Give a date as YYYY-MM-DD."
    view = view if view in VIEWS else "week"
    first, last = _span(view, shown)
    start = datetime.combine(first, time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    query = select(Appointment).where(Appointment.start >= start, Appointment.start < end)
    query = query.where(Appointment.agent_id == agent_id) if agent_id else query
    rows = db.execute(query.order_by(Appointment.start, Appointment.id)).scalars()
    days: dict[date, list[Appointment]] = {first + timedelta(days=n): [] for n in range((last - first).days + 1)}
    for a in rows:
        days[a.start.astimezone(tz).date()].append(a)
    step = timedelta(days=7 if view == "week" else 1)
    here = {"view": view, **({"agent_id": agent_id} if agent_id else {})}
    return _page(
        request,
        "appointments.html",
        principal,
        db,
        status_code,
        error=error,
        days=days,
        tz=tz,
        view=view,
        shown=shown,
        agent_id=agent_id,
        agents=dict(db.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all()),
        prev_url="/appointments?" + urlencode(here | {"date": (shown - step).isoformat()}),
        next_url="/appointments?" + urlencode(here | {"date": (shown + step).isoformat()}),
        today_url="/appointments?" + urlencode(here),
        back=urlencode(here | {"date": shown.isoformat()}),
        can_act=principal.role.allows(Role.agent),
        label=label,
        now=clock.now(),
    )


@router.get("/appointments")
def appointments_page(
    request: Request,
    db: DbSession,
    principal: Member,
    view: Annotated[str, Query(max_length=8)] = "week",
    date_: Annotated[str, Query(alias="date", max_length=10)] = "",
    agent_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return _agenda(request, db, principal, view, date_, agent_id)


def _back(back: str, flash: str) -> str:
    """Back to the agenda shown (its query, checked), with a message."""
    query = back if re.fullmatch(r"[A-Za-z0-9_=&%.-]*", back) else ""
    return f"/appointments?{query}&flash={flash}" if query else f"/appointments?flash={flash}"


@router.post("/appointments/{appointment_id}/cancel")
def appointment_cancel(
    appointment_id: str,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Cancel: the slot is free again, the calendar event is deleted, the customer is told by email."""
    check_csrf(principal, csrf)
    service.cancel(db, appointment_id=appointment_id)
    return RedirectResponse(_back(back, "appointment_cancelled"), status_code=303)


@router.post("/appointments/{appointment_id}/move")
def appointment_move(
    appointment_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    start: Annotated[str, Form(max_length=20)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Move to another free time (local to the appointment's time zone): the calendar event moves and the customer
    gets the new time by email. 409 when the time is taken, 422 with the reason otherwise — on the agenda."""
    check_csrf(principal, csrf)
    old = service.get(db, appointment_id)
    tz = ZoneInfo(old.tz) if old.tz else zone(None)
    day = old.start.astimezone(tz).date().isoformat()
    try:
        wanted = datetime.fromisoformat(start).replace(tzinfo=tz)
    except ValueError:
        return _agenda(request, db, principal, "day", day, status_code=422, error="Give the new date and time.")
    try:
        new = service.move(db, appointment_id=appointment_id, start=wanted)
    except DomainError as exc:
        db.rollback()
        return _agenda(request, db, principal, "day", day, status_code=exc.status, error=exc.message)
    when = new.start.astimezone(tz).date().isoformat()
    return RedirectResponse(f"/appointments?view=day&date={when}&flash=appointment_moved#apt-{new.id}", status_code=303)
