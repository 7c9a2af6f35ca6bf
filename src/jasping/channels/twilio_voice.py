"""Twilio voice: a phone call to a connected number is a conversation with the agent, spoken.

Twilio posts the call to `/webhooks/twilio/voice`; we answer with TwiML (built with the `twilio` package's
`VoiceResponse`): a greeting that knows whether the team is in, then a speech `<Gather>` in the conversation's
language. Each thing the caller says comes back to `/webhooks/twilio/voice/gather` as `SpeechResult` and goes
through the same turn as every channel (`agent.respond.respond`: knowledge answers, lead capture, booking), its
reply spoken with `<Say>`. A request for a person becomes a `<Dial>` to the business's number while the team is in
(`handoff_number`), a callback offer otherwise; a `<Dial>` nobody answers leaves a callback lead.

State lives where a retry finds it: the gather's sequence number is in its action URL (a Twilio retry of the same
gather carries the same `CallSid` and number, so it is answered once), the call's conversation is found by the
`CallSid` kept on its "call started" message, and the spoken reply and what follows it (gather, dial, hang up) are
kept on the stored reply (`meta["voice"]`), so a retry gets the same TwiML. The transcript is the conversation
(channel "voice"): what the caller said, what the agent said. Nothing is recorded unless the connection's
`record_calls` setting is on (then the transferred part of the call, and the caller is told).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent import respond
from jasping.agent.flows import contact_fields as cf
from jasping.agent.hours import TeamHours, team_hours
from jasping.agent.llm.base import AgentStep
from jasping.agent.phrases import phrase
from jasping.agents.models import Agent
from jasping.channels.base import Incoming
from jasping.channels.connections import e164
from jasping.channels.inbound import _conversation
from jasping.channels.models import ChannelConnection
from jasping.channels.voice_speech import (
    MAX_SAY,
    ORDINAL_DIGITS,
    THIS_NUMBER,
    Line,
    base_language,
    first_sentence,
    is_yes_no,
    join_sentences,
    language_menu,
    speak_number,
    speakable,
    spoken_options,
)
from jasping.channels.voice_twiml import MAX_SILENCES, VoiceReply, hangup_twiml, twiml
from jasping.conversations import service as conversations
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import new_id, session_scope
from jasping.errors import Invalid
from jasping.leads.service import record_lead
from jasping.tenancy.models import Organization

log = logging.getLogger(__name__)

CHANNEL = "voice"
MAX_SPEECH = 1000  # characters of a speech result kept
ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}  # a call's final statuses
DONE_CALLS = {"book", "capture_lead", "cancel_appointment", "reschedule_appointment"}
CALLBACK_CONSENT = "Asked on the phone to be called back by the business about this request."

# The locale speech recognition listens for, per language (the agent's languages are base codes).
# ---- the call's conversation ---------------------------------------------------------------------------------


def _call_conversation(session: Session, agent_id: str, call_sid: str) -> Conversation | None:
    """The conversation of the call `call_sid` (its "call started" message keeps the CallSid)."""
    since = clock.now() - timedelta(days=2)  # a call lasts four hours at most
    conversation_id = session.execute(
        select(Message.conversation_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.agent_id == agent_id,
            Conversation.channel == CHANNEL,
            Message.role == "system",
            Message.created_at >= since,
            Message.meta["call_sid"].as_string() == call_sid,
            Message.meta["event"].as_string() == "call_started",
        )
        .limit(1)
    ).scalar()
    return session.get(Conversation, conversation_id) if conversation_id else None


def _message_with(session: Session, conversation_id: str, **match: str) -> Message | None:
    """The conversation's first message whose meta holds all of `match`."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    for key, value in match.items():
        query = query.where(Message.meta[key].as_string() == value)
    return session.execute(query.order_by(Message.seq).limit(1)).scalar()


def _reply_after(session: Session, message: Message) -> Message | None:
    """The agent's reply stored after `message` (the answer a retry gets again)."""
    return session.execute(
        select(Message)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.seq > message.seq,
            Message.role == "assistant",
        )
        .order_by(Message.seq)
        .limit(1)
    ).scalar()


