"""Calendars behind one interface: the busy times they hold, and the events JasPing writes into them.

`Calendar` is what a provider implements (`busy`, `create_event`, `update_event`, `cancel_event`); the builtin
calendar is the appointments table itself (`BuiltinCalendar`), external ones are integrations whose type registers
a factory here (`register_provider`; CalDAV in `calendars_caldav`). Busy times of external calendars are cached for
`CACHE_SECONDS`, so a conversation does not call the calendar on every message; a calendar that cannot be reached
is skipped (and logged) rather than failing the turn; writing events records the failure (see
`jasping.scheduling.sync`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.integrations import service as integrations
from jasping.integrations.models import Integration
from jasping.scheduling.availability import Interval

log = logging.getLogger(__name__)
CACHE_SECONDS = 60.0
_MARGIN = timedelta(days=1)  # a cached read covers a little more than asked, so the next turn finds it there


class CalendarUnavailable(Exception):
    """The external calendar could not be read or written (down, refused the login, answered nonsense)."""


@dataclass(frozen=True)
class BusyTime:
    """A busy span of an external calendar; `ref` is the event's address there (to skip JasPing's own events)."""

    start: datetime
    end: datetime
    ref: str = ""


@dataclass(frozen=True)
class EventSpec:
    """An appointment as an event: `uid` is stable, `tz` the business's zone (written as TZID with a VTIMEZONE)."""

    uid: str
    start: datetime
    end: datetime
    tz: str
    summary: str
    description: str = ""


