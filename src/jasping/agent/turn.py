"""The channel-agnostic turn loop: store the customer's message, retrieve, ask the model, act, store the reply.

A turn is split in two so that a streamed reply never holds a database transaction open:
`prepare_turn` (store the message, detect the language, retrieve passages, build the context) and
`finish_turn` (act on the model's tool calls, store the reply with its citations).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.hours import team_hours
from jasping.agent.intents import detect_message_language
from jasping.agent.llm.base import AgentStep, HistoryMessage, RetrievedPassage, TurnContext
from jasping.agent.snapshot import AgentSettings
from jasping.agents.models import Agent
from jasping.billing import usage
from jasping.conversations import service as conversations
from jasping.conversations.models import Conversation, Message
from jasping.db import after_commit
from jasping.errors import Invalid
from jasping.knowledge import retrieval
from jasping.tenancy.models import Organization

log = logging.getLogger(__name__)
HISTORY_TURNS = 10
PASSAGES = 12  # retrieved for the model: an LLM reads them all (within its token budget), the local reader the best 10
AnyAgent = Agent | AgentSettings  # the row, or its cached settings (agent.snapshot)


@dataclass
class PreparedTurn:
    conversation_id: str
    context: TurnContext
    user_message_id: str
    started: float = field(default_factory=time.perf_counter)
    retrieval_ms: float = 0.0
    client_message_id: str | None = None
    replay: Message | None = None  # the stored reply when this message is a retry of an answered one
    held: bool = False  # the contact is restricted (GDPR art. 18): stored for the team, not processed
    over_quota: bool = False  # the organization used its month's messages: the polite reply (billing.quota)
    paused: bool = False  # a teammate holds the conversation (conversations.inbox): stored, not answered
    conversation: Conversation | None = None  # as the read found it (its ids serve the write, with no query)


def read_turn(
    session: Session,
    *,
    conversation: Conversation,
    agent: AnyAgent,
    text: str,
    client_message_id: str | None = None,
    kb_version: int | None = None,
) -> PreparedTurn:
    """Everything the model needs for this message, read only (history, language, passages): no lock is taken,
    so on SQLite the slow part of a turn never blocks other conversations' writes. `kb_version`: the agent's, when
    the caller read it with the conversation (`conversations.service.turn_row`)."""
    started = time.perf_counter()
    text = conversations.clean_text(text)
    past = conversations.recent(session, conversation.id, limit=2 * HISTORY_TURNS)  # light rows, one query
    n = next((i for i, m in enumerate(past) if m.role == "user" and m.client_message_id == client_message_id), None)
    retried = past[n] if client_message_id and n is not None else None  # a retry: the message is not stored twice
    if n is not None and retried is not None:
        answered = next((m for m in past[n + 1 :] if m.role == "assistant"), None)
        if answered is not None:  # the first try was answered: give that reply again, nothing else to do
            turn = PreparedTurn(conversation.id, TurnContext(agent.name, "", [], text, "en"), retried.id, started)
            turn.replay, turn.conversation = session.get(Message, answered.id), conversation
            return turn
        past = past[:n]
    history = [
        HistoryMessage("assistant" if m.role in ("assistant", "human") else "user", m.text)
        for m in past
        if m.role in ("user", "assistant", "human")
    ]
    context = context_for(session, agent, text, conversation.language, history=history, kb_version=kb_version)
    turn = PreparedTurn(conversation.id, context, retried.id if retried is not None else "", started)
    turn.client_message_id, turn.conversation = client_message_id, conversation
    turn.retrieval_ms = (time.perf_counter() - started) * 1000
    return turn


def context_for(
    session: Session,
    agent: AnyAgent,
    text: str,
    language: str | None = None,
    *,
    history: list[HistoryMessage] | None = None,
    kb_version: int | None = None,
) -> TurnContext:
    """The model's context for `text` (language, passages, business hours), stored nowhere: `language` is the
    conversation's language so far, a hint for short messages. The turn loop and the answer evaluation share it."""
    language = detect_message_language(text, list(agent.languages or ["en"]), language)
    passages, confidence, semantic = _retrieve(session, agent.id, text, language, kb_version)
    org = session.get(Organization, agent.org_id)  # in the identity map when the turn read it with the conversation
    team = team_hours(agent.booking, org.timezone if org else None, clock.now())
    return TurnContext(
        agent_name=agent.name,
        instructions=agent.instructions or "",
        languages=list(agent.languages or ["en"]),
        user_text=text,
        language=language,
        history=history or [],
        passages=passages,
        confidence=confidence,
        semantic=semantic,
        business_name=org.name if org else "",
        within_business_hours=team.open_now,
        reopens=team.reopens(language),
    )


