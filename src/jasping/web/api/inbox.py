"""The live inbox's API: take over a conversation, reply as a person, hand back, assign, note, close; the inbox list
and its live feed (server-sent events)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from jasping import clock
from jasping.conversations import csat, inbox, service
from jasping.conversations.models import Conversation
from jasping.db import ScopedSession, session_scope
from jasping.errors import Invalid
from jasping.web.api import API
from jasping.web.deps import MAX_OFFSET, CurrentPrincipal, DbSession, Principal

router = APIRouter(prefix=API, tags=["inbox"])
POLL_SECONDS = 1.0
STREAM_SECONDS = 25.0


class InboxConversation(BaseModel):
    id: str
    agent_id: str
    contact_id: str
    channel: str
    state: str  # bot | needs_human | human | closed
    status: str
    needs_human: bool
    assignee_id: str | None
    resolution: str | None
    message_count: int
    created_at: datetime
    last_message_at: datetime


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=8000)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str | None = Field(default=None, max_length=32)  # one of inbox.RESOLUTIONS


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_id: str | None = Field(max_length=40)


class SentMessage(BaseModel):
    id: str
    seq: int
    role: str
    text: str
    created_at: datetime
    conversation: InboxConversation


def _user_id(principal: Principal) -> str | None:
    return principal.user.id if principal.user is not None else None


def _conversation(db: ScopedSession, conversation_id: str) -> Conversation:
    return service.get_conversation(db, conversation_id)  # another organization's: 404 (the session is scoped)


def _state(conversation: Conversation) -> InboxConversation:
    fields = {name: getattr(conversation, name) for name in InboxConversation.model_fields if name != "state"}
    return InboxConversation(state=inbox.state_of(conversation), **fields)


@router.get("/inbox", response_model=dict[str, list[InboxConversation]])
def list_inbox(
    principal: CurrentPrincipal,
    db: DbSession,
    channel: str | None = Query(None, pattern="^(web|whatsapp|sms|voice)$"),
    state: str | None = Query(None, pattern="^(bot|needs_human|human|closed)$"),
    agent_id: str | None = Query(None, max_length=40),
    since: datetime | None = Query(None, alias="from"),
    until: datetime | None = Query(None, alias="to"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Conversations across channels, newest first, with their inbox state; filter by channel, state, agent and
    the date of the last message (`from` inclusive, `to` exclusive)."""
    rows = inbox.inbox(
        db,
        channel=channel,
        state=state,
        agent_id=agent_id,
        since=clock.as_utc(since) if since else None,
        until=clock.as_utc(until) if until else None,
        limit=limit,
        offset=offset,
    )
    return {"conversations": [_state(c) for c in rows]}


@router.post("/conversations/{conversation_id}/takeover", response_model=InboxConversation)
def takeover(conversation_id: str, principal: CurrentPrincipal, db: DbSession) -> InboxConversation:
    """A person holds the conversation: the agent stores the customer's messages and no longer answers them."""
    conversation = inbox.takeover(db, _conversation(db, conversation_id), user_id=_user_id(principal))
    return _state(conversation)


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=SentMessage)
def send_message(conversation_id: str, body: TextIn, principal: CurrentPrincipal, db: DbSession) -> SentMessage:
    """A person's message to the customer (role `human`), through the conversation's channel: the website widget
    shows it in its history, WhatsApp and SMS send it. Replying takes the conversation over; 409 when closed."""
    conversation = _conversation(db, conversation_id)
    message = inbox.reply(db, conversation, text=body.text, user_id=_user_id(principal))
    return SentMessage(
        id=message.id,
        seq=message.seq,
        role=message.role,
        text=message.text,
        created_at=message.created_at,
        conversation=_state(conversation),
    )


@router.post("/conversations/{conversation_id}/handback", response_model=InboxConversation)
def handback(conversation_id: str, principal: CurrentPrincipal, db: DbSession) -> InboxConversation:
    """The agent answers the customer again."""
    return _state(inbox.handback(db, _conversation(db, conversation_id)))


