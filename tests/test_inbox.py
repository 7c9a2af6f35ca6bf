"""The live inbox through the API, as a team uses it: take over a website conversation, reply, hand back, close;
WhatsApp replies through the Graph API; roles and organizations; bad input; the live feed; the team's email."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import select, text

from jasping.db import get_engine, session_scope
from test_whatsapp import CUSTOMER, _payload, graph, wa  # noqa: F401 - fixtures shared with the WhatsApp tests

FACT = "The clinic is open Monday to Friday from 9am to 6pm."


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": "Hours", "text": FACT})
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"

    def say(words: str) -> dict:
        r = client.post(url, json={"text": words}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    def widget_history() -> list[dict]:
        return client.get(url, headers=headers).json()["messages"]

    return org, agent, session["conversation_id"], say, widget_history


def _conv(org, conversation_id: str) -> str:  # noqa: ANN001
    return f"/api/v1/conversations/{conversation_id}"


def test_take_over_reply_hand_back_close_through_the_widget(chat) -> None:
    org, _, cid, say, widget_history = chat
    assert "9am to 6pm" in say("What are your opening hours?")["text"]
    taken = org.post(f"{_conv(org, cid)}/takeover")
    assert taken.status_code == 200, taken.text
    assert taken.json()["state"] == "human"

    silent = say("Can I bring my daughter too?")
    assert silent["text"] == "" and silent["human"] is True, "the agent stays silent while a person holds it"
    detail = org.get(_conv(org, cid)).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user"]
    assert detail["messages"][-1]["text"] == "Can I bring my daughter too?"

    sent = org.post(f"{_conv(org, cid)}/messages", json={"text": "Yes of course, see you both on Monday."})
    assert sent.status_code == 201, sent.text
    assert sent.json()["role"] == "human" and sent.json()["conversation"]["state"] == "human"
    history = widget_history()
    assert history[-1]["text"] == "Yes of course, see you both on Monday."
    assert history[-1]["role"] == "assistant", "the widget shows the person's reply as the business's"

    assert org.post(f"{_conv(org, cid)}/handback").json()["state"] == "bot"
    assert "9am to 6pm" in say("And your opening hours again?")["text"], "the agent answers again"

    closed = org.post(f"{_conv(org, cid)}/close", json={"resolution": "resolved"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert closed.json()["resolution"] == "resolved"
    listed = org.get("/api/v1/inbox", params={"state": "closed"}).json()["conversations"]
    assert [c["id"] for c in listed] == [cid]
    assert org.get("/api/v1/inbox", params={"state": "bot"}).json()["conversations"] == []


def test_bad_input_gets_clear_errors(chat) -> None:
    org, _, cid, say, _ = chat
    say("Hello")
    assert org.post(f"{_conv(org, cid)}/messages", json={"text": "   "}).json()["error"]["code"] == "empty_message"
    too_long = org.post(f"{_conv(org, cid)}/messages", json={"text": "a" * 4001})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "message_too_long"
    assert org.post(f"{_conv(org, cid)}/messages", json={}).status_code == 422
    assert org.post(f"{_conv(org, cid)}/close", json={"resolution": "whatever"}).status_code == 422
    assert org.post(f"{_conv(org, cid)}/close", json={}).status_code == 200
    again = org.post(f"{_conv(org, cid)}/close")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conversation_closed"
    late = org.post(f"{_conv(org, cid)}/messages", json={"text": "Are you still there?"})
    assert late.status_code == 409
    assert org.post(f"{_conv(org, cid)}/takeover").status_code == 409
    assert org.post(f"{_conv(org, cid)}/handback").status_code == 409
    assert org.post(f"{_conv(org, 'cnv_nope')}/takeover").status_code == 404


def test_viewers_may_read_not_act_and_other_organizations_see_nothing(chat, make_org) -> None:
    org, _, cid, say, _ = chat
    say("Hello")
    viewer_key = org.post("/api/v1/api-keys", json={"name": "reader", "role": "viewer"}).json()["secret"]
    viewer = {"Authorization": f"Bearer {viewer_key}"}
    assert org.client.get("/api/v1/inbox", headers=viewer).status_code == 200
    for action, body in (("takeover", None), ("messages", {"text": "hi"}), ("handback", None), ("close", {})):
        r = org.client.post(f"{_conv(org, cid)}/{action}", json=body, headers=viewer)
        assert r.status_code == 403, (action, r.text)
    agent_key = org.post("/api/v1/api-keys", json={"name": "desk", "role": "agent"}).json()["secret"]
    r = org.client.post(f"{_conv(org, cid)}/takeover", headers={"Authorization": f"Bearer {agent_key}"})
    assert r.status_code == 200, r.text
    other = make_org("Other")
    for action, body in (("takeover", None), ("messages", {"text": "hi"}), ("handback", None), ("close", {})):
        assert other.post(f"{_conv(other, cid)}/{action}", json=body).status_code == 404, action
    assert other.post(f"{_conv(other, cid)}/notes", json={"text": "x"}).status_code == 404
    assert other.get("/api/v1/inbox").json()["conversations"] == []


def test_notes_assignment_and_the_data_the_contact_gets(chat) -> None:
    org, _, cid, say, widget_history = chat
    say("Hello")
    me = org.client.get("/api/v1/auth/me").json()
    user_id = me["user_id"]
    assigned = org.client.post(f"{_conv(org, cid)}/assign", json={"assignee_id": user_id})
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == user_id
    assert org.post(f"{_conv(org, cid)}/assign", json={"assignee_id": "usr_nobody"}).status_code == 404
    note = org.post(f"{_conv(org, cid)}/notes", json={"text": "Canary-note: VIP patient, be gentle"})
    assert note.status_code == 201
    org.post(f"{_conv(org, cid)}/messages", json={"text": "Canary-human: we will call you"})
    texts = [m["text"] for m in widget_history()]
    assert "Canary-human: we will call you" in texts
    assert not any("Canary-note" in t for t in texts), "a note is never shown to the customer"
    contact_id = org.get(_conv(org, cid)).json()["contact_id"]
    exported = org.client.get(f"/api/v1/contacts/{contact_id}/export")
    assert exported.status_code == 200, exported.text
    assert "Canary-human" in exported.text and "Canary-note" in exported.text
    assert org.client.delete(f"/api/v1/contacts/{contact_id}").status_code == 202
    with get_engine().connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM messages WHERE conversation_id = :c"), {"c": cid}).scalar()
    assert left == 0, "the erasure removes the person's replies and the notes with the conversation"


def test_a_whatsapp_reply_goes_out_through_the_graph_api(client, wa, graph) -> None:  # noqa: F811
    org, _, _, post = wa
    payload = _payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "What are your opening hours?"
    post(payload)
    assert len(graph.sent()) == 1
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    assert org.post(f"/api/v1/conversations/{conversation['id']}/takeover").status_code == 200
    again = _payload("text")
    message = again["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = "wamid.second", "I need to change my appointment"
    post(again)
    assert len(graph.sent()) == 1, "no automatic reply while a person holds the conversation"
    roles = [m["role"] for m in org.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"]]
    assert roles == ["user", "assistant", "user"]
    r = org.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "Sure, which day suits you?"})
    assert r.status_code == 201, r.text
    sent = graph.sent()[-1]
    assert sent.body["to"] == CUSTOMER.lstrip("+")
    assert (sent.body.get("text") or {}).get("body") == "Sure, which day suits you?"


def test_the_live_feed_emits_an_event_for_a_new_message(chat) -> None:
    org, _, cid, say, _ = chat
    first = org.get("/api/v1/inbox/events", params={"timeout": 0})
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/event-stream")
    assert "event: ready" in first.text and "event: conversation" not in first.text
    cursor = first.text.split('"cursor": "')[1].split('"')[0]
    say("What are your opening hours?")
    with org.client.stream(
        "GET", "/api/v1/inbox/events", params={"since": cursor, "timeout": 0}, headers=org.headers
    ) as stream:
        lines = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:") and cid in line:
                break
    assert "event: conversation" in lines and any(cid in line for line in lines)
    bad = org.get("/api/v1/inbox/events", params={"since": "yesterday", "timeout": 0})
    assert bad.status_code == 422


def test_asking_for_a_person_emails_the_team_once(chat) -> None:
    from jasping.integrations.mail_models import Email

    org, _, cid, say, _ = chat
    say("I want to talk to a real person please")
    say("A human please, now")
    assert org.get(_conv(org, cid)).json()["needs_human"] is True
    assert [c["id"] for c in org.get("/api/v1/inbox", params={"state": "needs_human"}).json()["conversations"]] == [cid]
    with session_scope(org.id, write=False) as s:
        mails = s.execute(select(Email).where(Email.kind == "handoff_notice")).scalars().all()
        assert len(mails) == 1, "once per conversation, to the owner (the only member)"
        parsed = email.message_from_string(mails[0].body, policy=email.policy.default)
    assert parsed["To"] == org.email
    body = parsed.get_content()
    assert f"/inbox/{cid}" in body and "real person" not in body, "a link, never the customer's words"


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_dashboard_inbox_takes_over_replies_hands_back_and_closes(chat) -> None:
    org, _, cid, say, widget_history = chat
    say("I want to talk to a real person please")
    web = org.client
    listed = web.get("/inbox", params={"state": "needs_human"})
    assert listed.status_code == 200 and f'href="/inbox/{cid}"' in listed.text and "Needs a person" in listed.text
    assert f'href="/inbox/{cid}"' not in web.get("/inbox", params={"state": "closed"}).text
    assert f'href="/inbox/{cid}"' not in web.get("/inbox", params={"channel": "whatsapp"}).text
    assert 'src="/static/inbox.js"' in listed.text and "<script>" not in listed.text, "no inline script (the CSP)"
    page = web.get(f"/inbox/{cid}")
    assert page.status_code == 200 and "real person" in page.text
    csrf = _csrf(page.text)
    assert web.post(f"/inbox/{cid}/takeover", data={"csrf_token": "forged"}).status_code == 403
    r = web.post(f"/inbox/{cid}/takeover", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and "the agent is paused" in r.text and "Person in charge" in r.text
    assert say("Hello? Anyone?")["human"] is True
    r = web.post(f"/inbox/{cid}/reply", data={"csrf_token": csrf, "text": "Hi, Salma here."}, follow_redirects=False)
    assert r.status_code == 303
    assert widget_history()[-1]["text"] == "Hi, Salma here."
    empty = web.post(f"/inbox/{cid}/reply", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422 and "empty" in empty.text
    web.post(f"/inbox/{cid}/note", data={"csrf_token": csrf, "text": "Call her back tomorrow"})
    r = web.post(f"/inbox/{cid}/handback", data={"csrf_token": csrf}, follow_redirects=True)
    assert "The agent answers again." in r.text
    assert "9am to 6pm" in say("What are your opening hours?")["text"]
    r = web.post(f"/inbox/{cid}/close", data={"csrf_token": csrf, "resolution": "resolved"}, follow_redirects=True)
    assert "Conversation closed." in r.text and "Resolved" in r.text and "Call her back tomorrow" in r.text
    again = web.post(f"/inbox/{cid}/close", data={"csrf_token": csrf})
    assert again.status_code == 409
    web.get("/lang/fr")
    assert "Boîte de réception" in web.get("/inbox").text and "Fermée" in web.get(f"/inbox/{cid}").text
    events = web.get("/inbox/events", params={"since": "2000-01-01T00:00:00+00:00"})
    assert events.status_code == 200 and cid in events.text


def test_another_organization_gets_404_on_the_dashboard(chat, make_org) -> None:
    org, _, cid, say, _ = chat
    say("Hello")
    other = make_org("Other").client
    assert other.get(f"/inbox/{cid}").status_code == 404
    csrf = _csrf(other.get("/inbox").text)
    assert other.post(f"/inbox/{cid}/takeover", data={"csrf_token": csrf}).status_code == 404
    assert cid not in other.get("/inbox/events", params={"since": "2000-01-01T00:00:00+00:00"}).text
