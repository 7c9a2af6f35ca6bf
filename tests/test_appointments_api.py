"""Appointments through the API, as a business's own website or back office books them: `POST
/api/v1/agents/{id}/appointments` (the same guard against double booking as the agent), `DELETE
/api/v1/appointments/{id}`, no-shows, clear refusals, and 50 concurrent attempts from two worker processes.

The app's clock is fixed at `NOW` (a Wednesday morning in Paris) by replacing `clock.now`, as in test_booking_api.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from conftest import cli_env
from jasping import clock
from jasping.db import get_engine

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)  # Wednesday
BOOKING = {
    "services": [
        {"id": "cut", "name": "Haircut", "duration_min": 30, "buffer_min": 15},
        {"id": "colour", "name": "Colour", "duration_min": 90},
    ],
    "hours": {d: [["09:00", "12:00"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "closed_dates": ["2026-12-25"],
    "tz": "Europe/Paris",
}
CONTACT = {"name": "Léa Martin", "phone": "06 12 34 56 78", "email": "Lea.Martin@example.org"}


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    return set_now


@pytest.fixture
def salon(client, make_org):  # noqa: ANN201
    org = make_org("Salon")
    org.client.patch("/api/v1/organization", json={"country": "FR", "timezone": "Europe/Paris"})
    agent = org.post("/api/v1/agents", json={"name": "Nina", "languages": ["fr", "en"]}).json()
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING})
    assert r.status_code == 200, r.text
    return org, agent


def _at(local: str) -> str:
    """A Paris wall-clock time ("2026-11-27 10:00") as an ISO instant with its offset."""
    return datetime.fromisoformat(local).replace(tzinfo=PARIS).isoformat()


def _utc(local: str) -> str:
    return datetime.fromisoformat(local).replace(tzinfo=PARIS).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _book(org, agent, local: str, service: str = "cut", contact: dict | None = None, **extra):  # noqa: ANN001, ANN202
    body = {"start": _at(local), "service": service, "contact": contact or CONTACT, **extra}
    return org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)


def _slots(org, agent, service: str = "cut") -> list[str]:  # noqa: ANN001
    r = org.get(f"/api/v1/agents/{agent['id']}/slots", params={"service": service, "days": 3})
    assert r.status_code == 200, r.text
    return r.json()["slots"]


def test_book_then_taken_then_cancel_frees_the_slot(salon) -> None:
    org, agent = salon
    assert _utc("2026-11-27 10:00") in _slots(org, agent)
    r = _book(org, agent, "2026-11-27 10:00")
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["start"], made["end"], made["status"], made["service_name"]) == (
        _utc("2026-11-27 10:00"),
        _utc("2026-11-27 10:30"),
        "booked",
        "Haircut",
    )
    assert (made["name"], made["phone"], made["email"]) == ("Léa Martin", "+33612345678", "lea.martin@example.org")
    assert made["manage_url"].startswith("http://testserver/appointments/manage/")
    assert made["calendar_id"] is None and made["sync_state"] is None

    # taken: the same time, and a time overlapping it or its 15-minute break
    for local in ("2026-11-27 10:00", "2026-11-27 10:30", "2026-11-27 09:45"):
        again = _book(org, agent, local, contact={"name": "Other"})
        assert again.status_code == 409, (local, again.text)
        assert again.json()["error"]["code"] == "slot_taken"
    assert _utc("2026-11-27 10:00") not in _slots(org, agent)
    assert _utc("2026-11-27 10:45") in _slots(org, agent)

    assert org.client.delete(f"/api/v1/appointments/{made['id']}", headers=org.headers).status_code == 204
    assert org.get(f"/api/v1/appointments/{made['id']}").json()["status"] == "cancelled"
    assert org.client.delete(f"/api/v1/appointments/{made['id']}", headers=org.headers).status_code == 204
    assert _utc("2026-11-27 10:00") in _slots(org, agent)
    assert _book(org, agent, "2026-11-27 10:00", contact={"name": "Next"}).status_code == 201
    rows = org.get("/api/v1/appointments").json()["appointments"]
    assert sorted((a["name"], a["status"]) for a in rows) == [("Léa Martin", "cancelled"), ("Next", "booked")]


def test_the_email_is_stored_encrypted(salon, db_url) -> None:
    org, agent = salon
    assert _book(org, agent, "2026-11-27 10:00").status_code == 201
    with get_engine(db_url).connect() as conn:
        email, phone = conn.execute(text("SELECT email, phone FROM appointments")).one()
    assert "example.org" not in email and "612345678" not in phone


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": _at("2026-11-27 12:00")}, "outside opening hours (09:00-12:00, 14:00-18:00)"),
        ({"start": _at("2026-11-27 11:45")}, "outside opening hours"),  # 30 min + 15 break passes noon
        ({"start": _at("2026-11-28 10:00")}, "closed on Saturday 2026-11-28"),
        ({"start": _at("2026-12-25 10:00")}, "closed on Friday 2026-12-25"),
        ({"start": _at("2026-11-24 10:00")}, "has already passed"),
        ({"start": _at("2026-11-25 09:30")}, "60 minutes' notice"),
        ({"start": _at("2027-03-01 10:00")}, "up to 60 days ahead"),
        ({"start": _at("2026-11-27 10:05")}, "every 15 minutes"),
        ({"start": "2026-11-27T10:00:00"}, "start: give the time with its offset"),
        ({"start": "next friday"}, "start:"),
        ({"service": "massage"}, "unknown service 'massage'; give one of cut, colour"),
        ({"contact": {"phone": "+33612345678"}}, "contact.name"),
        ({"contact": {"name": "Jo", "phone": "call me"}}, "contact.phone: not a phone number"),
        ({"contact": {"name": "Jo", "email": "jo@"}}, "contact.email: not an email address"),
        ({"calendar_id": "int_nope"}, "calendar_id: not one of this agent's calendars"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_requests_are_clear_422s_and_write_nothing(salon, body, message) -> None:
    org, agent = salon
    full = {"start": _at("2026-11-27 10:00"), "service": "cut", "contact": CONTACT, **body}
    r = org.post(f"/api/v1/agents/{agent['id']}/appointments", json=full)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"]["message"], r.json()
    assert org.get("/api/v1/appointments").json()["appointments"] == []


def test_agents_without_booking_other_organizations_and_roles(salon, make_org) -> None:
    org, agent = salon
    plain = org.post("/api/v1/agents", json={"name": "No booking"}).json()
    r = _book(org, plain, "2026-11-27 10:00")
    assert r.status_code == 422 and "takes no bookings" in r.json()["error"]["message"]
    other = make_org("Other")
    assert _book(other, agent, "2026-11-27 10:00").status_code == 404
    made = _book(org, agent, "2026-11-27 10:00").json()
    assert other.client.delete(f"/api/v1/appointments/{made['id']}", headers=other.headers).status_code == 404
    assert other.get(f"/api/v1/appointments/{made['id']}").status_code == 404
    viewer = org.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    headers = {"Authorization": f"Bearer {viewer}"}
    body = {"start": _at("2026-11-27 11:00"), "service": "cut", "contact": CONTACT}
    assert org.client.post(f"/api/v1/agents/{agent['id']}/appointments", json=body, headers=headers).status_code == 403
    assert org.client.delete(f"/api/v1/appointments/{made['id']}", headers=headers).status_code == 403
    assert org.get(f"/api/v1/appointments/{made['id']}").json()["status"] == "booked"


def test_no_show_only_after_the_start(salon, set_now) -> None:
    org, agent = salon
    made = _book(org, agent, "2026-11-27 10:00").json()
    early = org.post(f"/api/v1/appointments/{made['id']}/no-show")
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_started"
    set_now(datetime(2026, 11, 27, 10, 20, tzinfo=PARIS))
    r = org.post(f"/api/v1/appointments/{made['id']}/no-show")
    assert r.status_code == 200 and r.json()["status"] == "no_show" and r.json()["manage_url"] is None
    listed = org.get("/api/v1/appointments", params={"status": "no_show"}).json()["appointments"]
    assert [a["id"] for a in listed] == [made["id"]]
    refused = org.client.delete(f"/api/v1/appointments/{made['id']}", headers=org.headers)
    assert refused.status_code == 409
    cancelled = _book(org, agent, "2026-11-27 14:00").json()
    org.client.delete(f"/api/v1/appointments/{cancelled['id']}", headers=org.headers)
    set_now(datetime(2026, 11, 27, 15, 0, tzinfo=PARIS))
    assert org.post(f"/api/v1/appointments/{cancelled['id']}/no-show").status_code == 409


# ---- 50 attempts from two worker processes -----------------------------------------------------------------

_WORKER = """
import json, sys, threading, time
from datetime import datetime
from pathlib import Path
import jasping.models  # noqa: F401 - every table mapped
from jasping.db import session_scope
from jasping.scheduling import service