def _open_conversation(session: Session, connection: ChannelConnection, caller: str | None) -> Conversation:
    """The caller's open voice conversation with the agent (the contact found by phone number), or a new one; a
    caller who hides their number is a new contact each time."""
    if caller:
        incoming = Incoming(kind="message", provider_id="", sender=caller, type="voice")
        return _conversation(session, connection, incoming, channel=CHANNEL)
    contact = Contact(id=new_id("cot"), org_id=connection.org_id, last_seen_at=clock.now())
    session.add(contact)
    conversation = Conversation(
        id=new_id("cnv"), org_id=connection.org_id, agent_id=connection.agent_id, contact_id=contact.id, channel=CHANNEL
    )
    session.add(conversation)
    session.flush()
    return conversation


def _start_call(
    session: Session, connection: ChannelConnection, agent: Agent, call_sid: str, caller: str | None
) -> Conversation:
    conversation = _open_conversation(session, connection, caller)
    conversation.flow = None  # a dialogue an earlier call left unfinished does not carry over
    spoken = [base_language(lang) for lang in agent.languages or ["en"]]
    if base_language(conversation.language) not in spoken:
        conversation.language = spoken[0]
    meta = {"call_sid": call_sid, "event": "call_started", "caller_id": "known" if caller else "withheld"}
    conversations.add_message(session, conversation, role="system", text="Phone call started.", meta=meta)
    return conversation


def _context(session: Session, connection_id: str) -> tuple[ChannelConnection, Agent, Organization | None, Line]:
    connection = session.get(ChannelConnection, connection_id)
    agent = session.get(Agent, connection.agent_id)
    org = session.get(Organization, connection.org_id)
    return connection, agent, org, Line.of(connection, agent, org)


def _team(agent: Agent, org: Organization | None) -> TeamHours:
    return team_hours(agent.booking, org.timezone if org else None, clock.now())


def greeting(org: Organization | None, team: TeamHours, lang: str, line: Line) -> str:
    """The call's first words: hello, whether the team is in (and when it is back), and the question."""
    business = org.name if org else ""
    hello = phrase("voice_hello", lang, business=business) if business else phrase("voice_hello_plain", lang)
    if team.open_now is False:
        when = team.reopens(lang)
        hours = phrase("voice_closed_until", lang, when=when) if when else phrase("voice_closed", lang)
    else:
        hours = phrase("voice_open" if line.handoff_number else "voice_help", lang)
    recorded = phrase("voice_recorded", lang) if line.record_calls else ""
    return join_sentences(hello, recorded, hours, phrase("voice_ask", lang))


def _sid(form: dict[str, str]) -> str:
    sid = (form.get("CallSid") or "").strip()
    if not re.fullmatch(r"CA[0-9A-Za-z]{8,64}", sid):
        raise Invalid("the form has no CallSid", code="invalid_form")
    return sid


# ---- Twilio's requests ---------------------------------------------------------------------------------------


def incoming(org_id: str, connection_id: str, form: dict[str, str]) -> str:
    """A call to the connected number: its conversation started, the greeting stored and spoken, a gather."""
    sid, caller = _sid(form), e164(form.get("From") or "")
    with session_scope(org_id) as s:
        connection, agent, org, line = _context(s, connection_id)
        conversation = _call_conversation(s, agent.id, sid)
        if conversation is not None:  # Twilio asked again for the same call: the same greeting
            started = _message_with(s, conversation.id, call_sid=sid, event="call_started")
            said = _reply_after(s, started) if started else None
            if said is not None:
                return twiml(VoiceReply.from_message(said, line.main_language), line, seq=1)
        else:
            conversation = _start_call(s, connection, agent, sid, caller)
        lang = base_language(conversation.language)
        reply = VoiceReply(greeting(org, _team(agent, org), lang, line), lang, menu=language_menu(line))
        meta = {"language": lang, "intent": "greeting", "voice": reply.meta()}
        conversations.add_message(s, conversation, role="assistant", text=reply.text, meta=meta)
    return twiml(reply, line, seq=1)


