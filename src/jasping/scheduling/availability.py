"""Opening hours and free appointment slots: pure functions over aware datetimes (no database).

Opening hours are wall-clock periods in the business's time zone; slots are computed in local time and converted
to UTC, so a week with a daylight-saving change keeps its 09:00 opening. Busy intervals are given by the caller
(existing appointments, each already extended by its own buffer); a slot occupies `[start, start + duration +
buffer)` and must fit in one opening period without overlapping any busy interval. An agent with several calendars
(staff or rooms) tags each interval with its calendar (`resource`; None blocks them all): a slot is free when one
calendar is, and `resource(name)` names a calendar that has nothing busy.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

__all__ = [
    "DAY_KEYS",
    "Interval",
    "Service",
    "WeeklyHours",
    "free_slots",
    "is_open",
    "next_opening",
    "overlaps",
    "resource",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Service:
    """A bookable service: how long it lasts and the free time kept after it."""

    id: str
    name: str
    duration_min: int
    buffer_min: int = 0

    @property
    def span(self) -> timedelta:
        """The time the service blocks in the calendar (duration and buffer)."""
        return timedelta(minutes=self.duration_min + self.buffer_min)

    def to_dict(self) -> dict:
        """A JSON-able copy."""
        return {"id": self.id, "name": self.name, "duration_min": self.duration_min, "buffer_min": self.buffer_min}

    @classmethod
    def from_dict(cls, data: dict) -> Service:
        """The service saved by `to_dict()`."""
        return cls(str(data["id"]), str(data["name"]), int(data["duration_min"]), int(data.get("buffer_min") or 0))


@dataclass(frozen=True)
class Interval:
    """A half-open span of time `[start, end)` between aware (UTC) datetimes, busy on one calendar (`resource`) or
    on all of them (None)."""

    start: datetime
    end: datetime
    resource: str | None = None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def resource(name: str) -> Interval:
    """An empty interval naming a calendar: one with nothing busy is still one a slot can be booked on."""
    return Interval(_EPOCH, _EPOCH, name)


def overlaps(a: Interval, b: Interval) -> bool:
    """True when the two half-open intervals share some time (touching ends do not overlap)."""
    return a.start < b.end and b.start < a.end


def _minutes(hhmm: str) -> int:
    hours, _, minutes = str(hhmm).strip().partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"not a time of day: {hhmm!r}")
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class WeeklyHours:
    """Opening periods per weekday (0 = Monday), as ("HH:MM", "HH:MM") pairs in the business's time zone."""

    days: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def periods(self, weekday: int) -> list[tuple[int, int]]:
        """The day's opening periods as (start, end) minutes since midnight, sorted, empty ones dropped."""
        spans = ((_minutes(a), _minutes(b)) for a, b in self.days.get(weekday, []))
        return sorted((a, b) for a, b in spans if b > a)

    def to_dict(self) -> dict:
        """{"mon": [["09:00", "13:00"], ...], ...} with every weekday present."""
        return {key: [[_hhmm(a), _hhmm(b)] for a, b in self.periods(i)] for i, key in enumerate(DAY_KEYS)}

    @classmethod
    def from_dict(cls, data: dict | None) -> WeeklyHours:
        """Hours keyed by "mon".."sun" (or 0..6, "0".."6"), each a list of [start, end] pairs."""
        days: dict[int, list[tuple[str, str]]] = {}
        for key, spans in (data or {}).items():
            k = str(key).strip().lower()[:3]
            weekday = DAY_KEYS.index(k) if k in DAY_KEYS else int(k)
            if not 0 <= weekday <= 6:
                raise ValueError(f"not a weekday: {key!r}")
            days[weekday] = [(_hhmm(_minutes(a)), _hhmm(_minutes(b))) for a, b in spans or []]
        return cls({day: spans for day, spans in sorted(days.items()) if spans})


