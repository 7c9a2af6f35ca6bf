"""Search indexes are ready before the messages that need them: rebuilt right after a change, built at start-up,
and a search that arrives while another thread builds the new index answers from the previous one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from jasping.agents.models import Agent
from jasping.db import open_session, session_scope
from jasping.knowledge import retrieval

HOURS = "The clinic is open Monday to Friday from 9am to 6pm and Saturday morning from 9am to noon."
WHITENING = "Teeth whitening costs 2500 dirhams and takes two sessions."


@pytest.fixture
def agent(make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent_id = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()["id"]
    r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": "Hours", "text": HOURS})
    assert r.status_code == 202, r.text
    return org, agent_id


def _join_builds(agent_id: str) -> None:
    for thread in threading.enumerate():
        if thread.name == f"index-{agent_id}":
            thread.join()


def _version(org_id: str, agent_id: str) -> int:
    with session_scope(org_id, write=False) as s:
        return s.execute(select(Agent.kb_version).where(Agent.id == agent_id)).scalar_one()


def test_an_ingestion_rebuilds_the_index_right_after_its_commit(agent) -> None:
    org, agent_id = agent
    _join_builds(agent_id)
    cached = retrieval._cache.get(agent_id)  # no search has run: the ingestion's commit built it
    assert cached is not None and cached.version == _version(org.id, agent_id)
    assert any("Saturday" in p.text for p in cached.passages.values())

    r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": "Prices", "text": WHITENING})
    assert r.status_code == 202, r.text
    hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "whitening price"}).json()["results"]
    assert "2500" in hits[0]["text"]  # this process changed the knowledge: its searches see the change at once


def test_a_search_during_a_build_answers_from_the_previous_index(agent) -> None:
    org, agent_id = agent
    _join_builds(agent_id)
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "saturday"}).json()["results"]
    before = _version(org.id, agent_id)
    with session_scope(org.id) as s:  # another process changed the knowledge (no hook in this process)
        s.execute(update(Agent).where(Agent.id == agent_id).values(kb_version=Agent.kb_version + 1))
    seen: list[int] = []

    def search() -> None:
        session = open_session(org.id, write=False)
        try:
            seen.append(retrieval.agent_index(session, agent_id).version)
        finally:
            session.close()

    with retrieval._building[agent_id]:  # a build of the new version is running in another thread
        thread = threading.Thread(target=search)
        thread.start()
        thread.join(timeout=60)  # a guard against a hang, not a timing: the search must not wait for the build
        assert seen == [before]
    search()
    assert seen == [before, before + 1]  # with no build running, the search builds the new index itself


def test_start_up_builds_the_indexes_of_the_agents_that_spoke_last(agent, client) -> None:
    org, agent_id = agent
    public_key = org.get(f"/api/v1/agents/{agent_id}").json()["public_key"]
    session = client.post(f"/api/v1/widget/{public_key}/sessions", json={"locale": "en"}).json()
    r = client.post(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
        json={"text": "Are you open on Saturday?"},
        headers={"Authorization": f"Bearer {session['session_token']}"},
    )
    assert r.status_code == 200, r.text
    _join_builds(agent_id)
    retrieval.forget()
    retrieval.warm_in_background().join()
    cached = retrieval._cache.get(agent_id)
    assert cached is not None and cached.version == _version(org.id, agent_id)