def record_user_message(session: Session, *, conversation: Conversation, turn: PreparedTurn) -> None:
    """Store the customer's message (once, even when the client retries) and the conversation's language."""
    conversation.language = turn.context.language
    if turn.user_message_id:
        return
    message = conversations.add_message(
        session, conversation, role="user", text=turn.context.user_text, meta=_meta(turn)
    )
    _stored(session, conversation, turn, message)


def _meta(turn: PreparedTurn) -> dict:
    return {"client_message_id": turn.client_message_id} if turn.client_message_id else {}


def _stored(session: Session, conversation: Conversation, turn: PreparedTurn, message: Message) -> None:
    turn.user_message_id = message.id
    org_id, channel = conversation.org_id, conversation.channel
    after_commit(session, lambda: usage.meter(org_id, channel))  # the usage meter: once per stored message


def prepare_turn(
    session: Session, *, conversation: Conversation, agent: Agent, text: str, client_message_id: str | None = None
) -> PreparedTurn:
    """Read the turn and store the customer's message, in one transaction."""
    turn = read_turn(session, conversation=conversation, agent=agent, text=text, client_message_id=client_message_id)
    record_user_message(session, conversation=conversation, turn=turn)
    return turn


def sent_before(messages: list[Message], client_message_id: str | None) -> Message | None:
    if not client_message_id:
        return None
    return next(
        (m for m in messages if m.role == "user" and (m.meta or {}).get("client_message_id") == client_message_id), None
    )


def _retrieve(
    session: Session, agent_id: str, text: str, language: str, kb_version: int | None = None
) -> tuple[list[RetrievedPassage], float, bool]:
    try:
        outcome = retrieval.search(session, agent_id, text[:1000], k=PASSAGES, lang=language, version=kb_version)
    except Invalid:
        return [], 0.0, False
    passages = [
        RetrievedPassage(
            ref=n,
            chunk_id=p.chunk_id,
            source_id=p.source_id,
            title=p.title,
            url=p.url,
            page=p.page,
            heading_path=p.heading_path,
            text=p.text,
            score=score,
            language=p.language,
        )
        for n, (p, score) in enumerate(outcome.results, 1)
    ]
    return passages, outcome.confidence, outcome.semantic


def finish_turn(
    session: Session, *, conversation: Conversation, turn: PreparedTurn, step: AgentStep, model_name: str
) -> Message:
    """Carry out the step's tool calls and store the reply."""
    _act(session, conversation, step)
    draft = _reply_draft(turn, step, model_name)
    return conversations.add_message(
        session, conversation, role=draft.role, text=draft.text, citations=draft.citations, meta=draft.meta
    )


def record_turn(
    session: Session, *, conversation: Conversation, turn: PreparedTurn, step: AgentStep, model_name: str
) -> Message:
    """`record_user_message` and `finish_turn` with one flush: the customer's message (unless a retry stored it before)
    and the reply in one INSERT after one UPDATE of the conversation (count, last activity, language). `conversation`
    may be the read's detached object unless the step hands off (`hands_off`): then it must be this session's."""
    _act(session, conversation, step)
    drafts = [] if turn.user_message_id else [conversations.Draft("user", turn.context.user_text, meta=_meta(turn))]
    drafts.append(_reply_draft(turn, step, model_name))
    stored = conversations.add_messages(session, conversation, drafts, language=turn.context.language)
    if len(stored) == 2:
        _stored(session, conversation, turn, stored[0])
    return stored[-1]


def hands_off(step: AgentStep) -> bool:
    """Whether the step changes the conversation row itself (a handoff to the team)."""
    return any(call.name == "handoff_to_human" for call in step.tool_calls)


def _act(session: Session, conversation: Conversation, step: AgentStep) -> None:
    for call in step.tool_calls:
        if call.name == "handoff_to_human":
            conversations.flag_for_human(session, conversation, str(call.arguments.get("reason", "")))


def _reply_draft(turn: PreparedTurn, step: AgentStep, model_name: str) -> conversations.Draft:
    citations = [
        {"title": c.title, "url": c.url, "snippet": c.snippet, "source_id": c.source_id, "page": c.page}
        for c in step.citations
    ]
    meta = {
        "intent": step.intent,
        "language": step.language,
        "grounded": step.grounded,
        "model": step.model or model_name,
        "confidence": round(turn.context.confidence, 4),
        "quick_replies": step.quick_replies,
        "input_hint": step.input_hint,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in step.tool_calls],
        "passages": [{"ref": p.ref, "chunk_id": p.chunk_id, "score": round(p.score, 4)} for p in turn.context.passages],
        "retrieval_ms": round(turn.retrieval_ms, 1),
        "total_ms": round((time.perf_counter() - turn.started) * 1000, 1),
    }
    return conversations.Draft("assistant", step.text, citations, meta)
