"""An agent's booking settings (the builtin calendar): the one check used by the API and the dashboard.

`clean_booking()` turns what a person gave (JSON from the API, or the dashboard form's fields) into the stored
settings, or raises `BookingInvalid` saying what is wrong. Its `template` and `params` let the dashboard say it in
the user's language, and `loc` names the field ("services", 0, "name") so the form can point at it.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import available_timezones

from jasping.scheduling.availability import DAY_KEYS

MAX_SERVICES = 50
MAX_CLOSED_DATES = 366
_TIME = re.compile(r"^(\d{1,2})(?:[:hH](\d{2})?)?$")  # 09:00, 9:00, 9, 9h, 9h30
_WHOLE = re.compile(r"^\s*-?\d{1,9}\s*$")
# (key, lowest, highest, message) of the numbers a booking may set; absent or empty means the default
_NUMBERS = (
    ("step_min", 1, 240, "appointments must start every {low} to {high} minutes"),
    ("min_notice_min", 0, 30 * 24 * 60, "the minimum notice must be between {low} and {high} minutes"),
    ("horizon_days", 1, 730, "customers can book between {low} and {high} days ahead"),
)


class BookingInvalid(ValueError):
    """A booking setting that cannot be used, said in plain words."""

    def __init__(self, template: str, *, loc: tuple = (), **params: object) -> None:
        self.template, self.params, self.loc = template, params, loc
        super().__init__(template.format(**params))


def _whole(value: object) -> int | None:
    """A whole number from JSON or from a form field; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.match(value):
        return int(value)
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "service"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _services(raw: object) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise BookingInvalid("add at least one service", loc=("services",))
    if len(raw) > MAX_SERVICES:
        raise BookingInvalid("at most {max} services", loc=("services",), max=MAX_SERVICES)
    given = [str(s.get("id") or "").strip() for s in raw if isinstance(s, dict)]
    taken: set[str] = set()
    out: list[dict] = []
    for i, item in enumerate(raw):
        n, loc = i + 1, ("services", i)
        if not isinstance(item, dict):
            raise BookingInvalid("service {n} must be an object with a name and a duration_min", loc=loc, n=n)
        name = str(item.get("name") or "").strip()
        if not name:
            raise BookingInvalid("service {n}: give it a name", loc=(*loc, "name"), n=n)
        if len(name) > 200:
            raise BookingInvalid(
                "service {n}: the name is too long ({max} characters at most)", loc=(*loc, "name"), n=n, max=200
            )
        duration = _whole(item.get("duration_min"))
        if duration is None or not 1 <= duration <= 24 * 60:
            raise BookingInvalid(
                "service {n}: the duration must be a number of minutes between 1 and 1440",
                loc=(*loc, "duration_min"),
                n=n,
            )
        buffer = 0 if _blank(item.get("buffer_min")) else _whole(item.get("buffer_min"))
        if buffer is None or not 0 <= buffer <= 24 * 60:
            raise BookingInvalid(
                "service {n}: the break after it must be a number of minutes between 0 and 1440",
                loc=(*loc, "buffer_min"),
                n=n,
            )
        sid = str(item.get("id") or "").strip()
        if len(sid) > 64:
            raise BookingInvalid(
                "service {n}: the id is too long ({max} characters at most)", loc=(*loc, "id"), n=n, max=64
            )
        if sid in taken:
            raise BookingInvalid("two services have the same id {id}", loc=(*loc, "id"), id=sid)
        sid = sid or _slug(name, taken | set(given))
        taken.add(sid)
        out.append({"id": sid, "name": name, "duration_min": duration, "buffer_min": buffer})
    return out


