"""The agent page's booking section as a form: the stored settings as form fields, the fields a user sent, and
those fields turned into the API's `booking` value (checked by the one validator, `jasping.agents.booking`)."""

from __future__ import annotations

import re

from starlette.datastructures import FormData

from jasping.agents.booking import BookingInvalid
from jasping.web.dashboard.i18n import translator

# ---- agent booking (builtin calendar) ---------------------------------------------------------
# The form has one row of fields per service (`service-<row>-name|duration|buffer|id|remove`, a few blank rows to
# add new ones), one text field per day ("09:00-13:00, 14:00-19:00"; empty: closed) and the closed dates. It is
# turned into the API's `booking` shape and checked by `AgentUpdate`, as a PATCH of the agent would be.
DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
BOOKING_NUMBERS = {"step_min": 15, "min_notice_min": 60, "horizon_days": 60}  # form defaults of a new calendar
BLANK_SERVICE_ROWS = 2
MAX_SERVICE_ROWS = 60
_SERVICE_FIELD = re.compile(r"^service-(\d{1,3})-(id|name|duration|buffer|remove)$")
_PERIOD_SEP = re.compile(r"\s*(?:-|–|—|\bto\b|\bà\b)\s*", re.IGNORECASE)


def _blank_service() -> dict:
    return {"id": "", "name": "", "duration": "", "buffer": "", "remove": False}


def booking_form(booking: dict | None) -> dict:
    """The booking section's fields filled from the stored settings (None: booking is off)."""
    stored = booking or {}
    services = [
        {
            "id": str(s.get("id", "")),
            "name": str(s.get("name", "")),
            "duration": str(s.get("duration_min", "")),
            "buffer": str(s.get("buffer_min") or 0),
            "remove": False,
        }
        for s in stored.get("services") or []
    ]
    services += [_blank_service() for _ in range(max(BLANK_SERVICE_ROWS, 3 - len(services)))]
    hours = stored.get("hours") or {}
    return {
        "enabled": bool(booking),
        "services": services,
        "hours": {day: ", ".join(f"{a}-{b}" for a, b in hours.get(day) or []) for day in DAYS},
        "closed_dates": "\n".join(stored.get("closed_dates") or []),
        "tz": stored.get("tz"),
        **{key: str(stored.get(key, default)) for key, default in BOOKING_NUMBERS.items()},
    }


def booking_submitted(form: FormData) -> dict:
    """The booking section's fields as the user sent them (kept to show the form again)."""
    rows: dict[int, dict] = {}
    for key, value in form.multi_items():
        match = _SERVICE_FIELD.match(key)
        if match and isinstance(value, str):
            row = rows.setdefault(int(match.group(1)), _blank_service())
            row[match.group(2)] = True if match.group(2) == "remove" else value[:500]
    text = {key: str(form.get(key) or "")[:5000] for key in ("closed_dates", *BOOKING_NUMBERS)}
    services = [rows[i] for i in sorted(rows)][:MAX_SERVICE_ROWS]
    if not services or any(services[-1][k] for k in ("name", "duration", "buffer")):
        services.append(_blank_service())  # a row to add one more when the form is shown again
    return {
        "enabled": bool(form.get("booking_enabled")),
        "services": services,
        "hours": {day: str(form.get(f"hours-{day}") or "")[:1000] for day in DAYS},
        "tz": None,
        **text,
    }


def _periods(day: str, text: str) -> list[list[str]]:
    """ "09:00-13:00, 14:00-19:00" as [["09:00", "13:00"], ["14:00", "19:00"]] (the times are checked later)."""
    out = []
    for piece in re.split(r"[,;\n]+", text):
        if not piece.strip():
            continue
        parts = _PERIOD_SEP.split(piece.strip())
        if len(parts) != 2 or not all(parts):
            raise BookingInvalid(
                "{day}: write each period as 09:00-13:00, separated by commas", loc=("hours", day), day=day
            )
        out.append(parts)
    return out


def booking_settings(form: dict, stored: dict | None) -> tuple[dict, list[int]]:
    """The `booking` value to check, and for each of its services the form row it came from."""
    rows = [
        i
        for i, row in enumerate(form["services"])
        if not row["remove"] and any(row[k].strip() for k in ("name", "duration", "buffer"))
    ]
    services = [
        {
            "id": form["services"][i]["id"].strip(),
            "name": form["services"][i]["name"],
            "duration_min": form["services"][i]["duration"],
            "buffer_min": form["services"][i]["buffer"],
        }
        for i in rows
    ]
    managed = ("services", "hours", "closed_dates", *BOOKING_NUMBERS)
    settings = {k: v for k, v in (stored or {}).items() if k not in managed}  # e.g. a time zone set through the API
    settings.update(
        services=services,
        hours={day: _periods(day, form["hours"][day]) for day in DAYS},
        closed_dates=[d for d in re.split(r"[\s,;]+", form["closed_dates"]) if d],
        **{key: form[key] for key in BOOKING_NUMBERS},
    )
    return settings, rows


def booking_problem(exc: BookingInvalid, lang: str, rows: list[int]) -> tuple[str, str | None]:
    """What is wrong, in the user's language, and the id of the form field it is about."""
    _ = translator(lang)
    params = dict(exc.params)
    if params.get("day") in DAYS:
        params["day"] = _(DAYS[params["day"]])
    n = params.get("n")
    if isinstance(n, int) and 0 < n <= len(rows):
        params["n"] = rows[n - 1] + 1  # the number shown on the form's row
    loc = exc.loc
    field = None
    if loc[:1] == ("services",):
        row = rows[loc[1]] if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(rows) else 0
        name = {"duration_min": "duration", "buffer_min": "buffer"}.get(loc[2] if len(loc) > 2 else "", "name")
        field = f"service-{row}-{name}"
    elif loc[:1] == ("hours",):
        field = f"hours-{loc[1] if len(loc) > 1 else 'mon'}"
    elif loc[:1] and loc[0] in ("closed_dates", *BOOKING_NUMBERS):
        field = loc[0]
    message = _(exc.template).format(**params)
    return message[:1].upper() + message[1:], field
