"""Inbound events from providers: stored at once (deduplicated on the provider's id) so the webhook answers within
a second, then handled by a job — the contact found by phone number across channels, the conversation, the
agent's reply and its delivery, saved together."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent import respond
from jasping.agent.phrases import phrase
from jasping.channels import deliveries
from jasping.channels.base import Incoming, Outgoing
from jasping.channels.models import ChannelConnection, Delivery, InboundEvent
from jasping.conversations import files
from jasping.conversations import service as conversations
from jasping.conversations.models import Contact, Conversation, Message
from jasping.crypto import get_keyring
from jasping.db import after_commit, new_id, session_scope, unscoped
from jasping.errors import DomainError
from jasping.storage import StorageUnavailable

log = logging.getLogger(__name__)
STATUS_TRIES = 3  # a status for a message we cannot find yet is tried again by the sweep, then dropped
CHANNEL_OF = {"whatsapp": "whatsapp", "twilio": "sms"}  # connection type -> conversation channel


def receive(session: Session, connection: ChannelConnection, events: list[Incoming]) -> list[str]:
    """Store the events not seen before and queue their handling after commit; returns the new events' ids."""
    new = []
    for event in events:
        row = InboundEvent(
            id=new_id("evt"),
            org_id=connection.org_id,
            connection_id=connection.id,
            provider_id=f"{event.kind}:{event.provider_id}:{event.status or ''}"[:200],
            kind=event.kind,
            body=json.dumps(event.to_dict(), ensure_ascii=False),
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue  # delivered again by the provider: already stored
        new.append(row.id)
    org_id = connection.org_id
    for event_id in new:
        after_commit(session, lambda e=event_id: _enqueue(org_id, e))
    return new


def _enqueue(org_id: str, event_id: str) -> None:
    from jasping.jobs.tasks import handle_inbound

    handle_inbound(org_id, event_id)


def handle(org_id: str, event_id: str) -> str:
    """Handle one stored event (a job; safe to run again: a handled event is skipped)."""
    with session_scope(org_id) as s:
        row = s.get(InboundEvent, event_id)
        if row is None or row.state == "done":
            return "skipped"
        row.attempts += 1
        event = Incoming.from_dict(json.loads(row.body))
        connection = s.get(ChannelConnection, row.connection_id)
        if event.kind == "status":
            if deliveries.record_status(s, connection, event) or row.attempts >= STATUS_TRIES:
                _done(row)
                return "status"
            return "status_early"  # before the sender stored the provider's id: the sweep tries again
        if _rating(s, connection, event):  # the answer to a closed conversation's satisfaction question
            _done(row)
            return "csat"
        conversation_id = _conversation(s, connection, event).id
    try:
        outcome = _answer(org_id, event_id, connection.id, conversation_id, event)
    except Exception as exc:
        with session_scope(org_id) as s:
            row = s.get(InboundEvent, event_id)
            row.state, row.error = ("failed" if row.attempts >= 5 else "received"), f"{type(exc).__name__}: {exc}"[:500]
        raise
    return outcome


def stalled_events(session: Session) -> list[tuple[str, str]]:
    """Events received more than a minute ago and not handled (their job was lost), at most 5 tries each."""
    cutoff = clock.now() - timedelta(minutes=1)
    with unscoped(session):
        rows = session.execute(
            select(InboundEvent.org_id, InboundEvent.id)
            .where(InboundEvent.state == "received", InboundEvent.created_at <= cutoff, InboundEvent.attempts < 5)
            .limit(500)
        ).all()
    return [(r.org_id, r.id) for r in rows]


def _rating(session: Session, connection: ChannelConnection, event: Incoming) -> bool:
    """A "1"–"5" reply to the closing question (conversations.csat): recorded, never passed to the agent."""
    from jasping.conversations import csat

    channel = CHANNEL_OF.get(connection.type, connection.type)
    if channel not in csat.ASKED_ON or event.type not in ("text", "choice") or csat.parse(event.text) is None:
        return False
    contact = contact_for_phone(session, connection.org_id, event.sender, event.sender_name)

    def deliver(s: Session, conversation: Conversation, message: Message) -> None:
        deliveries.queue(s, connection, conversation, message, Outgoing(text=message.text))

    return csat.take_reply(
        session, agent_id=connection.agent_id, contact_id=contact.id, channel=channel, text=event.text, deliver=deliver
    )


def _done(row: InboundEvent) -> None:
    row.state, row.handled_at, row.error = "done", clock.now(), None


def _answer(org_id: str, event_id: str, connection_id: str, conversation_id: str, event: Incoming) -> str:
    def then(session, conversation: Conversation, message: Message, step) -> None:  # noqa: ANN001
        connection = session.get(ChannelConnection, connection_id)
        outgoing = Outgoing.from_step(step) if step is not None else Outgoing(text=message.text)
        deliveries.queue(session, connection, conversation, message, outgoing)
        _done(session.get(InboundEvent, event_id))

    if event.type == "media" and event.media:
        return _save_media(org_id, event_id, connection_id, conversation_id, event, then)
    if event.type in ("location", "contacts", "order", "keyword"):
        return _noted(org_id, event_id, conversation_id, event, then)
    if event.type in ("reaction", "unsupported") or not event.text.strip():
        with session_scope(org_id) as s:
            conversation = s.get(Conversation, conversation_id)
            if event.type == "reaction":
                _react(s, conversation, event)
                _done(s.get(InboundEvent, event_id))
                return "reaction"
            lang = conversation.language or "en"
            text = phrase("unsupported_message", lang)
            conversations.add_message(
                s, conversation, role="user", text=f"[{event.type}]", meta={"channel_type": event.type}
            )
            reply = conversations.add_message(s, conversation, role="assistant", text=text, meta={"language": lang})
            then(s, conversation, reply, None)
        return "unsupported"
    text = _chosen_option(org_id, conversation_id, event.text)
    reply = respond.respond(org_id, conversation_id, text, client_message_id=event.provider_id, then=then)
    if reply.replayed or reply.paused:  # handled before (its delivery queued then), or a teammate holds it
        with session_scope(org_id) as s:
            _done(s.get(InboundEvent, event_id))
    return "answered"


def _chosen_option(org_id: str, conversation_id: str, text: str) -> str:
    """A customer who answers "2" to a reply whose options were listed ("1. …, 2. …" on SMS or read out on a
    call) chose the second option: the agent reads that option's words."""
    number = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", text or "")
    if not number:
        return text
    with session_scope(org_id, write=False) as r:
        last = r.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.role == "assistant")
            .order_by(Message.seq.desc())
            .limit(1)
        ).scalar()
        options = list((last.meta or {}).get("quick_replies") or []) if last is not None else []
    n = int(number.group(1))
    return options[n - 1] if 1 <= n <= len(options) else text


