"""Google Calendar as an agent's calendar (a `google` integration with the `calendar` use), against the local Google
stand-in: a busy interval in Google blocks its slot, a booking becomes an event at the right instant with its time
zone, a move patches it, a cancellation deletes it, a refused token is refreshed once (and the new one kept), and
disconnecting detaches the appointments. The app's clock is fixed at `NOW` as in test_caldav."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from google_stub import GoogleStub, connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope
from jasping.integrations import calendars
from jasping.integrations.models import Integration
from test_google_api import assert_shape

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BOOKING = {
    "services": [{"id": "checkup", "name": "Check-up", "duration_min": 30}],
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    calendars.forget()
    yield stub
    calendars.forget()
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def _clinic(make_org, google: GoogleStub, tz: str, uses: tuple[str, ...] = ("calendar",)):  # noqa: ANN001, ANN202
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": {**BOOKING, "tz": tz}})
    assert r.status_code == 200, r.text
    integration = connect(org, google, agent["id"], uses=list(uses), calendar_id="team@group.calendar.google.com")
    google.requests.clear()
    return org, agent, integration


def _local(tz: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _slots(org, agent) -> list[str]:  # noqa: ANN001
    r = org.get(f"/api/v1/agents/{agent['id']}/slots", params={"service": "checkup", "days": 3})
    assert r.status_code == 200, r.text
    return r.json()["slots"]


def _book(org, agent, start: datetime):  # noqa: ANN001, ANN202
    body = {"start": start.isoformat(), "service": "checkup", "contact": {"name": "Karim", "email": "k@example.org"}}
    return org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)


def _calls(google: GoogleStub, method: str) -> list:
    return google.of(method, "/calendar/v3/calendars/")


@pytest.mark.parametrize("tz", ["Europe/Paris", "Africa/Casablanca"])
def test_google_busy_time_blocks_its_slot(make_org, google, tz) -> None:
    org, agent, _ = _clinic(make_org, google, tz)
    google.busy = [{"start": _z(_local(tz, "2026-11-27 10:00")), "end": _z(_local(tz, "2026-11-27 11:00"))}]
    slots = _slots(org, agent)
    for blocked in ("09:45", "10:00", "10:30"):
        assert _z(_local(tz, f"2026-11-27 {blocked}")) not in slots, blocked
    for free in ("09:30", "11:00"):
        assert _z(_local(tz, f"2026-11-27 {free}")) in slots, free
    (query,) = google.of("POST", "/calendar/v3/freeBusy")  # read once, then cached
    assert_shape(query, "calendar.v3", "freebusy.query")
    assert query.json["items"] == [{"id": "team@group.calendar.google.com"}]
    taken = _book(org, agent, _local(tz, "2026-11-27 10:30"))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "slot_taken"


@pytest.mark.parametrize("tz", ["Europe/Paris", "Africa/Casablanca"])
def test_a_booking_becomes_a_google_event_then_moves_then_goes(make_org, google, tz) -> None:
    org, agent, integration = _clinic(make_org, google, tz)
    start = _local(tz, "2026-11-27 14:00")
    r = _book(org, agent, start)
    assert r.status_code == 201, r.text
    made = org.get(f"/api/v1/appointments/{r.json()['id']}").json()
    assert (made["calendar_id"], made["sync_state"], made["sync_error"]) == (integration["id"], "synced", None)
    (insert,) = google.of("POST", "/calendar/v3/calendars/")
    assert_shape(insert, "calendar.v3", "events.insert")
    assert insert.path.startswith("/calendar/v3/calendars/team%40group.calendar.google.com/events")
    (event,) = google.events.values()
    assert event["start"]["timeZone"] == tz and event["end"]["timeZone"] == tz
    assert datetime.fromisoformat(event["start"]["dateTime"]) == start  # the same instant, written as local time
    assert datetime.fromisoformat(event["start"]["dateTime"]).utcoffset() == start.utcoffset()
    assert datetime.fromisoformat(event["end"]["dateTime"]) == start + timedelta(minutes=30)
    assert "Check-up" in event["summary"] and "Karim" in event["summary"]

    # Google now reports the booking itself as busy: it does not block the time next to it (a move by 15 minutes)
    google.busy = [{"start": _z(start), "end": _z(start + timedelta(minutes=30))}]
    calendars.forget()
    later = _local(tz, "2026-11-27 14:15")
    moved = org.post(f"/api/v1/appointments/{made['id']}/move", json={"start": later.isoformat()})
    assert moved.status_code == 201, moved.text
    assert org.get(f"/api/v1/appointments/{moved.json()['id']}").json()["sync_state"] == "synced"
    (patch,) = _calls(google, "PATCH")
    assert_shape(patch, "calendar.v3", "events.patch")
    assert list(google.events) == [event["id"]]  # the same event, moved
    assert datetime.fromisoformat(google.events[event["id"]]["start"]["dateTime"]) == later

    google.busy = [{"start": _z(later), "end": _z(later + timedelta(minutes=30))}]
    assert org.client.delete(f"/api/v1/appointments/{moved.json()['id']}", headers=org.headers).status_code == 204
    (delete,) = _calls(google, "DELETE")
    assert_shape(delete, "calendar.v3", "events.delete")
    assert google.events == {}
    assert org.get(f"/api/v1/appointments/{moved.json()['id']}").json()["sync_state"] == "synced"


def test_a_refused_token_is_refreshed_once_and_kept(make_org, google) -> None:
    org, agent, integration = _clinic(make_org, google, "Europe/Paris")
    with session_scope(org.id, write=False) as s:
        before = s.get(Integration, integration["id"]).secrets["access_token"]
    google.expire_access_tokens()
    r = _book(org, agent, _local("Europe/Paris", "2026-11-27 10:00"))
    assert r.status_code == 201, r.text
    assert org.get(f"/api/v1/appointments/{r.json()['id']}").json()["sync_state"] == "synced"
    assert len(google.events) == 1
    refreshes = [q for q in google.of("POST", "/token") if q.form.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1  # the busy read refused, refreshed, retried; the write used the new token
    with session_scope(org.id, write=False) as s:
        after = s.get(Integration, integration["id"])
        assert after.secrets["access_token"] != before and after.status == "active"


def test_the_sync_job_keeps_a_token_it_refreshed(make_org, google) -> None:
    org, agent, integration = _clinic(make_org, google, "Europe/Paris")
    google.busy = []
    _slots(org, agent)  # busy times cached: the booking makes no read
    google.reject_api_tokens = 1  # the insert is refused once: one refresh, one retry
    r = _book(org, agent, _local("Europe/Paris", "2026-11-27 11:00"))
    assert org.get(f"/api/v1/appointments/{r.json()['id']}").json()["sync_state"] == "synced"
    assert len(google.of("POST", "/token")) == 1
    with session_scope(org.id, write=False) as s:
        token = s.get(Integration, integration["id"]).secrets["access_token"]
    assert google.access_tokens[token]  # the refreshed token, written back by the job


def test_google_without_the_calendar_use_is_no_calendar(make_org, google) -> None:
    org, agent, _ = _clinic(make_org, google, "Europe/Paris", uses=("drive",))
    google.busy = [{"start": "2026-11-27T09:00:00Z", "end": "2026-11-27T17:00:00Z"}]
    assert _z(_local("Europe/Paris", "2026-11-27 10:00")) in _slots(org, agent)
    r = _book(org, agent, _local("Europe/Paris", "2026-11-27 10:00"))
    assert r.status_code == 201 and org.get(f"/api/v1/appointments/{r.json()['id']}").json()["calendar_id"] is None
    assert google.requests == []


def test_disconnecting_detaches_the_appointments(make_org, google) -> None:
    org, agent, integration = _clinic(make_org, google, "Europe/Paris")
    google.busy = []
    r = _book(org, agent, _local("Europe/Paris", "2026-11-27 10:00"))
    assert org.client.delete(f"/api/v1/integrations/{integration['id']}", headers=org.headers).status_code == 204
    shown = org.get(f"/api/v1/appointments/{r.json()['id']}").json()
    assert shown["status"] == "booked" and shown["calendar_id"] is None and shown["sync_state"] is None
    assert google.revoked  # the grant is revoked too
