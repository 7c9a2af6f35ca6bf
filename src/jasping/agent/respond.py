"""One customer message in, the agent's reply out — for any channel that does not stream (web chat's JSON path,
WhatsApp, SMS, voice).

The reads (history, language, retrieval) run in a read transaction; the writes in short ones, so that on SQLite
one slow turn never blocks other conversations. A turn costs one read of the conversation (with its contact,
organization and the agent's versions: `conversations.service.turn_row`) and of its history, the agent's settings
from the process's cache (`agent.snapshot`), and one write transaction storing the customer's message and the reply
together (`agent.turn.record_turn`; the message alone when the model fails, so the question is kept).
`then(session, conversation, reply_message, step)` runs in the transaction that stores the reply: a channel queues
its delivery there, so the reply and its delivery are saved together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jasping.agent import snapshot
from jasping.agent.dialogue import decide, needs_dialogue
from jasping.agent.llm import get_chat_model
from jasping.agent.llm.base import AgentStep, ChatModel, TurnContext
from jasping.agent.turn import (
    AnyAgent,
    PreparedTurn,
    finish_turn,
    hands_off,
    read_turn,
    record_turn,
    record_user_message,
    sent_before,
)
from jasping.billing import quota
from jasping.config import get_settings
from jasping.conversations import inbox
from jasping.conversations.models import Conversation, Message
from jasping.conversations.service import clean_text, history, turn_row
from jasping.db import ScopedSession, session_scope
from jasping.privacy import chat_requests, contacts

Then = Callable[[ScopedSession, Conversation, Message, AgentStep], None]


@dataclass
class Reply:
    step: AgentStep | None  # None when the message was a retry of one already answered, or not answered
    message: Message | None  # the stored reply (detached; read its fields, not its relations); None when paused
    replayed: bool = False
    paused: bool = False  # a teammate holds the conversation: the message was stored, the agent stayed silent


@dataclass
class Begun:
    turn: PreparedTurn
    dialogue: bool  # a dialogue (lead, booking) decides the reply: nothing can be streamed before it


def begin(
    org_id: str,
    conversation_id: str,
    text: str,
    client_message_id: str | None = None,
    *,
    read: tuple[ScopedSession, Conversation, AnyAgent] | None = None,
    kb_version: int | None = None,
) -> Begun | Reply:
    """Read everything the turn needs, in a read transaction (the caller's, with the conversation and agent it
    has loaded — `turn_row`, `snapshot.settings` — when it passes `read`, and the agent's `kb_version` it read);
    a retry of an answered message is its `Reply`."""
    if read is not None:
        return _begin(*read, text, client_message_id, kb_version)
    with session_scope(org_id, write=False) as r:
        row = turn_row(r, conversation_id)
        agent = snapshot.settings(r, row.conversation.agent_id, row.agent_updated_at)
        return _begin(r, row.conversation, agent, text, client_message_id, row.kb_version)


def _begin(
    session: ScopedSession,
    conversation: Conversation,
    agent: AnyAgent,
    text: str,
    client_message_id: str | None,
    kb_version: int | None = None,
) -> Begun | Reply:
    if inbox.paused(conversation):  # a teammate took over: store the message for them, no reply (conversations.inbox)
        context = TurnContext(agent.name, "", [], clean_text(text), conversation.language or "en")
        retried = sent_before(history(session, conversation.id, limit=20), client_message_id)
        stored = retried.id if retried is not None else ""
        turn = PreparedTurn(conversation.id, context, stored, client_message_id=client_message_id, paused=True)
        return Begun(turn, dialogue=True)
    if contacts.held(session, conversation):  # restricted: no retrieval, no model, no dialogue (privacy.contacts)
        context = TurnContext(agent.name, "", [], clean_text(text), conversation.language or "en")
        turn = PreparedTurn(conversation.id, context, "", client_message_id=client_message_id, held=True)
        return Begun(turn, dialogue=True)
    turn = read_turn(
        session,
        conversation=conversation,
        agent=agent,
        text=text,
        client_message_id=client_message_id,
        kb_version=kb_version,
    )
    if turn.replay is not None:
        return Reply(None, turn.replay, replayed=True)
    if chat_requests.wanted(conversation, turn.context.user_text, turn.context.language):
        return Begun(turn, dialogue=True)  # a data request is a right: answered even over the quota
    if quota.applies(session, conversation, turn.context.user_text, turn.context.language):  # billing's limit
        turn.over_quota = True
        return Begun(turn, dialogue=True)
    return Begun(turn, needs_dialogue(conversation, turn.context.user_text, turn.context.language))


def in_dialogue(org_id: str, turn: PreparedTurn, model: ChatModel, then: Then | None = None) -> Reply:
    """The reply of a dialogue turn: the message, the dialogue's new state and the reply in one transaction."""
    with session_scope(org_id) as w:
        current = w.get(Conversation, turn.conversation_id)
        record_user_message(w, conversation=current, turn=turn)
        if turn.paused:
            return Reply(None, None, paused=True)
        if turn.held:
            step = contacts.held_step(w, current, turn.context.language)
        elif turn.over_quota:
            step = quota.reply(w, current, turn.context.language)
        else:
            step = decide(w, conversation=current, turn=turn, model=model)
        message = finish_turn(w, conversation=current, turn=turn, step=step, model_name=model.name)
        if then:
            then(w, current, message, step)
    return Reply(step, message)


def store_message(org_id: str, turn: PreparedTurn) -> None:
    """Save the customer's message before the model answers (a failed answer keeps the question)."""
    with session_scope(org_id) as w:
        record_user_message(w, conversation=w.get(Conversation, turn.conversation_id), turn=turn)


def store_reply(org_id: str, turn: PreparedTurn, step: AgentStep, model_name: str, then: Then | None = None) -> Reply:
    """Store the reply, and the customer's message with it unless `store_message` did: one write transaction."""
    with session_scope(org_id) as w:
        current = turn.conversation  # the read's object: its ids are all the write needs…
        if current is None or then is not None or hands_off(step):  # …unless the row itself changes or a channel
            current = w.get(Conversation, turn.conversation_id)  # queues a delivery
        message = record_turn(w, conversation=current, turn=turn, step=step, model_name=model_name)
        if then:
            then(w, current, message, step)
    return Reply(step, message)


def answer(org_id: str, turn: PreparedTurn, model: ChatModel, then: Then | None = None) -> Reply:
    """The model's reply to a turn that needs no dialogue, stored with the customer's message in one transaction;
    when the model fails, the message alone is stored (the question is kept) and the error goes on."""
    try:
        step = model.respond(turn.context)
    except Exception:
        store_message(org_id, turn)
        raise
    return store_reply(org_id, turn, step, model.name, then)


def respond(
    org_id: str, conversation_id: str, text: str, *, client_message_id: str | None = None, then: Then | None = None
) -> Reply:
    """Store the customer's message (once per `client_message_id`), decide the reply, store it."""
    model = get_chat_model(get_settings())
    begun = begin(org_id, conversation_id, text, client_message_id)
    if isinstance(begun, Reply):
        return begun
    if begun.dialogue:
        return in_dialogue(org_id, begun.turn, model, then)
    return answer(org_id, begun.turn, model, then)
