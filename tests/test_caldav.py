"""External calendars over CalDAV, against a real Radicale server started here: an event in the business's
calendar blocks its slot (in the agent's offers and in the API's check), a booking becomes an event at the right
UTC instant with its time zone (Europe/Paris and Africa/Casablanca), moving and cancelling update and delete it,
and a calendar that is down loses no booking: the write is retried and its state recorded.

The app's clock is fixed at `NOW` by replacing `clock.now`, as in test_booking_api.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest

from jasping import clock
from jasping.integrations import calendars
from jasping.jobs.schedule import REGISTRY, run_job

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # a Wednesday morning in both zones
ZONES = ["Europe/Paris", "Africa/Casablanca"]
BOOKING = {
    "services": [{"id": "checkup", "name": "Check-up", "duration_min": 30}],
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}
_names = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    """A Radicale process on one port and folder; `stop()` and `start()` again to play a calendar that is down."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.proc = folder, _free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--storage-filesystem-folder", str(self.folder)]
            + ["--auth-type", "none", "--rights-type", "authenticated", "--server-hosts", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Radicale did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Iterator[Radicale]:  # noqa: ANN001
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    calendars.forget()
    yield set_now
    calendars.forget()


def _calendar(radicale: Radicale, user: str) -> caldav.Calendar:
    """A new calendar on the server, as the business made it in its calendar app."""
    client = caldav.DAVClient(url=radicale.url, username=user, password="x", enable_rfc6764=False, require_tls=False)
    n = next(_names)
    return client.principal().make_calendar(name=f"Clinic {n}", cal_id=f"clinic-{n}")


def _add_event(cal: caldav.Calendar, start: datetime, end: datetime, **props: str) -> None:
    event = icalendar.Event()
    event.add("uid", f"outside-{next(_names)}@example.org")
    event.add("dtstamp", NOW)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", "Dentist's own appointment")
    for key, value in props.items():
        event.add(key, value)
    vcal = icalendar.Calendar()
    vcal.add("prodid", "-//test//EN")
    vcal.add("version", "2.0")
    vcal.add_component(event)
    vcal.add_missing_timezones()
    cal.save_event(vcal.to_ical().decode())


@pytest.fixture
def clinic(client, make_org, radicale):  # noqa: ANN001, ANN201
    """`clinic(tz)`: an organization, its agent taking bookings in `tz`, and a CalDAV calendar connected to it."""

    def make(tz: str, server: Radicale | None = None):  # noqa: ANN202
        server = server or radicale
        org = make_org("Clinic")
        org.client.patch("/api/v1/organization", json={"country": "FR", "timezone": tz})
        agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
        r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": {**BOOKING, "tz": tz}})
        assert r.status_code == 200, r.text
        user = f"clinic{next(_names)}"
        cal = _calendar(server, user)
        body = {
            "type": "caldav",
            "agent_id": agent["id"],
            "url": server.url,
            "username": user,
            "password": "app-password",
            "calendar": cal.get_display_name(),
        }
        made = org.post("/api/v1/integrations", json=body)
        assert made.status_code == 201, made.text
        assert "app-password" not in made.text
        return org, agent, cal, made.json()

    return make


def _local(tz: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _slots(org, agent) -> list[str]:  # noqa: ANN001
    r = org.get(f"/api/v1/agents/{agent['id']}/slots", params={"service": "checkup", "days": 3})
    assert r.status_code == 200, r.text
    return r.json()["slots"]


def _book(org, agent, start: datetime, name: str = "Karim"):  # noqa: ANN001, ANN202
    body = {"start": start.isoformat(), "service": "checkup", "contact": {"name": name, "email": "k@example.org"}}
    return org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)


def _events(cal: caldav.Calendar) -> list[icalendar.Event]:
    found = cal.search(start=NOW - timedelta(days=1), end=NOW + timedelta(days=30), event=True)
    return [e.icalendar_component for e in found]


@pytest.mark.parametrize("tz", ZONES)
def test_an_event_in_the_calendar_blocks_its_slot(clinic, tz) -> None:
    org, agent, cal, _ = clinic(tz)
    _add_event(cal, _local(tz, "2026-11-27 10:00"), _local(tz, "2026-11-27 11:00"))
    _add_event(cal, _local(tz, "2026-11-27 15:00"), _local(tz, "2026-11-27 16:00"), transp="TRANSPARENT")
    slots = _slots(org, agent)
    for blocked in ("09:45", "10:00", "10:30"):
        assert _z(_local(tz, f"2026-11-27 {blocked}")) not in slots, blocked
    for free in ("09:30", "11:00", "15:00"):  # a "free" (transparent) event blocks nothing
        assert _z(_local(tz, f"2026-11-27 {free}")) in slots, free
    taken = _book(org, agent, _local(tz, "2026-11-27 10:30"))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "slot_taken"
    assert org.get("/api/v1/appointments").json()["appointments"] == []


def test_the_agent_does_not_offer_a_time_busy_in_the_calendar(client, clinic) -> None:
    org, agent, cal, _ = clinic("Africa/Casablanca")
    _add_event(cal, _local("Africa/Casablanca", "2026-11-27 10:00"), _local("Africa/Casablanca", "2026-11-27 11:00"))
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    r = client.post(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
        json={"text": "Book me an appointment on Friday at 10am"},
        headers={"Authorization": f"Bearer {session['session_token']}"},
    )
    offered = r.json()["reply"]["quick_replies"]
    assert "Friday 27 November at 10:00" not in offered and "Friday 27 November at 11:00" in offered, offered


@pytest.mark.parametrize("tz", ZONES)
def test_a_booking_becomes_an_event_then_moves_then_goes(clinic, tz) -> None:
    org, agent, cal, integration = clinic(tz)
    start = _local(tz, "2026-11-27 14:00")
    r = _book(org, agent, start)
    assert r.status_code == 201, r.text
    made = org.get(f"/api/v1/appointments/{r.json()['id']}").json()
    assert (made["calendar_id"], made["sync_state"], made["sync_error"]) == (integration["id"], "synced", None)

    (event,) = _events(cal)
    assert event["DTSTART"].params["TZID"] == tz  # written in the business's zone, with its VTIMEZONE
    assert event.decoded("dtstart").astimezone(UTC) == start.astimezone(UTC)
    assert event.decoded("dtend").astimezone(UTC) == (start + timedelta(minutes=30)).astimezone(UTC)
    assert f"BEGIN:VTIMEZONE\nTZID:{tz}" in cal.search(event=True)[0].data
    assert "Check-up" in str(event["SUMMARY"]) and "Karim" in str(event["SUMMARY"])

    # the booking's own event does not block the time next to it (a move by a quarter of an hour)
    later = _local(tz, "2026-11-27 14:15")
    moved = org.post(f"/api/v1/appointments/{made['id']}/move", json={"start": later.isoformat()})
    assert moved.status_code == 201, moved.text
    assert org.get(f"/api/v1/appointments/{moved.json()['id']}").json()["sync_state"] == "synced"
    (event,) = _events(cal)
    assert event.decoded("dtstart").astimezone(UTC) == later.astimezone(UTC)
    assert str(event["UID"]) == f"{made['id']}@jasping"  # the same event, moved
    assert org.get(f"/api/v1/appointments/{made['id']}").json()["status"] == "cancelled"

    assert org.client.delete(f"/api/v1/appointments/{moved.json()['id']}", headers=org.headers).status_code == 204
    assert _events(cal) == []
    assert org.get(f"/api/v1/appointments/{moved.json()['id']}").json()["sync_state"] == "synced"
    assert _z(start) in _slots(org, agent)


def test_a_calendar_that_is_down_loses_no_booking(clinic, radicale, tmp_path, set_now) -> None:
    down = Radicale(tmp_path / "down")
    down.start()
    org, agent, cal, integration = clinic("Europe/Paris", server=down)
    down.stop()

    assert _slots(org, agent)  # busy times unreadable: JasPing's own still offers its slots, no 500
    start = _local("Europe/Paris", "2026-11-27 10:00")
    r = _book(org, agent, start)
    assert r.status_code == 201, r.text
    made = org.get(f"/api/v1/appointments/{r.json()['id']}").json()
    assert made["sync_state"] == "failed" and "ConnectionError" in made["sync_error"], made
    assert org.get(f"/api/v1/integrations/{integration['id']}").json()["status"] == "error"
    assert _book(org, agent, start, "Other").status_code == 409  # the slot is held all the same

    down.start()
    job = REGISTRY["sync_calendars"]
    assert run_job(job, NOW + timedelta(seconds=30), force=True)["result"] == {"retried": 0}  # still pausing
    set_now(NOW + timedelta(minutes=2))
    assert run_job(job, NOW + timedelta(minutes=2), force=True)["result"] == {"retried": 1}
    assert org.get(f"/api/v1/appointments/{made['id']}").json()["sync_state"] == "synced"
    (event,) = _events(cal)
    assert event.decoded("dtstart").astimezone(UTC) == start.astimezone(UTC)
    assert org.get(f"/api/v1/integrations/{integration['id']}").json()["status"] == "active"
    down.stop()


def test_busy_times_are_read_once_a_minute(clinic, monkeypatch) -> None:
    org, agent, cal, _ = clinic("Europe/Paris")
    from jasping.integrations import calendars_caldav

    reads: list[datetime] = []
    real = calendars_caldav.CalDAVCalendar.busy

    def counting(self, start, end):  # noqa: ANN001, ANN202
        reads.append(start)
        return real(self, start, end)

    monkeypatch.setattr(calendars_caldav.CalDAVCalendar, "busy", counting)
    for _ in range(3):
        _slots(org, agent)
    assert len(reads) == 1
    monkeypatch.setattr(calendars.time, "monotonic", lambda: time.monotonic_ns() / 1e9 + calendars.CACHE_SECONDS + 1)
    _slots(org, agent)
    assert len(reads) == 2


def test_bad_caldav_settings_are_422(clinic, make_org) -> None:
    org = make_org("Other")
    agent = org.post("/api/v1/agents", json={"name": "A"}).json()
    base = {"type": "caldav", "agent_id": agent["id"], "username": "u", "password": "p", "calendar": "C"}
    assert org.post("/api/v1/integrations", json={**base, "url": "ftp://x"}).status_code == 422
    r = org.post("/api/v1/integrations", json={**base, "url": "https://dav.example.org", "password": ""})
    assert r.status_code == 422 and "password" in r.json()["error"]["message"]
    types = {t["type"] for t in org.get("/api/v1/integrations/types").json()["types"]}
    assert "caldav" in types