def _wall(day: date, minutes: int) -> datetime:
    """The local wall-clock time `minutes` after midnight on `day` (24:00 is the next midnight)."""
    return datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)


def _to_utc(wall: datetime, tz: tzinfo) -> datetime | None:
    """A naive local time as UTC, or None when it does not exist (skipped by a daylight-saving change)."""
    aware = wall.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    return utc if utc.astimezone(tz).replace(tzinfo=None) == wall else None


def _period_utc(day: date, period: tuple[int, int], tz: tzinfo) -> tuple[datetime, datetime]:
    start = _wall(day, period[0]).replace(tzinfo=tz).astimezone(UTC)
    return start, _wall(day, period[1]).replace(tzinfo=tz).astimezone(UTC)


def _merged(busy: Iterable[Interval]) -> tuple[list[datetime], list[datetime]]:
    """Busy intervals merged into disjoint, sorted (starts, ends)."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for iv in sorted(busy, key=lambda i: i.start):
        if ends and iv.start <= ends[-1]:
            ends[-1] = max(ends[-1], iv.end)
        else:
            starts.append(iv.start)
            ends.append(iv.end)
    return starts, ends


def _per_resource(busy: list[Interval]) -> list[tuple[list[datetime], list[datetime]]]:
    """The merged busy times of each calendar named in `busy` (untagged ones block every calendar); just the
    untagged ones when none is named (one calendar)."""
    shared = [iv for iv in busy if iv.resource is None]
    names = sorted({iv.resource for iv in busy if iv.resource is not None})
    return [_merged(shared + [iv for iv in busy if iv.resource == n]) for n in names] or [_merged(shared)]


def _taken(merged: tuple[list[datetime], list[datetime]], slot: datetime, until: datetime) -> bool:
    starts, ends = merged
    i = bisect.bisect_left(starts, until)
    return bool(i) and ends[i - 1] > slot


def free_slots(
    *,
    hours: WeeklyHours,
    tz: tzinfo,
    service: Service,
    busy: list[Interval],
    start: datetime,
    end: datetime,
    now: datetime,
    step_min: int = 15,
    min_notice_min: int = 60,
    closed_dates: Iterable[date] = (),
) -> list[datetime]:
    """Free slot starts (UTC, sorted) in `[start, end)` for `service`, at least `min_notice_min` after `now`, on
    at least one calendar."""
    closed = set(closed_dates)
    calendars = _per_resource(list(busy))
    earliest = max(start, now + timedelta(minutes=min_notice_min))
    span, step = service.span, max(1, int(step_min))
    out: list[datetime] = []
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        if day not in closed:
            for period in hours.periods(day.weekday()):
                _, period_end = _period_utc(day, period, tz)
                for minute in range(period[0], period[1], step):
                    slot = _to_utc(_wall(day, minute), tz)
                    if slot is None or slot < earliest:
                        continue
                    if slot >= end or slot + span > period_end:
                        break
                    if all(_taken(merged, slot, slot + span) for merged in calendars):
                        continue
                    out.append(slot)
        day += timedelta(days=1)
    return out


def is_open(hours: WeeklyHours, tz: tzinfo, at: datetime) -> bool:
    """True when `at` falls inside an opening period of its local day."""
    local = at.astimezone(tz)
    utc = at.astimezone(UTC)
    for day in (local.date() - timedelta(days=1), local.date()):  # a period may end at 24:00
        for period in hours.periods(day.weekday()):
            opens, closes = _period_utc(day, period, tz)
            if opens <= utc < closes:
                return True
    return False


def next_opening(hours: WeeklyHours, tz: tzinfo, after: datetime) -> datetime | None:
    """The start (UTC) of the first opening period beginning at or after `after`; None when never open."""
    day = after.astimezone(tz).date()
    for offset in range(8):
        current = day + timedelta(days=offset)
        for period in hours.periods(current.weekday()):
            opens, _ = _period_utc(current, period, tz)
            if opens >= after:
                return opens
    return None
