"""The live inbox: a conversation's state, human takeover, a teammate's replies, hand-back, assignment and closing.

States (derived from `status` and `needs_human`): `bot` (the agent answers), `needs_human` (the customer asked for a
person, or the agent handed off), `human` (a teammate took over: the agent stores the customer's messages and stays
silent, see `agent.respond`), `closed`. A teammate's reply is stored with role `human` and goes out through the
conversation's own channel: the web widget reads it from its history, WhatsApp and SMS through the delivery outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.conversations import csat, service
from jasping.conversations.models import Conversation, Message
from jasping.errors import Conflict, Invalid, NotFound

STATES = ("bot", "needs_human", "human", "closed")
RESOLUTIONS = ("resolved", "unresolved", "spam", "duplicate", "no_reply")
CHANNEL_CONNECTION = {"whatsapp": "whatsapp", "sms": "twilio"}  # conversation channel -> connection type
NOT_TAKEN_OVER = ("voice",)  # a phone call is answered live by the agent; its transcript is read afterwards


def state_of(conversation: Conversation) -> str:
    if conversation.status == "closed":
        return "closed"
    if conversation.status == "human":
        return "human"
    if conversation.needs_human or conversation.status == "handoff":
        return "needs_human"
    return "bot"


def paused(conversation: Conversation) -> bool:
    """Whether a teammate holds the conversation: the agent stores the customer's messages and does not answer."""
    return conversation.status == "human" and conversation.channel not in NOT_TAKEN_OVER


def _open(conversation: Conversation) -> None:
    if conversation.status == "closed":
        raise Conflict("the conversation is closed", code="conversation_closed")


def takeover(session: Session, conversation: Conversation, *, user_id: str | None) -> Conversation:
    """A teammate holds the conversation (and is its assignee unless someone else is)."""
    _open(conversation)
    if conversation.channel in NOT_TAKEN_OVER:
        raise Conflict("a phone call cannot be taken over; call the customer back", code="channel_not_supported")
    conversation.status = "human"  # `needs_human` stays: the analytics count the handoff (analytics.service)
    conversation.assignee_id = conversation.assignee_id or user_id
    _changed(session, conversation)
    return conversation


def handback(session: Session, conversation: Conversation) -> Conversation:
    """The agent answers again (the customer's request for a person was dealt with)."""
    _open(conversation)
    conversation.status, conversation.needs_human = "open", False
    _changed(session, conversation)
    return conversation


def close(session: Session, conversation: Conversation, *, resolution: str | None) -> Conversation:
    if conversation.status == "closed":
        raise Conflict("the conversation is already closed", code="conversation_closed")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise Invalid(f"resolution must be one of {', '.join(RESOLUTIONS)}", code="invalid_resolution")
    conversation.status, conversation.resolution = "closed", resolution
    conversation.flow = None
    _changed(session, conversation)
    if conversation.channel in csat.ASKED_ON and _connection(session, conversation) is not None:
        csat.ask_on_close(session, conversation, _deliver)  # "reply 1-5" (the widget asks by itself)
    return conversation


def assign(session: Session, conversation: Conversation, *, assignee_id: str | None) -> Conversation:
    """Assign to a member of the organization (None: nobody)."""
    from jasping.tenancy.models import Membership

    if assignee_id is not None:
        member = session.execute(
            select(Membership).where(Membership.org_id == conversation.org_id, Membership.user_id == assignee_id)
        ).scalar()
        if member is None:
            raise NotFound("no such member of the organization", code="member_not_found")
    conversation.assignee_id = assignee_id
    _changed(session, conversation)
    return conversation


def reply(session: Session, conversation: Conversation, *, text: str, user_id: str | None) -> Message:
    """A teammate's message to the customer, through the conversation's channel. The conversation is taken over
    by the reply (the agent would otherwise answer the customer's next message on top of the person)."""
    _open(conversation)
    text = service.clean_text(text)
    if conversation.status != "human":
        takeover(session, conversation, user_id=user_id)
    message = service.add_message(
        session, conversation, role="human", text=text, meta={"author_id": user_id, "language": conversation.language}
    )
    _deliver(session, conversation, message)
    return message


def note(session: Session, conversation: Conversation, *, text: str, user_id: str | None) -> Message:
    """An internal note: kept with the conversation for the team, never sent to the customer."""
    return service.add_message(
        session, conversation, role="system", text=service.clean_text(text), meta={"kind": "note", "author_id": user_id}
    )


def _changed(session: Session, conversation: Conversation) -> None:
    """The inbox state changed: the live feed (`changed_since`) tells the open inbox pages."""
    conversation.changed_at = clock.now()
    session.flush()


def _connection(session: Session, conversation: Conversation):  # noqa: ANN202
    """The agent's connection of the conversation's channel (WhatsApp, SMS), or None."""
    kind = CHANNEL_CONNECTION.get(conversation.channel)
    if kind is None:
        return None
    from jasping.channels.models import ChannelConnection

    return session.execute(
        select(ChannelConnection)
        .where(ChannelConnection.agent_id == conversation.agent_id, ChannelConnection.type == kind)
        .order_by(ChannelConnection.active.desc(), ChannelConnection.created_at.desc())
        .limit(1)
    ).scalar()


def _deliver(session: Session, conversation: Conversation, message: Message) -> None:
    """The web widget reads the message from its history; WhatsApp and SMS get it through the delivery outbox."""
    if conversation.channel not in CHANNEL_CONNECTION:
        return
    from jasping.channels import deliveries
    from jasping.channels.base import Outgoing

    connection = _connection(session, conversation)
    if connection is None:
        raise Conflict(f"the agent's {conversation.channel} channel is not connected", code="channel_not_connected")
    deliveries.queue(session, connection, conversation, message, Outgoing(text=message.text))


def inbox(
    session: Session,
    *,
    channel: str | None = None,
    state: str | None = None,
    agent_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Conversation]:
    """Conversations newest first, filtered by channel, state, agent and date of the last message."""
    query = select(Conversation).order_by(Conversation.last_message_at.desc(), Conversation.id)
    if channel:
        query = query.where(Conversation.channel == channel)
    if agent_id:
        query = query.where(Conversation.agent_id == agent_id)
    if since:
        query = query.where(Conversation.last_message_at >= since)
    if until:
        query = query.where(Conversation.last_message_at < until)
    if state == "closed":
        query = query.where(Conversation.status == "closed")
    elif state == "human":
        query = query.where(Conversation.status == "human")
    elif state == "needs_human":
        query = query.where(
            Conversation.status.notin_(("closed", "human")),
            or_(Conversation.needs_human.is_(True), Conversation.status == "handoff"),
        )
    elif state == "bot":
        query = query.where(Conversation.status == "open", Conversation.needs_human.is_(False))
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def changed_at(conversation: Conversation) -> datetime:
    """When the conversation last changed for the inbox: a message, or a takeover, hand-back, close, assign."""
    return max(conversation.last_message_at, conversation.changed_at or conversation.last_message_at)


def changed_since(session: Session, cursor: datetime, limit: int = 100) -> list[Conversation]:
    """Conversations with a message or a state change after `cursor`, oldest change first (the live feed)."""
    last = case(
        (Conversation.changed_at > Conversation.last_message_at, Conversation.changed_at),
        else_=Conversation.last_message_at,
    )
    query = select(Conversation).where(or_(Conversation.last_message_at > cursor, Conversation.changed_at > cursor))
    return list(session.execute(query.order_by(last, Conversation.id).limit(limit)).scalars())
