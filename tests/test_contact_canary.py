"""The end-to-end canary of contact erasure (issue 10): one person chats in the widget and on WhatsApp, leaves a lead
(appended to a Google sheet), books (an event in a real Radicale calendar) and sends a file (copied to Google Drive).
Their export holds all of it and validates against the published schema. After `DELETE /api/v1/contacts/{id}` and
the jobs, their email, phone, name and message text are nowhere — no table, no byte of the SQLite files (WAL
included), no file in the data directory — the calendar event, the sheet row and the Drive file are gone, and another
contact's data is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from contact_fixtures import NUMBER_ID, SECRET, SheetsStub, Visitor, file_hits, raw_hits, whatsapp_text
from google_stub import connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import get_engine
from jasping.integrations import calendars
from provider_stub import ProviderStub
from test_booking_end_to_end import BOOKING, NOW, SLOT, mailbox  # noqa: F401 - a real SMTP server: no mail in the data dir
from test_caldav import _calendar, _events, radicale  # noqa: F401 - the real calendar server
from test_google_api import assert_shape

NAME, EMAIL, PHONE, WA = "Zelda Canarywood", "zelda.canary@example.org", "+212661998877", "212661998877"
WEB_TEXT = "Do you treat parrots named Kiwicanary?"
WA_TEXT = "My dog Picklescanary limps since Tuesday"
FILE_TEXT = b"Vaccination record of Picklescanary, owner Zelda Canarywood"
NEEDLES = [NAME, "Canarywood", EMAIL, PHONE, "661998877", "Kiwicanary", "Picklescanary"]
OTHER = ("Omar Controlsson", "omar.control@example.org")


@pytest.fixture
def clinic(client, make_org, radicale, mailbox, monkeypatch):  # noqa: ANN001, ANN201, F811
    """A clinic in Casablanca: its agent books into a CalDAV calendar on Radicale, sends leads to a Google sheet,
    copies files to Google Drive, and answers on WhatsApp."""
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))
    calendars.forget()
    google = SheetsStub().start()
    point_jasping_at(google, monkeypatch)
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    user = f"canary-{agent['id']}"
    cal = _calendar(radicale, user)
    body = {"type": "caldav", "agent_id": agent["id"], "url": radicale.url, "username": user, "password": "pw"}
    assert org.post("/api/v1/integrations", json={**body, "calendar": cal.get_display_name()}).status_code == 201
    choices = {"uses": ["sheets", "drive"], "spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"}
    connect(org, google, agent["id"], **choices)
    with ProviderStub() as graph:
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", graph.url + "/v21.0")
        get_settings.cache_clear()
        channel = {
            "type": "whatsapp",
            "phone_number_id": NUMBER_ID,
            "waba_id": "1234567890987654321",
            "access_token": "EAAG-secret-access-token",
            "app_secret": SECRET,
            "verify_token": "verify-me-please",
        }
        assert org.post(f"/api/v1/agents/{agent['id']}/channels", json=channel).status_code == 201
        yield org, agent, cal, google
    google.stop()
    calendars.forget()


def _leave_details(chat: Visitor, name: str, email: str, phone: str | None = None) -> None:
    given = [phone] if phone else []
    for words in ("I'd like to leave my details so that someone contacts me", name, email, *given, "yes", "yes"):
        reply = chat.say(words)
    assert "get back to you" in reply["text"], reply


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _without_time(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "exported_at"}


def test_the_canary_is_exported_then_erased_everywhere(client, clinic, db_url) -> None:
    org, agent, cal, google = clinic
    other = Visitor(client, agent)  # another customer, whose data must stay as it is
    _leave_details(other, *OTHER)
    chat = Visitor(client, agent)
    chat.say(WEB_TEXT)
    _leave_details(chat, NAME, EMAIL, "06 61 99 88 77")
    if db_url.startswith("sqlite"):  # the lead goes into the database file (as the WAL's pages do over time),
        with get_engine().connect() as conn:  # what follows stays in the WAL: the erasure must clean both
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    chat.say("I'd like an appointment on Friday at 10am")
    if chat.say("Friday 27 November at 10:00")["input_hint"]["type"] == "phone":
        chat.say("06 61 99 88 77")
    assert "booked for Friday 27 November at 10:00" in chat.say("yes")["text"]
    chat.upload("pickles-vaccines.txt", FILE_TEXT)
    whatsapp_text(client, WA, WA_TEXT, "wamid.canary1")

    # found by email and by phone (a national number read in the clinic's country): one person, one contact
    (found,) = org.get("/api/v1/contacts", params={"email": EMAIL.upper()}).json()["contacts"]
    assert org.get("/api/v1/contacts", params={"phone": "06 61 99 88 77"}).json()["contacts"] == [found]
    assert (found["name"], found["email"], found["phone"]) == (NAME, EMAIL, PHONE)

    # the export holds everything and validates against the published schema
    schema = client.get("/api/v1/schemas/contact-export.json").json()
    jsonschema.Draft202012Validator.check_schema(schema)
    export = org.get(f"/api/v1/contacts/{found['id']}/export", params={"include_files": "true"})
    assert export.status_code == 200, export.text
    document = export.json()
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    assert {c["channel"] for c in document["conversations"]} == {"web", "whatsapp"}
    said = [m["text"] for c in document["conversations"] for m in c["messages"] if m["role"] == "user"]
    assert WEB_TEXT in said and WA_TEXT in said
    ((lead,), (appointment,), (file,)) = document["leads"], document["appointments"], document["files"]
    assert (lead["name"], lead["email"]) == (NAME, EMAIL)
    assert appointment["phone"] == PHONE and _instant(appointment["start"]) == SLOT
    assert file["name"] == "pickles-vaccines.txt" and file["content_base64"]
    assert {c["purpose"] for c in document["consents"]} >= {"contact_about_request"}

    # the copies pushed elsewhere exist before the erasure
    assert [str(e["UID"]) for e in _events(cal)] == [f"{appointment['id']}@jasping"]
    assert any(EMAIL in row for row in google.sheet)
    assert any(f.get("content") == FILE_TEXT for f in google.files.values())
    (control,) = org.get("/api/v1/contacts", params={"email": OTHER[1]}).json()["contacts"]
    control_before = _without_time(org.get(f"/api/v1/contacts/{control['id']}/export").json())

    erased = org.client.delete(f"/api/v1/contacts/{found['id']}")
    assert erased.status_code == 202, erased.text
    record = org.get(f"/api/v1/contacts/erasures/{erased.json()['id']}").json()
    assert record["state"] == "done", record
    assert {t["kind"] for t in record["tasks"]} == {"stored_file", "sheet_row", "drive_file", "calendar_event"}
    assert all(t["state"] == "done" for t in record["tasks"]) and record["not_removed"] == []
    assert record["removed"]["contacts"] == 1 and record["removed"]["conversations"] == 2
    assert record["removed"]["data_keys"] >= 1 and record["finished_at"]
    assert_shape(google.of("POST", "/v4/spreadsheets/")[-1], "sheets.v4", "spreadsheets.values.clear")

    # gone from the copies elsewhere
    assert _events(cal) == []
    assert not any(EMAIL in row for row in google.sheet) and any(OTHER[1] in row for row in google.sheet)
    assert not any(f.get("content") == FILE_TEXT for f in google.files.values())
    # gone from the database (audit rows hold counts only): no table, no byte of its files, nothing in the data dir
    assert org.get(f"/api/v1/contacts/{found['id']}").status_code == 404
    assert org.get("/api/v1/contacts", params={"email": EMAIL}).json()["contacts"] == []
    assert raw_hits(NEEDLES) == {}
    assert file_hits(get_settings().data_dir, NEEDLES) == {}
    # the other customer is untouched
    assert _without_time(org.get(f"/api/v1/contacts/{control['id']}/export").json()) == control_before
    # the scans do see what is stored in the clear (ids), so their empty answers above mean something
    assert "contacts" in raw_hits([control["id"]])
    if db_url.startswith("sqlite"):
        assert file_hits(get_settings().data_dir, [control["id"]]) != {}