def _minutes(day: str, value: object) -> int:
    text = str(value).strip()
    match = _TIME.match(text)
    minutes = int(match.group(1)) * 60 + int(match.group(2) or 0) if match else -1
    if not match or int(match.group(2) or 0) > 59 or not 0 <= minutes <= 24 * 60:
        raise BookingInvalid(
            "{day}: {value} is not a time of day such as 09:00", loc=("hours", day), day=day, value=text
        )
    return minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hours(raw: object) -> dict[str, list[list[str]]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BookingInvalid("hours must map days (mon to sun) to opening periods", loc=("hours",))
    out: dict[str, list[list[str]]] = {}
    for key, spans in raw.items():
        k = str(key).strip().lower()[:3]
        day = k if k in DAY_KEYS else DAY_KEYS[int(k)] if k.isdigit() and int(k) < 7 else None
        if day is None:
            raise BookingInvalid("{day} is not a day of the week (mon to sun)", loc=("hours",), day=str(key))
        if not isinstance(spans, list | tuple | None):
            raise BookingInvalid("{day}: give the opening periods as [start, end] pairs", loc=("hours", day), day=day)
        periods: list[tuple[int, int]] = []
        for span in spans or []:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise BookingInvalid(
                    "{day}: give the opening periods as [start, end] pairs", loc=("hours", day), day=day
                )
            start, end = _minutes(day, span[0]), _minutes(day, span[1])
            if end <= start:
                raise BookingInvalid(
                    "{day}: each period must end after it starts ({start}-{end})",
                    loc=("hours", day),
                    day=day,
                    start=_hhmm(start),
                    end=_hhmm(end),
                )
            periods.append((start, end))
        periods.sort()
        for (a, b), (c, d) in zip(periods, periods[1:], strict=False):
            if c < b:
                raise BookingInvalid(
                    "{day}: the periods {first} and {second} overlap",
                    loc=("hours", day),
                    day=day,
                    first=f"{_hhmm(a)}-{_hhmm(b)}",
                    second=f"{_hhmm(c)}-{_hhmm(d)}",
                )
        out[day] = [[_hhmm(a), _hhmm(b)] for a, b in periods]
    if not any(out.values()):
        raise BookingInvalid("give opening hours for at least one day", loc=("hours",))
    return out


def _closed_dates(raw: object) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raise BookingInvalid("closed_dates must be a list of dates such as 2025-12-25", loc=("closed_dates",))
    if len(raw) > MAX_CLOSED_DATES:
        raise BookingInvalid("at most {max} closed dates", loc=("closed_dates",), max=MAX_CLOSED_DATES)
    out: set[str] = set()
    for item in raw:
        text = str(item).strip()
        try:
            out.add(date.fromisoformat(text).isoformat())
        except ValueError:
            raise BookingInvalid(
                "{value} is not a date such as 2025-12-25", loc=("closed_dates",), value=text[:40]
            ) from None
    return sorted(out)


def clean_booking(value: dict | None) -> dict | None:
    """The booking settings to store (services, weekly hours, closed dates...) or `BookingInvalid`; None: off."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BookingInvalid("booking must be an object with services and hours")
    data = {
        **value,
        "services": _services(value.get("services")),
        "hours": _hours(value.get("hours")),
        "closed_dates": _closed_dates(value.get("closed_dates")),
    }
    tz = value.get("tz")
    if not _blank(tz) and str(tz) not in available_timezones():
        raise BookingInvalid("{tz} is not a time zone such as Europe/Paris", loc=("tz",), tz=str(tz)[:60])
    for key, low, high, message in _NUMBERS:
        if _blank(value.get(key)):
            data.pop(key, None)
            continue
        number = _whole(value[key])
        if number is None or not low <= number <= high:
            raise BookingInvalid(message, loc=(key,), low=low, high=high)
        data[key] = number

    from jasping.agent.flows.booking import BookingSettings

    try:
        settings = BookingSettings.from_dict({**data, "tz": str(tz) if not _blank(tz) else "UTC"})
    except (KeyError, TypeError, ValueError) as exc:
        raise BookingInvalid("invalid booking settings: {error}", error=str(exc)) from exc
    out = settings.to_dict()
    if _blank(tz):
        out.pop("tz")  # the organization's time zone applies
    return out
