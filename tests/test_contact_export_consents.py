"""A contact's consent records in their export (`GET /api/v1/contacts/{id}/export`): every decision with its purpose,
notice version, method, channel, time and keyed IP hash, and the state per purpose now — valid against the schema
published at `GET /api/v1/schemas/contact-export.json`, which requires them. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from jasping.conversations.models import Conversation
from jasping.crypto import get_keyring
from jasping.db import session_scope
from jasping.privacy import consent

NOTICE = {"wording": "By chatting you accept our privacy notice.", "language": "en"}


@pytest.fixture
def visit(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()

    def start() -> dict:
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
        with session_scope(org.id) as s:
            contact_id = s.get(Conversation, session["conversation_id"]).contact_id
        return {
            "base": f"/api/v1/widget/sessions/{session['conversation_id']}",
            "headers": {"Authorization": f"Bearer {session['session_token']}"},
            "conversation": session["conversation_id"],
            "contact": contact_id,
        }

    return org, start


def _export(client, org, contact_id: str) -> dict:  # noqa: ANN001
    r = org.get(f"/api/v1/contacts/{contact_id}/export")
    assert r.status_code == 200, r.text
    schema = client.get("/api/v1/schemas/contact-export.json").json()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(r.json(), schema, cls=jsonschema.Draft202012Validator)
    return r.json()


def test_the_export_holds_every_consent_decision_with_version_method_and_ip_hash(client, visit) -> None:
    org, start = visit
    v, other = start(), start()
    assert client.post(f"{v['base']}/consent", json=NOTICE, headers=v["headers"]).status_code == 201
    r = client.post(f"{v['base']}/consents", json={"purpose": "marketing"}, headers=v["headers"])
    assert r.status_code == 201, r.text
    r = client.post(f"{v['base']}/consents/withdraw", json={"purpose": "marketing"}, headers=v["headers"])
    assert r.status_code == 200, r.text
    r = org.post(
        f"/api/v1/contacts/{v['contact']}/consents",
        json={"purpose": "contact_about_request", "wording": "You may call me back.", "method": "written"},
    )
    assert r.status_code == 201, r.text
    assert client.post(f"{other['base']}/consent", json=NOTICE, headers=other["headers"]).status_code == 201

    document = _export(client, org, v["contact"])
    rows = document["consents"]
    assert [(c["purpose"], c["granted"], c["method"]) for c in rows] == [
        (consent.CHAT_NOTICE, True, "implied_by_message"),
        (consent.MARKETING, True, "checkbox"),
        (consent.MARKETING, False, "widget_link"),
        (consent.CONTACT, True, "written"),
    ]
    assert rows[0]["notice_version"] == "agent_notice/v1" and rows[0]["conversation_id"] == v["conversation"]
    assert rows[0]["ip_hash"] == get_keyring().mac(org.id, "testclient", consent.IP_PURPOSE)
    assert rows[3]["channel"] == "api" and rows[3]["notice_version"] is None
    assert document["consent_state"] == {
        consent.CHAT_NOTICE: {"granted": True, "since": rows[0]["created_at"]},
        consent.MARKETING: {"granted": False, "since": rows[2]["created_at"]},
        consent.CONTACT: {"granted": True, "since": rows[3]["created_at"]},
    }
    # what the business's consent API shows is what the export holds
    current = org.get(f"/api/v1/contacts/{v['contact']}/consents").json()["current"]
    assert current == {k: s["granted"] for k, s in document["consent_state"].items()}

    mine = _export(client, org, other["contact"])  # another visitor's export holds their own record only
    assert [c["purpose"] for c in mine["consents"]] == [consent.CHAT_NOTICE]
    assert list(mine["consent_state"]) == [consent.CHAT_NOTICE]


def test_a_contact_without_consents_exports_empty_lists_and_the_schema_requires_the_fields(client, visit) -> None:
    org, start = visit
    v = start()
    document = _export(client, org, v["contact"])
    assert document["consents"] == [] and document["consent_state"] == {}

    assert client.post(f"{v['base']}/consent", json=NOTICE, headers=v["headers"]).status_code == 201
    document = _export(client, org, v["contact"])
    schema = client.get("/api/v1/schemas/contact-export.json").json()
    for field in ("notice_version", "method", "ip_hash"):
        broken = copy.deepcopy(document)
        del broken["consents"][0][field]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    broken = copy.deepcopy(document)
    broken["consent_state"][consent.CHAT_NOTICE]["granted"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
