"""Built search indexes are kept on disk (issue 12, no cold first message): a process that starts loads them instead
of building from the database, searches the same, and never trusts a stored index of another knowledge version,
another code or another embeddings setting."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from jasping.agents.models import Agent
from jasping.db import session_scope
from jasping.knowledge import persist, retrieval

HOURS = "The clinic is open Monday to Friday from 9am to 6pm and Saturday morning from 9am to noon."
PARKING = "Free parking is available behind the clinic, entrance on Rue Ibn Batouta."
QUESTIONS = ["Are you open on Saturday?", "Where can I park?", "horaires du samedi"]


@pytest.fixture
def agent(make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent_id = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()["id"]
    for title, text in (("Hours", HOURS), ("Parking", PARKING)):
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": title, "text": text})
        assert r.status_code == 202, r.text
    _join(agent_id)
    return org, agent_id


def _join(agent_id: str) -> None:
    for thread in threading.enumerate():
        if thread.name in (f"index-{agent_id}", f"index-save-{agent_id}"):
            thread.join()


def _version(org_id: str, agent_id: str) -> int:
    with session_scope(org_id, write=False) as s:
        return s.execute(select(Agent.kb_version).where(Agent.id == agent_id)).scalar_one()


def _results(org_id: str, agent_id: str) -> list[list[tuple]]:
    with session_scope(org_id, write=False) as s:
        outcomes = [retrieval.search(s, agent_id, q, k=5) for q in QUESTIONS]
    return [
        [(p.chunk_id, p.title, p.text, p.heading_path, round(score, 6)) for p, score in o.results] for o in outcomes
    ]


def _stored(agent_id: str) -> list[Path]:
    return sorted((persist.root() / agent_id).iterdir()) if (persist.root() / agent_id).exists() else []


def test_a_built_index_is_stored_and_a_new_process_loads_it(agent, monkeypatch) -> None:
    org, agent_id = agent
    built = _results(org.id, agent_id)
    _join(agent_id)
    stored = _stored(agent_id)
    assert [p.name for p in stored] == [f"{_version(org.id, agent_id)}-{persist.code_digest()}"]
    assert (stored[0] / "meta.json").exists() and (stored[0] / "gram_docs.npy").exists()

    retrieval.forget()  # as a process that starts: nothing in memory

    def no_build(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("built from the database instead of loaded")

    monkeypatch.setattr(retrieval, "_load", no_build)
    assert _results(org.id, agent_id) == built  # the same passages, texts and scores
    loaded = retrieval._cache[agent_id]
    docs = loaded.lexical._stem.docs
    assert not docs.flags.owndata and not docs.flags.writeable  # a view of the mapped file, not read in


def test_a_knowledge_change_writes_a_new_version_and_removes_the_old(agent) -> None:
    org, agent_id = agent
    _results(org.id, agent_id)
    _join(agent_id)
    before = _stored(agent_id)
    r = org.post(
        f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": "Price", "text": "A visit costs 300."}
    )
    assert r.status_code == 202
    _join(agent_id)
    _results(org.id, agent_id)
    _join(agent_id)
    after = _stored(agent_id)
    assert len(after) == 1 and after != before
    assert after[0].name.startswith(f"{_version(org.id, agent_id)}-")


def test_an_unreadable_or_foreign_index_is_rebuilt_from_the_database(agent, monkeypatch) -> None:
    org, agent_id = agent
    built = _results(org.id, agent_id)
    _join(agent_id)
    version = _version(org.id, agent_id)
    path = _stored(agent_id)[0]
    (path / "stem.vocab").write_text("truncated", encoding="utf-8")
    assert persist.load(agent_id, version, retrieval._embedder_name()) is None  # unreadable: not used
    retrieval.forget()
    assert _results(org.id, agent_id) == built  # rebuilt from the database, same answers

    _join(agent_id)
    assert persist.load(agent_id, version, "another-model") is None  # another embeddings setting
    monkeypatch.setattr(persist, "code_digest", lambda: "0" * 12)
    assert persist.load(agent_id, version, retrieval._embedder_name()) is None  # another code
    assert persist.load(agent_id, version + 1, retrieval._embedder_name()) is None  # another version


def test_deleting_the_agent_removes_its_stored_indexes(agent) -> None:
    org, agent_id = agent
    _results(org.id, agent_id)
    _join(agent_id)
    assert _stored(agent_id)
    assert org.client.delete(f"/api/v1/agents/{agent_id}").status_code == 204
    assert not (persist.root() / agent_id).exists()