def _noted(org_id: str, event_id: str, conversation_id: str, event: Incoming, then) -> str:  # noqa: ANN001
    """A shared location, shared contacts or an order: kept in the conversation for the team and acknowledged
    (an order also goes to a person); an SMS STOP or START changes the contact's opt-out, with no reply (Twilio
    confirms it to the customer itself, and answers HELP)."""
    with session_scope(org_id) as s:
        conversation = s.get(Conversation, conversation_id)
        lang = conversation.language or "en"
        meta = {"client_message_id": event.provider_id, "channel_type": event.type}
        conversations.add_message(s, conversation, role="user", text=event.text or f"[{event.type}]", meta=meta)
        if event.type == "keyword":  # an SMS STOP / START / HELP
            from jasping.channels.twilio_sms import keyword

            contact, word = s.get(Contact, conversation.contact_id), keyword(event.text)
            if word in ("stop", "start"):
                contact.sms_opted_out = word == "stop"
            _done(s.get(InboundEvent, event_id))
            return {"stop": "opted_out", "start": "opted_in"}.get(word or "", "help")
        if event.type == "order":
            conversations.flag_for_human(s, conversation, "order")
        reply = conversations.add_message(
            s, conversation, role="assistant", text=phrase("shared_noted", lang), meta={"language": lang}
        )
        then(s, conversation, reply, None)
    return event.type


