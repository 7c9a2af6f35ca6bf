"""`/api/v1/widget/…`: sessions and messages for website visitors (public; a session token per visitor)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from jasping.agent import respond, snapshot
from jasping.agent.llm import get_chat_model
from jasping.agent.llm.base import AgentStep
from jasping.agent.phrases import phrase
from jasping.agents.models import Agent
from jasping.channels import webchat
from jasping.config import get_settings
from jasping.conversations import files
from jasping.conversations import service as conversations
from jasping.conversations.models import Conversation
from jasping.errors import Forbidden, Invalid, TooLarge
from jasping.privacy import consent as consents
from jasping.privacy import pages
from jasping.security import ratelimit
from jasping.security.ratelimit import Limit
from jasping.web.api import API
from jasping.web.deps import DbSession, ReadSession, client_ip, scope_to

router = APIRouter(prefix=f"{API}/widget", tags=["widget"])


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    locale: str | None = Field(default=None, max_length=16)


class SessionOut(BaseModel):
    conversation_id: str
    session_token: str
    greeting: str
    agent_name: str
    languages: list[str]
    color: str | None = None
    max_file_mb: int  # the largest file the visitor may send
    privacy_url: str  # the agent's privacy notice, linked from the consent notice (privacy.pages)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=8000)
    client_message_id: str | None = Field(default=None, max_length=64)  # a retry with the same id is not stored twice


class CitationOut(BaseModel):
    title: str
    url: str | None
    snippet: str


class InputHint(BaseModel):
    type: str


class ReplyOut(BaseModel):
    text: str
    citations: list[CitationOut]
    quick_replies: list[str]
    input_hint: InputHint
    language: str
    human: bool = False  # a teammate holds the conversation: no automatic reply; theirs arrive in the history


class MessageOut(BaseModel):
    reply: ReplyOut


class FileOut(BaseModel):
    id: str
    name: str
    content_type: str
    size: int


class FileSent(BaseModel):
    file: FileOut
    reply: ReplyOut


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wording: str = Field(min_length=1, max_length=1000)  # the notice as the visitor saw it
    policy_url: str | None = Field(default=None, max_length=2000)
    language: str | None = Field(default=None, max_length=16)


class ConsentOut(BaseModel):
    id: str
    purpose: str
    recorded_at: str
    notice_version: str | None = None  # the agent's privacy notice in force, e.g. agent_notice/v2


class HistoryItem(BaseModel):
    role: str
    text: str
    citations: list[CitationOut]
    created_at: str
    language: str | None = None
    file: FileOut | None = None


def _reply(step: AgentStep) -> ReplyOut:
    out = webchat.outgoing(step)
    return ReplyOut(
        text=out.text,
        citations=[CitationOut(title=c.title, url=c.url, snippet=c.snippet) for c in step.citations],
        quick_replies=out.buttons,
        input_hint=InputHint(type=step.input_hint),
        language=step.language,
    )


def _held_reply(language: str) -> ReplyOut:
    """No automatic reply: a teammate holds the conversation (conversations.inbox)."""
    return ReplyOut(
        text="", citations=[], quick_replies=[], input_hint=InputHint(type="text"), language=language, human=True
    )


def _stored_reply(message) -> ReplyOut:  # noqa: ANN001
    meta = message.meta or {}
    return ReplyOut(
        text=message.text,
        citations=[
            CitationOut(title=c.get("title", ""), url=c.get("url"), snippet=c.get("snippet", ""))
            for c in message.citations
        ],
        quick_replies=meta.get("quick_replies", []),
        input_hint=InputHint(type=meta.get("input_hint", "text")),
        language=meta.get("language", "en"),
    )


def _check_origin(agent: Agent | snapshot.AgentSettings, request: Request) -> None:
    """When the business listed its websites, a browser on another site may not use the agent."""
    origin = request.headers.get("origin")
    if agent.allowed_origins and origin and origin.rstrip("/").lower() not in agent.allowed_origins:
        raise Forbidden("this website is not allowed to use this agent", code="origin_not_allowed")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _visitor_conversation(db: DbSession, request: Request, conversation_id: str) -> tuple[Conversation, Agent]:
    found = conversations.conversation_for_token(db, conversation_id, _bearer(request))
    scope_to(db, found.org_id)
    conversation = db.get(Conversation, found.id)
    return conversation, db.get(Agent, conversation.agent_id)


@router.post("/{public_key}/sessions", status_code=201, response_model=SessionOut)
def start_session(public_key: str, request: Request, db: DbSession, body: SessionIn | None = None) -> SessionOut:
    """Start a visitor's conversation with the agent embedded under `public_key`."""
    settings = get_settings()
    ratelimit.check(Limit("widget-sessions-ip", settings.widget_sessions_per_ip), client_ip(request) or "?")
    agent = conversations.agent_by_public_key(db, public_key)
    scope_to(db, agent.org_id)
    agent = db.get(Agent, agent.id)
    _check_origin(agent, request)
    conversation, token = conversations.start_web_session(db, agent=agent, locale=body.locale if body else None)
    return SessionOut(
        conversation_id=conversation.id,
        session_token=token,
        greeting=agent.greeting,
        agent_name=agent.name,
        languages=list(agent.languages or ["en"]),
        color=agent.widget_color,
        max_file_mb=settings.widget_max_file_mb,
        privacy_url=pages.agent_notice_url(agent),
    )