def _choose_language(org_id: str, conversation_id: str, sid: str, lang: str, line: Line) -> VoiceReply:
    """A key pressed at the greeting: the call goes on in that language, greeted again in it."""
    key = f"{sid}:language:{lang}"
    with session_scope(org_id) as s:
        conversation = s.get(Conversation, conversation_id)
        said = _message_with(s, conversation_id, language_key=key)
        if said is not None:  # a retry
            return VoiceReply.from_message(said, lang)
        conversation.language = lang
        agent = s.get(Agent, conversation.agent_id)
        org = s.get(Organization, conversation.org_id)
        reply = VoiceReply(greeting(org, _team(agent, org), lang, line), lang)
        meta = {"language": lang, "intent": "greeting", "voice": reply.meta(), "language_key": key}
        conversations.add_message(s, conversation, role="assistant", text=reply.text, meta=meta)
    return reply


def _awaited(flow: dict | None) -> str | None:
    """ "phone" when the dialogue waits for a phone number, "email_or_phone" when either will do."""
    if not flow:
        return None
    if flow.get("kind") == "booking":
        return "phone" if (flow.get("state") or {}).get("step") == "phone" else None
    step = flow.get("step")
    if step == "phone":
        return "phone"
    fields, skipped = flow.get("fields") or [], flow.get("skipped") or []
    if step == "email" and "phone" in fields and flow.get("require") != "both" and "phone" not in skipped:
        return "email_or_phone"
    return None


def heard(speech: str, flow: dict | None, caller: str | None, lang: str | None) -> str:
    """What the turn reads from a speech result: "yes" / "this number" where a phone number is awaited becomes the
    caller's number; "the 2nd one" reads as "the second one"."""
    text = " ".join(speech.split())[:MAX_SPEECH]
    text = re.sub(r"\b(1st|2nd|3rd|4th)\b", lambda m: ORDINAL_DIGITS[m.group(1).lower()], text, flags=re.IGNORECASE)
    awaited = _awaited(flow)
    if caller and awaited and not cf.looks_like_phone(text):
        this_number = cf.has_phrase(text, THIS_NUMBER) is not None
        if this_number or (awaited == "phone" and cf.parse_yes_no(text, lang) is True):
            return f"{text} ({caller})"
    return text


def plan(
    step: AgentStep, flow: dict | None, *, caller: str | None, line: Line, team: TeamHours, lang: str
) -> VoiceReply:
    """The agent's reply as the caller hears it, and what the call does next."""
    lang = base_language(step.language or lang)
    calls = {call.name for call in step.tool_calls}
    if "handoff_to_human" in calls:
        lead_in = "" if step.intent == "human" else first_sentence(speakable(step.text, lang, line.region))
        if line.handoff_number and team.open_now is not False:
            return VoiceReply(
                join_sentences(lead_in, phrase("voice_transferring", lang)), lang, "dial", line.handoff_number
            )
        if caller:
            when = team.reopens(lang)
            offer = (
                phrase("voice_callback_offer_until", lang, when=when) if when else phrase("voice_callback_offer", lang)
            )
            return VoiceReply(join_sentences(lead_in, offer), lang, "offer")
        return VoiceReply(join_sentences(lead_in, phrase("voice_callback_anonymous", lang)), lang)
    if step.intent == "goodbye":
        return VoiceReply(phrase("voice_goodbye", lang), lang, "hangup")
    parts = [speakable(step.text, lang, line.region)]
    awaited, options = _awaited(flow), list(step.quick_replies)
    if caller and awaited == "phone" and step.input_hint == "phone":
        parts.append(phrase("voice_use_caller_number", lang))
    elif caller and awaited == "email_or_phone":
        parts.append(phrase("voice_or_caller_number", lang))
        options = []  # "I'd rather give my phone": saying "this number" does it
    state = (flow.get("state") or {}) if flow and flow.get("kind") == "booking" else {}
    if (
        state.get("step") == "confirm"
        and state.get("mode", "book") == "book"
        and (state.get("values") or {}).get("phone")
    ):
        number = speak_number(state["values"]["phone"], lang, line.region)
        parts.insert(0, phrase("voice_booking_phone", lang, phone=number))
    if options and not is_yes_no(options, lang):
        parts.append(phrase("voice_options", lang, options=spoken_options(options, lang)))
    if calls & DONE_CALLS:
        parts.append(phrase("voice_anything_else", lang))
    return VoiceReply(join_sentences(*parts)[:MAX_SAY], lang)


