"""Service functions of conversations: web sessions, messages, history, the inbox's reads."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from jasping import clock
from jasping.agents.models import Agent
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import new_id, unscoped
from jasping.errors import Invalid, NotFound, Unauthorized
from jasping.tenancy.models import Organization

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


@dataclass(frozen=True)
class TurnRow:
    """What a turn reads of its conversation in one query: the conversation (its contact and organization are then in
    the session's identity map, so `session.get` of them costs no query) and the agent's versions, which key the
    agent's cached settings (`agent.snapshot`) and its search index."""

    conversation: Conversation
    contact: Contact | None  # held here: the session's identity map keeps only what is referenced
    organization: Organization
    agent_updated_at: datetime
    kb_version: int


def turn_row(session: Session, conversation_id: str, token: str | None = None, *, check_token: bool = False) -> TurnRow:
    """The conversation with its contact, organization and agent versions, in one query. With `check_token` (a
    website visitor) the bearer token must be the conversation's session token (401 otherwise) and the session is then
    scoped to the conversation's organization; without it the session's scope applies (404 for another's)."""
    if check_token and (not token or len(token) > 200):
        raise Unauthorized("a session token is required", code="invalid_session")
    query = (
        select(Conversation, Contact, Organization, Agent.updated_at, Agent.kb_version)
        .join(Agent, Agent.id == Conversation.agent_id)
        .join(Organization, Organization.id == Conversation.org_id)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.id == conversation_id)
    )
    if not check_token:
        row = session.execute(query).first()
        if row is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        return TurnRow(*row)
    with unscoped(session):
        row = session.execute(query).first()
    conversation = row[0] if row is not None else None
    if (
        conversation is None
        or not conversation.session_token_hash
        or not hmac.compare_digest(conversation.session_token_hash, _token_hash(token or ""))
    ):
        raise Unauthorized("invalid session token for this conversation", code="invalid_session")
    session.info["org_id"] = conversation.org_id  # every row read belongs to it: nothing to evict
    return TurnRow(*row)


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
    return add_messages(session, conversation, [Draft(role, text, citations, meta)])[0]


@dataclass(frozen=True)
class Draft:
    """A message to append (`add_messages`)."""

    role: str
    text: str
    citations: list[dict] | None = None
    meta: dict | None = None


def add_messages(
    session: Session, conversation: Conversation, drafts: list[Draft], *, language: str | None = None
) -> list[Message]:
    """Append messages in order, with one flush: one UPDATE of the conversation row (its count, last activity and,
    when given, language) returning the new count — it comes first, which serialises concurrent writers and numbers
    the messages — then their INSERT. `conversation` may be detached (read in another session): only its ids are
    used, and the row is changed by the UPDATE."""
    now = clock.now()
    values: dict = {"message_count": Conversation.message_count + len(drafts), "last_message_at": now}
    if language:
        values["language"] = language
    last = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(**values)
        .returning(Conversation.message_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if conversation in session:  # the loaded object as the row now is, with no query and nothing left to flush
        for key, value in (("message_count", last), ("last_message_at", now), ("language", language)):
            if key != "language" or language:
                set_committed_value(conversation, key, value)
    messages = [
        Message(
            id=new_id("msg"),
            org_id=conversation.org_id,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            seq=last - len(drafts) + n,
            role=d.role,
            text=d.text,
            citations=d.citations or [],
            meta=d.meta or {},
            created_at=now,
        )
        for n, d in enumerate(drafts, 1)
    ]
    session.add_all(messages)
    session.flush()
    return messages


def recent(session: Session, conversation_id: str, limit: int = 20) -> list[Row]:
    """The last `limit` messages, oldest first, as light rows (`id`, `role`, `text`, `client_message_id`): what a turn
    reads of its history — one query, no ORM objects, no JSON decoded (the id a retry carries is read by the
    database from the message's meta)."""
    retry_id = Message.meta["client_message_id"].as_string().label("client_message_id")
    query = select(Message.id, Message.role, Message.text, retry_id).where(Message.conversation_id == conversation_id)
    rows = session.execute(query.order_by(Message.seq.desc()).limit(limit)).all()
    return rows[::-1]


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
