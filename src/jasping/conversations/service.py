"""Service functions of conversations: web sessions, messages, history, the inbox's reads."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import new_id, unscoped
from jasping.errors import Invalid, NotFound, Unauthorized

MAX_TEXT = 4000
_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}


def clean_text(text: str | None) -> str:
    """A customer's message: control characters removed, trimmed, length-checked."""
    text = (text or "").translate(_CONTROL).replace("\x7f", "").strip()
    if not text:
        raise Invalid("the message is empty", code="empty_message")
    if len(text) > MAX_TEXT:
        raise Invalid(f"the message is longer than {MAX_TEXT} characters", code="message_too_long")
    return text


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agent_by_public_key(session: Session, public_key: str) -> Agent:
    """The agent a website embeds (public lookup, before the session is scoped)."""
    with unscoped(session):
        agent = session.execute(select(Agent).where(Agent.public_key == public_key)).scalar()
    if agent is None:
        raise NotFound("no agent with this public key", code="agent_not_found")
    return agent


def start_web_session(session: Session, *, agent: Agent, locale: str | None = None) -> tuple[Conversation, str]:
    """A new anonymous contact and conversation for a website visitor; returns the session token (once)."""
    token = secrets.token_urlsafe(32)
    contact = Contact(id=new_id("cot"), org_id=agent.org_id, locale=(locale or "")[:8] or None)
    session.add(contact)
    conversation = Conversation(
        id=new_id("cnv"),
        org_id=agent.org_id,
        agent_id=agent.id,
        contact_id=contact.id,
        channel="web",
        session_token_hash=_token_hash(token),
        language=(locale or "")[:2] or None,
    )
    session.add(conversation)
    session.flush()
    return conversation, token


def conversation_for_token(session: Session, conversation_id: str, token: str | None) -> Conversation:
    """The visitor's conversation if the bearer token is its session token; 401 otherwise."""
    if not token or len(token) > 200:
        raise Unauthorized("a session token is required", code="invalid_session")
    with unscoped(session):
        conversation = session.get(Conversation, conversation_id)
        if (
            conversation is None
            or not conversation.session_token_hash
            or not hmac.compare_digest(conversation.session_token_hash, _token_hash(token))
        ):
            raise Unauthorized("invalid session token for this conversation", code="invalid_session")
        return conversation


def add_message(
    session: Session,
    conversation: Conversation,
    *,
    role: str,
    text: str,
    citations: list[dict] | None = None,
    meta: dict | None = None,
) -> Message:
    """Append a message; the conversation row is updated first, which serialises concurrent writers."""
    now = clock.now()
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(message_count=Conversation.message_count + 1, last_message_at=now)
    )
    seq = session.execute(select(Conversation.message_count).where(Conversation.id == conversation.id)).scalar_one()
    message = Message(
        id=new_id("msg"),
        org_id=conversation.org_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        seq=seq,
        role=role,
        text=text,
        citations=citations or [],
        meta=meta or {},
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def history(session: Session, conversation_id: str, limit: int = 50) -> list[Message]:
    """The last `limit` messages, oldest first."""
    rows = (
        session.execute(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq.desc()).limit(limit)
        )
        .scalars()
        .all()
    )
    return list(reversed(rows))


def list_conversations(
    session: Session,
    *,
    agent_id: str | None = None,
    contact_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Conversation]:
    query = select(Conversation).order_by(Conversation.last_message_at.desc(), Conversation.id)
    if agent_id:
        query = query.where(Conversation.agent_id == agent_id)
    if contact_id:
        query = query.where(Conversation.contact_id == contact_id)
    if status:
        query = query.where(Conversation.status == status)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation


def flag_for_human(session: Session, conversation: Conversation, reason: str) -> None:
    """Put the conversation in the inbox's "needs a person" list and tell the team (once)."""
    from jasping.conversations import notify

    conversation.needs_human, conversation.status = True, "handoff"
    notify.team_once(session, conversation, reason)  # email the team, once per conversation
    session.flush()
