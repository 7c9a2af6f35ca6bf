"""Search an agent's knowledge: a per-agent index, built from the database and cached in the process.

The database is the source of truth. Each process keeps the indexes of recently searched agents
and checks the agent's `kb_version` on every search (one indexed read): when another web or worker
process has changed the agent's knowledge, the index is rebuilt before answering.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.agents.models import Agent
from jasping.errors import Invalid, NotFound
from jasping.knowledge.ingest.chunker import chunk_search_text
from jasping.knowledge.lexical import LexicalIndex, confidence
from jasping.knowledge.models import Chunk, Document, Source
from jasping.knowledge.types import ChunkDraft

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


@dataclass
class AgentIndex:
    version: int
    lexical: LexicalIndex
    passages: dict[str, Passage]


@dataclass
class SearchOutcome:
    query: str
    confidence: float
    results: list[tuple[Passage, float]]


_cache: OrderedDict[str, AgentIndex] = OrderedDict()
_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}


def _load(session: Session, agent_id: str, version: int) -> AgentIndex:
    rows = session.execute(
        select(
            Chunk.id,
            Chunk.source_id,
            Chunk.text,
            Chunk.heading_path,
            Chunk.page,
            Chunk.language,
            Document.title,
            Document.url,
            Source.title,
        )
        .join(Document, Document.id == Chunk.document_id)
        .join(Source, Source.id == Chunk.source_id)
        .where(Chunk.agent_id == agent_id)
        .order_by(Chunk.source_id, Chunk.ordinal)
    ).all()
    passages, items = {}, []
    for cid, sid, text, heads, page, lang, doc_title, url, src_title in rows:
        heads = tuple(heads or ())
        passages[cid] = Passage(cid, sid, doc_title or src_title, url, page, heads, text)
        items.append((cid, chunk_search_text(ChunkDraft(text=text, heading_path=heads)), lang))
    return AgentIndex(version, LexicalIndex.build(items), passages)


def agent_index(session: Session, agent_id: str) -> AgentIndex:
    """The up-to-date index of an agent of the session's organization (404 for another's)."""
    version = session.execute(select(Agent.kb_version).where(Agent.id == agent_id)).scalar()
    if version is None:
        raise NotFound("no such agent", code="agent_not_found")
    with _lock:
        cached = _cache.get(agent_id)
        if cached is not None and cached.version == version:
            _cache.move_to_end(agent_id)
            return cached
        build_lock = _building.setdefault(agent_id, threading.Lock())
    with build_lock:  # one build per agent at a time; others wait and reuse it
        with _lock:
            cached = _cache.get(agent_id)
            if cached is not None and cached.version == version:
                return cached
        index = _load(session, agent_id, version)
        with _lock:
            _cache[agent_id] = index
            _cache.move_to_end(agent_id)
            while len(_cache) > MAX_AGENTS:
                _cache.popitem(last=False)
        return index


def search(session: Session, agent_id: str, query: str, k: int = 10, lang: str | None = None) -> SearchOutcome:
    """The `k` best passages for `query`, with a confidence in [0, 1] that the best one answers it."""
    query = (query or "").strip()
    if not query:
        raise Invalid("the search query is empty", code="empty_query")
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(f"the search query is longer than {MAX_QUERY_CHARS} characters", code="query_too_long")
    k = max(1, min(int(k), 50))
    index = agent_index(session, agent_id)
    hits = index.lexical.search(query, k=k, lang=lang)
    results = [(index.passages[h.chunk_id], h.score) for h in hits if h.chunk_id in index.passages]
    return SearchOutcome(query, confidence(hits) if hits else 0.0, results)


def forget(agent_id: str | None = None) -> None:
    """Drop cached indexes (all, or one agent's)."""
    with _lock:
        if agent_id is None:
            _cache.clear()
        else:
            _cache.pop(agent_id, None)
