"""The public web-chat API as widget.js uses it, and the organization's conversations API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from jasping.db import get_engine

FACTS = [
    ("Horaires", "La clinique est ouverte du lundi au vendredi de 9h à 18h et le samedi de 9h à 13h."),
    ("Tarifs", "Un détartrage coûte 400 dirhams. Un blanchiment coûte 2500 dirhams."),
    ("Opening hours", "The clinic is open Monday to Friday from 9am to 6pm and on Saturday from 9am to 1pm."),
    ("Parking", "Free parking is available behind the clinic, entrance on Rue Ibn Batouta."),
]


@pytest.fixture
def widget(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post(
        "/api/v1/agents",
        json={"name": "Amal", "languages": ["fr", "en", "ar"], "greeting": "Bonjour ! Comment puis-je vous aider ?"},
    ).json()
    for title, body in FACTS:
        org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": title, "text": body})
    r = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "fr-FR"})
    assert r.status_code == 201, r.text
    session = r.json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    return org, agent, session, headers


def _say(client, session, headers, text_):  # noqa: ANN001, ANN202
    r = client.post(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages", json={"text": text_}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()["reply"]


def test_session_gives_the_contract_fields(widget) -> None:
    _, agent, session, _ = widget
    assert {"conversation_id", "session_token", "greeting"} <= set(session)
    assert session["greeting"] == "Bonjour ! Comment puis-je vous aider ?"
    assert agent["public_key"].startswith("pk_")


def test_a_question_gets_a_grounded_answer_with_a_citation(client, widget) -> None:
    _, _, session, headers = widget
    reply = _say(client, session, headers, "Quels sont vos horaires le samedi ?")
    assert {"text", "citations", "quick_replies", "input_hint"} <= set(reply)
    assert "samedi" in reply["text"] and "13h" in reply["text"]
    assert reply["citations"] and reply["citations"][0]["title"] == "Horaires"
    assert {"title", "url", "snippet"} <= set(reply["citations"][0])
    assert reply["input_hint"]["type"] in ("text", "name", "email", "phone", "date", "time", "choice")


def test_an_unknown_question_is_answered_honestly(client, widget) -> None:
    _, _, session, headers = widget
    reply = _say(client, session, headers, "Vendez-vous des voitures d'occasion ?")
    assert reply["citations"] == []
    assert reply["quick_replies"], "offers a person or a callback"


def test_streaming_sends_tokens_then_the_reply(client, widget) -> None:
    _, _, session, headers = widget
    with client.stream(
        "POST",
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
        json={"text": "Where can I park?"},
        headers={**headers, "Accept": "text/event-stream"},
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = [(block.split("\n")[0][7:], json.loads(block.split("\n")[1][6:])) for block in raw.strip().split("\n\n")]
    names = [name for name, _ in events]
    assert names[0] == "token" and names[-2:] == ["reply", "done"]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    reply = events[-2][1]["reply"]
    assert streamed == reply["text"] and "parking" in reply["text"].lower() and reply["citations"]


def test_a_returning_visitor_gets_the_history(client, widget) -> None:
    _, _, session, headers = widget
    _say(client, session, headers, "Combien coûte un détartrage ?")
    r = client.get(f"/api/v1/widget/sessions/{session['conversation_id']}/messages", headers=headers)
    messages = r.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "400" in messages[1]["text"] and messages[1]["citations"]


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic abc"])
def test_a_wrong_session_token_is_refused(client, widget, auth) -> None:
    _, _, session, _ = widget
    headers = {"Authorization": auth} if auth else {}
    r = client.post(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages", json={"text": "hi"}, headers=headers
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_session"
    assert (
        client.get(f"/api/v1/widget/sessions/{session['conversation_id']}/messages", headers=headers).status_code == 401
    )


def test_another_conversations_token_does_not_open_this_one(client, widget) -> None:
    _, agent, session, _ = widget
    other = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    r = client.get(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {other['session_token']}"},
    )
    assert r.status_code == 401


def test_bad_messages_are_4xx(client, widget) -> None:
    _, agent, session, headers = widget
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    assert client.post(url, json={"text": "   "}, headers=headers).status_code == 422
    assert client.post(url, json={"text": "x" * 4001}, headers=headers).status_code == 422
    assert (
        client.post(url, content=b"{nope", headers={**headers, "Content-Type": "application/json"}).status_code == 422
    )
    assert client.post("/api/v1/widget/pk_unknown/sessions", json={}).status_code == 404
    reply = _say(client, session, headers, "مرحبا \u202e\u0000 👋")
    assert reply["text"]


def test_asking_for_a_person_flags_the_conversation(client, widget) -> None:
    org, _, session, headers = widget
    _say(client, session, headers, "Je voudrais parler à un conseiller")
    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    assert detail["needs_human"] is True and detail["status"] == "handoff"


def test_the_organization_reads_its_conversations_and_messages_are_encrypted(client, widget, make_org) -> None:
    org, agent, session, headers = widget
    _say(client, session, headers, "Do you have parking for my Peugeot 208?")
    listing = org.get("/api/v1/conversations", params={"agent_id": agent["id"]}).json()["conversations"]
    assert [c["id"] for c in listing] == [session["conversation_id"]]
    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    assert detail["messages"][0]["text"] == "Do you have parking for my Peugeot 208?"
    with get_engine().connect() as conn:
        stored = " ".join(r[0] for r in conn.execute(text("SELECT text FROM messages")))
    assert "Peugeot" not in stored and stored.startswith("jp1:")
    other = make_org("Other")
    assert other.get(f"/api/v1/conversations/{session['conversation_id']}").status_code == 404
    assert other.get("/api/v1/conversations").json()["conversations"] == []


def test_cors_preflight_for_the_widget(client) -> None:
    r = client.options(
        "/api/v1/widget/pk_x/sessions",
        headers={"Origin": "https://clinic.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in r.headers["access-control-allow-headers"]


def test_public_endpoints_are_rate_limited(client, widget, monkeypatch) -> None:
    from jasping.config import get_settings

    _, agent, session, headers = widget
    monkeypatch.setenv("JASPING_WIDGET_MESSAGES_PER_CONVERSATION", "3")
    monkeypatch.setenv("JASPING_WIDGET_SESSIONS_PER_IP", "2")
    get_settings.cache_clear()
    try:
        url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
        codes = [client.post(url, json={"text": "bonjour"}, headers=headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.post(url, json={"text": "bonjour"}, headers=headers)
        assert r.json()["error"]["code"] == "rate_limited" and 0 < int(r.headers["retry-after"]) <= 60
        starts = [client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).status_code for _ in range(3)]
        assert starts[-1] == 429
    finally:
        monkeypatch.delenv("JASPING_WIDGET_MESSAGES_PER_CONVERSATION")
        monkeypatch.delenv("JASPING_WIDGET_SESSIONS_PER_IP")
        get_settings.cache_clear()


def test_a_retried_message_is_stored_once_and_answered_the_same(client, widget) -> None:
    org, _, session, headers = widget
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    body = {"text": "Combien coûte un détartrage ?", "client_message_id": "m-1"}
    first = client.post(url, json=body, headers=headers).json()["reply"]
    again = client.post(url, json=body, headers=headers).json()["reply"]
    assert first == again and "400" in first["text"]
    assert org.get(f"/api/v1/conversations/{session['conversation_id']}").json()["message_count"] == 2


def test_a_retry_after_a_lost_reply_does_not_store_the_message_twice(client, widget) -> None:
    from jasping.db import session_scope

    org, _, session, headers = widget
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    body = {"text": "Y a-t-il un parking ?", "client_message_id": "m-2"}
    client.post(url, json=body, headers=headers)
    with session_scope(org.id) as s:  # as if the stream broke before the reply was stored
        from jasping.conversations.models import Message

        s.query(Message).filter(Message.role == "assistant").delete()
    reply = client.post(url, json=body, headers=headers).json()["reply"]
    assert "parking" in reply["text"].lower()
    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]


def test_allowed_origins_and_colour_set_by_the_business(client, widget) -> None:
    org, agent, _, _ = widget
    r = org.client.patch(
        f"/api/v1/agents/{agent['id']}",
        json={"allowed_origins": ["https://clinic.example/"], "widget_color": "#AA3300"},
    )
    assert r.status_code == 200 and r.json()["allowed_origins"] == ["https://clinic.example"]
    start = f"/api/v1/widget/{agent['public_key']}/sessions"
    ok = client.post(start, json={}, headers={"Origin": "https://clinic.example"})
    assert ok.status_code == 201 and ok.json()["color"] == "#aa3300"
    refused = client.post(start, json={}, headers={"Origin": "https://copycat.example"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"allowed_origins": ["javascript:alert(1)"]})
    assert r.status_code == 422
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"widget_color": "red"}).status_code == 422
