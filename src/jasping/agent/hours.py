"""Business hours for the conversation: is the team in now, and when does it come back — so that a handoff tells
the customer what really happens next. The hours are the agent's weekly hours and closed dates (the ones its
bookings use), in the business's time zone; without them the agent says nothing about hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jasping.agent.dates import format_slot
from jasping.agent.llm.base import TurnContext
from jasping.agent.phrases import phrase
from jasping.scheduling.availability import WeeklyHours, is_open, next_opening


@dataclass(frozen=True)
class TeamHours:
    open_now: bool | None  # None: the business has not set its hours
    reopens_at: datetime | None = None  # UTC, when closed now
    tz: ZoneInfo | None = None

    def reopens(self, lang: str) -> str:
        """When the team is back, as the customer reads it ("lundi 30 novembre à 9h"), or ""."""
        if self.open_now is not False or self.reopens_at is None or self.tz is None:
            return ""
        return format_slot(self.reopens_at, self.tz, lang)


def team_hours(booking: dict | None, org_timezone: str | None, now: datetime) -> TeamHours:
    """Open or closed at `now` by the agent's weekly hours and closed dates (`booking` settings)."""
    booking = booking or {}
    if not booking.get("hours"):
        return TeamHours(None)
    try:
        tz = ZoneInfo(str(booking.get("tz") or org_timezone or "UTC"))
        hours = WeeklyHours.from_dict(booking["hours"])
    except (ZoneInfoNotFoundError, ValueError, TypeError, KeyError):
        return TeamHours(None)
    closed = {str(d) for d in booking.get("closed_dates") or []}
    if now.astimezone(tz).date().isoformat() not in closed and is_open(hours, tz, now):
        return TeamHours(True, tz=tz)
    after = now
    for _ in range(60):  # skip holidays: the first opening on a day that is not closed
        opening = next_opening(hours, tz, after)
        if opening is None:
            return TeamHours(False, tz=tz)
        day = opening.astimezone(tz).date()
        if day.isoformat() not in closed:
            return TeamHours(False, opening, tz)
        after = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return TeamHours(False, tz=tz)


def handoff_text(context: TurnContext) -> str:
    """What the customer is told when the conversation goes to a person: now, when the team is back, or plainly."""
    if context.within_business_hours is True:
        return phrase("handoff_open", context.language)
    if context.within_business_hours is False:
        if context.reopens:
            return phrase("handoff_closed_until", context.language, when=context.reopens)
        return phrase("handoff_closed", context.language)
    return phrase("handoff_unknown", context.language)