class Calendar(Protocol):
    def busy(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Busy spans touching [start, end), in UTC."""

    def create_event(self, event: EventSpec) -> str:
        """Write a new event; returns its address (stored as the appointment's `external_id`)."""

    def update_event(self, ref: str, event: EventSpec) -> str:
        """Move or rewrite the event at `ref`; returns its (possibly new) address."""

    def cancel_event(self, ref: str) -> None:
        """Delete the event at `ref` (already gone is fine)."""


class BuiltinCalendar:
    """The appointments table as a calendar: its busy times are the booked appointments; events are its rows."""

    def __init__(self, session: Session, agent_id: str):
        self.session, self.agent_id = session, agent_id

    def busy(self, start: datetime, end: datetime) -> list[BusyTime]:
        from jasping.scheduling.service import busy

        return [BusyTime(i.start, i.end) for i in busy(self.session, self.agent_id, start, end)]

    def create_event(self, event: EventSpec) -> str:
        return event.uid

    def update_event(self, ref: str, event: EventSpec) -> str:
        return ref

    def cancel_event(self, ref: str) -> None:
        return None


_PROVIDERS: dict[str, Callable[[Integration, str], Calendar]] = {}
_ACCEPTS: dict[str, Callable[[Integration], bool]] = {}


def register_provider(
    type_: str, factory: Callable[[Integration, str], Calendar], accepts: Callable[[Integration], bool] | None = None
) -> None:
    """`factory(integration, tz)` makes the provider; `tz` reads all-day and floating events. `accepts` tells which
    integrations of the type are calendars (a Google account connected with the `calendar` use, not any)."""
    _PROVIDERS[type_] = factory
    if accepts is not None:
        _ACCEPTS[type_] = accepts


def calendar_types() -> tuple[str, ...]:
    integrations.kinds()  # imports the modules that register providers
    return tuple(sorted(_PROVIDERS))


def calendar_for(integration: Integration, tz: str = "UTC") -> Calendar:
    """The provider speaking to this calendar integration."""
    integrations.kinds()
    return _PROVIDERS[integration.type](integration, tz)


def agent_calendars(session: Session, agent_id: str) -> list[Integration]:
    """The external calendars connected to the agent, oldest first."""
    types = calendar_types()
    found = integrations.active(session, agent_id=agent_id, types=types) if types else []
    return [i for i in found if _ACCEPTS.get(i.type, lambda _i: True)(i)]


def booking_calendars(session: Session, agent_id: str, calendar_id: str | None, *, prefer: str | None = None):
    """The calendars a booking may go to, in the order tried: only the one named (it must be the agent's), else all
    of the agent's, `prefer` first (a move stays on its calendar when it can), then oldest first; `[None]`, the
    builtin calendar, when the agent has none."""
    calendars = agent_calendars(session, agent_id)
    if calendar_id is None:
        calendars.sort(key=lambda c: c.id != prefer)  # stable: oldest first otherwise
        return calendars or [None]
    found = next((c for c in calendars if c.id == calendar_id), None)
    if found is None:
        from jasping.errors import Invalid

        raise Invalid("calendar_id: not one of this agent's calendars", code="invalid")
    return [found]


# ---- cached busy times ----------------------------------------------------------------------------------------
@dataclass
class _Cached:
    at: float
    start: datetime
    end: datetime
    spans: list[BusyTime]


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def forget(integration_id: str | None = None) -> None:
    """Drop cached busy times (of one calendar, or all): after writing an event, and in tests."""
    with _cache_lock:
        if integration_id is None:
            _cache.clear()
        else:
            _cache.pop(integration_id, None)


def _read(integration: Integration, start: datetime, end: datetime, tz: str) -> list[BusyTime]:
    with _cache_lock:
        hit = _cache.get(integration.id)
    if hit and time.monotonic() - hit.at < CACHE_SECONDS and hit.start <= start and end <= hit.end:
        return [b for b in hit.spans if b.start < end and b.end > start]
    lo, hi = start - _MARGIN, end + _MARGIN
    spans = calendar_for(integration, tz).busy(lo, hi)
    with _cache_lock:
        _cache[integration.id] = _Cached(time.monotonic(), lo, hi, spans)
    return [b for b in spans if b.start < end and b.end > start]


def external_busy(
    session: Session, agent_id: str, start: datetime, end: datetime, *, tz: str = "UTC"
) -> list[Interval]:
    """Busy intervals of the agent's external calendars, each tagged with its calendar (`resource`), JasPing's own
    events left out (the table has them). A calendar that fails is logged and skipped: the booking goes on with
    what JasPing knows."""
    out: list[Interval] = []
    calendars = agent_calendars(session, agent_id)
    if not calendars:
        return out
    from jasping.scheduling.models import Appointment

    own = session.execute(
        select(Appointment.calendar_id, Appointment.external_id, Appointment.start, Appointment.end).where(
            Appointment.agent_id == agent_id,
            Appointment.external_id.is_not(None),
            Appointment.start < end + _MARGIN,
            Appointment.busy_until > start - _MARGIN,
        )
    ).all()
    refs = {_path(row.external_id) for row in own}
    for integration in calendars:
        try:
            spans = _read(integration, start, end, tz)
        except CalendarUnavailable as exc:
            log.warning("calendar %s unavailable: %s", integration.id, exc)
            continue
        mine = [Interval(row.start, row.end) for row in own if row.calendar_id == integration.id]
        for b in spans:
            if not b.ref:  # a free/busy answer names no event: JasPing's own events are cut out by their times
                out.extend(_without(Interval(b.start, b.end, integration.id), mine))
            elif _path(b.ref) not in refs:
                out.append(Interval(b.start, b.end, integration.id))
    return out


def _without(span: Interval, cuts: list[Interval]) -> list[Interval]:
    """`span` minus the `cuts` (what is left of it, in order)."""
    left = [span]
    for cut in cuts:
        left = [
            piece
            for part in left
            for piece in (
                Interval(part.start, min(part.end, cut.start), part.resource),
                Interval(max(part.start, cut.end), part.end, part.resource),
            )
            if piece.start < piece.end
        ]
    return left


def _path(ref: str) -> str:
    """An event's address compared by path (a server may answer with or without its host)."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(ref).path)
