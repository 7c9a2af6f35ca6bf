"""Search an agent's knowledge: a per-agent index, built from the database and cached in the process.

The database is the source of truth. Each process keeps the indexes of recently searched agents
and checks the agent's `kb_version` on every search (one indexed read). No message waits for a build
it can avoid:
- a process that changes an agent's knowledge (ingestion, a source removed) rebuilds the index in the
  background right after the commit (`refresh_after_commit`), and its own searches wait for that build,
  so they see the change;
- when another process changed it, the first search to notice rebuilds it, and searches arriving
  meanwhile answer from the previous index;
- at start-up (`warm_in_background`) the indexes of the agents that spoke last are loaded in a thread.
Every built index is also written to disk (`persist`), and an index is loaded from there when its `kb_version` and
the code match, instead of being built from the database: a restart costs reading files, not re-tokenising.
A background build needs its own database connection: with a single shared connection (`StaticPool`,
in-memory SQLite in tests) builds stay where they were, in the searching thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from jasping.agents.models import Agent
from jasping.config import get_settings
from jasping.db import after_commit, session_scope
from jasping.errors import Invalid, NotFound
from jasping.knowledge import persist
from jasping.knowledge.dense import DenseIndex, Embedder, EmbeddingsUnavailable, get_embedder
from jasping.knowledge.fusion import LEXICAL_ONLY, fuse_with_confidence, params_for
from jasping.knowledge.ingest.chunker import chunk_search_text
from jasping.knowledge.lexical import LexicalIndex
from jasping.knowledge.models import Chunk, Document, Source
from jasping.knowledge.types import ChunkDraft

log = logging.getLogger(__name__)
MAX_AGENTS = 32
MAX_QUERY_CHARS = 1000


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    source_id: str
    title: str
    url: str | None
    page: int | None
    heading_path: tuple[str, ...]
    text: str
    language: str | None = None  # detected at ingestion (the model reads it instead of detecting it per turn)


@dataclass
class AgentIndex:
    version: int
    lexical: LexicalIndex
    passages: Mapping[str, Passage]  # a dict when built; made on demand when loaded from disk (`persist`)
    ids: list[str]  # insertion order of both indexes
    dense: DenseIndex | None = None
    language: str | None = None  # the documents' main language (fusion weights)


@dataclass
class SearchOutcome:
    query: str
    confidence: float
    results: list[tuple[Passage, float]]
    semantic: bool = False  # embeddings took part in the ranking


_cache: OrderedDict[str, AgentIndex] = OrderedDict()
_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}
_changed_here: set[str] = set()  # agents whose knowledge this process changed: searches wait for the new index


def _load(session: Session, agent_id: str, version: int) -> AgentIndex:
    embedder = _embedder()
    # Three plain queries joined here, not one SQL join: with the tenant filter on every table,
    # PostgreSQL without fresh statistics picked a nested loop that cost seconds at 20,000 chunks.
    docs = {
        did: (title, url)
        for did, title, url in session.execute(
            select(Document.id, Document.title, Document.url).where(Document.agent_id == agent_id)
        )
    }
    titles = dict(session.execute(select(Source.id, Source.title).where(Source.agent_id == agent_id)).all())
    chunk_rows = session.execute(
        select(
            Chunk.id,
            Chunk.source_id,
            Chunk.document_id,
            Chunk.text,
            Chunk.heading_path,
            Chunk.page,
            Chunk.language,
            Chunk.embedding_model,
            Chunk.embedding if embedder else literal(None),
        )
        .where(Chunk.agent_id == agent_id)
        .order_by(Chunk.source_id, Chunk.ordinal)
    ).all()
    rows = [
        (cid, sid, text, heads, page, lang, *(docs.get(did) or (None, None)), titles.get(sid), model, blob)
        for cid, sid, did, text, heads, page, lang, model, blob in chunk_rows
    ]
    passages, items, ids, blobs, languages = {}, [], [], [], Counter()
    for cid, sid, text, heads, page, lang, doc_title, url, src_title, model, blob in rows:
        heads = tuple(heads or ())
        passages[cid] = Passage(cid, sid, doc_title or src_title, url, page, heads, text, lang)
        items.append((cid, chunk_search_text(ChunkDraft(text=text, heading_path=heads)), lang))
        ids.append(cid)
        blobs.append(blob if embedder and model == embedder.name else None)
        languages[lang] += 1
    dense = None
    if embedder and any(b is not None for b in blobs):
        dim = next(len(b) for b in blobs if b is not None) // 4  # as stored (a remote model's size may be unknown)
        dense = DenseIndex.from_blobs(ids, blobs, dim)
    main_language = languages.most_common(1)[0][0] if languages else None
    index = AgentIndex(version, LexicalIndex.build(items), passages, ids, dense, main_language)
    del rows, chunk_rows, items, blobs
    _give_back_memory()
    return index


def _obtain(session: Session, agent_id: str, version: int, *, write_apart: bool) -> AgentIndex:
    """The agent's index for `version`: from disk when it was stored, else built from the database and stored
    (`write_apart`: in a thread of its own, so that a waiting search does not wait for the disk too)."""
    stored = _from_disk(agent_id, version)
    if stored is not None:
        return stored
    index = _load(session, agent_id, version)
    if write_apart:
        threading.Thread(target=_to_disk, args=(agent_id, index), name=f"index-save-{agent_id}", daemon=True).start()
    else:
        _to_disk(agent_id, index)
    return index


def _embedder_name() -> str | None:
    embedder = _embedder()
    return embedder.name if embedder else None


def _from_disk(agent_id: str, version: int) -> AgentIndex | None:
    parts = persist.load(agent_id, version, _embedder_name())
    if parts is None:
        return None
    passages = persist.Passages(parts["ids"], parts["passages"], _passage)
    return AgentIndex(version, parts["lexical"], passages, parts["ids"], parts["dense"], parts["language"])


def _passage(cid, sid, title, url, page, heads, text, lang) -> Passage:  # noqa: ANN001 - the stored columns
    return Passage(cid, sid, title, url, page, tuple(heads or ()), text, lang)


def _to_disk(agent_id: str, index: AgentIndex) -> None:
    passages = [
        (p.chunk_id, p.source_id, p.title, p.url, p.page, list(p.heading_path), p.text, p.language)
        for p in (index.passages[cid] for cid in index.ids)
    ]
    persist.save(
        agent_id,
        index.version,
        lexical=index.lexical,
        passages=passages,
        dense=index.dense,
        language=index.language,
        embedder=_embedder_name(),
    )


def _give_back_memory() -> None:
    """Return the build's freed memory to the system (glibc keeps it otherwise: on 20,000 chunks the process
    stayed ~90 MB larger than what the index holds). A no-op where glibc's `malloc_trim` is absent."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _embedder() -> Embedder | None:
    try:
        return get_embedder(get_settings())
    except EmbeddingsUnavailable as exc:
        log.warning("embeddings unavailable, lexical search only: %s", exc)
        return None


