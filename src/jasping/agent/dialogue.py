"""Decide a turn's reply: a dialogue in progress (lead capture, callback) answers first; otherwise the model
does, and a model's request to capture a lead or a callback starts that dialogue.

The dialogue's state lives on the conversation (`Conversation.flow`), so any web or worker process can
carry on the next turn. A question asked mid-dialogue is answered by the model and the pending question
is asked again after it.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from jasping.agent import booking_dialogue as bookings
from jasping.agent.flows import LeadFlow, LeadSettings, advance, extract_details, reprompt, start
from jasping.agent.flows import booking as booking_flow
from jasping.agent.intents import detect_intent
from jasping.agent.llm.base import AgentStep, ChatModel
from jasping.agent.turn import PreparedTurn
from jasping.agents.models import Agent
from jasping.conversations.models import Conversation
from jasping.leads.service import record_lead
from jasping.privacy import chat_requests
from jasping.tenancy.models import Organization

CONSENT_TEXT = "Agreed in the chat to be contacted by the business about this request."
CALLBACK = LeadSettings(fields=["phone", "name"], require="email_or_phone")  # a callback needs the number first


def needs_dialogue(conversation: Conversation, text: str, language: str) -> bool:
    """True when this turn belongs to a dialogue (so the reply is decided before anything is streamed)."""
    return bool(conversation.flow) or detect_intent(text, language) in ("lead", "callback", "booking")


def _region(session: Session, org_id: str) -> str | None:
    org = session.get(Organization, org_id)
    return org.country if org else None


def _timezone(session: Session, org_id: str) -> str:
    org = session.get(Organization, org_id)
    return org.timezone if org else "UTC"


def decide(session: Session, *, conversation: Conversation, turn: PreparedTurn, model: ChatModel) -> AgentStep:
    """The reply to this turn, with the conversation's dialogue state updated and any finished lead saved."""
    context = turn.context
    lang, region = context.language, _region(session, conversation.org_id)
    agent = session.get(Agent, conversation.agent_id)
    privacy = chat_requests.step(session, conversation=conversation, text=context.user_text, lang=lang, region=region)
    if privacy is not None:  # "delete my data": a code to the email or phone on record, then a tracked request
        return privacy
    intent = detect_intent(context.user_text, lang)
    if conversation.flow and conversation.flow.get("kind") == bookings.KIND:
        flow, step = bookings.advance(session, conversation=conversation, agent=agent, turn=turn, region=region)
        if step is not None:
            return step
        answer = model.respond(context)  # a question asked mid-booking: answer it, then carry on
        again = booking_flow.reprompt(flow, lang)
        return replace(
            answer,
            text=f"{answer.text}\n\n{again.text}",
            quick_replies=again.quick_replies,
            input_hint=again.input_hint,
        )
    if conversation.flow and intent == "booking":
        conversation.flow = None  # the customer moved on to something else: drop the details dialogue
    if conversation.flow:
        flow, step = advance(LeadFlow.from_dict(conversation.flow), context.user_text, lang=lang, region=region)
        if step is None:  # a question asked mid-dialogue: answer it, then ask again
            answer = model.respond(context)
            again = reprompt(flow, lang)
            return replace(
                answer,
                text=f"{answer.text}\n\n{again.text}",
                quick_replies=again.quick_replies,
                input_hint=again.input_hint,
            )
        return _after(session, conversation, flow, step)
    step = model.respond(context)
    wanted = {call.name for call in step.tool_calls}
    if "find_slots" in wanted or intent == "booking":
        settings = bookings.settings_of(agent, _timezone(session, conversation.org_id))
        if settings is not None:
            return bookings.with_model(
                bookings.start(
                    session, conversation=conversation, agent=agent, settings=settings, turn=turn, region=region
                ),
                step,
            )
        wanted.add("capture_lead")  # no calendar configured: take the details so the team books by phone
    if wanted & {"capture_lead", "request_callback"} and not _has_details(step):
        settings = CALLBACK if "request_callback" in wanted and "capture_lead" not in wanted else LeadSettings()
        prefill = extract_details(context.user_text, lang=lang, region=region)
        flow, first = start(settings, lang, prefill, region=region)
        return _after(session, conversation, flow, replace(first, model=step.model))
    return step


def _has_details(step: AgentStep) -> bool:
    return any(
        call.name == "capture_lead" and any(call.arguments.get(k) for k in ("email", "phone"))
        for call in step.tool_calls
    )


def _after(session: Session, conversation: Conversation, flow: LeadFlow, step: AgentStep) -> AgentStep:
    """Keep or end the dialogue; save the lead when the step carries its details."""
    finished = flow.step in ("done", "cancelled")
    conversation.flow = None if finished else flow.to_dict()
    for call in step.tool_calls:
        if call.name == "capture_lead" and _has_details(step):
            kind = "callback" if flow.fields == CALLBACK.fields else "lead"
            record_lead(session, conversation=conversation, data=call.arguments, consent_text=CONSENT_TEXT, kind=kind)
    return step
