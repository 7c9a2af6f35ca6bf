"""`/api/v1/conversations`: the organization's conversations and their messages."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from jasping import storage
from jasping.conversations import files, service
from jasping.privacy import consent as consents
from jasping.web.api import API
from jasping.web.deps import MAX_OFFSET, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/conversations", tags=["conversations"])


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    seq: int
    role: str
    text: str
    citations: list[dict]
    created_at: datetime
    file: dict | None = None  # a file the customer sent: {id, name, content_type, size}; download it below


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    purpose: str
    granted: bool
    channel: str
    wording: str
    policy_url: str | None
    language: str | None
    created_at: datetime


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent_id: str
    contact_id: str
    channel: str
    status: str
    needs_human: bool
    language: str | None
    message_count: int
    created_at: datetime
    last_message_at: datetime


class ConversationDetail(ConversationRead):
    messages: list[MessageRead]
    consents: list[ConsentRead]


@router.get("", response_model=dict[str, list[ConversationRead]])
def list_conversations(
    principal: CurrentPrincipal,
    db: DbSession,
    agent_id: str | None = Query(None, max_length=40),
    contact_id: str | None = Query(None, max_length=40),
    status: str | None = Query(None, pattern="^(open|handoff|closed)$"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Newest first; filter by `agent_id`, `contact_id` (one person's history on every channel) and `status`."""
    rows = service.list_conversations(
        db, agent_id=agent_id, contact_id=contact_id, status=status, limit=limit, offset=offset
    )
    return {"conversations": [ConversationRead.model_validate(c) for c in rows]}


@router.get("/{conversation_id}", response_model=ConversationDetail)
def get_conversation(conversation_id: str, principal: CurrentPrincipal, db: DbSession) -> ConversationDetail:
    """The conversation with its messages (oldest first) and the consents its contact gave in it."""
    conversation = service.get_conversation(db, conversation_id)
    messages = [
        MessageRead.model_validate(m).model_copy(update={"file": (m.meta or {}).get("file")})
        for m in service.history(db, conversation.id, limit=500)
    ]
    return ConversationDetail(
        **ConversationRead.model_validate(conversation).model_dump(),
        messages=messages,
        consents=[ConsentRead.model_validate(c) for c in consents.for_conversation(db, conversation.id)],
    )


@router.get(
    "/{conversation_id}/files/{file_id}",
    response_class=Response,
    responses={200: {"content": {"*/*": {}}, "description": "the file, decrypted, with the type it was sent with"}},
)
def download_file(conversation_id: str, file_id: str, principal: CurrentPrincipal, db: DbSession) -> Response:
    """A file the customer sent, as an attachment (never rendered inline by the browser)."""
    file = files.get_file(db, service.get_conversation(db, conversation_id).id, file_id)
    return Response(
        storage.get(file.stored_file),
        media_type=file.content_type,
        headers={
            "Content-Disposition": files.content_disposition(file.name),
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "sandbox",
        },
    )