def _warm_embedder() -> None:
    """Load the local embeddings model (~1.4 s) ahead of the questions; a remote embedder has nothing to load."""
    warm = getattr(_embedder(), "warm", None)
    if warm is not None:
        try:
            warm()
        except EmbeddingsUnavailable as exc:
            log.warning("embeddings unavailable, lexical search only: %s", exc)


def agent_index(session: Session, agent_id: str, version: int | None = None) -> AgentIndex:
    """The up-to-date index of an agent of the session's organization (404 for another's); while another thread
    builds the new one after another process's change, the previous index. `version`: the agent's `kb_version` when
    the caller has just read it in this session (a turn reads it with its conversation)."""
    if version is None:
        version = session.execute(select(Agent.kb_version).where(Agent.id == agent_id)).scalar()
    if version is None:
        raise NotFound("no such agent", code="agent_not_found")
    with _lock:
        cached = _cache.get(agent_id)
        if cached is not None and cached.version == version:
            _cache.move_to_end(agent_id)
            return cached
        build_lock = _building.setdefault(agent_id, threading.Lock())
        if cached is not None and agent_id not in _changed_here and build_lock.locked():
            return cached  # another thread is building the new index: answer from the previous one meanwhile
    with build_lock:  # one build per agent at a time; others wait and reuse it
        with _lock:
            cached = _cache.get(agent_id)
            if cached is not None and cached.version == version:
                return cached
        index = _obtain(session, agent_id, version, write_apart=True)
        _store(agent_id, index)
        return index


def _store(agent_id: str, index: AgentIndex) -> None:
    with _lock:
        current = _cache.get(agent_id)
        if current is None or current.version <= index.version:
            _cache[agent_id] = index
            _cache.move_to_end(agent_id)
        while len(_cache) > MAX_AGENTS:
            _cache.popitem(last=False)


def _can_build_apart(session: Session) -> bool:
    """Whether a thread of its own can read the database (not with one connection shared by all)."""
    bind = session.get_bind()
    return not isinstance(getattr(bind, "pool", None), StaticPool)


def _build(agent_id: str, org_id: str | None, *, stored_only: bool = False) -> bool:
    """Bring the agent's cached index up to date (under the agent's build lock, held by the caller); with
    `stored_only`, only from disk (False when it is not stored there: nothing was built)."""
    with session_scope(org_id, write=False) as session:
        version = session.execute(select(Agent.kb_version).where(Agent.id == agent_id)).scalar()
        with _lock:
            cached = _cache.get(agent_id)
        if version is not None and (cached is None or cached.version != version):
            index = (
                _from_disk(agent_id, version) if stored_only else _obtain(session, agent_id, version, write_apart=False)
            )
            if index is None:
                return False
            _store(agent_id, index)
            if index.dense is not None:  # searched by meaning: the model loads now, not on the first question
                _warm_embedder()
    with _lock:
        _changed_here.discard(agent_id)
    return True