@router.get("/sessions/{conversation_id}/messages", response_model=dict[str, list[HistoryItem]])
def visitor_history(conversation_id: str, request: Request, db: DbSession) -> dict:
    """The conversation so far, for a returning visitor (`Authorization: Bearer <session_token>`)."""
    conversation, _ = _visitor_conversation(db, request, conversation_id)
    limit = Limit("widget-history-conversation", get_settings().widget_messages_per_conversation)
    ratelimit.check(limit, conversation.id)
    items = [
        HistoryItem(
            role="assistant" if m.role == "human" else m.role,
            text=m.text,
            citations=[
                CitationOut(title=c.get("title", ""), url=c.get("url"), snippet=c.get("snippet", ""))
                for c in (m.citations or [])
            ],
            created_at=m.created_at.isoformat(),
            language=(m.meta or {}).get("language") or conversation.language,
            file=(m.meta or {}).get("file"),
        )
        for m in conversations.history(db, conversation.id, limit=100)
        if m.role != "system"
    ]
    return {"messages": items}


@router.post(
    "/sessions/{conversation_id}/messages",
    response_model=MessageOut,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def send_message(conversation_id: str, body: MessageIn, request: Request, db: ReadSession):  # noqa: ANN201
    """The visitor's message and the agent's reply; with `Accept: text/event-stream` the reply is streamed
    as `token` events (`{"text": …}`) then one `reply` event with the whole reply.

    Reads (token, history, retrieval) happen in a read transaction; the writes (the message, the reply) in short
    transactions of their own, so on SQLite one conversation's slow turn never blocks another's writes."""
    row = conversations.turn_row(db, conversation_id, _bearer(request), check_token=True)  # one query
    conversation = row.conversation
    agent = snapshot.settings(db, conversation.agent_id, row.agent_updated_at)  # cached until the agent changes
    _check_origin(agent, request)
    settings = get_settings()
    ratelimit.check(Limit("widget-messages-conversation", settings.widget_messages_per_conversation), conversation.id)
    ratelimit.check(Limit("widget-messages-agent", settings.widget_messages_per_agent), agent.id)
    org_id = conversation.org_id
    model = get_chat_model(settings)
    event = webchat.incoming(body.text, body.client_message_id)
    begun = respond.begin(
        org_id,
        conversation.id,
        event.text,
        event.provider_id or None,
        read=(db, conversation, agent),
        kb_version=row.kb_version,
    )
    db.commit()  # the read transaction ends here: the writes below are short transactions of their own
    if isinstance(begun, respond.Reply):  # a retry of a message already answered
        return MessageOut(reply=_stored_reply(begun.message))
    streaming = "text/event-stream" in request.headers.get("accept", "")
    if begun.dialogue:  # a dialogue decides the whole reply first
        done = respond.in_dialogue(org_id, begun.turn, model)
        reply = _held_reply(begun.turn.context.language) if done.paused else _reply(done.step)
        if not streaming:
            return MessageOut(reply=reply)
        events = [
            *([_event("token", {"text": reply.text})] if reply.text else []),
            _event("reply", {"reply": reply.model_dump()}),
            _event("done", {}),
        ]
        return StreamingResponse(iter(events), media_type="text/event-stream", headers=_SSE_HEADERS)
    if streaming:  # the message is stored before the first token (the reply with `done`)
        respond.store_message(org_id, begun.turn)
        return StreamingResponse(
            _stream(model, begun.turn, org_id), media_type="text/event-stream", headers=_SSE_HEADERS
        )
    done = respond.answer(org_id, begun.turn, model)  # the message and the reply in one write transaction
    return MessageOut(reply=_reply(done.step))


_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _stream(model, turn, org_id: str) -> Iterator[str]:  # noqa: ANN001
    step = None
    for piece in model.stream(turn.context):
        if isinstance(piece, AgentStep):
            step = piece
        else:
            yield _event("token", {"text": piece})
    if step is None:
        yield _event("error", {"code": "internal", "message": "the agent could not answer"})
        return
    respond.store_reply(org_id, turn, step, model.name)
    yield _event("reply", {"reply": _reply(step).model_dump()})
    yield _event("done", {})


async def _read_file_field(request: Request) -> tuple[str | None, bytes, str | None]:
    """The multipart `file` (read up to the size limit, before any database work) and `client_message_id`."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("send the file as multipart/form-data in a field named `file`", code="unsupported_media_type")
    limit = get_settings().widget_max_file_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise TooLarge(f"the file is larger than {get_settings().widget_max_file_mb} MB")
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("send the file in a multipart field named `file`", code="missing_file")
    data = bytearray()
    while chunk := await upload.read(1024 * 1024):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"the file is larger than {get_settings().widget_max_file_mb} MB")
    client_id = form.get("client_message_id")
    client_id = client_id[:64] if isinstance(client_id, str) and client_id else None
    return upload.filename, bytes(data), client_id


@router.post("/sessions/{conversation_id}/files", status_code=201, response_model=FileSent)
async def send_file(conversation_id: str, request: Request, db: DbSession) -> FileSent:
    """A file the visitor sends (multipart `file`, optional `client_message_id`): a photo, a PDF, a Word or
    Excel document or a text file, up to `JASPING_WIDGET_MAX_FILE_MB`. It is checked by its bytes, stored
    encrypted with the conversation for the team, and acknowledged by the agent."""
    filename, data, client_id = await _read_file_field(request)
    return await run_in_threadpool(_save_file, db, request, conversation_id, filename, data, client_id)


def _save_file(db, request, conversation_id, filename, data, client_id) -> FileSent:  # noqa: ANN001
    conversation, agent = _visitor_conversation(db, request, conversation_id)
    _check_origin(agent, request)
    settings = get_settings()
    ratelimit.check(Limit("widget-messages-conversation", settings.widget_messages_per_conversation), conversation.id)
    ratelimit.check(Limit("widget-messages-agent", settings.widget_messages_per_agent), agent.id)
    lang = conversation.language or (agent.languages or ["en"])[0]
    file = files.sent_before(db, conversation.id, client_id)  # a retry: stored once, acknowledged again
    if file is None:
        file, _ = files.save_file(db, conversation, filename=filename, data=data, client_message_id=client_id)
        text = phrase("file_received", lang, name=file.name)
        conversations.add_message(
            db,
            conversation,
            role="assistant",
            text=text,
            meta={
                "intent": "file",
                "language": lang,
                "tool_calls": [{"name": "save_file", "arguments": {"file_id": file.id}}],
            },
        )
    reply = ReplyOut(
        text=phrase("file_received", lang, name=file.name),
        citations=[],
        quick_replies=[],
        input_hint=InputHint(type="text"),
        language=lang,
    )
    return FileSent(file=FileOut(**files.describe(file)), reply=reply)


@router.post("/sessions/{conversation_id}/consent", status_code=201, response_model=ConsentOut)
def record_consent(conversation_id: str, body: ConsentIn, request: Request, db: DbSession) -> ConsentOut:
    """Record that the visitor was shown the chat's privacy notice and went on (the widget calls this once per
    conversation, on the first message). Repeating it returns the record already made."""
    conversation, agent = _visitor_conversation(db, request, conversation_id)
    _check_origin(agent, request)
    ratelimit.check(
        Limit("widget-messages-conversation", get_settings().widget_messages_per_conversation), conversation.id
    )
    language = (body.language or "")[:8] or conversation.language
    notice = pages.agent_notice_in_force(db, agent, (language or "en")[:2])  # the version in force is recorded
    row, _ = consents.record_once(
        db,
        conversation,
        purpose=consents.CHAT_NOTICE,
        wording=conversations.clean_text(body.wording),
        policy_url=body.policy_url
        if body.policy_url and body.policy_url.startswith(("https://", "http://"))
        else pages.agent_notice_url(agent),
        language=language,
        notice_version=notice.label,
        method="implied_by_message",  # the widget records it when the visitor sends a message under the notice
        ip=client_ip(request),
    )
    return ConsentOut(
        id=row.id, purpose=row.purpose, recorded_at=row.created_at.isoformat(), notice_version=row.notice_version
    )