@router.post("/conversations/{conversation_id}/close", response_model=InboxConversation)
def close(
    conversation_id: str, principal: CurrentPrincipal, db: DbSession, body: CloseIn | None = None
) -> InboxConversation:
    """Close with an optional resolution label (`resolved`, `unresolved`, `spam`, `duplicate`, `no_reply`); a
    customer who writes again starts a new conversation on WhatsApp and SMS. 409 when already closed."""
    resolution = body.resolution if body else None
    return _state(inbox.close(db, _conversation(db, conversation_id), resolution=resolution))


@router.post("/conversations/{conversation_id}/assign", response_model=InboxConversation)
def assign(conversation_id: str, body: AssignIn, principal: CurrentPrincipal, db: DbSession) -> InboxConversation:
    """Assign to a member of the organization (`null`: nobody)."""
    return _state(inbox.assign(db, _conversation(db, conversation_id), assignee_id=body.assignee_id))


@router.post("/conversations/{conversation_id}/notes", status_code=201, response_model=dict)
def add_note(conversation_id: str, body: TextIn, principal: CurrentPrincipal, db: DbSession) -> dict:
    """An internal note for the team (role `system`, `meta.kind = note`): never sent to the customer."""
    note = inbox.note(db, _conversation(db, conversation_id), text=body.text, user_id=_user_id(principal))
    return {"id": note.id, "seq": note.seq, "text": note.text, "created_at": note.created_at.isoformat()}


class CsatRead(BaseModel):
    state: str  # open | asked | rated | expired (conversations.csat)
    rating: int | None = None
    comment: str | None = None
    channel: str | None = None
    created_at: datetime | None = None


@router.get("/conversations/{conversation_id}/csat", response_model=CsatRead)
def conversation_csat(conversation_id: str, principal: CurrentPrincipal, db: DbSession) -> CsatRead:
    """The customer's satisfaction rating of the closed conversation (1-5), if they gave one."""
    conversation = _conversation(db, conversation_id)
    row = csat.of(db, conversation.id)
    if row is None:
        return CsatRead(state=csat.state(db, conversation))
    return CsatRead(
        state="rated", rating=row.rating, comment=row.comment, channel=row.channel, created_at=row.created_at
    )


def _cursor(value: str | None) -> datetime:
    if not value:
        return clock.now()
    try:
        return clock.as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise Invalid("the cursor must be an ISO 8601 date-time", code="invalid_cursor") from None


def feed(org_id: str, cursor: datetime, timeout: float) -> Iterator[str]:
    """Server-sent events: `ready` with the cursor, then a `conversation` event (id = the new cursor) whenever one
    of the organization's conversations gets a message or changes state (takeover, hand-back, close, assign, a
    rating); the stream ends after `timeout` seconds, and the browser's
    EventSource reconnects with the last id (`Last-Event-ID`), so nothing is missed between two streams."""
    yield f"retry: 3000\nevent: ready\ndata: {json.dumps({'cursor': cursor.isoformat()})}\n\n"
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(org_id, write=False) as r:
            changed = inbox.changed_since(r, cursor)
            events = [(inbox.changed_at(c), _state(c).model_dump(mode="json")) for c in changed]
        for stamp, data in events:
            cursor = max(cursor, stamp)
            yield f"id: {stamp.isoformat()}\nevent: conversation\ndata: {json.dumps(data)}\n\n"
        if time.monotonic() >= deadline:
            return
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get("/inbox/events", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
def events(
    principal: CurrentPrincipal,
    since: str | None = Query(None, max_length=64),
    timeout: float | None = Query(None, ge=0, le=60),
    last_event_id: str | None = Header(None, max_length=64),
    accept: str | None = Header(None, max_length=500),
) -> StreamingResponse:
    """The inbox's live feed (server-sent events) from `since` or `Last-Event-ID` (default: now): one
    `conversation` event per conversation with a new message. With `Accept: text/event-stream` the stream waits
    for news and ends after `timeout` seconds (default 25); without it, it ends at once (one poll)."""
    cursor = _cursor(last_event_id or since)
    if timeout is None:  # a browser's EventSource waits for news; a plain GET gets what changed and ends
        timeout = STREAM_SECONDS if "text/event-stream" in (accept or "") else 0
    return StreamingResponse(
        feed(principal.org_id, cursor, timeout), media_type="text/event-stream", headers=SSE_HEADERS
    )
