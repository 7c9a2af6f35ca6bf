"""iCalendar invitations for appointments (RFC 5545 / iTIP RFC 5546): one VEVENT in the business's time zone
(DTSTART/DTEND with TZID, the VTIMEZONE embedded so any client reads the same instant), a UID stable per
appointment and a SEQUENCE that grows with each change. METHOD:REQUEST books or moves; METHOD:CANCEL with
STATUS:CANCELLED removes the event from the customer's calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vText

from jasping import clock

PRODID = "-//JasPing//Appointments//EN"
METHODS = ("REQUEST", "CANCEL")


@dataclass(frozen=True)
class Person:
    email: str
    name: str | None = None


@dataclass(frozen=True)
class Invitation:
    """What the ICS says; `start`/`end` are instants (any zone), shown in `tz`."""

    uid: str
    start: datetime
    end: datetime
    tz: str
    summary: str
    method: str = "REQUEST"
    sequence: int = 0
    organizer: Person | None = None
    attendee: Person | None = None
    location: str | None = None
    description: str | None = None


def appointment_uid(appointment_id: str) -> str:
    """The event's UID for an appointment: the same in every mail about it, so calendars update one event."""
    return f"{appointment_id}@jasping"


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name` (from the pinned tzdata), or ValueError."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone such as Europe/Paris") from None


def _address(person: Person, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = vText(person.name)
    address.params.update(params)
    return address


def build_ics(invite: Invitation) -> bytes:
    """The calendar object (bytes, CRLF lines) for `invite`, or ValueError for a bad zone, method or range."""
    if invite.method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if invite.start.tzinfo is None or invite.end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware instants")
    if invite.end <= invite.start:
        raise ValueError("the event must end after it starts")
    tz = zone(invite.tz)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("dtstamp", clock.now().replace(microsecond=0))
    event.add("sequence", invite.sequence)
    event.add("dtstart", invite.start.astimezone(tz).replace(microsecond=0))
    event.add("dtend", invite.end.astimezone(tz).replace(microsecond=0))
    event.add("summary", invite.summary)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if invite.location:
        event.add("location", invite.location)
    if invite.description:
        event.add("description", invite.description)
    if invite.organizer:
        event.add("organizer", _address(invite.organizer))
    if invite.attendee:
        event.add(
            "attendee",
            _address(invite.attendee, ROLE="REQ-PARTICIPANT", PARTSTAT="ACCEPTED", RSVP="FALSE"),
        )
    cal.add_component(event)
    # Zone rules from a year before to a year after the event: enough for any client, a few hundred bytes.
    cal.add_missing_timezones(
        first_date=(invite.start - timedelta(days=366)).date(), last_date=(invite.end + timedelta(days=366)).date()
    )
    return cal.to_ical()
