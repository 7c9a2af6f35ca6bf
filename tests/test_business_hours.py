"""Handoff to a person tells the customer what really happens next: within the business's hours, outside them
(with when the team is back, holidays skipped), or plainly when the business has not set its hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from jasping import clock
from jasping.agent.hours import team_hours

CASA = ZoneInfo("Africa/Casablanca")
HOURS = {
    "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
    "tue": [["09:00", "18:00"]],
    "wed": [["09:00", "18:00"]],
    "thu": [["09:00", "18:00"]],
    "fri": [["09:00", "18:00"]],
    "sat": [["09:00", "13:00"]],
}
BOOKING = {"services": [{"id": "visit", "name": "Visit", "duration_min": 30}], "hours": HOURS}


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CASA).astimezone(UTC)


def test_open_closed_lunch_break_and_reopening() -> None:
    assert team_hours(BOOKING, "Africa/Casablanca", _at(2026, 11, 30, 10, 0)).open_now is True  # Monday morning
    lunch = team_hours(BOOKING, "Africa/Casablanca", _at(2026, 11, 30, 13, 30))
    assert lunch.open_now is False and lunch.reopens("fr") == "lundi 30 novembre à 14h"
    night = team_hours(BOOKING, "Africa/Casablanca", _at(2026, 12, 5, 20, 0))  # Saturday evening
    assert night.reopens("en") == "Monday 7 December at 9:00"
    assert night.reopens("ar").startswith("الاثنين 7 ديسمبر")


def test_closed_dates_are_skipped_and_no_hours_means_unknown() -> None:
    holiday = {**BOOKING, "closed_dates": ["2026-12-07", "2026-12-08"]}
    team = team_hours(holiday, "Africa/Casablanca", _at(2026, 12, 7, 10, 0))
    assert team.open_now is False and team.reopens("en") == "Wednesday 9 December at 9:00"
    assert team_hours(None, "UTC", _at(2026, 12, 7, 10, 0)).open_now is None
    assert team_hours({"hours": {}}, "UTC", _at(2026, 12, 7, 10, 0)).open_now is None
    assert team_hours({"hours": HOURS, "tz": "Not/AZone"}, None, _at(2026, 12, 7, 10, 0)).open_now is None
    assert team_hours(BOOKING, "Africa/Casablanca", _at(2026, 12, 7, 10, 0)).reopens("en") == ""


@pytest.fixture
def ask_for_a_person(client, make_org, monkeypatch):  # noqa: ANN201
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()

    def ask(at: datetime, text: str, booking: dict | None = BOOKING) -> dict:
        # with the API key: the clock jumps days between calls, past any login session's timeouts
        r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": booking}, headers=org.headers)
        assert r.status_code == 200
        monkeypatch.setattr(clock, "now", lambda: at)  # the application thread reads the module's clock
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
        r = client.post(
            f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {session['session_token']}"},
        )
        assert r.status_code == 200, r.text
        conversation = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
        assert conversation["needs_human"] is True
        return r.json()["reply"]

    return ask


def test_the_customer_is_told_when_the_team_will_answer(ask_for_a_person) -> None:
    within = ask_for_a_person(_at(2026, 11, 30, 10, 0), "Je voudrais parler à une personne")
    assert "vous répondra ici très bientôt" in within["text"]
    evening = ask_for_a_person(_at(2026, 12, 5, 20, 0), "Je voudrais parler à une personne")
    assert "absente pour le moment" in evening["text"] and "lundi 7 décembre à 9h" in evening["text"]
    assert evening["quick_replies"], "a callback is offered"
    english = ask_for_a_person(_at(2026, 12, 5, 20, 0), "Can I talk to a human please?")
    assert "Monday 7 December at 9:00" in english["text"]
    unknown = ask_for_a_person(_at(2026, 12, 5, 20, 0), "Can I talk to a human please?", booking=None)
    assert "someone will reply to you here" in unknown["text"]
