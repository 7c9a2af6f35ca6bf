"""Where a booking can go: the flow's settings and service, every free slot within the horizon, the slots to
offer (nearest to what was asked, or spread over a day), and whether a time is within opening hours at all."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from jasping.agent.flows.booking_state import BookingFlow, BookingSettings
from jasping.agent.flows.booking_words import OFFER
from jasping.scheduling.availability import Interval, Service, free_slots


def conf_of(flow: BookingFlow) -> BookingSettings:
    return BookingSettings.from_dict(flow.settings)


def service_of(flow: BookingFlow) -> Service:
    services = conf_of(flow).services
    return next((s for s in services if s.id == flow.service_id), services[0])


def iso(dt: datetime) -> str:
    return dt.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def free(flow: BookingFlow, now: datetime, busy: list[Interval]) -> list[datetime]:
    """Every free slot within the horizon (a rescheduled appointment does not block itself)."""
    conf = conf_of(flow)
    if flow.mode == "reschedule" and flow.appointment_id:
        own = next((a for a in flow.appointments if str(a["id"]) == str(flow.appointment_id)), None)
        busy = [b for b in busy if not own or b.start != utc(str(own["start"]))]
    closed = {date.fromisoformat(d) for d in conf.closed_dates}
    return free_slots(
        hours=conf.hours,
        tz=ZoneInfo(conf.tz),
        service=service_of(flow),
        busy=busy,
        start=now,
        end=now + timedelta(days=conf.horizon_days),
        now=now,
        step_min=conf.step_min,
        min_notice_min=conf.min_notice_min,
        closed_dates=closed,
    )


def nearest(slots: list[datetime], target: datetime) -> list[datetime]:
    return sorted(sorted(slots, key=lambda s: abs(s - target))[:OFFER])


def spread(slots: list[datetime]) -> list[datetime]:
    if len(slots) <= OFFER:
        return slots
    return [slots[round(i * (len(slots) - 1) / (OFFER - 1))] for i in range(OFFER)]


def within_hours(conf: BookingSettings, flow: BookingFlow, target: datetime) -> bool:
    """True when a slot starting at `target` fits in an opening period, busy or not."""
    end = target + timedelta(days=1)
    return target in free_slots(
        hours=conf.hours,
        tz=ZoneInfo(conf.tz),
        service=service_of(flow),
        busy=[],
        start=target,
        end=end,
        now=target,
        step_min=1,
        min_notice_min=0,
    )
