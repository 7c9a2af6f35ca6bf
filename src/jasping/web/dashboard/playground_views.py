"""The dashboard playground: chat with an agent as a customer would, with a debug panel per reply
(retrieved passages and scores, intent, tool calls, timing); and "Test your agent": a question file run on the
agent, its replies scored (accuracy, citations, honest declines, the misses)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from jasping.agent import evaluation
from jasping.agent.dialogue import decide
from jasping.agent.evaluation_files import MAX_UPLOAD_BYTES, MAX_UPLOAD_QUESTIONS
from jasping.agent.llm import get_chat_model
from jasping.agent.turn import finish_turn, prepare_turn
from jasping.agents.service import get_agent
from jasping.config import get_settings
from jasping.conversations import service as conversations
from jasping.conversations.models import Contact, Conversation
from jasping.db import new_id
from jasping.errors import DomainError
from jasping.knowledge.models import Chunk
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)
CHANNEL = "playground"


def _current(db: DbSession, agent_id: str) -> Conversation | None:
    return db.execute(
        select(Conversation)
        .where(Conversation.agent_id == agent_id, Conversation.channel == CHANNEL, Conversation.status != "closed")
        .order_by(Conversation.created_at.desc())
        .limit(1)
    ).scalar()


def _new(db: DbSession, agent_id: str, org_id: str) -> Conversation:
    contact = Contact(id=new_id("cot"), org_id=org_id)
    db.add(contact)
    conversation = Conversation(
        id=new_id("cnv"), org_id=org_id, agent_id=agent_id, contact_id=contact.id, channel=CHANNEL
    )
    db.add(conversation)
    db.flush()
    return conversation


@router.get("/agents/{agent_id}/playground")
def playground(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _render(agent_id, request, db, principal)


def _render(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    status_code: int = 200,
    error: str | None = None,
    **extra,  # noqa: ANN003 - the test section's report or error
) -> Response:
    agent = get_agent(db, agent_id)
    conversation = _current(db, agent_id)
    messages = conversations.history(db, conversation.id, limit=60) if conversation else []
    chunk_ids = {p["chunk_id"] for m in messages for p in (m.meta or {}).get("passages", [])}
    previews = dict(db.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_(chunk_ids))).all()) if chunk_ids else {}
    return _page(
        request,
        "playground.html",
        principal,
        db,
        status_code,
        agent=agent,
        messages=messages,
        previews=previews,
        error=error,
        model_name=get_chat_model(get_settings()).name,
        max_questions=MAX_UPLOAD_QUESTIONS,
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        **extra,
    )


@router.post("/agents/{agent_id}/playground")
def playground_send(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    text: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    check_csrf(principal, csrf)
    agent = get_agent(db, agent_id)
    conversation = _current(db, agent_id) or _new(db, agent_id, agent.org_id)
    model = get_chat_model(get_settings())
    try:
        turn = prepare_turn(db, conversation=conversation, agent=agent, text=text)
    except DomainError as exc:
        db.rollback()
        return _render(agent_id, request, db, principal, exc.status, exc.message)
    finish_turn(
        db,
        conversation=conversation,
        turn=turn,
        step=decide(db, conversation=conversation, turn=turn, model=model),
        model_name=model.name,
    )
    return RedirectResponse(f"/agents/{agent_id}/playground#end", status_code=303)


@router.post("/agents/{agent_id}/playground/reset")
def playground_reset(agent_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    conversation = _current(db, agent_id)
    if conversation:
        conversation.status = "closed"
    return RedirectResponse(f"/agents/{agent_id}/playground", status_code=303)


@router.post("/agents/{agent_id}/playground/evaluate")
def playground_evaluate(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Run an uploaded question file on the agent and show the figures and the misses (nothing is stored)."""
    check_csrf(principal, csrf)
    get_agent(db, agent_id)
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(data) > MAX_UPLOAD_BYTES:
            raise evaluation.QuestionFileError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        questions = evaluation.parse_questions(data, file.filename or "questions", max_questions=MAX_UPLOAD_QUESTIONS)
    except evaluation.QuestionFileError as exc:
        return _render(agent_id, request, db, principal, 422, eval_error=str(exc))
    db.commit()  # no transaction stays open while the model answers
    report = evaluation.report(evaluation.evaluate_agent(principal.org_id, agent_id, questions))
    return _render(agent_id, request, db, principal, evaluation=report, eval_file=file.filename)
