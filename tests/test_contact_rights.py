"""A contact's rights through the API (the business as controller): lookup by email or phone, rectification with the
keyed hashes following, restriction (the agent holds their messages for a person, nothing is queued to them) and
objection, per-contact data keys shredded by erasure, remote deletions retried until done or recorded as not done."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from contact_fixtures import NUMBER_ID, SECRET, SheetsStub, Visitor, whatsapp_text
from google_stub import connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.conversations.models import Contact
from jasping.crypto import CryptoError, DataKey, contact_scope, get_keyring, reset_keyrings
from jasping.db import get_engine, session_scope
from jasping.privacy import erasure_jobs
from jasping.privacy.contacts import HELD_REPLY, may_send
from jasping.privacy.erasure_models import ErasureTask
from provider_stub import ProviderStub

EMAIL, PHONE = "salma.idrissi@example.com", "+212661234567"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"scan of a prescription" * 4


@pytest.fixture
def shop(client, make_org):  # noqa: ANN001, ANN201
    org = make_org("Riad")
    assert org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    return org, agent


def _lead(client, agent: dict, name: str = "Salma Idrissi", email: str = EMAIL, phone: str = "06 61 23 45 67"):  # noqa: ANN001, ANN201
    chat = Visitor(client, agent)
    for words in ("I'd like to leave my details so that someone contacts me", name, email, phone, "yes", "yes"):
        reply = chat.say(words)
    assert "get back to you" in reply["text"], reply
    return chat


def _found(org, **query: str) -> list[dict]:  # noqa: ANN001
    r = org.get("/api/v1/contacts", params=query)
    assert r.status_code == 200, r.text
    return r.json()["contacts"]


def test_a_contact_is_found_by_email_or_phone_and_rectified(client, shop, make_org) -> None:
    org, agent = shop
    _lead(client, agent)
    _lead(client, agent, "Ali Bennani", "ali@example.com", "0612345678")
    (contact,) = _found(org, email="  Salma.Idrissi@Example.com ")
    assert (contact["name"], contact["email"], contact["phone"]) == ("Salma Idrissi", EMAIL, PHONE)
    assert _found(org, phone="06 61 23 45 67") == [contact] == _found(org, phone=PHONE)
    assert _found(org, email=EMAIL, phone="0612345678") == [], "both given: the contacts with both"
    assert org.get(f"/api/v1/contacts/{contact['id']}").json() == contact

    for query, code in (({}, "missing_identifier"), ({"email": "nobody"}, "invalid_email"), ({"phone": "abc"}, None)):
        r = org.get("/api/v1/contacts", params=query)
        assert r.status_code == 422 and (code is None or r.json()["error"]["code"] == code), r.text
    assert org.get("/api/v1/contacts/cot_unknown").json()["error"]["code"] == "contact_not_found"
    stranger = make_org("Other")
    assert _found(stranger, email=EMAIL) == []
    assert stranger.get(f"/api/v1/contacts/{contact['id']}").status_code == 404
    assert stranger.client.delete(f"/api/v1/contacts/{contact['id']}").status_code == 404

    # rectification: the contact, their lead, the keyed hashes; the old email finds nobody any more
    r = org.client.patch(f"/api/v1/contacts/{contact['id']}", json={"email": "Salma@New.example", "name": "Salma I."})
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["name"], r.json()["phone"]) == ("salma@new.example", "Salma I.", PHONE)
    assert _found(org, email=EMAIL) == [] and _found(org, email="salma@new.example")[0]["id"] == contact["id"]
    lead = next(x for x in org.get("/api/v1/leads").json()["leads"] if x["phone"] == PHONE)
    assert (lead["email"], lead["name"]) == ("salma@new.example", "Salma I.")
    bad = org.client.patch(f"/api/v1/contacts/{contact['id']}", json={"phone": "not a number"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_phone"
    assert org.client.patch(f"/api/v1/contacts/{contact['id']}", json={"age": 3}).status_code == 422
    assert org.client.patch(f"/api/v1/contacts/{contact['id']}", json={"phone": None}).json()["phone"] is None
    assert _found(org, phone=PHONE) == []


def test_a_restricted_contact_is_held_for_a_person_on_every_channel(client, shop, monkeypatch) -> None:
    org, agent = shop
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
        chat = _lead(client, agent)
        whatsapp_text(client, PHONE.lstrip("+"), "Hello again", "wamid.r1")
        assert len(graph.sent()) == 1
        (contact,) = _found(org, phone=PHONE)
        restricted = org.post(f"/api/v1/contacts/{contact['id']}/restrict").json()
        assert restricted["restricted_at"] is not None

        reply = chat.say("I'd like to leave my details so that someone contacts me")
        assert reply["text"] == HELD_REPLY["en"], "no dialogue, no model: an acknowledgement only"
        whatsapp_text(client, PHONE.lstrip("+"), "Are you open on Sunday?", "wamid.r2")
        assert len(graph.sent()) == 1, "nothing is sent on WhatsApp while restricted"
        conversations = org.get("/api/v1/conversations", params={"contact_id": contact["id"]}).json()["conversations"]
        assert {c["channel"] for c in conversations} == {"web", "whatsapp"}
        assert all(c["needs_human"] for c in conversations), "a person follows up"
        wa = next(c for c in conversations if c["channel"] == "whatsapp")
        said = [m["text"] for m in org.get(f"/api/v1/conversations/{wa['id']}").json()["messages"]]
        assert "Are you open on Sunday?" in said, "the message is kept for the team"

        lifted = org.client.delete(f"/api/v1/contacts/{contact['id']}/restrict").json()
        assert lifted["restricted_at"] is None
        whatsapp_text(client, PHONE.lstrip("+"), "And on Saturday?", "wamid.r3")
        assert len(graph.sent()) == 2, "answered again once the restriction is lifted"
    get_settings.cache_clear()


def test_objection_stops_what_is_sent_unasked_only(client, shop) -> None:
    org, agent = shop
    _lead(client, agent)
    (contact,) = _found(org, email=EMAIL)
    objected = org.post(f"/api/v1/contacts/{contact['id']}/object").json()
    assert objected["objected_at"] is not None and objected["restricted_at"] is None
    with session_scope(org.id, write=False) as s:
        row = s.get(Contact, contact["id"])
        assert not may_send(row, unsolicited=True) and may_send(row, unsolicited=False)
    assert org.client.delete(f"/api/v1/contacts/{contact['id']}/object").json()["objected_at"] is None
    actions = [r[0] for r in _raw("SELECT action FROM audit_events WHERE object_id = :i ORDER BY seq", i=contact["id"])]
    assert actions == ["contact.object", "contact.unobject"]


def _raw(sql: str, **params: str) -> list:
    with get_engine().connect() as conn:
        return list(conn.execute(text(sql), params))


def test_erasure_shreds_the_contacts_data_keys(client, shop) -> None:
    org, agent = shop
    chat = _lead(client, agent)
    chat.upload("scan.png", PNG, "image/png")
    (contact,) = _found(org, email=EMAIL)
    scope = contact_scope(contact["id"])
    (key_id,) = [r[0] for r in _raw("SELECT id FROM data_keys WHERE scope = :s", s=scope)]
    (name,) = [r[0] for r in _raw("SELECT name FROM contacts WHERE id = :i", i=contact["id"])]
    texts = [r[0] for r in _raw("SELECT text FROM messages WHERE contact_id = :i", i=contact["id"])]
    assert name.split(":")[1] == key_id and texts and all(t.split(":")[1] == key_id for t in texts)
    (stored,) = [r[0] for r in _raw("SELECT stored_file FROM conversation_files")]
    blob = (get_settings().data_dir / "files" / stored).read_bytes()
    assert key_id.encode() in blob[:64], "the file's bytes are encrypted under the contact's key too"
    # a row written before per-contact keys (under the organization's key) stays readable
    legacy = get_keyring().encrypt(org.id, "Salma (before per-contact keys)")
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE contacts SET name = :n WHERE id = :i"), {"n": legacy, "i": contact["id"]})
    assert org.get(f"/api/v1/contacts/{contact['id']}").json()["name"] == "Salma (before per-contact keys)"

    assert org.client.delete(f"/api/v1/contacts/{contact['id']}").status_code == 202
    assert _raw("SELECT id FROM data_keys WHERE scope = :s", s=scope) == []
    for keyring in (get_keyring(), None):  # this process forgot the key; a fresh one never finds it
        if keyring is None:
            reset_keyrings()
            keyring = get_keyring()
        with pytest.raises(CryptoError):
            keyring.decrypt(texts[0])  # a copy kept anywhere (a backup, a WAL) no longer opens
        with pytest.raises(CryptoError):
            keyring.decrypt_bytes(blob)
    assert not (get_settings().data_dir / "files" / stored).exists()
    assert org.get(f"/api/v1/contacts/{contact['id']}").status_code == 404


@pytest.fixture
def google(monkeypatch):  # noqa: ANN001, ANN201
    stub = SheetsStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_remote_deletions_are_retried_then_the_record_says_what_was_left(client, shop, google, monkeypatch) -> None:
    org, agent = shop
    connect(org, google, agent["id"], uses=["drive"])
    chat = Visitor(client, agent)
    chat.upload("scan.png", PNG, "image/png")
    (copy,) = [f for f in google.files.values() if "content" in f]
    with session_scope(org.id, write=False) as s:
        contact_id = s.execute(select(Contact.id)).scalar_one()
    google.down = True
    erased = org.client.delete(f"/api/v1/contacts/{contact_id}")
    assert erased.status_code == 202, erased.text
    record = org.get(f"/api/v1/contacts/erasures/{erased.json()['id']}").json()
    drive = next(t for t in record["tasks"] if t["kind"] == "drive_file")
    assert record["state"] == "running" and drive["state"] == "failed" and drive["attempts"] == 1
    assert "unavailable" in drive["last_error"].lower() or "503" in drive["last_error"]
    assert copy["id"] in google.files, "still there while Google fails"

    google.down = False
    later = clock.now() + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert erasure_jobs.run(org.id, drive["id"]) == "done"
    record = org.get(f"/api/v1/contacts/erasures/{record['id']}").json()
    assert record["state"] == "done" and record["finished_at"] and copy["id"] not in google.files

    # a copy that cannot be reached any more (its integration disconnected) is given up and recorded
    chat = Visitor(client, agent)
    chat.upload("scan.png", PNG, "image/png")
    with session_scope(org.id, write=False) as s:
        contact_id = s.execute(select(Contact.id)).scalar_one()
    google.down = True
    erased = org.client.delete(f"/api/v1/contacts/{contact_id}").json()
    with session_scope(org.id) as s:
        task = s.execute(select(ErasureTask).where(ErasureTask.kind == "drive_file", ErasureTask.state == "failed"))
        task.scalar_one().integration_id = None
    monkeypatch.setattr(clock, "now", lambda: later + timedelta(hours=1))
    assert tasks_sweep() >= 1
    record = org.get(f"/api/v1/contacts/erasures/{erased['id']}").json()
    assert record["state"] == "partial", record
    (left,) = record["not_removed"]
    assert left["kind"] == "drive_file" and "disconnected" in left["reason"]
    assert json.dumps(record).count("scan.png") == 0, "the record names no personal data"
    assert base64.b64encode(PNG[:12]).decode() not in json.dumps(record)


def tasks_sweep() -> int:
    """The periodic sweep, as `jasping jobs run-due` runs it (huey runs its tasks at once in tests)."""
    from jasping.jobs import tasks

    return tasks.sweep_erasures()["erasure_tasks"]


def test_data_keys_of_a_contact_are_made_in_the_writing_transaction(client, shop) -> None:
    """A contact whose first row rolls back leaves no data key behind (and the next one is made again)."""
    org, _ = shop
    with pytest.raises(RuntimeError), session_scope(org.id) as s:
        s.add(Contact(id="cot_rolledback", org_id=org.id, name="Nobody"))
        s.flush()
        raise RuntimeError("rolled back")
    assert _raw("SELECT id FROM data_keys WHERE scope = :s", s=contact_scope("cot_rolledback")) == []
    with session_scope(org.id) as s:
        s.add(Contact(id="cot_rolledback", org_id=org.id, name="Somebody"))
    with session_scope(org.id, write=False) as s:
        assert s.get(Contact, "cot_rolledback").name == "Somebody"
        assert s.execute(select(DataKey.scope).where(DataKey.scope == contact_scope("cot_rolledback"))).scalar()