def gathered(
    org_id: str, connection_id: str, form: dict[str, str], *, seq: int, silent: int = 0, offer: str | None = None
) -> str:
    """What the caller said (or their silence) after gather number `seq`: the agent's spoken reply."""
    sid, caller = _sid(form), e164(form.get("From") or "")
    speech = " ".join((form.get("SpeechResult") or form.get("Digits") or "").split())[:MAX_SPEECH]
    with session_scope(org_id) as s:
        connection, agent, org, line = _context(s, connection_id)
        conversation = _call_conversation(s, agent.id, sid) or _start_call(s, connection, agent, sid, caller)
        conversation_id, flow, lang = conversation.id, conversation.flow, base_language(conversation.language)
        last = next((m for m in reversed(conversations.history(s, conversation_id, 6)) if m.role == "assistant"), None)
        pending = last.text if last is not None and flow else ""
    menu = language_menu(line) if seq == 1 and not form.get("SpeechResult") else ()
    if speech.isdigit() and 1 <= int(speech) <= len(menu):
        return twiml(_choose_language(org_id, conversation_id, sid, menu[int(speech) - 1], line), line, seq=seq)
    if not speech:
        if silent + 1 >= MAX_SILENCES:
            return twiml(VoiceReply(phrase("voice_goodbye", lang), lang, "hangup"), line, seq=seq)
        again = VoiceReply(join_sentences(phrase("voice_silence", lang), pending or phrase("voice_ask", lang)), lang)
        return twiml(again, line, seq=seq, silent=silent + 1)
    if offer == "callback" and caller and (answer := cf.parse_yes_no(speech, lang)) is not None:
        return twiml(
            _callback_answer(org_id, conversation_id, sid, seq, speech, answer, caller, line), line, seq=seq + 1
        )
    client_message_id = f"{sid}:{seq}"

    def then(session, conversation: Conversation, message: Message, step: AgentStep) -> None:  # noqa: ANN001
        agent_now = session.get(Agent, conversation.agent_id)
        org_now = session.get(Organization, conversation.org_id)
        reply = plan(step, conversation.flow, caller=caller, line=line, team=_team(agent_now, org_now), lang=lang)
        message.text = reply.text  # the transcript keeps what the caller heard
        message.meta = {**(message.meta or {}), "voice": reply.meta(), "call_sid": sid}

    try:
        answer = respond.respond(
            org_id, conversation_id, heard(speech, flow, caller, lang), client_message_id=client_message_id, then=then
        )
    except Exception:  # the caller hears an apology, never Twilio's "application error"
        log.exception("voice turn failed for call %s", sid)
        return twiml(VoiceReply(phrase("voice_error", lang), lang), line, seq=seq + 1)
    return twiml(VoiceReply.from_message(answer.message, lang), line, seq=seq + 1)


def _callback_answer(
    org_id: str, conversation_id: str, sid: str, seq: int, speech: str, yes: bool, caller: str, line: Line
) -> VoiceReply:
    """Yes or no to "shall we call you back on this number?": a callback lead and goodbye, or carry on."""
    client_message_id = f"{sid}:{seq}"
    with session_scope(org_id) as s:
        conversation = s.get(Conversation, conversation_id)
        lang = base_language(conversation.language)
        asked = _message_with(s, conversation_id, client_message_id=client_message_id)
        if asked is not None:  # a retry: the same answer, nothing recorded twice
            said = _reply_after(s, asked)
            if said is not None:
                return VoiceReply.from_message(said, lang)
        conversations.add_message(
            s, conversation, role="user", text=speech, meta={"client_message_id": client_message_id}
        )
        if yes:
            contact = s.get(Contact, conversation.contact_id)
            data = {"phone": caller, "name": contact.name if contact else None, "language": lang, "consent": True}
            record_lead(s, conversation=conversation, data=data, consent_text=CALLBACK_CONSENT, kind="callback")
            conversations.flag_for_human(s, conversation, "callback")
            number = speak_number(caller, lang, line.region)
            reply = VoiceReply(phrase("voice_callback_noted", lang, phone=number), lang, "hangup")
        else:
            reply = VoiceReply(phrase("voice_callback_declined", lang), lang)
        meta = {"language": lang, "intent": "callback", "voice": reply.meta(), "call_sid": sid}
        conversations.add_message(s, conversation, role="assistant", text=reply.text, meta=meta)
    return reply