def _start_build(agent_id: str, org_id: str | None) -> None:
    """Build the agent's index in a background thread, unless a build of it is already running."""
    with _lock:
        build_lock = _building.setdefault(agent_id, threading.Lock())
    if not build_lock.acquire(blocking=False):
        return

    def run() -> None:
        try:
            _build(agent_id, org_id)
        except Exception:  # noqa: BLE001 - the next search builds it in its own thread
            log.exception("background index build of agent %s failed", agent_id)
            with _lock:
                _changed_here.discard(agent_id)
        finally:
            build_lock.release()

    threading.Thread(target=run, name=f"index-{agent_id}", daemon=True).start()


def refresh_after_commit(session: Session, agent_id: str) -> None:
    """The agent's knowledge changes in this transaction: once it commits, rebuild its index in the background;
    this process's searches wait for that build (they must see the change), other processes' do not."""
    if not _can_build_apart(session):
        return  # the next search rebuilds it (kb_version changed)
    org_id = session.info.get("org_id")
    with _lock:
        _changed_here.add(agent_id)
    after_commit(session, lambda: _start_build(agent_id, org_id))


def _warm_queries(agent_id: str) -> None:
    """One search per language of the agent's documents: the analysers, stemmers and the lexicon's tables load now,
    not on the first customer's question (an index read from disk has not loaded them)."""
    with _lock:
        index = _cache.get(agent_id)
    if index is not None and index.ids:
        for lang in dict.fromkeys([*index.lexical.languages, None]):
            index.lexical.scores("opening hours price horaires prix", lang=lang)


def warm_in_background(limit: int = MAX_AGENTS, loaded: threading.Event | None = None) -> threading.Thread:
    """At start-up, in a thread: the indexes of the `limit` agents with knowledge whose customers wrote last — first
    those stored on disk (reading files; `loaded` is set once they are in memory, or at once when there are none),
    then the others are built from the database."""

    def run() -> None:
        try:
            from jasping.conversations.models import Conversation

            with session_scope(None, write=False) as session:
                if not _can_build_apart(session):
                    return
                last = func.max(Conversation.last_message_at)
                recent = select(Conversation.agent_id, Conversation.org_id, last).group_by(
                    Conversation.agent_id, Conversation.org_id
                )
                has_chunks = select(Chunk.agent_id).distinct()
                known = set(session.execute(has_chunks).scalars())
                agents = [(a, o) for a, o, _ in sorted(session.execute(recent), key=lambda r: r[2], reverse=True)]
            chosen = [(a, o) for a, o in agents if a in known][:limit]
            # the embeddings model (~1.4 s) loads after the first index with vectors (`_build`), still before a
            # customer's question needs it
            missing = [(a, o) for a, o in chosen if not _warm_one(a, o, stored_only=True)]
            if loaded is not None:
                loaded.set()
            for agent_id, org_id in missing:
                _warm_one(agent_id, org_id, stored_only=False)
        except Exception:  # noqa: BLE001 - start-up goes on; searches build what they need
            log.exception("warming the search indexes failed")
        finally:
            if loaded is not None:
                loaded.set()

    thread = threading.Thread(target=run, name="index-warm", daemon=True)
    thread.start()
    return thread


def _warm_one(agent_id: str, org_id: str | None, *, stored_only: bool) -> bool:
    with _lock:
        build_lock = _building.setdefault(agent_id, threading.Lock())
    with build_lock:
        ready = _build(agent_id, org_id, stored_only=stored_only)
    if ready:
        _warm_queries(agent_id)
    return ready


def search(
    session: Session, agent_id: str, query: str, k: int = 10, lang: str | None = None, *, version: int | None = None
) -> SearchOutcome:
    """The `k` best passages for `query`, with a confidence in [0, 1] that the best one answers it (`version`: the
    agent's `kb_version` as the caller read it in this session, saving a query)."""
    query = (query or "").strip()
    if not query:
        raise Invalid("the search query is empty", code="empty_query")
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(f"the search query is longer than {MAX_QUERY_CHARS} characters", code="query_too_long")
    k = max(1, min(int(k), 50))
    index = agent_index(session, agent_id, version)
    if not index.ids:
        return SearchOutcome(query, 0.0, [])
    lexical = index.lexical.scores(query, lang=lang)
    dense_scores, params = None, LEXICAL_ONLY
    embedder = _embedder()
    if index.dense is not None and embedder is not None:
        try:
            dense_scores = index.dense.scores(embedder.embed_query(query))
            params = params_for(embedder.name, index.language)
        except EmbeddingsUnavailable as exc:  # the remote model is down: answer lexically
            log.warning("query embedding failed: %s", exc)
    hits, conf = fuse_with_confidence(lexical, dense_scores, index.ids, k, params=params)
    results = [(index.passages[h.chunk_id], h.score) for h in hits]
    return SearchOutcome(query, conf, results, semantic=dense_scores is not None)


def forget(agent_id: str | None = None) -> None:
    """Drop cached indexes (all, or one agent's)."""
    with _lock:
        if agent_id is None:
            _cache.clear()
        else:
            _cache.pop(agent_id, None)
