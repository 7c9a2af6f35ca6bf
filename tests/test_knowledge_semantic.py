"""Dense retrieval wired end to end: ingestion stores vectors from an OpenAI-compatible endpoint (a local
stand-in speaking the embeddings API's shapes), and search fuses them with lexical scores."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from jasping.config import get_settings
from jasping.db import open_session
from jasping.knowledge.dense import get_embedder
from jasping.knowledge.models import Chunk

# Words of one concept share a dimension, across languages: a stand-in for a multilingual model.
CONCEPTS = [
    ("parking", "stationnement", "garer", "car", "voiture", "park"),
    ("price", "prix", "tarif", "cost", "coûte", "combien", "dirhams"),
    ("hours", "horaires", "open", "ouvert", "ouverte", "lundi", "monday"),
]


def _vector(text: str) -> list[float]:
    words = text.lower().replace("?", " ").replace(".", " ").split()
    vec = [sum(w.startswith(c) for w in words for c in concept) for concept in CONCEPTS] + [0.1]
    norm = float(np.linalg.norm(vec))
    return [v / norm for v in vec]


class _Embeddings(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    calls: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Embeddings.calls.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        data = [{"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])]
        payload = json.dumps(
            {
                "object": "list",
                "data": data[::-1],
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def embeddings_server(monkeypatch) -> Iterator[str]:  # noqa: ANN001
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    monkeypatch.setenv("JASPING_EMBEDDINGS", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("JASPING_EMBEDDINGS_MODEL", "concepts-4d")
    get_settings.cache_clear()
    _Embeddings.calls.clear()
    yield url
    server.shutdown()
    for name in ("JASPING_EMBEDDINGS", "OPENAI_BASE_URL", "OPENAI_API_KEY", "JASPING_EMBEDDINGS_MODEL"):
        monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_vectors_are_stored_and_fused_into_search(client, make_org, embeddings_server) -> None:
    org = make_org("Clinic")
    agent_id = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()["id"]
    for q, a in (
        ("Où se garer ?", "Un stationnement gratuit se trouve derrière la clinique."),
        ("Quels sont les horaires ?", "La clinique est ouverte du lundi au vendredi de 9h à 18h."),
        ("Combien coûte un détartrage ?", "Le détartrage coûte 400 dirhams."),
    ):
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "qa", "question": q, "answer": a})
        assert r.status_code == 202
    with open_session(org.id) as s:
        chunks = s.query(Chunk).all()
    embedder = get_embedder(get_settings())
    assert _Embeddings.calls[0]["model"] == "concepts-4d"
    assert len(chunks) == 3 and all(c.embedding and c.embedding_model == embedder.name for c in chunks)
    assert _Embeddings.calls[0]["path"] == "/v1/embeddings" and _Embeddings.calls[0]["auth"] == "Bearer sk-test"
    # An English question sharing no word with the French passage: lexical search alone cannot find it.
    body = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "where can I park my car"}).json()
    assert body["results"] and "stationnement" in body["results"][0]["text"]
    assert body["confidence"] > 0.2


def test_search_falls_back_to_lexical_when_the_embeddings_endpoint_is_down(client, make_org, monkeypatch) -> None:
    org = make_org("Clinic")
    agent_id = org.post("/api/v1/agents", json={"name": "Amal"}).json()["id"]
    org.post(
        f"/api/v1/agents/{agent_id}/sources", json={"type": "text", "title": "Hours", "text": "Open Monday to Friday."}
    )
    monkeypatch.setenv("JASPING_EMBEDDINGS", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    get_settings.cache_clear()
    try:
        r = org.post(
            f"/api/v1/agents/{agent_id}/sources",
            json={"type": "text", "title": "Parking", "text": "Free parking behind the clinic."},
        )
        source = org.get(f"/api/v1/agents/{agent_id}/sources/{r.json()['id']}").json()
        assert source["state"] == "ready"  # stored without vectors, still searchable
        hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "parking"}).json()["results"]
        assert hits and "parking" in hits[0]["text"].lower()
    finally:
        for name in ("JASPING_EMBEDDINGS", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
            monkeypatch.delenv(name)
        get_settings.cache_clear()
