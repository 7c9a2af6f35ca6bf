"""Connecting a Google account: authorization code with PKCE against a local stand-in for Google; the state is
sealed, bound to the organization and expiring; tokens are encrypted at rest; refusals store nothing; disconnect
revokes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import text

from google_stub import CLIENT_ID, GoogleStub, connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import get_engine
from jasping.integrations import google_oauth
from jasping.integrations.google_oauth import ConnectFailed, Pending
from jasping.security.audit import Actor

JSON = {"Accept": "application/json"}
AUTH = "https://www.googleapis.com/auth/"


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def _agent(org) -> str:
    r = org.post("/api/v1/agents", json={"name": "Front desk"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _stored(db_url: str) -> list[str]:
    with get_engine(db_url).connect() as conn:
        return list(conn.execute(text("SELECT secrets_json FROM integrations WHERE type = 'google'")).scalars())


def _authorize(org, agent_id: str, **choices) -> str:
    r = org.post("/api/v1/integrations/google/authorize", json={"agent_id": agent_id, "uses": ["calendar"], **choices})
    assert r.status_code == 200, r.text
    return r.json()["authorization_url"]


def test_connect_asks_narrow_scopes_with_pkce_and_stores_tokens_encrypted(make_org, google, db_url) -> None:
    org = make_org()
    agent_id = _agent(org)
    url = _authorize(
        org, agent_id, uses=["calendar", "sheets", "gmail"], spreadsheet_id="1AbCdEfGhIjK", send_as="a@b.ma"
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{google.url}/o/oauth2/v2/auth?")
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/oauth/google/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline"
    assert sorted(query["scope"].split()) == [
        AUTH + "calendar.events",
        AUTH + "calendar.events.freebusy",
        AUTH + "gmail.send",
        AUTH + "spreadsheets",
    ]
    assert org.get("/api/v1/integrations").json()["integrations"] == []  # nothing until Google answers

    back = org.client.get("/oauth/google/callback", params=google.consent(url), headers=JSON)
    assert back.status_code == 200, back.text
    made = back.json()
    assert made["type"] == "google" and made["agent_id"] == agent_id and made["status"] == "active"
    assert made["settings"]["uses"] == ["calendar", "sheets", "gmail"] and made["settings"]["send_as"] == "a@b.ma"
    assert made["secrets"] == ["access_token", "expires_at", "refresh_token", "scope"]

    exchange = google.of("POST", "/token")[-1].form
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    assert "code_verifier" not in url and exchange["code_verifier"] not in query["state"]
    (raw,) = _stored(db_url)
    access, refresh = next(iter(google.access_tokens)), next(iter(google.refresh_tokens))
    assert access not in raw and refresh not in raw and raw.startswith("jp1:")  # encrypted at rest
    assert access not in org.get(f"/api/v1/integrations/{made['id']}").text


def test_a_browser_goes_back_to_the_agent_page(make_org, google) -> None:
    org = make_org()
    agent_id = _agent(org)
    query = google.consent(_authorize(org, agent_id))
    back = org.client.get("/oauth/google/callback", params=query, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/agents/{agent_id}/integrations?connected=google"


def test_a_code_redeemed_with_another_verifier_is_refused(make_org, google, db_url) -> None:
    org = make_org()
    agent_id = _agent(org)
    first = google.consent(_authorize(org, agent_id))
    second = google.consent(_authorize(org, agent_id))
    crossed = {"code": first["code"], "state": second["state"]}  # the state carries the other verifier
    r = org.client.get("/oauth/google/callback", params=crossed, headers=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == "code_refused"
    assert "verifier" in r.json()["error"]["message"]
    assert _stored(db_url) == []


def test_a_tampered_or_missing_state_is_a_400_and_nothing_is_asked_of_google(make_org, google, db_url) -> None:
    org = make_org()
    query = google.consent(_authorize(org, _agent(org)))
    state = query["state"]
    flipped = state[:20] + ("A" if state[20] != "A" else "B") + state[21:]
    for bad in (flipped, state[:-4], "x", ""):
        r = org.client.get("/oauth/google/callback", params={**query, "state": bad}, headers=JSON)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "bad_state"
    page = org.client.get("/oauth/google/callback", params={**query, "state": flipped})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert google.of("POST", "/token") == [] and _stored(db_url) == []


def test_a_state_expires_and_is_bound_to_its_organization(db_url) -> None:
    pending = Pending("org_a", "agt_1", None, {"uses": ["calendar"]}, "v" * 64, Actor("user", "usr_1"))
    state = google_oauth.seal_state(pending)
    assert google_oauth.open_state(state) == pending
    with clock.frozen_at(clock.now() + timedelta(seconds=google_oauth.STATE_TTL + 1)):
        with pytest.raises(ConnectFailed) as err:
            google_oauth.open_state(state)
    assert err.value.code == "expired_state"


def test_declined_consent_and_refused_codes_store_nothing(make_org, google, db_url) -> None:
    org = make_org()
    agent_id = _agent(org)
    state = google.consent(_authorize(org, agent_id))["state"]
    denied = org.client.get("/oauth/google/callback", params={"error": "access_denied", "state": state}, headers=JSON)
    assert denied.status_code == 400 and "declined" in denied.json()["error"]["message"]

    bogus = org.client.get("/oauth/google/callback", params={"code": "4/made-up", "state": state}, headers=JSON)
    assert bogus.status_code == 400 and bogus.json()["error"]["code"] == "code_refused"

    google.token_status = 500
    down = org.client.get("/oauth/google/callback", params=google.consent(_authorize(org, agent_id)), headers=JSON)
    assert down.status_code == 502 and down.json()["error"]["code"] == "google_unavailable"
    assert _stored(db_url) == []


def test_a_scope_left_unticked_is_refused_and_the_grant_revoked(make_org, google, db_url) -> None:
    org = make_org()
    url = _authorize(org, _agent(org), uses=["calendar", "drive"])
    query = google.consent(url, grant=[AUTH + "calendar.events", AUTH + "calendar.events.freebusy"])
    r = org.client.get("/oauth/google/callback", params=query, headers=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == "scope_missing"
    assert "drive.file" in r.json()["error"]["message"]
    assert len(google.revoked) == 1 and _stored(db_url) == []


def test_bodies_are_checked_and_google_connects_only_through_consent(make_org, google, monkeypatch) -> None:
    org = make_org()
    agent_id = _agent(org)
    no_sheet = org.post("/api/v1/integrations/google/authorize", json={"agent_id": agent_id, "uses": ["sheets"]})
    assert no_sheet.status_code == 422 and "spreadsheet_id" in no_sheet.text
    unknown = org.post("/api/v1/integrations/google/authorize", json={"agent_id": agent_id, "uses": ["fax"]})
    assert unknown.status_code == 422
    direct = org.post("/api/v1/integrations", json={"type": "google", "agent_id": agent_id, "uses": ["calendar"]})
    assert direct.status_code == 409 and "authorize" in direct.json()["error"]["message"]
    other = make_org("Other")
    elsewhere = other.post("/api/v1/integrations/google/authorize", json={"agent_id": agent_id, "uses": ["calendar"]})
    assert elsewhere.status_code == 404

    monkeypatch.delenv("JASPING_GOOGLE_CLIENT_ID")
    get_settings.cache_clear()
    unset = org.post("/api/v1/integrations/google/authorize", json={"agent_id": agent_id, "uses": ["calendar"]})
    assert unset.status_code == 409 and "JASPING_GOOGLE_CLIENT_ID" in unset.text


def test_reauthorizing_replaces_the_tokens_of_the_same_integration(make_org, google) -> None:
    org = make_org()
    agent_id = _agent(org)
    made = connect(org, google, agent_id)
    again = connect(org, google, agent_id, integration_id=made["id"], uses=["calendar", "drive"])
    assert again["id"] == made["id"] and again["settings"]["uses"] == ["calendar", "drive"]
    assert [i["id"] for i in org.get("/api/v1/integrations").json()["integrations"]] == [made["id"]]


def test_disconnect_revokes_the_grant_and_deletes_the_tokens(make_org, google, db_url, monkeypatch) -> None:
    org = make_org()
    agent_id = _agent(org)
    made = connect(org, google, agent_id)
    refresh = next(iter(google.refresh_tokens))
    assert org.client.delete(f"/api/v1/integrations/{made['id']}", headers=org.headers).status_code == 204
    assert google.revoked == [refresh] and _stored(db_url) == []

    second = connect(org, google, agent_id)
    monkeypatch.setenv("JASPING_GOOGLE_OAUTH_URL", "http://127.0.0.1:9")  # Google cannot be reached
    get_settings.cache_clear()
    assert org.client.delete(f"/api/v1/integrations/{second['id']}", headers=org.headers).status_code == 204
    assert _stored(db_url) == [] and len(google.revoked) == 1  # deleted here anyway; the failure is logged
