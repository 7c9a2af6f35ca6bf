"""Gmail as the organization's mailer (a `google` integration with the `gmail` use), against the local Google
stand-in: the booking confirmation leaves through users.messages.send (not the SMTP server, which is up), as raw
base64url RFC 822 from the `send_as` address, and parses back to the confirmation with its ICS at the booked
instant; a Gmail failure is retried and shown on the integration; without the `gmail` use, SMTP is used."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from google_stub import GoogleStub, connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope
from jasping.integrations import mail
from test_google_api import assert_shape
from test_mail import immediate, smtp, states  # noqa: F401 - the real SMTP server and its fixtures

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BOOKING = {
    "tz": "Africa/Casablanca",
    "services": [{"id": "checkup", "name": "Check-up", "duration_min": 30}],
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def _clinic(make_org, google: GoogleStub, uses: list[str]):  # noqa: ANN001, ANN202
    org = make_org("Atlas")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    integration = connect(org, google, agent["id"], uses=uses, send_as="rdv@clinique-atlas.example")
    google.requests.clear()
    return org, agent, integration


def _book(org, agent, start: datetime):  # noqa: ANN001, ANN202
    contact = {"name": "Salma Idrissi", "email": "salma@client.example"}
    r = org.post(
        f"/api/v1/agents/{agent['id']}/appointments",
        json={"start": start.isoformat(), "service": "checkup", "contact": contact},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_the_confirmation_leaves_through_gmail(make_org, google, smtp) -> None:  # noqa: F811
    org, agent, _ = _clinic(make_org, google, ["gmail"])
    start = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Africa/Casablanca"))
    _book(org, agent, start)

    (request,) = google.of("POST", "/gmail/v1/users/me/messages/send")
    assert_shape(request, "gmail.v1", "users.messages.send")
    raw = request.json["raw"]
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")  # base64url
    assert smtp.inbox.received == [] and states() == [("sent", 1)]
    (sent,) = google.sent
    message = email.message_from_bytes(sent, policy=email.policy.default)
    assert message["From"].addresses[0].addr_spec == "rdv@clinique-atlas.example"
    assert message["To"].addresses[0].addr_spec == "salma@client.example"
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types and "text/calendar" in types
    ics = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(ics.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Africa/Casablanca"
    assert event.decoded("dtstart").astimezone(UTC) == start.astimezone(UTC)
    assert event.decoded("dtend").astimezone(UTC) == (start + timedelta(minutes=30)).astimezone(UTC)


def test_a_gmail_failure_is_retried_and_shown(make_org, google, smtp) -> None:  # noqa: F811
    org, agent, integration = _clinic(make_org, google, ["gmail"])
    google.refuse_refresh = True
    google.expire_access_tokens()
    _book(org, agent, datetime(2026, 11, 27, 11, 0, tzinfo=ZoneInfo("Africa/Casablanca")))
    assert google.sent == [] and smtp.inbox.received == []
    assert states() == [("dead", 1)]  # Google refused the access: retrying cannot help until it is reconnected
    shown = org.get(f"/api/v1/integrations/{integration['id']}").json()
    assert shown["status"] == "error" and "connect the Google account again" in shown["last_error"]

    google.refuse_refresh = False
    google.expire_access_tokens()  # a refused token is refreshed once, then the mail goes
    with session_scope(org.id) as s:
        mail.queue_code(s, org_id=org.id, to="salma@client.example", code="120934", language="fr")
    assert len(google.sent) == 1 and ("sent", 1) in states()


def test_without_the_gmail_use_smtp_sends(make_org, google, smtp) -> None:  # noqa: F811
    org, agent, _ = _clinic(make_org, google, ["calendar"])
    _book(org, agent, datetime(2026, 11, 27, 12, 0, tzinfo=ZoneInfo("Africa/Casablanca")))
    assert google.sent == [] and len(smtp.inbox.received) == 1