org_id, agent_id, go, first = sys.argv[1], sys.argv[2], Path(sys.argv[4]), int(sys.argv[5])
start = datetime.fromisoformat(sys.argv[3])
barrier, outcomes = threading.Barrier(25), []

def attempt(n):
    barrier.wait()
    try:
        with session_scope(org_id) as s:
            service.book_request(
                s, agent_id=agent_id, service_id="cut", start=start, name=f"P{n}", phone=None, email=None
            )
        outcomes.append("booked")
    except service.SlotTaken as exc:
        outcomes.append("taken: " + exc.message)
    except Exception as exc:
        outcomes.append(f"error: {type(exc).__name__}: {exc}")

print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
threads = [threading.Thread(target=attempt, args=(n,)) for n in range(first, first + 25)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(outcomes), flush=True)
"""


def test_fifty_attempts_from_two_processes_make_one_booking(salon, db_url, tmp_path, monkeypatch) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("two worker processes on one database: the PostgreSQL case (SQLite serialises writers)")
    org, agent = salon
    monkeypatch.setattr(clock, "now", lambda: datetime.now(UTC))  # the workers run on the real clock
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    booking = {**BOOKING, "hours": always, "closed_dates": [], "tz": "UTC"}
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": booking}, headers=org.headers)
    assert r.status_code == 200  # with the API key: the login session began days ago on the test's clock
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    go = tmp_path / "go"
    env = cli_env(db_url, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, org.id, agent["id"], start.isoformat(), str(go), str(first)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (0, 25)
    ]
    for w in workers:
        assert w.stdout.readline().strip() == "ready", w.stderr.read()
    time.sleep(0.2)
    go.touch()
    outcomes = []
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        outcomes += json.loads(out.strip().splitlines()[-1])
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("taken: this slot has just been taken") == 49, outcomes
    rows = org.get("/api/v1/appointments").json()["appointments"]
    assert len(rows) == 1 and rows[0]["start"] == start.isoformat().replace("+00:00", "Z")
