"""The satisfaction question after a conversation is closed (CSAT), through the HTTP API: the widget asks once the team
closed the conversation and takes one rating; WhatsApp's closing message asks "reply 1-5" and the customer's digit is
recorded, not passed to the agent; the rating shows in the inbox, is exported with the contact's data and erased
with them. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from jasping import clock
from jasping.conversations import csat
from jasping.conversations.inbox_models import CsatRating
from jasping.db import get_engine, session_scope
from test_whatsapp import CUSTOMER, _payload, graph, wa  # noqa: F401 - fixtures


@pytest.fixture
def visitor(client, make_org):  # noqa: ANN201
    """A website visitor's conversation: `call(method, path, body)` on `/api/v1/widget/sessions/{id}/…`."""
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
    cid = session["conversation_id"]
    headers = {"Authorization": f"Bearer {session['session_token']}"}

    def call(method: str, path: str, body: dict | None = None, **kw):  # noqa: ANN202
        return client.request(method, f"/api/v1/widget/sessions/{cid}/{path}", json=body, headers=headers, **kw)

    assert call("POST", "messages", {"text": "Hello, are you open on Saturday?"}).status_code == 200
    return org, agent, cid, call


def test_the_widget_asks_once_the_conversation_is_closed_and_takes_one_rating(client, visitor) -> None:
    org, agent, cid, call = visitor
    status = call("GET", "status").json()
    assert status == {"conversation": "bot", "csat": {"state": "open", "rating": None}}
    early = call("POST", "csat", {"rating": 5})
    assert early.status_code == 409 and early.json()["error"]["code"] == "conversation_open"

    me = org.client.get("/api/v1/auth/me").json()["user_id"]
    assert org.client.post(f"/api/v1/conversations/{cid}/takeover").status_code == 200  # as the logged-in owner
    assert call("GET", "status").json()["conversation"] == "human", "the widget then reads the person's replies"
    assert org.post(f"/api/v1/conversations/{cid}/close", json={"resolution": "resolved"}).status_code == 200
    assert call("GET", "status").json() == {"conversation": "closed", "csat": {"state": "asked", "rating": None}}
    assert org.get(f"/api/v1/conversations/{cid}/csat").json()["state"] == "asked"

    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "five"}, {"rating": 3.5}, {}, {"rating": 4, "x": 1}):
        r = call("POST", "csat", bad)
        assert r.status_code == 422, (bad, r.text)
    assert call("POST", "csat", {"rating": 4, "comment": "x" * 1001}).status_code == 422
    no_token = client.post(f"/api/v1/widget/sessions/{cid}/csat", json={"rating": 5})
    assert no_token.status_code == 401

    rated = call("POST", "csat", {"rating": 4, "comment": "Quick and kind, thanks Salma"})
    assert rated.status_code == 201, rated.text
    assert rated.json() == {"state": "rated", "rating": 4}
    again = call("POST", "csat", {"rating": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    assert call("GET", "status").json()["csat"] == {"state": "rated", "rating": 4}

    shown = org.get(f"/api/v1/conversations/{cid}/csat").json()
    assert shown["state"] == "rated" and shown["rating"] == 4 and shown["channel"] == "web"
    assert shown["comment"] == "Quick and kind, thanks Salma"
    with session_scope(org.id, write=False) as s:
        row = s.execute(select(CsatRating)).scalar_one()
        assert (row.agent_id, row.assignee_id, row.channel, row.rating) == (agent["id"], me, "web", 4)
    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT comment FROM csat_ratings")).scalar()
    assert "Salma" not in stored, "the comment is encrypted at rest"

    page = org.client.get(f"/inbox/{cid}")
    assert page.status_code == 200 and "4/5" in page.text and "Quick and kind" in page.text
    other = org.client.get("/inbox")  # the list still renders with the rated conversation
    assert other.status_code == 200


def test_another_organization_and_a_late_rating_are_refused(client, visitor, make_org, monkeypatch) -> None:
    org, _, cid, call = visitor
    other = make_org("Other")
    assert other.get(f"/api/v1/conversations/{cid}/csat").status_code == 404
    assert org.post(f"/api/v1/conversations/{cid}/close").status_code == 200
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + csat.RATE_WINDOW + timedelta(hours=1))
    assert call("GET", "status").json()["csat"]["state"] == "expired"
    late = call("POST", "csat", {"rating": 2})
    assert late.status_code == 409 and late.json()["error"]["code"] == "rating_closed"


def test_the_rating_is_exported_with_the_contacts_data_and_erased_with_them(client, visitor) -> None:
    import jsonschema

    org, _, cid, call = visitor
    assert org.post(f"/api/v1/conversations/{cid}/close").status_code == 200
    assert call("POST", "csat", {"rating": 2, "comment": "Canary-csat: too slow"}).status_code == 201
    contact_id = org.get(f"/api/v1/conversations/{cid}").json()["contact_id"]
    exported = org.client.get(f"/api/v1/contacts/{contact_id}/export")
    assert exported.status_code == 200, exported.text
    document = exported.json()
    jsonschema.validate(document, client.get("/api/v1/schemas/contact-export.json").json())
    (conversation,) = document["conversations"]
    assert conversation["csat"]["rating"] == 2 and conversation["csat"]["comment"] == "Canary-csat: too slow"
    erased = org.client.delete(f"/api/v1/contacts/{contact_id}")
    assert erased.status_code == 202, erased.text
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM csat_ratings")).scalar() == 0
    erasure = org.client.get(f"/api/v1/contacts/erasures/{erased.json()['id']}")
    assert erasure.status_code == 200 and erasure.json()["removed"]["csat_ratings"] == 1


def _send(post, body: str, message_id: str) -> None:  # noqa: ANN001
    payload = _payload("text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = message_id, body
    post(payload)


def test_whatsapp_asks_on_closing_and_records_the_customers_digit(client, wa, graph) -> None:  # noqa: F811
    org, _, _, post = wa
    _send(post, "What are your opening hours?", "wamid.one")
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    cid = conversation["id"]
    sent_before = len(graph.sent())
    assert org.post(f"/api/v1/conversations/{cid}/close", json={"resolution": "resolved"}).status_code == 200
    question = graph.sent()[-1].body
    assert len(graph.sent()) == sent_before + 1 and question["to"] == CUSTOMER.lstrip("+")
    assert "number from 1" in question["text"]["body"], "the closing message asks for a rating"

    _send(post, "4️⃣", "wamid.rating")
    assert org.get(f"/api/v1/conversations/{cid}/csat").json()["rating"] == 4
    assert "Thank you for your rating" in graph.sent()[-1].body["text"]["body"]
    assert len(org.get("/api/v1/conversations").json()["conversations"]) == 1, "the digit opened no conversation"
    roles = [(m["role"], m["text"]) for m in org.get(f"/api/v1/conversations/{cid}").json()["messages"]][-3:]
    assert roles[1] == ("user", "4️⃣"), "the answer is kept in the closed conversation, for the team"

    _send(post, "5", "wamid.again")
    assert org.get(f"/api/v1/conversations/{cid}/csat").json()["rating"] == 4, "rated once"
    conversations = org.get("/api/v1/conversations").json()["conversations"]
    assert len(conversations) == 2, "after the rating, a digit is a message to the agent in a new conversation"


def test_a_whatsapp_digit_after_the_window_goes_to_the_agent(client, wa, graph, monkeypatch) -> None:  # noqa: F811
    org, _, _, post = wa
    _send(post, "What are your opening hours?", "wamid.one")
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    assert org.post(f"/api/v1/conversations/{conversation['id']}/close").status_code == 200
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + csat.REPLY_WINDOW + timedelta(minutes=5))
    _send(post, "3", "wamid.late")
    assert org.get(f"/api/v1/conversations/{conversation['id']}/csat").json()["state"] == "asked"
    assert len(org.get("/api/v1/conversations").json()["conversations"]) == 2


@pytest.mark.parametrize(
    ("words", "rating"),
    [
        ("4", 4),
        (" 5 ", 5),
        ("4/5", 4),
        ("3.", 3),
        ("4️⃣", 4),
        ("٤", 4),
        ("⭐⭐⭐", 3),
        ("★★★★★", 5),
        ("1", 1),
        ("0", None),
        ("6", None),
        ("10", None),
        ("4 stars and a comment", None),
        ("I want 2 appointments", None),
        ("", None),
    ],
)
def test_what_counts_as_a_rating(words: str, rating: int | None) -> None:
    assert csat.parse(words) == rating


def test_retention_deletes_the_rating_with_its_conversation(client, visitor) -> None:
    from jasping.privacy import retention

    org, _, cid, call = visitor
    assert org.post(f"/api/v1/conversations/{cid}/close").status_code == 200
    assert call("POST", "csat", {"rating": 3}).status_code == 201
    retention.apply(now=clock.now() + timedelta(days=200))
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM csat_ratings")).scalar() == 1, "kept while the conversation is"
    retention.apply(now=clock.now() + timedelta(days=400))
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conversations WHERE id = :c"), {"c": cid}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM csat_ratings")).scalar() == 0
