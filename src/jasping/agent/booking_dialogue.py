"""The booking dialogue wired to the builtin calendar: start it, carry it on, and act on its tool calls."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.flows import booking
from jasping.agent.flows.booking import BookingFlow, BookingSettings
from jasping.agent.llm.base import AgentStep
from jasping.agent.turn import PreparedTurn
from jasping.agents.models import Agent
from jasping.conversations.models import Contact, Conversation
from jasping.scheduling import service as calendar
from jasping.scheduling.availability import Service
from jasping.scheduling.models import Appointment

KIND = "booking"
_CANCEL = re.compile(r"\b(annul\w*|cancel\w*)\b|إلغاء|الغاء", re.IGNORECASE)
_MOVE = re.compile(
    r"\b(d[ée]plac\w*|report\w*|chang\w* (?:de |mon )?(?:rdv|rendez)|reschedul\w*|move)\b", re.IGNORECASE
)


def settings_of(agent: Agent, timezone: str) -> BookingSettings | None:
    """The agent's booking settings (its services and weekly hours, the organization's time zone)."""
    if not agent.booking or not agent.booking.get("services"):
        return None
    return BookingSettings.from_dict({**agent.booking, "tz": agent.booking.get("tz") or timezone})


def _busy(session: Session, agent_id: str, settings: BookingSettings) -> list:
    now = clock.now()
    return calendar.agent_busy(
        session, agent_id, now - timedelta(days=1), now + timedelta(days=settings.horizon_days + 1)
    )


def start(
    session: Session,
    *,
    conversation: Conversation,
    agent: Agent,
    settings: BookingSettings,
    turn: PreparedTurn,
    region: str | None,
) -> AgentStep:
    """Open a booking, a cancellation or a move, from the customer's words."""
    lang, text = turn.context.language, turn.context.user_text
    contact = session.get(Contact, conversation.contact_id)
    upcoming = calendar.upcoming_for_contact(session, conversation.contact_id) if contact else []
    appointments = [
        {"id": a.id, "start": a.start.isoformat(), "service_name": a.service_name, "service_id": a.service_id}
        for a in upcoming
    ]
    if _CANCEL.search(text):  # with none upcoming, say so rather than open a new booking
        flow, step = booking.start_cancel(appointments, lang, settings.tz)
    elif appointments and _MOVE.search(text):
        flow, step = booking.start_reschedule(settings, appointments, lang)
    else:
        known = {
            k: v
            for k, v in {"name": contact.name if contact else None, "phone": contact.phone if contact else None}.items()
            if v
        }
        flow, step = booking.start(
            settings,
            lang,
            now=clock.now(),
            busy=_busy(session, agent.id, settings),
            text=text,
            known=known,
            region=region,
        )
    return _after(session, conversation, agent, flow, step, lang)


def advance(
    session: Session, *, conversation: Conversation, agent: Agent, turn: PreparedTurn, region: str | None
) -> tuple[BookingFlow, AgentStep | None]:
    flow = BookingFlow.from_dict(conversation.flow["state"])
    settings = BookingSettings.from_dict(flow.settings) if flow.settings.get("services") else None
    busy = _busy(session, agent.id, settings) if settings else []
    lang = turn.context.language
    flow, step = booking.advance(flow, turn.context.user_text, lang=lang, now=clock.now(), busy=busy, region=region)
    if step is None:
        return flow, None
    return flow, _after(session, conversation, agent, flow, step, lang)


def _after(
    session: Session, conversation: Conversation, agent: Agent, flow: BookingFlow, step: AgentStep, lang: str
) -> AgentStep:
    """Carry out a finished dialogue's call on the calendar; keep or end the dialogue."""
    for call in step.tool_calls:
        args = call.arguments
        try:
            if call.name == "book":
                _book(session, conversation, agent, flow, args, replacing=None)
            elif call.name == "reschedule_appointment":
                _book(session, conversation, agent, flow, args, replacing=args.get("appointment_id"))
            elif call.name == "cancel_appointment":
                calendar.cancel(session, appointment_id=args["appointment_id"])
        except calendar.SlotTaken:
            settings = BookingSettings.from_dict(flow.settings)
            flow, step = booking.slot_taken(flow, lang, clock.now(), _busy(session, agent.id, settings))
    conversation.flow = None if flow.step in ("done", "cancelled") else {"kind": KIND, "state": flow.to_dict()}
    return step


def _book(
    session: Session, conversation: Conversation, agent: Agent, flow: BookingFlow, args: dict, replacing: str | None
) -> None:
    settings = BookingSettings.from_dict(flow.settings) if flow.settings.get("services") else settings_of(agent, "UTC")
    wanted = args.get("service_id") or flow.service_id  # a move keeps the appointment's service
    service = next((s for s in settings.services if s.id == wanted), None) or settings.services[0]
    start = clock.parse_instant(args["start"])
    old = session.get(Appointment, replacing) if replacing else None  # a move keeps who it is for
    contact = session.get(Contact, conversation.contact_id)
    calendar.book(
        session,
        agent_id=agent.id,
        service=service,
        start=start,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        name=args.get("name") or (old.name if old else None),
        phone=args.get("phone") or (old.phone if old else None),
        language=args.get("language") or (old.language if old else None) or flow.language,
        email=contact.email if contact is not None and contact.email else None,  # given earlier: the confirmation
        replacing=replacing,
    )
    if contact is not None:
        contact.name = args.get("name") or contact.name
        contact.phone = args.get("phone") or contact.phone


def with_model(step: AgentStep, model_step: AgentStep) -> AgentStep:
    return replace(step, model=model_step.model)


__all__ = ["KIND", "Service", "advance", "settings_of", "start", "with_model"]
