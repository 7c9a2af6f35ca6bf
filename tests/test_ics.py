"""The ICS builder: the booked instant in the business's zone (TZID and an embedded VTIMEZONE that agrees with the
pinned tzdata), across daylight-saving changes in Paris and Ramadan in Casablanca; REQUEST and CANCEL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

import jasping  # noqa: F401  (one time-zone source: the tzdata package)
from jasping.integrations.ics import Invitation, Person, appointment_uid, build_ics


def _invite(start: datetime, tz: str, **kw) -> Invitation:
    return Invitation(
        uid=appointment_uid("apt_0123"),
        start=start,
        end=start + timedelta(minutes=45),
        tz=tz,
        summary="Coupe — Salon Yasmine",
        **kw,
    )


@pytest.mark.parametrize(
    ("tz", "start_utc", "local_hour"),
    [
        ("Europe/Paris", datetime(2026, 3, 28, 9, 0, tzinfo=UTC), 10),  # CET, the day before the change
        ("Europe/Paris", datetime(2026, 3, 30, 8, 0, tzinfo=UTC), 10),  # CEST, the day after
        ("Africa/Casablanca", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), 10),  # Ramadan 2026: +00:00
        ("Africa/Casablanca", datetime(2026, 4, 6, 9, 0, tzinfo=UTC), 10),  # after Ramadan: +01:00
    ],
)
def test_the_event_is_the_booked_instant_in_the_business_zone(tz, start_utc, local_hour) -> None:
    cal = Calendar.from_ical(build_ics(_invite(start_utc, tz)))
    event = cal.events[0]
    start = event.decoded("dtstart")
    assert event["dtstart"].params["TZID"] == tz and start.hour == local_hour
    assert start.astimezone(UTC) == start_utc and event.decoded("dtend").astimezone(UTC) == start_utc + timedelta(
        minutes=45
    )
    # the embedded VTIMEZONE alone (not the reader's own zone data) gives the same instant
    assert [t["tzid"] for t in cal.timezones] == [tz]
    embedded = cal.timezones[0].to_tz(lookup_tzid=False)
    wall = start.replace(tzinfo=None)
    assert wall.replace(tzinfo=embedded).astimezone(UTC) == start_utc


def test_request_and_cancel() -> None:
    start = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    people = {
        "organizer": Person("contact@salon.example", "Salon Yasmine"),
        "attendee": Person("f@x.example", "Fatima"),
    }
    request = Calendar.from_ical(build_ics(_invite(start, "Europe/Paris", **people)))
    cancel = Calendar.from_ical(build_ics(_invite(start, "Europe/Paris", method="CANCEL", sequence=2, **people)))
    assert request["method"] == "REQUEST" and cancel["method"] == "CANCEL"
    first, gone = request.events[0], cancel.events[0]
    assert first["uid"] == gone["uid"] == "apt_0123@jasping"
    assert first["status"] == "CONFIRMED" and gone["status"] == "CANCELLED"
    assert first["sequence"] == 0 and gone["sequence"] == 2
    assert (
        str(first["organizer"]) == "mailto:contact@salon.example" and first["organizer"].params["CN"] == "Salon Yasmine"
    )
    assert str(first["attendee"]) == "mailto:f@x.example" and first["attendee"].params["ROLE"] == "REQ-PARTICIPANT"


def test_utc_has_no_vtimezone_and_bad_input_is_refused() -> None:
    start = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    cal = Calendar.from_ical(build_ics(_invite(start, "UTC")))
    assert cal.timezones == [] and cal.events[0].decoded("dtstart") == start
    with pytest.raises(ValueError, match="time zone"):
        build_ics(_invite(start, "Mars/Olympus"))
    with pytest.raises(ValueError, match="method"):
        build_ics(_invite(start, "UTC", method="PUBLISH"))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_ics(_invite(start.replace(tzinfo=None), "UTC"))
    with pytest.raises(ValueError, match="end after"):
        build_ics(Invitation("u", start, start, "UTC", "x"))
