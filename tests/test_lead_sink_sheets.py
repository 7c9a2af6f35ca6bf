"""Google Sheets as a lead sink (a `google` integration with the `sheets` use), against the local Google stand-in: a
lead gets a sync row that ends `sent`, its row is appended (header row first on an empty sheet) with the request
shapes of the discovery document, Google's failures are retried or given up as Google says, and a Google account
connected without the `sheets` use receives no lead."""

from __future__ import annotations

import pytest

from google_stub import GoogleStub, connect, point_jasping_at
from jasping.config import get_settings
from jasping.conversations.models import Conversation
from jasping.db import session_scope
from jasping.integrations.models import Integration
from jasping.leads.service import record_lead
from test_google_api import assert_shape


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


class Riad:
    def __init__(self, client, make_org, google: GoogleStub, uses: list[str]) -> None:  # noqa: ANN001
        self.client, self.google = client, google
        self.org = make_org("Riad")
        assert self.org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
        self.agent = self.org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()
        choices = {"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "sheet_name": "Prospects"}
        self.integration = connect(self.org, google, self.agent["id"], uses=uses, **choices)
        google.requests.clear()

    def capture(self, **data) -> str:
        r = self.client.post(f"/api/v1/widget/{self.agent['public_key']}/sessions", json={"locale": "fr"})
        with session_scope(self.org.id) as s:
            conversation = s.get(Conversation, r.json()["conversation_id"])
            return record_lead(s, conversation=conversation, data=data, consent_text="You may contact me.").id

    def syncs(self, lead_id: str) -> list[dict]:
        return self.org.get(f"/api/v1/leads/{lead_id}").json()["syncs"]


def test_a_lead_is_appended_to_the_sheet_and_its_sync_is_sent(client, make_org, google) -> None:
    riad = Riad(client, make_org, google, ["sheets"])
    lead_id = riad.capture(name="Salma Idrissi", email="salma@example.com", phone="06 61 23 45 67", budget="=1+1")
    (sync,) = riad.syncs(lead_id)
    assert (sync["integration_type"], sync["state"], sync["last_error"]) == ("google", "sent", None)

    get, append = google.of("GET", "/v4/spreadsheets/"), google.of("POST", "/v4/spreadsheets/")
    assert_shape(get[0], "sheets.v4", "spreadsheets.values.get")
    assert_shape(append[0], "sheets.v4", "spreadsheets.values.append")
    assert append[0].query["valueInputOption"] == ["RAW"] and append[0].json["range"] == "'Prospects'!A1"
    header, row = google.sheet
    assert header[:8] == ["id", "agent_id", "conversation_id", "kind", "status", "name", "email", "phone"]
    assert row[header.index("id")] == lead_id and row[header.index("phone")] == "+212661234567"
    assert row[header.index("email")] == "salma@example.com" and row[header.index("consent")] is False

    # a second lead: no second header, the columns in the header's order
    other = riad.capture(name="Ali", email="ali@example.com", consent=True)
    assert riad.syncs(other)[0]["state"] == "sent"
    assert len(google.sheet) == 3 and google.sheet[0] == header
    assert google.sheet[2][header.index("name")] == "Ali" and google.sheet[2][header.index("consent")] is True


def test_custom_fields_become_columns(client, make_org, google) -> None:
    riad = Riad(client, make_org, google, ["sheets"])
    with session_scope(riad.org.id) as s:
        r = client.post(f"/api/v1/widget/{riad.agent['public_key']}/sessions", json={})
        conversation = s.get(Conversation, r.json()["conversation_id"])
        lead = record_lead(s, conversation=conversation, data={"name": "Nora", "phone": "0612345678"}, consent_text="")
        lead.custom = {"budget": "=HYPERLINK(1)"}
        lead_id = lead.id
    from jasping.leads import syncs

    with session_scope(riad.org.id) as s:
        (row,) = syncs.for_leads(s, [lead_id])[lead_id]
        sync_id = row[0].id
    google.sheet.clear()
    with session_scope(riad.org.id) as s:
        from jasping.leads.models import Lead

        syncs.queue_syncs(s, s.get(Lead, lead_id), event="updated")
    header, values = google.sheet
    assert "custom.budget" in header and values[header.index("custom.budget")] == "=HYPERLINK(1)"  # kept as text
    assert riad.syncs(lead_id)[0]["id"] == sync_id


def test_google_failures_are_retried_or_given_up(client, make_org, google) -> None:
    riad = Riad(client, make_org, google, ["sheets"])
    google.refuse_refresh = True
    google.expire_access_tokens()
    lead_id = riad.capture(name="Salma", email="salma@example.com")
    (sync,) = riad.syncs(lead_id)
    assert sync["state"] == "dead" and "connect the Google account again" in sync["last_error"]  # retrying cannot help
    assert riad.org.get(f"/api/v1/integrations/{riad.integration['id']}").json()["status"] == "error"


def test_a_refreshed_token_is_kept(client, make_org, google) -> None:
    riad = Riad(client, make_org, google, ["sheets"])
    google.expire_access_tokens()
    lead_id = riad.capture(name="Salma", email="salma@example.com")
    assert riad.syncs(lead_id)[0]["state"] == "sent"
    with session_scope(riad.org.id, write=False) as s:
        token = s.get(Integration, riad.integration["id"]).secrets["access_token"]
    assert google.access_tokens[token]


def test_google_without_the_sheets_use_receives_no_lead(client, make_org, google) -> None:
    riad = Riad(client, make_org, google, ["calendar"])
    lead_id = riad.capture(name="Salma", email="salma@example.com")
    assert riad.syncs(lead_id) == [] and google.requests == []
