"""Dashboard pages of an agent's knowledge: upload, add URL/website/text/Q&A, live state, preview, test search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from jasping.agents.service import get_agent
from jasping.config import get_settings
from jasping.errors import DomainError, Invalid
from jasping.knowledge import retrieval, service
from jasping.knowledge.schemas import QaSourceCreate, TextSourceCreate, UrlSourceCreate
from jasping.tenancy.models import Role
from jasping.web.dashboard.views import Csrf, Member, _first_error, _page, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)


def _back(agent_id: str, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/agents/{agent_id}/knowledge?flash={flash}", status_code=303)


def _knowledge_page(
    request: Request, db: DbSession, principal: Member, agent_id: str, status_code: int = 200, **ctx
) -> Response:
    agent = get_agent(db, agent_id)
    q = request.query_params.get("q", "").strip()[:1000]
    outcome = retrieval.search(db, agent_id, q, k=5) if q else None
    return _page(
        request,
        "knowledge.html",
        principal,
        db,
        status_code,
        agent=agent,
        q=q,
        outcome=outcome,
        sources=service.list_sources(db, agent_id),
        max_mb=get_settings().max_upload_mb,
        **ctx,
    )


@router.get("/agents/{agent_id}/knowledge")
def knowledge(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _knowledge_page(request, db, principal, agent_id)


def _guard(principal: Member, csrf: str) -> None:
    check_csrf(principal, csrf)
    principal.require(Role.admin)


@router.post("/agents/{agent_id}/knowledge/upload")
def upload(
    agent_id: str, request: Request, db: DbSession, principal: Member, csrf: Csrf, file: Annotated[UploadFile, File()]
) -> Response:
    _guard(principal, csrf)
    limit = get_settings().max_upload_mb * 1024 * 1024
    data = file.file.read(limit + 1)
    try:
        if len(data) > limit:
            raise Invalid(f"the file is larger than {get_settings().max_upload_mb} MB", code="too_large")
        service.add_file(
            db,
            agent_id=agent_id,
            filename=file.filename or "upload",
            data=data,
            content_type=file.content_type,
            actor=principal.actor,
        )
    except DomainError as exc:
        db.rollback()
        return _knowledge_page(request, db, principal, agent_id, exc.status, error=exc.message)
    return _back(agent_id, "source_added")


@router.post("/agents/{agent_id}/knowledge/add")
def add(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    kind: Annotated[str, Form()],
    url: Annotated[str, Form()] = "",
    crawl: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
) -> Response:
    _guard(principal, csrf)
    try:
        if kind == "url":
            source_in = UrlSourceCreate(type="url", url=url.strip(), crawl=bool(crawl))
        elif kind == "text":
            source_in = TextSourceCreate(type="text", title=title, text=text)
        else:
            source_in = QaSourceCreate(type="qa", question=question, answer=answer)
    except ValidationError as exc:
        return _knowledge_page(request, db, principal, agent_id, 422, error=_first_error(exc))
    try:
        service.add_from_json(db, agent_id=agent_id, source_in=source_in, actor=principal.actor)
    except DomainError as exc:  # e.g. the plan's knowledge size (402 plan_limit)
        db.rollback()
        return _knowledge_page(request, db, principal, agent_id, exc.status, error=exc.message)
    return _back(agent_id, "source_added")


@router.get("/agents/{agent_id}/knowledge/{source_id}")
def preview(agent_id: str, source_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    agent = get_agent(db, agent_id)
    source = service.get_source(db, agent_id, source_id)
    return _page(
        request,
        "source.html",
        principal,
        db,
        agent=agent,
        source=source,
        chunks=service.list_chunks(db, source, limit=200),
    )


@router.post("/agents/{agent_id}/knowledge/{source_id}/refresh")
def refresh(agent_id: str, source_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    _guard(principal, csrf)
    service.refresh(db, agent_id=agent_id, source_id=source_id, actor=principal.actor)
    return _back(agent_id, "source_refreshing")


@router.post("/agents/{agent_id}/knowledge/{source_id}/delete")
def remove(agent_id: str, source_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    _guard(principal, csrf)
    service.delete_source(db, agent_id=agent_id, source_id=source_id, actor=principal.actor)
    return _back(agent_id, "source_deleted")