def _save_media(org_id, event_id, connection_id, conversation_id, event, then) -> str:  # noqa: ANN001
    from jasping.channels.providers import adapter_for

    with session_scope(org_id, write=False) as r:
        connection = r.get(ChannelConnection, connection_id)
        data, filename = adapter_for(connection).download(connection, event.media)  # network: outside a write
    with session_scope(org_id) as s:
        conversation = s.get(Conversation, conversation_id)
        lang = conversation.language or "en"
        try:
            file, _ = files.save_file(
                s,
                conversation,
                filename=filename,
                data=data,
                channel=conversation.channel,
                client_message_id=event.provider_id,
                audio_video=True,
            )
            text = phrase("file_received", lang, name=file.name)
        except StorageUnavailable:
            raise  # the store is down, not the file refused: the job tries again (nothing was written)
        except DomainError as exc:  # refused (type, size) before anything was written: say so, keep nothing
            log.info("a %s file was refused: %s", conversation.channel, exc)
            text = phrase("file_refused", lang)
        reply = conversations.add_message(s, conversation, role="assistant", text=text, meta={"language": lang})
        then(s, conversation, reply, None)
    if event.media.get("caption"):  # a photo's caption is a message of its own
        caption_id = f"{event.provider_id}:caption"
        respond.respond(org_id, conversation_id, event.media["caption"], client_message_id=caption_id, then=then)
    return "media"


def _react(session: Session, conversation: Conversation, event: Incoming) -> None:
    """A reaction to one of the agent's messages is kept on that message (it is not a message to answer)."""
    delivery = session.execute(
        select(Delivery).where(Delivery.provider_id == event.reply_to, Delivery.conversation_id == conversation.id)
    ).scalar()
    if delivery is None or not delivery.message_id:
        return
    message = session.get(Message, delivery.message_id)
    if message is not None:
        message.meta = {**(message.meta or {}), "reaction": event.text or None}


def _conversation(
    session: Session, connection: ChannelConnection, event: Incoming, channel: str | None = None
) -> Conversation:
    """The customer's open conversation with the agent on this channel, or a new one; the contact is the one
    with the same phone number in the organization, whichever channel it came from. `channel` names the
    conversation's channel when the connection's type does not say it (a Twilio number takes SMS and calls)."""
    contact = contact_for_phone(session, connection.org_id, event.sender, event.sender_name)
    channel = channel or CHANNEL_OF.get(connection.type, connection.type)
    conversation = session.execute(
        select(Conversation)
        .where(
            Conversation.agent_id == connection.agent_id,
            Conversation.contact_id == contact.id,
            Conversation.channel == channel,
            Conversation.status != "closed",
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    ).scalar()
    if conversation is None:
        conversation = Conversation(
            id=new_id("cnv"),
            org_id=connection.org_id,
            agent_id=connection.agent_id,
            contact_id=contact.id,
            channel=channel,
        )
        session.add(conversation)
        session.flush()
    return conversation


def contact_for_phone(session: Session, org_id: str, phone: str, name: str = "") -> Contact:
    """The organization's contact with this E.164 number (found by its keyed hash), created when there is none."""
    digest = get_keyring().blind_index(org_id, phone)
    if session.get_bind().dialect.name == "postgresql":  # two workers, one new number: one contact (SQLite
        # writers are serialised already); held until the transaction ends, so the conversation is one too
        session.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": int(digest[:15], 16)})
    contact = session.execute(select(Contact).where(Contact.phone_hash == digest).limit(1)).scalar()
    if contact is None:
        contact = Contact(id=new_id("cot"), org_id=org_id, phone=phone, phone_hash=digest, name=name or None)
        session.add(contact)
        session.flush()
    elif name and not contact.name:
        contact.name = name
    contact.last_seen_at = clock.now()
    return contact
