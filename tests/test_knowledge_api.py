"""The knowledge base through the API, as a business uses it: add, watch, search, refresh, delete."""

from __future__ import annotations

import io
import subprocess

import pytest

from conftest import JASPING, cli_env
from jasping.config import get_settings
from jasping.db import open_session
from jasping.knowledge.models import Chunk, Source

HOURS = (
    "Opening hours",
    "The clinic is open Monday to Friday from 9am to 6pm and Saturday morning from 9am to noon. "
    "We are closed on Sundays and public holidays.",
)
PRICES = (
    "# Tarifs\n\n## Détartrage\n\nLe détartrage complet coûte 400 dirhams.\n\n## Blanchiment\n\n"
    "Le blanchiment des dents coûte 2500 dirhams, en deux séances."
)


@pytest.fixture
def agent(make_org):  # noqa: ANN201
    org = make_org("Clinic")
    created = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    return org, created["id"]


def _sources(org, agent_id):  # noqa: ANN001, ANN202
    return org.get(f"/api/v1/agents/{agent_id}/sources").json()["sources"]


def test_text_source_is_searchable_with_the_contract_shape(agent) -> None:
    org, agent_id = agent
    r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": HOURS[0], "text": HOURS[1]})
    assert r.status_code == 202, r.text
    assert r.json()["state"] in ("queued", "ready")
    (source,) = _sources(org, agent_id)
    assert source["state"] == "ready" and source["chunk_count"] >= 1 and source["progress"] == 100
    r = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "when are you open on saturday?", "k": 5})
    assert r.status_code == 200
    body = r.json()
    hit = body["results"][0]
    assert {"source_id", "title", "url", "page", "text", "score"} <= set(hit)
    assert hit["source_id"] == source["id"] and "Saturday" in hit["text"] and hit["title"] == "Opening hours"
    assert 0 <= body["confidence"] <= 1


def test_markdown_upload_keeps_headings_and_answers_in_french(agent) -> None:
    org, agent_id = agent
    files = {"file": ("tarifs.md", io.BytesIO(PRICES.encode()), "text/markdown")}
    r = org.post(f"/api/v1/agents/{agent_id}/sources", files=files)
    assert r.status_code == 202, r.text
    source = r.json()
    assert source["kind"] == "file" and source["filename"] == "tarifs.md"
    chunks = org.get(f"/api/v1/agents/{agent_id}/sources/{source['id']}/chunks").json()["chunks"]
    assert any(c["heading_path"][-1] == "Blanchiment" and "2500" in c["text"] for c in chunks)
    hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "combien coûte le blanchiment ?"}).json()
    assert "2500" in hits["results"][0]["text"]


def test_qa_pairs_are_one_passage_each(agent) -> None:
    org, agent_id = agent
    for q, a in (
        ("Do you accept insurance?", "Yes, we accept CNSS and most private insurers."),
        ("Is there parking?", "Free parking is available behind the clinic."),
    ):
        assert (
            org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "qa", "question": q, "answer": a}).status_code
            == 202
        )
    hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "where can I park my car"}).json()["results"]
    assert "parking" in hits[0]["text"].lower()


def test_unanswerable_question_has_low_confidence(agent) -> None:
    org, agent_id = agent
    org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": HOURS[0], "text": HOURS[1]})
    good = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "opening hours on saturday"}).json()
    bad = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "quantum chromodynamics lattice"}).json()
    assert bad["confidence"] < good["confidence"]


def test_deleting_a_source_removes_chunks_file_and_search_hits(agent) -> None:
    org, agent_id = agent
    files = {"file": ("tarifs.md", io.BytesIO(PRICES.encode()), "text/markdown")}
    source = org.post(f"/api/v1/agents/{agent_id}/sources", files=files).json()
    with open_session() as s:
        stored = s.get(Source, source["id"]).stored_file
    path = get_settings().data_dir / "files" / stored
    assert path.exists() and b"Blanchiment" not in path.read_bytes()  # encrypted at rest
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "blanchiment"}).json()["results"]
    assert org.client.delete(f"/api/v1/agents/{agent_id}/sources/{source['id']}").status_code == 204
    assert not path.exists()
    with open_session() as s:
        assert s.query(Chunk).filter(Chunk.source_id == source["id"]).count() == 0
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "blanchiment"}).json()["results"] == []
    assert org.get(f"/api/v1/agents/{agent_id}/sources/{source['id']}").status_code == 404


