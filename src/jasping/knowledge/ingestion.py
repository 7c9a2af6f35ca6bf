"""The ingestion job: parse a source, chunk it, and swap its chunks in one transaction.

Parsing and fetching happen outside any transaction (they can take minutes); progress is written
in short transactions of its own so the dashboard shows it live; the final swap of documents and
chunks, the source's state and the agent's `kb_version` commit together, so search never sees a
half-indexed source. A text that does not fit the plan's knowledge size (billing) fails the source with
`plan_limit` and writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.billing import usage
from jasping.billing.usage import PlanLimit
from jasping.config import get_settings
from jasping.db import new_id, session_scope
from jasping.knowledge import service
from jasping.knowledge.dense import EmbeddingsUnavailable, get_embedder, to_blob
from jasping.knowledge.ingest.chunker import chunk_document, chunk_search_text, normalized_hash
from jasping.knowledge.ingest.crawl import crawl_site
from jasping.knowledge.ingest.fetch import fetch_url
from jasping.knowledge.ingest.parse import parse_file, parse_html_page, parse_qa, parse_text
from jasping.knowledge.models import Chunk, Document, Source
from jasping.knowledge.types import ChunkDraft, IngestError, ParsedDocument

log = logging.getLogger(__name__)
Progress = Callable[[int, str], None]


@dataclass
class _Snapshot:
    """What the job needs of a source, read once so no transaction stays open while parsing."""

    id: str
    org_id: str
    agent_id: str
    kind: str
    title: str
    url: str | None
    filename: str | None
    content_type: str | None
    stored_file: str | None
    body: str | None
    options: dict


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    return body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _documents(src: _Snapshot, report: Progress) -> Iterator[ParsedDocument]:
    settings = get_settings()
    max_bytes = settings.max_upload_mb * 1024 * 1024
    if src.kind == "file":
        report(10, "reading the file")
        yield parse_file(storage.get(src.stored_file), src.filename or "upload", src.content_type, max_bytes=max_bytes)
    elif src.kind == "text":
        yield _titled(parse_text(src.title, src.body or ""), src.title)
    elif src.kind == "qa":
        yield parse_qa(src.options.get("question") or src.title, src.body or "")
    elif src.kind == "url":
        report(5, "downloading")
        page = fetch_url(src.url, max_bytes=max_bytes, allow_private=settings.allow_private_urls)
        if _is_html(page.content_type, page.body):
            yield parse_html_page(page.body, page.url)
        else:
            name = page.url.rstrip("/").rsplit("/", 1)[-1] or "download"
            yield parse_file(page.body, name, page.content_type, max_bytes=max_bytes)
    elif src.kind == "website":
        max_pages = int(src.options.get("max_pages", 200))
        crawler = crawl_site(
            src.url,
            max_pages=max_pages,
            max_depth=int(src.options.get("max_depth", 3)),
            allow_private=settings.allow_private_urls,
            progress=lambda done, total, url: report(
                min(85, 5 + 80 * done // max(total, 1)), f"page {done} of {total}: {url[:200]}"
            ),
        )
        try:
            for page in crawler:
                try:
                    yield parse_html_page(page.body, page.url)
                except IngestError as exc:
                    log.info("page of source %s skipped: %s", src.id, exc.code)
        finally:
            crawler.close()
        yield from _linked_documents(src, crawler.documents[: max(0, max_pages - crawler.pages_fetched)], report)
        if crawler.failures:
            report(90, f"{len(crawler.failures)} pages could not be read")
    else:
        raise IngestError("unsupported_type", f"unknown source kind {src.kind}")


def _titled(doc: ParsedDocument, title: str) -> ParsedDocument:
    """A typed-in text's title heads its passages (it is what the text is about: "Opening hours")."""
    title = title.strip()
    for block in doc.blocks:
        if title and block.heading_path[:1] != (title,):
            block.heading_path = (title, *block.heading_path)
    return doc


def _linked_documents(src: _Snapshot, urls: list[str], report: Progress) -> Iterator[ParsedDocument]:
    """PDFs, Word and Excel files the website links to: part of what the business publishes."""
    settings = get_settings()
    for n, url in enumerate(urls, 1):
        report(88, f"linked document {n} of {len(urls)}: {url[:200]}")
        try:
            page = fetch_url(
                url, max_bytes=settings.max_upload_mb * 1024 * 1024, allow_private=settings.allow_private_urls
            )
            yield parse_file(
                page.body,
                url.rstrip("/").rsplit("/", 1)[-1] or "document",
                page.content_type,
                max_bytes=settings.max_upload_mb * 1024 * 1024,
            )
        except IngestError as exc:
            log.info("linked document of source %s skipped: %s", src.id, exc.code)


def _progress_writer(org_id: str, source_id: str, echo: Progress | None) -> Progress:
    last = [0.0]

    def report(percent: int, note: str) -> None:
        if echo:
            echo(percent, note)
        now = time.monotonic()
        if now - last[0] < 0.5:
            return
        last[0] = now
        with session_scope(org_id) as s:
            source = s.get(Source, source_id)
            if source is not None:
                source.progress, source.progress_note = max(0, min(99, percent)), note[:300]

    return report


def _snapshot(org_id: str, source_id: str) -> _Snapshot | None:
    with session_scope(org_id) as s:
        source = s.get(Source, source_id)
        if source is None:
            return None
        source.state, source.progress, source.progress_note = "processing", 1, "starting"
        source.error_code = source.error_message = None
        return _Snapshot(
            source.id,
            source.org_id,
            source.agent_id,
            source.kind,
            source.title,
            source.url,
            source.filename,
            source.content_type,
            source.stored_file,
            source.body,
            dict(source.options or {}),
        )


