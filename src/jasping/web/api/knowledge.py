"""`/api/v1/agents/{agent_id}/sources` and `/search`: the agent's knowledge base."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from jasping.config import get_settings
from jasping.errors import Invalid, TooLarge
from jasping.knowledge import retrieval, service
from jasping.knowledge.schemas import ChunkRead, SearchResponse, SearchResult, SourceCreate, SourceRead
from jasping.web.api import API
from jasping.web.deps import MAX_OFFSET, AdminPrincipal, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/agents/{{agent_id}}", tags=["knowledge"])
_source_in = TypeAdapter(SourceCreate)


async def _read_upload(upload: UploadFile) -> bytes:
    limit = get_settings().max_upload_mb * 1024 * 1024
    data = bytearray()
    while chunk := await upload.read(1024 * 1024):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"the file is larger than {get_settings().max_upload_mb} MB")
    return bytes(data)


FILE_UPLOAD = {  # an OpenAPI request body's content: one file in a multipart form
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        }
    }
}


@router.post(
    "/sources",
    status_code=202,
    response_model=SourceRead,
    openapi_extra={
        "requestBody": {
            "content": {
                **FILE_UPLOAD,
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "url"},
                                    "url": {"type": "string"},
                                    "crawl": {"type": "boolean"},
                                },
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "text"},
                                    "title": {"type": "string"},
                                    "text": {"type": "string"},
                                },
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "qa"},
                                    "question": {"type": "string"},
                                    "answer": {"type": "string"},
                                },
                            },
                        ]
                    }
                },
            }
        }
    },
)
async def add_source(agent_id: str, request: Request, principal: AdminPrincipal, db: DbSession) -> SourceRead:
    """Add a file (multipart `file`), a URL or website (`{"type": "url", "url", "crawl"}`), a text
    (`{"type": "text", "title", "text"}`) or a Q&A pair (`{"type": "qa", "question", "answer"}`).
    Ingestion runs as a job: poll the source for `state` and `progress`."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("send the file in a multipart field named `file`", code="missing_file")
        data = await _read_upload(upload)
        source = await run_in_threadpool(
            service.add_file,
            db,
            agent_id=agent_id,
            filename=upload.filename or "upload",
            data=data,
            content_type=upload.content_type,
            actor=principal.actor,
        )
    elif ctype.startswith("application/json"):
        try:
            source_in = _source_in.validate_python(json.loads(await request.body()))
        except (ValueError, UnicodeDecodeError) as exc:
            message = _validation_message(exc) if isinstance(exc, ValidationError) else "the body is not valid JSON"
            raise Invalid(message) from exc
        source = await run_in_threadpool(
            service.add_from_json, db, agent_id=agent_id, source_in=source_in, actor=principal.actor
        )
    else:
        raise Invalid("send a multipart/form-data file or a JSON body", code="unsupported_media_type")
    return SourceRead.model_validate(source)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if not str(x).endswith("SourceCreate"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts)


@router.get("/sources", response_model=dict[str, list[SourceRead]])
def list_sources(agent_id: str, principal: CurrentPrincipal, db: DbSession) -> dict:
    """The agent's sources with their state (`queued`, `processing` with `progress`, `ready`, `failed`)."""
    return {"sources": [SourceRead.model_validate(s) for s in service.list_sources(db, agent_id)]}


@router.get("/sources/{source_id}", response_model=SourceRead)
def get_source(agent_id: str, source_id: str, principal: CurrentPrincipal, db: DbSession) -> SourceRead:
    return SourceRead.model_validate(service.get_source(db, agent_id, source_id))


@router.get("/sources/{source_id}/chunks", response_model=dict[str, list[ChunkRead]])
def list_chunks(
    agent_id: str,
    source_id: str,
    principal: CurrentPrincipal,
    db: DbSession,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """The passages extracted from a source, in order (a preview of what the agent knows)."""
    source = service.get_source(db, agent_id, source_id)
    return {"chunks": [ChunkRead.model_validate(c) for c in service.list_chunks(db, source, limit, offset)]}


@router.post("/sources/{source_id}/refresh", status_code=202, response_model=SourceRead)
def refresh_source(agent_id: str, source_id: str, principal: AdminPrincipal, db: DbSession) -> SourceRead:
    """Ingest the source again now (re-crawl a URL or website)."""
    return SourceRead.model_validate(service.refresh(db, agent_id=agent_id, source_id=source_id, actor=principal.actor))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(agent_id: str, source_id: str, principal: AdminPrincipal, db: DbSession) -> Response:
    service.delete_source(db, agent_id=agent_id, source_id=source_id, actor=principal.actor)
    return Response(status_code=204)


@router.get("/search", response_model=SearchResponse)
def search(
    agent_id: str,
    principal: CurrentPrincipal,
    db: DbSession,
    q: str = Query(max_length=1000),
    k: int = Query(10, ge=1, le=50),
    lang: str | None = Query(None, max_length=8),
) -> SearchResponse:
    """The best passages for a question: `{"results": [{"source_id", "title", "url", "page", "text", "score"}]}`."""
    outcome = retrieval.search(db, agent_id, q, k=k, lang=lang)
    return SearchResponse(
        query=outcome.query,
        confidence=round(outcome.confidence, 4),
        results=[
            SearchResult(
                source_id=p.source_id,
                chunk_id=p.chunk_id,
                title=p.title,
                url=p.url,
                page=p.page,
                heading_path=list(p.heading_path),
                text=p.text,
                score=round(score, 4),
            )
            for p, score in outcome.results
        ],
    )
