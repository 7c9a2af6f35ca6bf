"""The widget turn's database work (issue 12): one read of the conversation and its history, the agent's settings
from a cache keyed by its `updated_at`, one write transaction for the message and the reply — and every behaviour
kept (a change of the agent's settings is seen at once, in this process and from another; a failed model keeps the
question)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, update

from jasping.db import get_engine, session_scope


@pytest.fixture
def visitor(client, make_org):  # noqa: ANN201
    org = make_org("Garage")
    agent = org.post("/api/v1/agents", json={"name": "Sam", "languages": ["en", "fr"]}).json()
    org.post(
        f"/api/v1/agents/{agent['id']}/sources",
        json={"type": "text", "title": "Hours", "text": "The garage is open Monday to Friday from 8am to 6pm."},
    )
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    return org, agent, url, {"Authorization": f"Bearer {session['session_token']}"}


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        self.seen.append(" ".join(statement.split()))

    def __enter__(self) -> Statements:
        event.listen(get_engine(), "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(get_engine(), "before_cursor_execute", self)


def _meaningful(statements: list[str]) -> list[str]:
    return [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))]


def test_a_turn_reads_twice_and_writes_once(client, visitor) -> None:
    org, _, url, headers = visitor
    assert client.post(url, json={"text": "When are you open?"}, headers=headers).status_code == 200  # warm
    with Statements() as sql:
        r = client.post(url, json={"text": "Are you open on Friday?", "client_message_id": "c-1"}, headers=headers)
    assert r.status_code == 200 and "friday" in r.json()["reply"]["text"].lower()
    seen = _meaningful(sql.seen)
    assert len(seen) == 4, seen  # conversation + contact + organization + agent versions; history; UPDATE; INSERT
    assert seen[0].startswith("SELECT conversations.") and "JOIN agents" in seen[0]
    assert seen[1].startswith("SELECT messages.")
    assert seen[2].startswith("UPDATE conversations") and seen[3].startswith("INSERT INTO messages")
    detail = org.get(f"/api/v1/conversations/{url.split('/')[-2]}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"] * 2
    assert detail["message_count"] == 4 and detail["language"] == "en"


def test_a_retry_reads_and_writes_nothing_more(client, visitor) -> None:
    _, _, url, headers = visitor
    body = {"text": "When are you open?", "client_message_id": "c-2"}
    first = client.post(url, json=body, headers=headers).json()
    with Statements() as sql:
        again = client.post(url, json=body, headers=headers).json()
    assert again == first
    assert not [s for s in sql.seen if s.startswith(("UPDATE", "INSERT"))]


def test_a_change_of_the_agent_is_seen_by_the_next_turn(client, visitor) -> None:
    org, agent, url, headers = visitor
    assert client.post(url, json={"text": "Hello"}, headers=headers).status_code == 200  # settings now cached
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"allowed_origins": ["https://garage.example"]})
    assert r.status_code == 200
    refused = client.post(url, json={"text": "Hi"}, headers={**headers, "Origin": "https://other.example"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"


def test_a_change_made_by_another_process_is_seen_through_updated_at(client, visitor) -> None:
    from jasping.agent import snapshot
    from jasping.agents.models import Agent

    org, agent, url, headers = visitor
    assert client.post(url, json={"text": "Hello"}, headers=headers).status_code == 200
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    with session_scope(org.id) as s:  # a Core UPDATE fires no mapper event: only the column tells
        s.execute(
            update(Agent)
            .where(Agent.id == agent["id"])
            .values(allowed_origins=["https://garage.example"], updated_at=later)
        )
    assert snapshot._cache[agent["id"]].allowed_origins == ()  # this process still holds the old copy
    refused = client.post(url, json={"text": "Hi"}, headers={**headers, "Origin": "https://other.example"})
    assert refused.status_code == 403
    assert snapshot._cache[agent["id"]].allowed_origins == ("https://garage.example",)


def test_a_failed_model_keeps_the_question(client, visitor, monkeypatch) -> None:
    from jasping.agent.llm.local import LocalChatModel

    org, _, url, headers = visitor

    def fail(self, context):  # noqa: ANN001, ANN202
        raise RuntimeError("the model is down")

    monkeypatch.setattr(LocalChatModel, "respond", fail)
    with pytest.raises(RuntimeError, match="the model is down"):
        client.post(url, json={"text": "Do you repair brakes?", "client_message_id": "c-3"}, headers=headers)
    detail = org.get(f"/api/v1/conversations/{url.split('/')[-2]}").json()
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [("user", "Do you repair brakes?")]
    assert detail["message_count"] == 1


def test_a_new_visitor_holds_one_database_connection_at_a_time(client, visitor) -> None:
    """The contact's first encrypted row creates its data key on the request's own connection: a second one taken
    from the pool meanwhile deadlocked 50 concurrent visitors on PostgreSQL (pool 10 + 20, all waiting 30 s)."""
    import threading

    _, agent, _, _ = visitor
    for thread in threading.enumerate():
        if thread.name in ("index-warm", "turn-warm"):
            thread.join()
    held, most = [0], [0]

    def out(*_args) -> None:  # noqa: ANN002
        held[0] += 1
        most[0] = max(most[0], held[0])

    def back(*_args) -> None:  # noqa: ANN002
        held[0] -= 1

    pool = get_engine().pool
    event.listen(pool, "checkout", out)
    event.listen(pool, "checkin", back)
    try:
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
        url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
        r = client.post(url, json={"text": "Hello"}, headers={"Authorization": f"Bearer {session['session_token']}"})
    finally:
        event.remove(pool, "checkout", out)
        event.remove(pool, "checkin", back)
    assert r.status_code == 200
    assert most[0] == 1
