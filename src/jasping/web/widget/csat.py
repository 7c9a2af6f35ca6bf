"""`/api/v1/widget/sessions/{id}/status` and `…/csat`: where the visitor's conversation stands (a person asked for
or in charge, closed) and the satisfaction question the widget shows once it is closed, with the visitor's answer
(conversations.csat). Authenticated by the visitor's session token, like the messages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from jasping.config import get_settings
from jasping.conversations import csat, inbox
from jasping.security import ratelimit
from jasping.security.ratelimit import Limit
from jasping.web.api import API
from jasping.web.deps import DbSession
from jasping.web.widget.api import _check_origin, _visitor_conversation

router = APIRouter(prefix=f"{API}/widget", tags=["widget"])


class CsatState(BaseModel):
    state: str  # open | asked | rated | expired
    rating: int | None = None


class SessionStatus(BaseModel):
    conversation: str  # bot | needs_human | human | closed (conversations.inbox.state_of)
    csat: CsatState


class CsatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=csat.MAX_COMMENT)


def _conversation(db: DbSession, request: Request, conversation_id: str):  # noqa: ANN202
    conversation, agent = _visitor_conversation(db, request, conversation_id)
    _check_origin(agent, request)
    limit = Limit("widget-csat-conversation", get_settings().widget_messages_per_conversation)
    ratelimit.check(limit, conversation.id)
    return conversation


@router.get("/sessions/{conversation_id}/status", response_model=SessionStatus)
def session_status(conversation_id: str, request: Request, db: DbSession) -> SessionStatus:
    """Where the conversation stands: whether a person is asked for or holds it (the widget then reads their replies
    from the history), and whether to ask the satisfaction question (`asked` once the team closed it, for 7 days)."""
    conversation = _conversation(db, request, conversation_id)
    rating = csat.of(db, conversation.id)
    return SessionStatus(
        conversation=inbox.state_of(conversation),
        csat=CsatState(state=csat.state(db, conversation), rating=rating.rating if rating else None),
    )


@router.post("/sessions/{conversation_id}/csat", status_code=201, response_model=CsatState)
def rate(conversation_id: str, body: CsatIn, request: Request, db: DbSession) -> CsatState:
    """The visitor's rating, 1 (not satisfied) to 5 (very satisfied), with an optional comment. Once per
    conversation: 409 `already_rated` for a second one, `conversation_open` before the closing."""
    conversation = _conversation(db, request, conversation_id)
    row = csat.rate(db, conversation, rating=body.rating, comment=body.comment, channel="web")
    return CsatState(state="rated", rating=row.rating)
