"""Download My Data (`GET /api/v1/me/export`): a zip whose account.json validates against the published schema, CSV
files, the documents uploaded to owned organizations; only for the account's own login. And marketing consent with
its history (`/api/v1/me/consents`)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import jsonschema

from account_fixtures import PASSWORD  # noqa: F401 - one password for every account of these tests

MARKDOWN = b"# Hours\n\nWe open at 9 every day but Sunday.\n"


def _export(client) -> zipfile.ZipFile:  # noqa: ANN001
    r = client.get("/api/v1/me/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_export_validates_against_the_published_schema_and_has_the_csvs_and_files(client, make_org) -> None:
    org = make_org("Acme")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    files = {"file": ("hours.md", io.BytesIO(MARKDOWN), "text/markdown")}
    assert org.post(f"/api/v1/agents/{agent['id']}/sources", files=files).status_code == 202
    assert org.client.post("/api/v1/me/consents", json={"granted": True}).status_code == 201

    archive = _export(org.client)
    names = set(archive.namelist())
    assert {"account.json", "memberships.csv", "audit_events.csv", "consents.csv", "data_requests.csv"} <= names
    assert {"login_sessions.csv", "agents.csv", "knowledge_sources.csv", "organizations_owned.csv"} <= names
    data = json.loads(archive.read("account.json"))
    schema = client.get("/api/v1/schemas/account-export.json")
    assert schema.status_code == 200 and "schema+json" in schema.headers["content-type"]
    jsonschema.Draft202012Validator.check_schema(schema.json())
    jsonschema.validate(data, schema.json(), cls=jsonschema.Draft202012Validator)

    assert data["profile"]["email"] == org.email
    (owned,) = data["organizations_owned"]
    assert owned["id"] == org.id and owned["agents"][0]["name"] == "Amal"
    assert owned["api_keys"][0]["name"] == "tests" and "secret" not in json.dumps(owned["api_keys"])
    (source,) = owned["knowledge_sources"]
    assert archive.read(source["file"]) == MARKDOWN  # the uploaded file, decrypted
    assert [c["granted"] for c in data["consents"]] == [True]
    assert any(e["action"] == "user.register" for e in data["audit_events"])
    assert data["login_sessions"] and data["memberships"][0]["role"] == "owner"
    # the download itself is tracked as an access request answered at once, in the next export and the tracker
    assert data["data_requests"] == []
    (tracked,) = json.loads(_export(org.client).read("account.json"))["data_requests"]
    assert tracked["right"] == "access" and tracked["status"] == "completed"
    listed = org.client.get("/api/v1/privacy/requests?subject_type=user").json()
    assert len(listed) == 2 and tracked["id"] in {x["id"] for x in listed}  # two downloads
    assert {x["subject_id"] for x in listed} == {data["profile"]["id"]}

    rows = list(csv.DictReader(io.StringIO(archive.read("memberships.csv").decode())))
    assert rows[0]["organization_id"] == org.id and rows[0]["role"] == "owner"
    consents = list(csv.DictReader(io.StringIO(archive.read("consents.csv").decode())))
    assert consents[0]["granted"] == "True"


def test_a_member_gets_no_data_of_an_organization_they_do_not_own_and_others_see_nothing(client, make_org) -> None:
    first, second = make_org("First"), make_org("Second")
    data = json.loads(_export(first.client).read("account.json"))
    assert [o["id"] for o in data["organizations_owned"]] == [first.id]
    assert second.email not in json.dumps(data)


def test_only_the_account_holder_logged_in_may_export(client, make_org) -> None:
    org = make_org()
    assert client.get("/api/v1/me/export").status_code == 401
    r = org.get("/api/v1/me/export")  # an API key acts for the organization, not a person
    assert r.status_code == 403 and r.json()["error"]["code"] == "user_only"


def test_marketing_consent_is_granted_and_withdrawn_with_its_history(client, make_org) -> None:
    org = make_org()
    c = org.client
    assert c.get("/api/v1/me/consents").json()["current"] == {"marketing_email": False}
    assert c.post("/api/v1/me/consents", json={"granted": True, "notice_version": "2026-11"}).status_code == 201
    r = c.post("/api/v1/me/consents", json={"granted": False})
    assert r.status_code == 201
    body = r.json()
    assert body["current"] == {"marketing_email": False}
    assert [(h["granted"], h["method"], h["notice_version"]) for h in body["history"]] == [
        (True, "api", "2026-11"),
        (False, "api", "2026-11"),
    ]
    bad = c.post("/api/v1/me/consents", json={"granted": "maybe"})
    assert bad.status_code == 422
    assert c.post("/api/v1/me/consents", json={"granted": True, "purpose": "sms"}).status_code == 422
    # no raw IP in the records: a keyed hash
    from sqlalchemy import text

    from jasping.db import get_engine

    with get_engine().connect() as conn:
        hashes = conn.execute(text("SELECT ip_hash FROM account_consents")).scalars().all()
    assert len(hashes) == 2 and all(h and "testclient" not in h and len(h) == 64 for h in hashes)


def test_the_export_asks_for_the_password_again_after_a_while(client, make_org, monkeypatch) -> None:
    from datetime import timedelta

    from jasping import clock

    org = make_org()
    later = clock.now() + timedelta(minutes=11)  # past step_up_minutes, within the session's idle time
    monkeypatch.setattr(clock, "now", lambda: later)
    r = org.client.get("/api/v1/me/export")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reauthentication_required"
    page = org.client.get("/account/export", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/security/reauth")
    assert org.client.post("/api/v1/auth/reauthenticate", json={"password": org.password}).status_code == 200
    assert org.client.get("/api/v1/me/export").status_code == 200
    again = org.client.get("/account/export", follow_redirects=False)
    assert again.headers["location"] == "/api/v1/me/export"
