"""Service functions of the knowledge base: add, list, refresh and delete sources.

Adding a source records it as `queued` (within the plan's knowledge size: `billing.usage.require_room`) and, once
the transaction commits, enqueues its ingestion job (`jasping.knowledge.ingestion`). Every change to an agent's
chunks bumps the agent's `kb_version`, which is how search indexes in every process notice that they are stale.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.agents.models import Agent
from jasping.agents.service import get_agent
from jasping.billing import usage
from jasping.config import get_settings
from jasping.db import after_commit, after_rollback, new_id
from jasping.errors import Invalid, NotFound, TooLarge, UnsupportedType
from jasping.knowledge.ingest.sniff import sniff
from jasping.knowledge.models import Chunk, Document, Source
from jasping.knowledge.schemas import QaSourceCreate, TextSourceCreate, UrlSourceCreate
from jasping.knowledge.types import IngestError
from jasping.security import audit
from jasping.security.audit import Actor


def enqueue_ingestion(session: Session, source: Source) -> None:
    """Run the ingestion job once this transaction has committed."""
    org_id, source_id = source.org_id, source.id

    def _enqueue() -> None:
        from jasping.jobs.tasks import ingest_source

        ingest_source(org_id, source_id)

    after_commit(session, _enqueue)


def bump_version(session: Session, agent_id: str) -> None:
    """The agent's knowledge changed: every process's index of it is out of date; this one rebuilds it at commit."""
    from jasping.knowledge import retrieval

    session.execute(update(Agent).where(Agent.id == agent_id).values(kb_version=Agent.kb_version + 1))
    retrieval.refresh_after_commit(session, agent_id)


def _new_source(
    session: Session,
    *,
    agent_id: str,
    kind: str,
    title: str,
    actor: Actor,
    enqueue: bool = True,
    chars: int = 1,
    **fields,
) -> Source:
    """`chars`: the text it adds, when known before reading (a typed text); otherwise 1 — refused only when the
    knowledge base is already full, the ingestion job checks the text it read (the plan's limit, billing)."""
    agent = get_agent(session, agent_id)  # 404 for another organization's agent
    usage.require_room(session, agent.org_id, "knowledge_chars", chars)
    source = Source(id=new_id("src"), agent_id=agent_id, kind=kind, title=title[:300], state="queued", **fields)
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="kb_source.create",
        org_id=source.org_id,
        object_type="kb_source",
        object_id=source.id,
        detail={"kind": kind},
    )
    if enqueue:
        enqueue_ingestion(session, source)
    return source


def add_file(
    session: Session,
    *,
    agent_id: str,
    filename: str,
    data: bytes,
    content_type: str | None,
    actor: Actor,
    enqueue: bool = True,
) -> Source:
    """A file source: checked for size now, stored encrypted, parsed by the job."""
    limit = get_settings().max_upload_mb * 1024 * 1024
    if not data:
        raise Invalid("the file is empty", code="empty_file")
    if len(data) > limit:
        raise TooLarge(f"the file is larger than {get_settings().max_upload_mb} MB")
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:300] or "upload"
    try:
        sniff(data, name, content_type)  # refuse what we cannot read now, not after a job
    except IngestError as exc:
        error = UnsupportedType if exc.code == "unsupported_type" else Invalid
        raise error(exc.message, code=exc.code) from exc
    source = _new_source(
        session,
        agent_id=agent_id,
        kind="file",
        title=name,
        actor=actor,
        enqueue=enqueue,
        filename=name,
        content_type=(content_type or "")[:120] or None,
        size_bytes=len(data),
    )
    source.stored_file = storage.put(org_id=source.org_id, area="kb", name=source.id, data=data)
    stored = source.stored_file
    after_rollback(session, lambda: storage.delete(stored))  # no orphan file if the source is not saved
    return source


