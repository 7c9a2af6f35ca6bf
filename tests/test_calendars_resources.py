"""Several calendars per agent (staff or rooms), against two CalDAV calendars in a real Radicale: each calendar is
booked on its own, a slot is offered while one of them is free, a booking goes to the first free one (or only to the
one named by `calendar_id`), and the guard against double booking checks the chosen calendar's own appointments.

The Radicale server and helpers are test_caldav's; the app's clock is fixed at `NOW` by replacing `clock.now`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from jasping import clock
from jasping.integrations import calendars
from test_caldav import BOOKING, NOW, _add_event, _calendar, _events, radicale  # noqa: F401

TZ = "Europe/Paris"
_users = itertools.count()


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(clock, "now", lambda: NOW)
    calendars.forget()
    yield
    calendars.forget()


@pytest.fixture
def two_rooms(make_org, radicale):  # noqa: ANN001, ANN201, F811
    """An agent with two CalDAV calendars connected, "room A" (the older) then "room B"."""
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "FR", "timezone": TZ})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": {**BOOKING, "tz": TZ}}).status_code == 200
    rooms = []
    for _ in range(2):
        user = f"rooms{next(_users)}"
        cal = _calendar(radicale, user)
        body = {"type": "caldav", "agent_id": agent["id"], "url": radicale.url, "username": user, "password": "pw"}
        made = org.post("/api/v1/integrations", json={**body, "calendar": cal.get_display_name()})
        assert made.status_code == 201, made.text
        rooms.append((cal, made.json()["id"]))
    return org, agent, rooms


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ))


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _slots(org, agent) -> list[str]:  # noqa: ANN001
    r = org.get(f"/api/v1/agents/{agent['id']}/slots", params={"service": "checkup", "days": 3})
    assert r.status_code == 200, r.text
    return r.json()["slots"]


def _book(org, agent, start: datetime, **extra):  # noqa: ANN001, ANN202
    body = {"start": start.isoformat(), "service": "checkup", "contact": {"name": "Karim"}, **extra}
    return org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)


def test_a_busy_calendar_leaves_the_slot_to_the_free_one(two_rooms) -> None:
    org, agent, [(cal_a, a), (cal_b, b)] = two_rooms
    _add_event(cal_a, _at("2026-11-27 10:00"), _at("2026-11-27 11:00"))
    assert _z(_at("2026-11-27 10:00")) in _slots(org, agent)
    first = _book(org, agent, _at("2026-11-27 10:00"))
    assert first.status_code == 201, first.text
    assert first.json()["calendar_id"] == b
    assert [str(e["summary"]) for e in _events(cal_b)] == ["Check-up — Karim"]
    assert _z(_at("2026-11-27 10:00")) not in _slots(org, agent)  # room A's event, room B's booking
    assert _z(_at("2026-11-27 11:00")) in _slots(org, agent)
    again = _book(org, agent, _at("2026-11-27 10:00"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "slot_taken"


def test_calendar_id_books_only_that_calendar(two_rooms) -> None:
    org, agent, [(cal_a, a), (_, b)] = two_rooms
    _add_event(cal_a, _at("2026-11-27 10:00"), _at("2026-11-27 11:00"))
    busy = _book(org, agent, _at("2026-11-27 10:00"), calendar_id=a)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "slot_taken"
    free = _book(org, agent, _at("2026-11-27 10:00"), calendar_id=b)
    assert free.status_code == 201 and free.json()["calendar_id"] == b
    assert _book(org, agent, _at("2026-11-27 10:00"), calendar_id="int_other").status_code == 422


def test_one_slot_is_booked_once_on_each_calendar(two_rooms) -> None:
    org, agent, [(_, a), (_, b)] = two_rooms
    made = [_book(org, agent, _at("2026-11-27 14:00")) for _ in range(3)]
    assert [r.status_code for r in made] == [201, 201, 409]
    assert [r.json()["calendar_id"] for r in made[:2]] == [a, b]  # the older calendar first
    assert _z(_at("2026-11-27 14:00")) not in _slots(org, agent)
    named = [_book(org, agent, _at("2026-11-27 15:00"), calendar_id=c) for c in (b, a, b)]
    assert [r.status_code for r in named] == [201, 201, 409]
    org.client.delete(f"/api/v1/appointments/{made[0].json()['id']}", headers=org.headers)
    again = _book(org, agent, _at("2026-11-27 14:00"))  # room A's appointment cancelled: room A is free again
    assert again.status_code == 201 and again.json()["calendar_id"] == a
