"""A booking made in the widget, on WhatsApp and by phone ends as an event in a real calendar server (Radicale,
started here) and, where the customer's email is known, as a confirmation in a real mailbox (aiosmtpd).

No channel's booking dialogue asks for an email: the customer gives it by leaving their details first (the lead
dialogue), and the booking then uses the contact's email. In the widget and on WhatsApp the customer types it; on
the phone the caller who leaves details can say it ("salma at example dot com"). A caller who books without having
given one gets no mail — `test_a_voice_booking_without_an_email_gets_no_mail` checks that, rather than faking one.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import caldav
import pytest
from icalendar import Calendar

from jasping import clock
from jasping.config import get_settings
from jasping.integrations import calendars
from provider_stub import ProviderStub
from test_caldav import Radicale, _calendar, _events, radicale  # noqa: F401 - the real calendar server
from test_mail import SmtpServer, free_port
from test_twilio_voice import BASE, CALLER, Call, _said
from test_twilio_voice import _connect as connect_twilio
from test_whatsapp import NUMBER_ID, SECRET, _payload, _sign

CASA = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=CASA)  # a Wednesday morning, the clinic open
SLOT = datetime(2026, 11, 27, 10, 0, tzinfo=CASA)  # Friday 27 November at 10:00
HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
BOOKING = {"services": [{"id": "checkup", "name": "Check-up", "duration_min": 30}], "hours": HOURS}
EMAIL = "salma@example.com"


@pytest.fixture
def mailbox(client, monkeypatch):  # noqa: ANN001, ANN201
    server = SmtpServer(free_port())
    server.start()
    monkeypatch.setenv("JASPING_SMTP_URL", server.url)
    get_settings.cache_clear()
    yield server.inbox
    server.stop()


@pytest.fixture
def clinic(client, make_org, radicale, mailbox, monkeypatch):  # noqa: ANN001, ANN201, F811
    """An organization in Casablanca, its agent taking bookings, and a CalDAV calendar on the real Radicale."""
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))
    calendars.forget()
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    user = f"e2e-{agent['id']}"
    cal = _calendar(radicale, user)
    body = {"type": "caldav", "agent_id": agent["id"], "url": radicale.url, "username": user, "password": "pw"}
    made = org.post("/api/v1/integrations", json={**body, "calendar": cal.get_display_name()})
    assert made.status_code == 201, made.text
    yield org, agent, cal
    calendars.forget()


def assert_booked(org, cal: caldav.Calendar, mailbox, *, mail: bool) -> dict:  # noqa: ANN001
    """One appointment at SLOT, synced into the calendar as one event at that instant in the clinic's zone, and the
    confirmation in the mailbox (text, HTML, and an ICS at the same instant) — or no mail at all."""
    (appointment,) = org.get("/api/v1/appointments").json()["appointments"]
    assert appointment["status"] == "booked" and appointment["sync_state"] == "synced", appointment
    assert datetime.fromisoformat(appointment["start"].replace("Z", "+00:00")) == SLOT
    (event,) = _events(cal)
    assert event["DTSTART"].params["TZID"] == "Africa/Casablanca"
    assert event.decoded("dtstart").astimezone(UTC) == SLOT.astimezone(UTC)
    assert event.decoded("dtend").astimezone(UTC) == (SLOT + timedelta(minutes=30)).astimezone(UTC)
    assert str(event["UID"]) == f"{appointment['id']}@jasping"
    if not mail:
        assert mailbox.received == []
        return appointment
    (sender, rcpt, raw) = mailbox.received[-1]
    assert rcpt == [EMAIL]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types
    (ics,) = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    invitation = Calendar.from_ical(ics.get_payload(decode=True))
    assert str(invitation["METHOD"]) == "REQUEST"
    (vevent,) = invitation.walk("VEVENT")
    assert vevent["DTSTART"].params["TZID"] == "Africa/Casablanca"
    assert vevent.decoded("dtstart").astimezone(UTC) == SLOT.astimezone(UTC)
    return appointment


# ---- the widget ------------------------------------------------------------------------------------------------
class Widget:
    def __init__(self, client, agent: dict) -> None:  # noqa: ANN001
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
        self.client, self.url = client, f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
        self.headers = {"Authorization": f"Bearer {session['session_token']}"}

    def say(self, text: str) -> dict:
        r = self.client.post(self.url, json={"text": text}, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]


def test_a_booking_in_the_widget(client, clinic, mailbox) -> None:
    org, agent, cal = clinic
    chat = Widget(client, agent)
    for text in ("I'd like to leave my details so that someone contacts me", "Salma Idrissi", EMAIL, "yes", "yes"):
        reply = chat.say(text)
    assert "get back to you" in reply["text"]
    assert org.get("/api/v1/leads").json()["leads"][0]["email"] == EMAIL
    offered = chat.say("I'd like an appointment on Friday at 10am")["quick_replies"]
    assert "Friday 27 November at 10:00" in offered
    assert chat.say("Friday 27 November at 10:00")["input_hint"]["type"] == "phone"
    assert "for Salma Idrissi" in chat.say("06 61 23 45 67")["text"]  # the name given with the details
    assert "booked for Friday 27 November at 10:00" in chat.say("yes")["text"]
    appointment = assert_booked(org, cal, mailbox, mail=True)
    assert appointment["email"] == EMAIL and appointment["phone"] == "+212661234567"


# ---- WhatsApp --------------------------------------------------------------------------------------------------
@pytest.fixture
def whatsapp(client, clinic, monkeypatch):  # noqa: ANN001, ANN201
    org, agent, cal = clinic
    with ProviderStub() as graph:
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", graph.url + "/v21.0")
        get_settings.cache_clear()
        body = {
            "type": "whatsapp",
            "phone_number_id": NUMBER_ID,
            "waba_id": "1234567890987654321",
            "access_token": "EAAG-secret-access-token",
            "app_secret": SECRET,
            "verify_token": "verify-me-please",
        }
        assert org.post(f"/api/v1/agents/{agent['id']}/channels", json=body).status_code == 201
        sequence = iter(range(1000))

        def say(text: str) -> str:
            payload = _payload("text")
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            message["text"]["body"], message["id"] = text, f"wamid.e2e{next(sequence)}"
            raw = json.dumps(payload).encode()
            r = client.post("/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": _sign(raw)})
            assert r.status_code == 200, r.text
            sent = graph.sent()[-1].body
            return json.dumps(sent.get("text") or sent.get("interactive"), ensure_ascii=False)

        yield org, agent, cal, say


def test_a_booking_on_whatsapp(whatsapp, mailbox) -> None:
    org, agent, cal, say = whatsapp
    for text in ("I'd like to leave my details so that someone contacts me", "Salma Idrissi", EMAIL, "yes", "yes"):
        reply = say(text)
    assert "get back to you" in reply
    assert "3. Friday 27 November at 10:00" in say("I'd like an appointment on Friday at 10am")
    assert "phone number" in say("3")  # the third time offered
    assert "for Salma Idrissi" in say("06 61 23 45 67")
    assert "booked for Friday 27 November at 10:00" in say("yes")
    appointment = assert_booked(org, cal, mailbox, mail=True)
    assert appointment["email"] == EMAIL


# ---- the phone -------------------------------------------------------------------------------------------------
@pytest.fixture
def phone(client, clinic, monkeypatch):  # noqa: ANN001, ANN201
    org, agent, cal = clinic
    connect_twilio(org, agent, voice="Polly.Joanna")
    monkeypatch.setenv("JASPING_BASE_URL", BASE)
    get_settings.cache_clear()
    return org, agent, cal


def test_a_booking_by_phone(client, phone, mailbox) -> None:
    org, agent, cal = phone
    call = Call(client)
    call.ring()
    for text in ("I'd like to leave my details so that someone contacts me", "Salma Idrissi"):
        said = _said(call.say(text))
    assert "email" in said
    assert "salma@example.com" in _said(call.say("salma at example dot com"))
    call.say("yes")
    assert "get back to you" in _said(call.say("yes"))
    assert "Friday 27 November at 10:00" in _said(call.say("I'd like an appointment on Friday at 10am"))
    assert "for Salma Idrissi" in _said(call.say("10 a.m. please"))
    assert "booked for Friday 27 November at 10:00" in _said(call.say("yes"))
    appointment = assert_booked(org, cal, mailbox, mail=True)
    assert appointment["email"] == EMAIL and appointment["phone"] == CALLER


def test_a_voice_booking_without_an_email_gets_no_mail(client, phone, mailbox) -> None:
    """The phone's booking dialogue asks for no email: a caller who gave none gets the event, and no mail."""
    org, agent, cal = phone
    call = Call(client)
    call.ring()
    assert "Friday 27 November at 10:00" in _said(call.say("I'd like an appointment on Friday at 10am"))
    assert "name" in _said(call.say("10 a.m. please"))
    assert "for Karim Alaoui" in _said(call.say("My name is Karim Alaoui"))
    assert "booked for Friday 27 November at 10:00" in _said(call.say("yes"))
    appointment = assert_booked(org, cal, mailbox, mail=False)
    assert appointment["email"] is None and appointment["phone"] == CALLER