def add_from_json(
    session: Session,
    *,
    agent_id: str,
    source_in: UrlSourceCreate | TextSourceCreate | QaSourceCreate,
    actor: Actor,
    enqueue: bool = True,
) -> Source:
    if isinstance(source_in, UrlSourceCreate):
        url = str(source_in.url)
        kind = "website" if source_in.crawl else "url"
        return _new_source(
            session,
            agent_id=agent_id,
            kind=kind,
            title=source_in.title or url,
            url=url,
            actor=actor,
            enqueue=enqueue,
            options={"max_pages": source_in.max_pages, "max_depth": source_in.max_depth},
            recrawl_days=source_in.recrawl_days,
        )
    if isinstance(source_in, TextSourceCreate):
        return _new_source(
            session,
            agent_id=agent_id,
            kind="text",
            title=source_in.title.strip(),
            actor=actor,
            enqueue=enqueue,
            body=source_in.text,
            size_bytes=len(source_in.text.encode()),
            chars=len(source_in.text),
        )
    return _new_source(
        session,
        agent_id=agent_id,
        kind="qa",
        title=source_in.question.strip(),
        actor=actor,
        enqueue=enqueue,
        body=source_in.answer,
        options={"question": source_in.question.strip()},
        chars=len(source_in.question.strip()) + len(source_in.answer),
    )


def list_sources(session: Session, agent_id: str) -> list[Source]:
    get_agent(session, agent_id)
    return list(
        session.execute(
            select(Source).where(Source.agent_id == agent_id).order_by(Source.created_at.desc(), Source.id)
        ).scalars()
    )


def get_source(session: Session, agent_id: str, source_id: str) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.agent_id != agent_id:
        raise NotFound("no such source", code="source_not_found")
    return source


def list_chunks(session: Session, source: Source, limit: int = 200, offset: int = 0) -> list[Chunk]:
    return list(
        session.execute(
            select(Chunk).where(Chunk.source_id == source.id).order_by(Chunk.ordinal).limit(limit).offset(offset)
        ).scalars()
    )


def refresh(session: Session, *, agent_id: str, source_id: str, actor: Actor) -> Source:
    """Ingest again now (a re-crawl for URL and website sources)."""
    source = get_source(session, agent_id, source_id)
    if source.state in ("queued", "processing"):
        return source
    source.state, source.progress, source.progress_note = "queued", 0, None
    audit.record(
        session,
        actor=actor,
        action="kb_source.refresh",
        org_id=source.org_id,
        object_type="kb_source",
        object_id=source.id,
    )
    enqueue_ingestion(session, source)
    return source


def delete_source(session: Session, *, agent_id: str, source_id: str, actor: Actor) -> None:
    """Remove a source, its documents, chunks and stored file; search forgets it everywhere."""
    source = get_source(session, agent_id, source_id)
    stored = source.stored_file
    session.execute(delete(Chunk).where(Chunk.source_id == source.id))
    session.execute(delete(Document).where(Document.source_id == source.id))
    session.delete(source)
    bump_version(session, agent_id)
    audit.record(
        session,
        actor=actor,
        action="kb_source.delete",
        org_id=source.org_id,
        object_type="kb_source",
        object_id=source.id,
    )
    after_commit(session, lambda: storage.delete(stored))


def due_for_recrawl(session: Session, now=None) -> list[Source]:  # noqa: ANN001
    """URL and website sources whose re-crawl time has come (across organizations: a platform job)."""
    now = now or clock.now()
    return list(
        session.execute(
            select(Source).where(Source.next_crawl_at <= now, Source.state.in_(("ready", "failed")))
        ).scalars()
    )


def schedule_next_crawl(source: Source) -> None:
    if source.kind in ("url", "website") and source.recrawl_days:
        source.next_crawl_at = clock.now() + timedelta(days=source.recrawl_days)


def fail(source: Source, error: IngestError) -> None:
    source.state, source.error_code, source.error_message = "failed", error.code, error.message
    source.progress_note = None


STALE_AFTER = timedelta(minutes=30)


def stalled(session: Session, now=None) -> list[Source]:  # noqa: ANN001
    """Sources queued or processing with no progress for 30 minutes: their job was lost (a worker died)."""
    now = now or clock.now()
    return list(
        session.execute(
            select(Source).where(Source.state.in_(("queued", "processing")), Source.updated_at <= now - STALE_AFTER)
        ).scalars()
    )
