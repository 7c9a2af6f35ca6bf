"""Google Calendar for a connected integration: busy times (freebusy.query), and the events of bookings
(events.insert, events.patch to move, events.delete to cancel), written with the business's time zone.

An event's id is derived from the booking's stable uid, so an insert retried after a lost answer finds its
event (Google answers 409) instead of writing a second one.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from jasping.integrations.google_api import GoogleApiError, call, parse_time, rfc3339, segment
from jasping.integrations.models import Integration


def calendar_id(integration: Integration) -> str:
    return (integration.settings or {}).get("calendar_id") or "primary"


def event_id(uid: str) -> str:
    """A valid Google event id (base32hex: 0-9 a-v, 5 to 1024 characters) that is the same for the same uid."""
    return base64.b32hexencode(hashlib.sha256(uid.encode()).digest()).decode().rstrip("=").lower()


def free_busy(integration: Integration, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar's busy spans touching [start, end), in UTC."""
    cal = calendar_id(integration)
    body = {"timeMin": rfc3339(start), "timeMax": rfc3339(end), "items": [{"id": cal}]}
    answer = call(integration, "POST", "calendar", "calendar/v3/freeBusy", json=body).json()
    calendars = answer.get("calendars") or {}
    found = calendars.get(cal) or (next(iter(calendars.values())) if len(calendars) == 1 else None)
    if found is None:
        raise GoogleApiError(f"Google Calendar did not answer for calendar {cal}", retry=True)
    if found.get("errors"):
        reason = found["errors"][0].get("reason", "unknown")
        raise GoogleApiError(f"Google Calendar cannot read calendar {cal}: {reason}", retry=False, reason=reason)
    return [(parse_time(b["start"]), parse_time(b["end"])) for b in found.get("busy") or []]


def _when(value: datetime, tz: str) -> dict[str, str]:
    return {"dateTime": value.astimezone(ZoneInfo(tz)).isoformat(), "timeZone": tz}


def insert_event(
    integration: Integration, *, uid: str, start: datetime, end: datetime, tz: str, summary: str, description: str = ""
) -> str:
    """Write the booking `uid` as an event in `tz` (an IANA zone); returns the event id."""
    cal, eid = calendar_id(integration), event_id(uid)
    body = {
        "id": eid,
        "summary": summary,
        "description": description,
        "start": _when(start, tz),
        "end": _when(end, tz),
        "extendedProperties": {"private": {"jaspingUid": uid}},
    }
    path = f"calendar/v3/calendars/{segment(cal)}/events"
    response = call(integration, "POST", "calendar", path, json=body, also_ok=(409,))
    return eid if response.status_code == 409 else response.json()["id"]


def move_event(
    integration: Integration,
    event: str,
    *,
    start: datetime,
    end: datetime,
    tz: str,
    summary: str | None = None,
    description: str | None = None,
) -> str:
    """Move the event (and rewrite its title or text when given); returns its id."""
    body: dict = {"start": _when(start, tz), "end": _when(end, tz)}
    if summary is not None:
        body["summary"] = summary
    if description is not None:
        body["description"] = description
    path = f"calendar/v3/calendars/{segment(calendar_id(integration))}/events/{segment(event)}"
    return call(integration, "PATCH", "calendar", path, json=body).json()["id"]


def delete_event(integration: Integration, event: str) -> None:
    """Delete the event; one already gone (404, 410) is fine."""
    path = f"calendar/v3/calendars/{segment(calendar_id(integration))}/events/{segment(event)}"
    call(integration, "DELETE", "calendar", path, params={"sendUpdates": "none"}, also_ok=(404, 410))