def _rows(src: _Snapshot, docs: list[ParsedDocument]) -> tuple[list[dict], list[dict]]:
    doc_rows, chunk_rows, seen = [], [], set()
    now = clock.now()
    for parsed in docs:
        doc_id = new_id("doc")
        drafts = chunk_document(parsed)
        kept = 0
        for draft in drafts:
            digest = normalized_hash(draft.text)
            if digest in seen:  # boilerplate repeated across pages, duplicate rows
                continue
            seen.add(digest)
            chunk_rows.append(
                {
                    "id": new_id("chk"),
                    "org_id": src.org_id,
                    "document_id": doc_id,
                    "source_id": src.id,
                    "agent_id": src.agent_id,
                    "ordinal": len(chunk_rows),
                    "text": draft.text,
                    "heading_path": list(draft.heading_path),
                    "page": draft.page,
                    "language": draft.language or parsed.language,
                    "text_hash": digest,
                    "created_at": now,
                }
            )
            kept += 1
        if kept:
            doc_rows.append(
                {
                    "id": doc_id,
                    "org_id": src.org_id,
                    "source_id": src.id,
                    "agent_id": src.agent_id,
                    "title": (parsed.title or src.title)[:300],
                    "url": parsed.url or src.url,
                    "language": parsed.language,
                    "pages": parsed.pages,
                    "chars": len(parsed.text),
                    "created_at": now,
                }
            )
    return doc_rows, chunk_rows


def ingest(org_id: str, source_id: str, *, echo: Progress | None = None) -> str:
    """Run the ingestion of one source; returns its final state (or `deleted`)."""
    src = _snapshot(org_id, source_id)
    if src is None:
        return "deleted"
    report = _progress_writer(org_id, source_id, echo)
    try:
        docs = list(_documents(src, report))
        report(92, "splitting into passages")
        doc_rows, chunk_rows = _rows(src, docs)
        if not chunk_rows:
            raise IngestError("no_extractable_text", "no text could be found in this source")
    except IngestError as exc:
        return _finish_failed(org_id, source_id, exc)
    except Exception:  # noqa: BLE001 - a person gets a reason, the log gets the details
        log.exception("ingestion of source %s failed", source_id)
        return _finish_failed(
            org_id,
            source_id,
            IngestError("internal", "something went wrong while reading this source; it has been logged"),
        )
    _embed(chunk_rows, report)
    report(96, "indexing")
    with session_scope(org_id) as s:
        source = s.get(Source, source_id)
        if source is None:
            return "deleted"
        try:
            _require_room(s, src, doc_rows)
        except PlanLimit as exc:  # the plan's knowledge size: nothing written, the source's old text kept
            service.fail(source, IngestError(exc.code, exc.message))
            service.schedule_next_crawl(source)
            return "failed"
        s.execute(delete(Chunk).where(Chunk.source_id == source_id))
        s.execute(delete(Document).where(Document.source_id == source_id))
        if doc_rows:
            s.execute(insert(Document), doc_rows)
            s.execute(insert(Chunk), chunk_rows)
        source.state, source.progress, source.progress_note = "ready", 100, None
        source.document_count, source.chunk_count, source.ingested_at = len(doc_rows), len(chunk_rows), clock.now()
        if len(docs) == 1 and source.kind in ("url",) and docs[0].title and source.title == source.url:
            source.title = docs[0].title[:300]
        service.schedule_next_crawl(source)
        service.bump_version(s, source.agent_id)
    if echo:
        echo(100, f"{len(chunk_rows)} passages from {len(doc_rows)} documents")
    return "ready"


def _require_room(session: Session, src: _Snapshot, doc_rows: list[dict]) -> None:
    """The text read must fit the plan's knowledge size, counting the source's own old text as free."""
    old = select(func.coalesce(func.sum(Document.chars), 0)).where(Document.source_id == src.id)
    usage.require_room(
        session,
        src.org_id,
        "knowledge_chars",
        sum(row["chars"] for row in doc_rows),
        replacing=session.execute(old).scalar_one(),
    )


def _embed(chunk_rows: list[dict], report: Progress) -> None:
    """Store a vector per chunk when dense retrieval is configured; without it search stays lexical."""
    try:
        embedder = get_embedder(get_settings())
    except EmbeddingsUnavailable as exc:
        log.warning("embeddings unavailable: %s", exc)
        return
    if embedder is None or not chunk_rows:
        return
    texts = [chunk_search_text(ChunkDraft(text=r["text"], heading_path=tuple(r["heading_path"]))) for r in chunk_rows]
    vectors = []
    try:
        for start in range(0, len(texts), 64):
            report(93 + 3 * start // len(texts), f"semantic index: {start} of {len(texts)} passages")
            vectors.extend(embedder.embed(texts[start : start + 64]))
    except EmbeddingsUnavailable as exc:
        log.warning("embedding failed, search stays lexical for this source: %s", exc)
        return
    for row, vector in zip(chunk_rows, vectors, strict=True):
        row["embedding"], row["embedding_model"] = to_blob(vector), embedder.name


def _finish_failed(org_id: str, source_id: str, error: IngestError) -> str:
    with session_scope(org_id) as s:
        source = s.get(Source, source_id)
        if source is None:
            return "deleted"
        service.fail(source, error)
        service.schedule_next_crawl(source)
    return "failed"
