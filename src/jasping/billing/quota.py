"""The agent at the message limit: the customer still gets a polite answer — the conversation goes to the team
(the inbox's "needs a person") and a call back is offered — never silence, and no model is called. A message that
carries on a dialogue (a call back or details being taken, a booking) or asks for one goes through as usual."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jasping.agent.intents import detect_intent
from jasping.agent.llm.base import AgentStep
from jasping.agent.phrases import phrase, quick_replies
from jasping.billing.usage import over_quota
from jasping.conversations.models import Conversation

DIALOGUES = ("callback", "lead", "booking")


def applies(session: Session, conversation: Conversation, text: str, language: str | None) -> bool:
    """Whether this message gets the over-quota reply instead of the agent's."""
    if conversation.flow or detect_intent(text, language) in DIALOGUES:
        return False
    return over_quota(session, conversation.org_id)


def _without_interjection(text: str) -> str:
    """`Of course. I've passed…` → `I've passed…` (the handoff phrase answers a request; here nobody asked)."""
    first, _, rest = text.partition(". ")
    return rest if rest and len(first) < 20 else text


def reply(session: Session, conversation: Conversation, language: str | None) -> AgentStep:
    """The over-quota answer: handed to the team, a call back offered (the handoff machinery and its phrases)."""
    from jasping.conversations.service import flag_for_human

    flag_for_human(session, conversation, "quota")
    lang = (language or conversation.language or "en")[:2]
    text = f"{_without_interjection(phrase('handoff_unknown', lang))} {phrase('callback_offer', lang)}"
    return AgentStep(
        text=text,
        quick_replies=quick_replies(["callback"], lang),
        intent="human",
        language=lang,
        model="none",
    )