@pytest.mark.parametrize(
    "files,code,status",
    [
        ({"file": ("empty.txt", b"", "text/plain")}, "empty_file", 422),
        ({"file": ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")}, "unsupported_type", 415),
    ],
)
def test_bad_uploads_get_a_clear_4xx_and_store_nothing(agent, files, code, status) -> None:
    org, agent_id = agent
    r = org.post(f"/api/v1/agents/{agent_id}/sources", files=files)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert _sources(org, agent_id) == []
    assert not list((get_settings().data_dir / "files").glob(f"{org.id}/kb/*"))


def test_too_large_upload_is_refused(agent, monkeypatch) -> None:
    org, agent_id = agent
    monkeypatch.setenv("JASPING_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        r = org.post(
            f"/api/v1/agents/{agent_id}/sources", files={"file": ("big.txt", b"a" * (1024 * 1024 + 10), "text/plain")}
        )
        assert r.status_code in (413, 422) and r.json()["error"]["code"] == "too_large"
        assert "1 MB" in r.json()["error"]["message"]
    finally:
        monkeypatch.delenv("JASPING_MAX_UPLOAD_MB")
        get_settings.cache_clear()
    assert _sources(org, agent_id) == []


def test_corrupt_pdf_fails_with_a_reason_and_leaves_no_chunks(agent) -> None:
    org, agent_id = agent
    r = org.post(
        f"/api/v1/agents/{agent_id}/sources", files={"file": ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "application/pdf")}
    )
    assert r.status_code == 202
    (source,) = _sources(org, agent_id)
    assert source["state"] == "failed" and source["error_code"] == "corrupt_file" and source["error_message"]
    assert source["chunk_count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"type": "url", "url": "ftp://example.org/file"},
        {"type": "url", "url": "not a url"},
        {"type": "text", "title": "", "text": "x"},
        {"type": "qa", "question": "q"},
        {"type": "video", "url": "https://example.org"},
    ],
)
def test_bad_json_sources_are_422(agent, body) -> None:
    org, agent_id = agent
    r = org.post(f"/api/v1/agents/{agent_id}/sources", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]
    r = org.post(f"/api/v1/agents/{agent_id}/sources", content=b"{broken", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_search_input_is_validated(agent) -> None:
    org, agent_id = agent
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": ""}).status_code == 422
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "x" * 1001}).status_code == 422
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "hi", "k": 0}).status_code == 422
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "مرحبا 👋 ‏שלום"}).status_code == 200


def test_a_change_made_in_another_process_is_seen_by_search(agent, db_url, tmp_path) -> None:
    org, agent_id = agent
    org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": HOURS[0], "text": HOURS[1]})
    assert org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "whitening price"}).json()["confidence"] < 0.5
    doc = tmp_path / "whitening.md"
    doc.write_text("# Whitening\n\nTeeth whitening costs 2500 dirhams and takes two sessions.\n")
    out = subprocess.run(
        [JASPING, "kb", "add", "--agent", agent_id, str(doc)],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert "ready" in out.stdout
    hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "whitening price"}).json()["results"]
    assert "2500" in hits[0]["text"]


def test_a_source_whose_job_was_lost_is_restarted(agent, db_url) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from jasping import clock
    from jasping.db import session_scope
    from jasping.jobs import tasks  # noqa: F401
    from jasping.jobs.schedule import REGISTRY, run_job

    org, agent_id = agent
    source_id = org.post(
        f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": HOURS[0], "text": HOURS[1]}
    ).json()["id"]
    with session_scope() as s:  # as if a worker died mid-ingestion an hour ago
        s.execute(
            update(Source)
            .where(Source.id == source_id)
            .values(state="processing", updated_at=clock.now() - timedelta(hours=1))
        )
    result = run_job(REGISTRY["recrawl_sources"], clock.now(), force=True)["result"]
    assert result["restarted"] == 1
    assert org.get(f"/api/v1/agents/{agent_id}/sources/{source_id}").json()["state"] == "ready"


def test_a_rolled_back_upload_leaves_no_file(agent) -> None:
    from jasping.knowledge import service
    from jasping.security.audit import Actor

    org, agent_id = agent
    session = open_session(org.id)
    try:
        source = service.add_file(
            session,
            agent_id=agent_id,
            filename="a.txt",
            data=b"hello world",
            content_type="text/plain",
            actor=Actor("user"),
            enqueue=False,
        )
        path = get_settings().data_dir / "files" / source.stored_file
        assert path.exists()
        session.rollback()
        assert not path.exists()
    finally:
        session.close()
