"""The period of an analytics report: local days of the organization's time zone, checked, and the SQL that puts an
instant into its local day on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from jasping import clock
from jasping.errors import Invalid

MAX_DAYS = 366
DEFAULT_DAYS = 30
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH_DAY = date(1970, 1, 1)
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (both included) in `tz`, and the UTC instants that bound them."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:  # exclusive
        return local_midnight(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    if not _DATE.match(value):
        raise Invalid(f"{name}: give a date as YYYY-MM-DD, not {value[:40]!r}", code="invalid_date")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name}: {value} is not a date of the calendar", code="invalid_date") from None
    if not EARLIEST <= day <= LATEST:
        raise Invalid(f"{name}: give a date between {EARLIEST} and {LATEST}", code="invalid_date")
    return day


def period(from_: str | None, to: str | None, tz_name: str | None) -> Period:
    """The period asked for (`from`/`to`, YYYY-MM-DD), by default the last 30 days up to today in the organization's
    time zone; 422 on a malformed date, `to` before `from`, or more than 366 days."""
    tz = zone(tz_name)
    first, last = _parse(from_, "from"), _parse(to, "to")
    today = clock.now().astimezone(tz).date()
    if last is None:
        last = max(today, first) if first else today
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Invalid(f"to ({last}) is before from ({first})", code="invalid_period")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(f"the period is longer than {MAX_DAYS} days: ask for a shorter one", code="period_too_long")
    return Period(first, last, tz)


def offset_segments(p: Period) -> list[tuple[datetime, datetime, int]]:
    """The period cut at the time zone's transitions: (start, end, UTC offset in seconds), each with one offset."""
    start, end = int(p.start.timestamp()), int(p.end.timestamp())
    segments: list[tuple[datetime, datetime, int]] = []
    seg_start, offset, probe = start, _offset(start, p.tz), start
    while probe < end:
        nxt = min(probe + 86400, end - 1)
        if _offset(nxt, p.tz) == offset:
            probe = nxt + 1 if nxt == end - 1 else nxt
            continue
        low, high = probe, nxt  # the first second of the new offset is in (low, high]
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if _offset(mid, p.tz) == offset else (low, mid)
        segments.append((_instant(seg_start), _instant(high), offset))
        seg_start, offset, probe = high, _offset(high, p.tz), high
    segments.append((_instant(seg_start), _instant(end), offset))
    return segments


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _offset(seconds: int, tz: ZoneInfo) -> int:
    return int(_instant(seconds).astimezone(tz).utcoffset().total_seconds())


def day_number(column: ColumnElement, offset: int, dialect: str) -> ColumnElement:
    """SQL: the local day of the instant in `column` as days since 1970-01-01, for a UTC `offset` in seconds."""
    if dialect == "postgresql":
        epoch = func.extract("epoch", column)
        return cast(func.floor((epoch + literal(offset)) / 86400), Integer)
    epoch = cast(func.strftime("%s", column), Integer)  # SQLite keeps UTC instants as text
    return (epoch + literal(offset)).self_group().op("/")(literal(86400))  # SQLite's integer division: a floor


def day_of(number: int) -> date:
    return _EPOCH_DAY + timedelta(days=int(number))
