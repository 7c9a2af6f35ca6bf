"""What a booking made outside the dialogue (the API, a customer's "move" link) must respect: the agent's services,
opening hours, closed dates, notice and horizon — the same slots the agent offers. Each refusal says why."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from jasping.agent.flows.booking_state import BookingSettings
from jasping.agents.models import Agent
from jasping.errors import Invalid
from jasping.scheduling.availability import Interval, Service, free_slots


def settings_for(session: Session, agent: Agent) -> BookingSettings:
    """The agent's booking settings in its time zone; Invalid when it takes no bookings."""
    from jasping.scheduling.service import agent_tz

    if not agent.booking or not agent.booking.get("services"):
        raise Invalid("this agent takes no bookings: set its services and opening hours first", code="no_booking")
    return BookingSettings.from_dict({**agent.booking, "tz": agent_tz(session, agent)})


def service_for(settings: BookingSettings, service_id: str) -> Service:
    found = next((s for s in settings.services if s.id == service_id), None)
    if found is None:
        names = ", ".join(s.id for s in settings.services)
        raise Invalid(f"service: unknown service {service_id!r}; give one of {names}", code="unknown_service")
    return found


def slots(
    settings: BookingSettings, service: Service, *, start: datetime, end: datetime, now: datetime, busy: list[Interval]
) -> list[datetime]:
    """The free slot starts in [start, end), as the agent offers them."""
    return free_slots(
        hours=settings.hours,
        tz=ZoneInfo(settings.tz),
        service=service,
        busy=busy,
        start=start,
        end=end,
        now=now,
        step_min=settings.step_min,
        min_notice_min=settings.min_notice_min,
        closed_dates={date.fromisoformat(d) for d in settings.closed_dates},
    )


def check_start(settings: BookingSettings, service: Service, start: datetime, now: datetime) -> None:
    """Invalid, saying why, unless `start` is one of the slots the agent would offer (busy or not)."""
    tz = ZoneInfo(settings.tz)
    local = start.astimezone(tz)
    shown = f"{local:%Y-%m-%d %H:%M} ({settings.tz})"
    if start <= now:
        raise Invalid(f"start: {shown} has already passed", code="slot_unavailable")
    if start < now + timedelta(minutes=settings.min_notice_min):
        raise Invalid(
            f"start: bookings need {settings.min_notice_min} minutes' notice; {shown} is too soon",
            code="slot_unavailable",
        )
    if start > now + timedelta(days=settings.horizon_days):
        raise Invalid(f"start: bookings are taken up to {settings.horizon_days} days ahead", code="slot_unavailable")
    if local.date().isoformat() in settings.closed_dates or not settings.hours.periods(local.weekday()):
        raise Invalid(f"start: the business is closed on {local:%A %Y-%m-%d}", code="slot_unavailable")
    if start in slots(settings, service, start=start, end=start + timedelta(minutes=1), now=now, busy=[]):
        return
    fits = start in free_slots(
        hours=settings.hours,
        tz=tz,
        service=service,
        busy=[],
        start=start,
        end=start + timedelta(minutes=1),
        now=start,
        step_min=1,
        min_notice_min=0,
    )
    if fits:
        raise Invalid(
            f"start: appointments start every {settings.step_min} minutes from the opening time; "
            f"{shown} is not one of them",
            code="slot_unavailable",
        )
    periods = ", ".join(
        f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in settings.hours.periods(local.weekday())
    )
    raise Invalid(
        f"start: {shown} is outside opening hours ({periods}) for a {service.duration_min + service.buffer_min}-minute "
        f"{service.name}",
        code="slot_unavailable",
    )