def dial_status(org_id: str, connection_id: str, form: dict[str, str], *, seq: int) -> str:
    """How the transfer to the team ended: answered (the call is over), or nobody answered — a callback lead for
    the caller's number, and they are told."""
    sid, caller = _sid(form), e164(form.get("From") or "")
    status = (form.get("DialCallStatus") or "").strip().lower()
    key = f"{sid}:dial:{seq}"
    with session_scope(org_id) as s:
        _, agent, _, line = _context(s, connection_id)
        conversation = _call_conversation(s, agent.id, sid)
        if conversation is None:
            return hangup_twiml()
        lang = base_language(conversation.language)
        done = _message_with(s, conversation.id, dial_key=key)
        if done is not None:  # a retry of this callback
            said = _reply_after(s, done)
            return twiml(VoiceReply.from_message(said, lang), line, seq=seq + 1) if said else hangup_twiml()
        duration = form.get("DialCallDuration") or ""
        meta = {"call_sid": sid, "event": "dial", "dial_key": key, "dial_status": status}
        if duration.isdigit():
            meta["duration"] = int(duration)
        conversations.add_message(s, conversation, role="system", text=f"Transfer to the team: {status}.", meta=meta)
        if status in ("completed", "answered"):  # a person took the call
            conversation.needs_human, conversation.status = False, "open"
            return hangup_twiml()
        if status not in ("no-answer", "busy", "failed"):  # canceled: the caller hung up while it rang
            return hangup_twiml()
        contact = s.get(Contact, conversation.contact_id)
        number = caller or (contact.phone if contact else None)
        if number:
            data = {"phone": number, "name": contact.name if contact else None, "language": lang, "consent": False}
            record_lead(s, conversation=conversation, data=data, consent_text=CALLBACK_CONSENT, kind="callback")
            conversations.flag_for_human(s, conversation, "callback")
            reply = VoiceReply(
                phrase("voice_no_answer", lang, phone=speak_number(number, lang, line.region)), lang, "hangup"
            )
        else:
            reply = VoiceReply(phrase("voice_no_answer_anonymous", lang), lang)
        meta = {"language": lang, "intent": "callback", "voice": reply.meta(), "call_sid": sid}
        conversations.add_message(s, conversation, role="assistant", text=reply.text, meta=meta)
    return twiml(reply, line, seq=seq + 1)


def call_status(org_id: str, connection_id: str, form: dict[str, str]) -> str:
    """A call status callback: when the call is over, its end is noted (status, duration) and its conversation
    closed — unless it waits for a person (a transfer nobody answered, a callback asked)."""
    sid, status = _sid(form), (form.get("CallStatus") or "").strip().lower()
    if status not in ENDED:
        return "ignored"
    with session_scope(org_id) as s:
        connection = s.get(ChannelConnection, connection_id)
        conversation = _call_conversation(s, connection.agent_id, sid)
        if conversation is None:
            return "unknown_call"
        if _message_with(s, conversation.id, end_key=f"{sid}:end") is not None:
            return "duplicate"
        duration = form.get("CallDuration") or ""
        meta = {"call_sid": sid, "event": "call_ended", "end_key": f"{sid}:end", "call_status": status}
        if duration.isdigit():
            meta["duration"] = int(duration)
        seconds = f", {int(duration)} s" if duration.isdigit() else ""
        conversations.add_message(
            s, conversation, role="system", text=f"Phone call ended ({status}{seconds}).", meta=meta
        )
        conversation.flow = None
        if conversation.status != "handoff":
            conversation.status = "closed"
    return "ended"
