"""CalDAV calendars (Radicale, Nextcloud, iCloud, Fastmail…): the `caldav` integration type and its provider.

Busy times are the calendar's events in a range (recurring ones expanded; transparent and cancelled ones left
out; all-day and floating ones read in the business's time zone). Events are written as iCalendar with the
business's time zone (`DTSTART;TZID=…` and its VTIMEZONE), so a calendar app shows them at the right hour on
either side of a daylight-saving change.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import caldav
import icalendar
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.integrations import service as integrations
from jasping.integrations.calendars import BusyTime, CalendarUnavailable, EventSpec, forget, register_provider
from jasping.integrations.models import Integration

TIMEOUT = 15  # seconds per request to the server
_resolved: dict[tuple[str, str, str], str] = {}  # (url, username, calendar) → the calendar's URL
_lock = threading.Lock()


class CalDAVIn(BaseModel):
    """A CalDAV calendar: the server's address, the login, and which calendar (its name, or its URL)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str = Field(pattern=r"^https?://\S+$", max_length=1000, description="The server (or principal) URL")
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500, description="An app password; stored encrypted")
    calendar: str = Field(min_length=1, max_length=1000, description="The calendar's name or URL")


def _utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def to_ical(event: EventSpec) -> str:
    """The VCALENDAR of one event, in its time zone (TZID with the VTIMEZONE block)."""
    tz = ZoneInfo(event.tz)
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", clock.now())
    vevent.add("dtstart", event.start.astimezone(tz))
    vevent.add("dtend", event.end.astimezone(tz))
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    vcal = icalendar.Calendar()
    vcal.add("prodid", "-//JasPing//Appointments//EN")
    vcal.add("version", "2.0")
    vcal.add_component(vevent)
    vcal.add_missing_timezones()
    return vcal.to_ical().decode("utf-8")


class CalDAVCalendar:
    """One calendar on a CalDAV server. Every failure is raised as `CalendarUnavailable`."""

    def __init__(self, integration: Integration, tz: str = "UTC"):
        settings, secrets = integration.settings or {}, integration.secrets
        self.url, self.username = settings["url"], settings["username"]
        self.password, self.name = secrets.get("password", ""), settings["calendar"]
        self.tz = ZoneInfo(tz)

    def _client(self) -> caldav.DAVClient:
        return caldav.DAVClient(
            url=self.url,
            username=self.username,
            password=self.password,
            timeout=TIMEOUT,
            enable_rfc6764=False,
            require_tls=urlsplit(self.url).scheme == "https",
        )

    def _calendar(self, client: caldav.DAVClient) -> caldav.Calendar:
        if self.name.startswith(("http://", "https://")):
            return client.calendar(url=self.name)
        key = (self.url, self.username, self.name)
        with _lock:
            known = _resolved.get(key)
        if known:
            return client.calendar(url=known)
        for calendar in client.principal().calendars():
            path = urlsplit(str(calendar.url)).path.rstrip("/").rsplit("/", 1)[-1]
            if self.name in (calendar.get_display_name(), path):
                with _lock:
                    _resolved[key] = str(calendar.url)
                return calendar
        raise CalendarUnavailable(f"no calendar named {self.name!r} for this login")

    def _call(self, what: str, fn):  # noqa: ANN001, ANN202
        try:
            with self._client() as client:
                return fn(client)
        except CalendarUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - the edge: network, HTTP, XML and iCalendar errors alike
            raise CalendarUnavailable(f"{what}: {type(exc).__name__}: {exc}"[:400]) from exc

    def busy(self, start: datetime, end: datetime) -> list[BusyTime]:
        def read(client: caldav.DAVClient) -> list[BusyTime]:
            found = self._calendar(client).search(start=start, end=end, event=True, expand=True)
            out = []
            for item in found:
                for comp in item.icalendar_instance.walk("VEVENT"):
                    span = self._span(comp)
                    if span and span[0] < end and span[1] > start:
                        out.append(BusyTime(span[0], span[1], str(item.url)))
            return out

        return self._call("reading busy times", read)

    def _span(self, comp: icalendar.Event) -> tuple[datetime, datetime] | None:
        if str(comp.get("transp", "")).upper() == "TRANSPARENT" or str(comp.get("status", "")).upper() == "CANCELLED":
            return None
        if comp.get("dtstart") is None:
            return None
        raw = comp.decoded("dtstart")
        begin = _utc(raw, self.tz)
        if comp.get("dtend") is not None:
            finish = _utc(comp.decoded("dtend"), self.tz)
        elif comp.get("duration") is not None:
            finish = begin + comp.decoded("duration")
        else:
            finish = begin + (timedelta(days=1) if not isinstance(raw, datetime) else timedelta(0))
        return (begin, finish) if finish > begin else None

    def create_event(self, event: EventSpec) -> str:
        return self._call("creating the event", lambda c: str(self._calendar(c).save_event(to_ical(event)).url))

    def update_event(self, ref: str, event: EventSpec) -> str:
        def put(client: caldav.DAVClient) -> str:
            existing = self._calendar(client).event_by_url(ref)
            try:
                existing.load()
            except caldav.lib.error.NotFoundError:
                return str(self._calendar(client).save_event(to_ical(event)).url)  # deleted there: write it again
            uid = str(existing.icalendar_component.get("uid") or event.uid)
            body = to_ical(EventSpec(uid, event.start, event.end, event.tz, event.summary, event.description))
            response = client.put(ref, body, {"Content-Type": "text/calendar; charset=utf-8"})
            if response.status not in (200, 201, 204):
                raise CalendarUnavailable(f"the server answered {response.status} to the update")
            return ref

        return self._call("moving the event", put)

    def cancel_event(self, ref: str) -> None:
        def delete(client: caldav.DAVClient) -> None:
            response = client.delete(ref)
            if response.status not in (200, 204, 404):
                raise CalendarUnavailable(f"the server answered {response.status} to the deletion")

        self._call("deleting the event", delete)


def _on_disconnect(session: Session, integration: Integration) -> None:
    """Stop syncing: appointments not yet written there stay in JasPing only."""
    from jasping.scheduling.models import Appointment

    session.execute(
        update(Appointment)
        .where(Appointment.calendar_id == integration.id)
        .values(calendar_id=None, sync_state=None, sync_error=None)
    )
    forget(integration.id)


def _factory(integration: Integration, tz: str = "UTC") -> CalDAVCalendar:
    return CalDAVCalendar(integration, tz)


register_provider("caldav", _factory)
integrations.register(
    integrations.Kind(
        "caldav",
        CalDAVIn,
        secrets=("password",),
        on_disconnect=_on_disconnect,
        description="A CalDAV calendar (Radicale, Nextcloud, iCloud, Fastmail): its events block the agent's slots, "
        "bookings are written into it with their time zone, moves and cancellations update it.",
    )
)
