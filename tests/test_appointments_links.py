"""The customer's signed link: see the appointment, move it to a free time listed on the page, cancel it; a changed
or expired link gets a clear page and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from jasping import clock

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)
BOOKING = {
    "services": [{"id": "cut", "name": "Haircut", "duration_min": 30}],
    "hours": {d: [["09:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "tz": "Europe/Paris",
}


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    return set_now


@pytest.fixture
def booked(client, make_org):  # noqa: ANN001, ANN201
    org = make_org("Salon")
    agent = org.post("/api/v1/agents", json={"name": "Nina"}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200

    def book(local: str, language: str = "en") -> dict:
        start = datetime.fromisoformat(local).replace(tzinfo=PARIS).isoformat()
        body = {"start": start, "service": "cut", "contact": {"name": "Léa"}, "language": language}
        r = org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    return org, agent, book


def _path(url: str) -> str:
    return urlsplit(url).path


def _status(org, appointment_id: str) -> str:  # noqa: ANN001
    return org.get(f"/api/v1/appointments/{appointment_id}").json()["status"]


def test_the_customer_moves_then_cancels(client, booked) -> None:
    org, agent, book = booked
    made = book("2026-11-27 10:00")
    page = client.get(_path(made["manage_url"]))
    assert page.status_code == 200
    assert "Haircut" in page.text and "Friday 27 November at 10:00" in page.text and "Europe/Paris" in page.text
    options = re.findall(r'name="start" value="([^"]+)"', page.text)
    wanted = datetime(2026, 11, 27, 10, 30, tzinfo=UTC).isoformat()
    assert wanted in options and "Friday 27 November at 11:30" in page.text
    assert datetime(2026, 11, 27, 9, 0, tzinfo=UTC).isoformat() not in options  # its own time is not offered
    monday = client.get(_path(made["manage_url"]), params={"day": "2026-11-30"})
    assert "Monday 30 November at 9:00" in monday.text and "Friday 27 November at 11:30" not in monday.text
    assert (
        "Previous day" in monday.text
        and "No free time that day." in client.get(_path(made["manage_url"]), params={"day": "2026-11-28"}).text
    )

    moved = client.post(_path(made["manage_url"]) + "/move", data={"start": wanted})
    assert moved.status_code == 200, moved.text
    assert "Your appointment is moved to Friday 27 November at 11:30." in moved.text
    assert _status(org, made["id"]) == "cancelled"
    (new,) = org.get("/api/v1/appointments", params={"status": "booked"}).json()["appointments"]
    assert new["start"] == "2026-11-27T10:30:00Z" and new["name"] == "Léa"

    stale = client.get(_path(made["manage_url"]))
    assert stale.status_code == 409 and "no longer booked" in stale.text
    assert client.post(_path(made["manage_url"]) + "/cancel").status_code == 409
    assert _status(org, new["id"]) == "booked"

    new_link = re.search(r'<a href="([^"]+)">Manage the new appointment', moved.text).group(1)
    assert new_link == new["manage_url"]
    done = client.post(_path(new_link) + "/cancel")
    assert done.status_code == 200 and "Your appointment is cancelled." in done.text
    assert _status(org, new["id"]) == "cancelled"


def test_a_taken_time_is_refused_on_the_page(client, booked) -> None:
    org, agent, book = booked
    mine, other = book("2026-11-27 10:00"), book("2026-11-27 11:00")
    taken = datetime.fromisoformat(other["start"].replace("Z", "+00:00")).isoformat()
    r = client.post(_path(mine["manage_url"]) + "/move", data={"start": taken})
    assert r.status_code == 409 and "That time has just been taken" in r.text
    closed = client.post(_path(mine["manage_url"]) + "/move", data={"start": "2026-11-28T10:00:00+01:00"})
    assert closed.status_code == 422 and "closed on Saturday" in closed.text
    garbage = client.post(_path(mine["manage_url"]) + "/move", data={"start": "soon"})
    assert garbage.status_code == 422
    assert [_status(org, mine["id"]), _status(org, other["id"])] == ["booked", "booked"]


def test_in_french(client, booked) -> None:
    _, _, book = booked
    made = book("2026-11-27 10:00", language="fr")
    page = client.get(_path(made["manage_url"]))
    assert "Votre rendez-vous" in page.text and "vendredi 27 novembre à 10h" in page.text
    assert "Annuler ce rendez-vous" in page.text


def test_changed_or_expired_links_change_nothing(client, booked, set_now) -> None:
    org, _, book = booked
    made, other = book("2026-11-27 10:00"), book("2026-11-27 11:00")
    path = _path(made["manage_url"])
    token = path.rsplit("/", 1)[1]
    apt, org_id, expires, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        f"{apt}.{org_id}.{expires}.{flipped}",  # a changed signature
        f"{other['id']}.{org_id}.{expires}.{signature}",  # another appointment
        f"{apt}.{org_id}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"{apt}.{org_id}.{expires}",  # cut
        "nonsense",
    ):
        for method, suffix in (("get", ""), ("post", "/cancel")):
            r = getattr(client, method)(path.replace(token, bad) + suffix)
            assert r.status_code == 400, (bad, r.status_code)
            assert "This link is not valid" in r.text
    assert _status(org, made["id"]) == "booked"

    set_now(datetime(2026, 11, 27, 10, 0, tzinfo=PARIS))
    expired = client.post(path + "/cancel")
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert _status(org, made["id"]) == "booked"
