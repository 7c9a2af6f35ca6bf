"""Google API calls through JASPING_GOOGLE_API_URL against a local stand-in: each request's method, path,
parameters and body checked against the discovery documents bundled in google-api-python-client; one refresh and
one retry after a 401, the error state after a second; the behaviour each call promises."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import googleapiclient
import pytest

from google_stub import GoogleStub, Recorded, connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope
from jasping.integrations import google_calendar, google_drive, google_gmail, google_sheets
from jasping.integrations.google_api import GoogleApiError, GoogleAuthError, api_root
from jasping.integrations.models import Integration

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@cache
def discovery(name: str) -> dict:
    return json.loads((DOCS / f"{name}.json").read_text())


def _method(doc: dict, dotted: str) -> dict:
    *resources, name = dotted.split(".")
    node = doc
    for resource in resources:
        node = node["resources"][resource]
    return node["methods"][name]


def _template_regex(template: str) -> str:
    parts = re.split(r"\{(\+?)(\w+)\}", template)
    regex = ""
    for i in range(0, len(parts), 3):
        regex += re.escape(parts[i])
        if i + 1 < len(parts):
            regex += ".+" if parts[i + 1] == "+" else "[^/]+"
    return regex


def _check_body(doc: dict, schema_name: str, body: dict, method_id: str) -> None:
    properties = doc["schemas"][schema_name]["properties"]
    for key, value in body.items():
        assert key in properties, f"{method_id}: {key!r} is not a property of {schema_name}"
        ref = properties[key].get("$ref")
        if ref and isinstance(value, dict) and "properties" in doc["schemas"][ref]:
            _check_body(doc, ref, value, method_id)
    for key, prop in properties.items():
        if method_id in prop.get("annotations", {}).get("required", []):
            assert key in body, f"{method_id}: the required {key!r} is missing"


def assert_shape(request: Recorded, doc_name: str, dotted: str, *, media: bool = False) -> None:
    """The request is `dotted` of the discovery document: method, path template, parameters, body properties."""
    doc = discovery(doc_name)
    method = _method(doc, dotted)
    assert request.method == method["httpMethod"], dotted
    if media:
        assert method.get("supportsMediaUpload"), dotted
        template = method["mediaUpload"]["protocols"]["simple"]["path"]
    else:
        template = "/" + doc["servicePath"] + method["path"]
    assert re.fullmatch(_template_regex(template), request.path), (dotted, template, request.path)
    parameters = method.get("parameters", {})
    for name, parameter in parameters.items():
        if parameter.get("required") and parameter["location"] == "query":
            assert name in request.query, (dotted, name)
    for name in request.query:
        assert name in parameters or name in doc["parameters"], (dotted, name)
    if "request" in method and not media:
        _check_body(doc, method["request"]["$ref"], request.json, method["id"])


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def connected(make_org, google) -> tuple[str, str]:
    """(organization id, integration id) of a Google account connected for every use."""
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Front desk"}).json()["id"]
    made = connect(
        org,
        google,
        agent,
        uses=["calendar", "sheets", "drive", "gmail"],
        calendar_id="team@group.calendar.google.com",
        spreadsheet_id="1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms",
        sheet_name="Leads 2026",
        drive_folder="Customers' files",
        send_as="desk@clinic.ma",
    )
    google.requests.clear()
    return org.id, made["id"]


def _use(connected: tuple[str, str], fn):  # noqa: ANN001, ANN202
    """Run `fn(integration)` in a unit of work (an error's state is committed, as a job records it)."""
    org_id, integration_id = connected
    with session_scope(org_id) as session:
        integration = session.get(Integration, integration_id)
        try:
            return fn(integration)
        except GoogleApiError as exc:
            return exc


def _integration(connected: tuple[str, str]) -> Integration:
    with session_scope(connected[0]) as session:
        return session.get(Integration, connected[1])


def _api(google: GoogleStub) -> list[Recorded]:
    return [r for r in google.requests if r.path not in ("/token", "/revoke")]


def test_one_base_url_serves_every_api_and_the_default_keeps_googles_hosts(google, monkeypatch) -> None:
    assert {api_root(api) for api in ("calendar", "sheets", "drive", "gmail")} == {google.url}
    monkeypatch.setenv("JASPING_GOOGLE_API_URL", "https://www.googleapis.com")
    get_settings.cache_clear()
    for api in ("calendar", "sheets", "drive", "gmail"):
        doc = discovery(
            {"calendar": "calendar.v3", "sheets": "sheets.v4", "drive": "drive.v3", "gmail": "gmail.v1"}[api]
        )
        assert api_root(api) + "/" == doc["rootUrl"]


def test_calendar_busy_insert_move_delete(connected, google) -> None:
    google.busy = [{"start": "2026-11-30T09:00:00Z", "end": "2026-11-30T11:00:00+01:00"}]
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    busy = _use(connected, lambda i: google_calendar.free_busy(i, start, start + timedelta(days=1)))
    assert busy == [(start + timedelta(hours=1), start + timedelta(hours=2))]
    (query,) = _api(google)
    assert_shape(query, "calendar.v3", "freebusy.query")
    assert query.json["items"] == [{"id": "team@group.calendar.google.com"}] and query.json["timeMin"].endswith("Z")

    # 10:00 in Casablanca on 30 November 2026; the event carries the zone and the local time
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    write = dict(uid="apt_1@jasping", start=at, end=at + timedelta(minutes=30), tz="Africa/Casablanca", summary="Visit")
    event = _use(connected, lambda i: google_calendar.insert_event(i, **write))
    insert = _api(google)[-1]
    assert_shape(insert, "calendar.v3", "events.insert")
    assert insert.json["start"]["timeZone"] == "Africa/Casablanca"
    assert datetime.fromisoformat(insert.json["start"]["dateTime"]) == at
    again = _use(connected, lambda i: google_calendar.insert_event(i, **write))  # a retry after a lost answer
    assert again == event and list(google.events) == [event]

    moved_to = at + timedelta(days=1)
    _use(connected, lambda i: google_calendar.move_event(i, event, start=moved_to, end=moved_to, tz="Europe/Paris"))
    patch = _api(google)[-1]
    assert_shape(patch, "calendar.v3", "events.patch")
    assert datetime.fromisoformat(google.events[event]["start"]["dateTime"]) == moved_to

    assert _use(connected, lambda i: google_calendar.delete_event(i, event)) is None
    assert_shape(_api(google)[-1], "calendar.v3", "events.delete")
    assert google.events == {}
    assert _use(connected, lambda i: google_calendar.delete_event(i, event)) is None  # already gone is fine


def test_sheets_append_makes_the_header_row_once_and_keeps_text_raw(connected, google) -> None:
    lead = {"name": "Salma", "email": "salma@example.ma", "note": '=HYPERLINK("x")', "custom": {"b": 1}}
    written = _use(connected, lambda i: google_sheets.append_row(i, lead))
    get, append = _api(google)
    assert_shape(get, "sheets.v4", "spreadsheets.values.get")
    assert_shape(append, "sheets.v4", "spreadsheets.values.append")
    assert append.query["valueInputOption"] == ["RAW"] and written.startswith("'Leads 2026'!A1")
    assert google.sheet == [
        ["name", "email", "note", "custom"],
        ["Salma", "salma@example.ma", '=HYPERLINK("x")', '{"b": 1}'],
    ]

    _use(connected, lambda i: google_sheets.append_row(i, {"email": "ali@example.ma", "name": "Ali", "phone": "+212"}))
    assert google.sheet[-1] == ["Ali", "ali@example.ma", "", "", "+212"]  # the header's order, new keys after
    assert len(google.sheet) == 3


def test_drive_upload_makes_the_folder_once(connected, google) -> None:
    first = _use(
        connected,
        lambda i: google_drive.upload_file(i, name="scan.pdf", content=b"%PDF-1", mime_type="application/pdf"),
    )
    listing, folder, upload = _api(google)
    assert_shape(listing, "drive.v3", "files.list")
    assert_shape(folder, "drive.v3", "files.create")
    assert_shape(upload, "drive.v3", "files.create", media=True)
    assert upload.query["uploadType"] == ["multipart"] and folder.json["name"] == "Customers' files"
    stored = google.files[first["id"]]
    folder_id = next(f["id"] for f in google.files.values() if f["mimeType"].endswith("folder"))
    assert stored["content"] == b"%PDF-1" and stored["parents"] == [folder_id]
    _check_body(discovery("drive.v3"), "File", {k: v for k, v in stored.items() if k not in ("content",)}, "")

    google.requests.clear()
    _use(connected, lambda i: google_drive.upload_file(i, name="b.png", content=b"\x89PNG", mime_type="image/png"))
    assert [r.path for r in _api(google)] == ["/upload/drive/v3/files"]  # the folder id was remembered
    assert _integration(connected).settings["drive_folder_id"] == folder_id
    _use(connected, lambda i: google_drive.delete_file(i, first["id"]))
    assert_shape(_api(google)[-1], "drive.v3", "files.delete")
    assert first["id"] not in google.files


def test_gmail_sends_the_message_as_written(connected, google) -> None:
    message = b"From: desk@clinic.ma\r\nTo: salma@example.ma\r\nSubject: =?utf-8?q?Rendez-vous?=\r\n\r\nA demain.\r\n"
    sent = _use(connected, lambda i: google_gmail.send_message(i, message))
    (request,) = _api(google)
    assert_shape(request, "gmail.v1", "users.messages.send")
    assert sent == "msg1" and google.sent == [message]
    parsed = email.message_from_bytes(google.sent[0], policy=email.policy.default)
    assert parsed["From"] == google_gmail.sender(_integration(connected))


def test_a_401_refreshes_once_and_retries_once(connected, google) -> None:
    before = _integration(connected).secrets["access_token"]
    google.expire_access_tokens()
    google.busy = []
    assert _use(connected, lambda i: google_calendar.free_busy(i, clock.now(), clock.now() + timedelta(hours=1))) == []
    assert [r.path for r in google.requests] == ["/calendar/v3/freeBusy", "/token", "/calendar/v3/freeBusy"]
    assert google.requests[1].form["grant_type"] == "refresh_token"
    after = _integration(connected)
    assert after.secrets["access_token"] != before and after.status == "active"
    assert after.secrets["refresh_token"] in google.refresh_tokens  # kept when the refresh answer has none


def test_an_expired_token_is_refreshed_before_the_call(connected, google) -> None:
    with clock.frozen_at(clock.now() + timedelta(hours=2)):
        _use(connected, lambda i: google_gmail.send_message(i, b"To: a@b.ma\r\n\r\nhi"))
    assert [r.path for r in google.requests] == ["/token", "/gmail/v1/users/me/messages/send"]


def test_a_second_401_puts_the_integration_in_error(connected, google) -> None:
    google.reject_api_tokens = 2
    err = _use(connected, lambda i: google_gmail.send_message(i, b"To: a@b.ma\r\n\r\nhi"))
    assert isinstance(err, GoogleAuthError) and not err.retry
    assert [r.path for r in google.requests].count("/token") == 1 and len(_api(google)) == 2
    failed = _integration(connected)
    assert failed.status == "error" and "connect the Google account again" in failed.last_error

    _use(connected, lambda i: google_gmail.send_message(i, b"To: a@b.ma\r\n\r\nhi"))  # Google accepts again
    assert _integration(connected).status == "active"


def test_a_refused_refresh_puts_the_integration_in_error(connected, google) -> None:
    google.expire_access_tokens()
    google.refuse_refresh = True
    err = _use(connected, lambda i: google_sheets.append_row(i, {"name": "x"}))
    assert isinstance(err, GoogleAuthError)
    failed = _integration(connected)
    assert failed.status == "error" and "expired or revoked" in failed.last_error
    assert len(_api(google)) == 1  # one refusal, one refresh attempt, no endless loop


def test_google_errors_are_clear_and_say_whether_to_retry(connected, google) -> None:
    google.events.clear()
    err = _use(
        connected, lambda i: google_calendar.move_event(i, "nope0", start=clock.now(), end=clock.now(), tz="UTC")
    )
    assert isinstance(err, GoogleApiError) and err.status == 404 and not err.retry and "Calendar" in err.message
    assert _integration(connected).status == "error"
