"""Outbound deliveries: a reply is queued in the transaction that stores it, then sent by a job. A provider that
fails is retried with backoff; a reply it refuses, or that still fails after the last try, goes to the dead-letter
list (`state = "dead"`, shown in the dashboard). A worker killed mid-delivery loses nothing: the delivery is
leased while it is sent, and a periodic sweep sends again what was left queued or whose lease ran out.

On WhatsApp, outside the 24-hour customer-service window only an approved template may be sent: the delivery
switches to the agent's configured template (with the reply as its parameter), or is dead-lettered when there
is none.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.channels.base import Incoming, Outgoing, ProviderError
from jasping.channels.http import idempotency
from jasping.channels.models import ChannelConnection, Delivery
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import after_commit, new_id, session_scope
from jasping.jobs import outbox

log = logging.getLogger(__name__)
BACKOFF = outbox.BACKOFF  # seconds before the 2nd, 3rd… attempt; after the last, dead-lettered
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the customer's last message
STATUS_ORDER = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}


def queue(
    session: Session, connection: ChannelConnection, conversation: Conversation, message: Message, out: Outgoing
) -> Delivery | None:
    """Queue `out` (the reply stored as `message`) to the conversation's contact; sent once this commits."""
    contact = session.get(Contact, conversation.contact_id)
    if connection.type == "twilio" and contact.sms_opted_out:  # the customer sent STOP: nothing is sent
        message.meta = {**(message.meta or {}), "delivery": "opted_out"}
        return None
    from jasping.privacy.contacts import may_send

    if not may_send(contact, unsolicited=(message.meta or {}).get("kind") == "appointment_reminder"):
        message.meta = {**(message.meta or {}), "delivery": "restricted"}  # GDPR art. 18 / 21: nothing is sent
        return None
    delivery = Delivery(
        id=new_id("dlv"),
        org_id=connection.org_id,
        connection_id=connection.id,
        conversation_id=conversation.id,
        message_id=message.id,
        to=contact.phone or "",
        body=json.dumps(out.to_dict(), ensure_ascii=False),
        next_attempt_at=clock.now(),
    )
    session.add(delivery)
    session.flush()
    org_id, delivery_id = connection.org_id, delivery.id
    after_commit(session, lambda: enqueue(org_id, delivery_id))
    return delivery


def enqueue(org_id: str, delivery_id: str, delay: float = 0) -> None:
    from jasping.jobs.tasks import deliver

    if delay > 0:
        deliver.schedule((org_id, delivery_id), delay=delay)
    else:
        deliver(org_id, delivery_id)


def _window_open(session: Session, conversation_id: str | None) -> bool:
    if not conversation_id:
        return False
    last = session.execute(
        select(Message.created_at)
        .where(Message.conversation_id == conversation_id, Message.role == "user")
        .order_by(Message.seq.desc())
        .limit(1)
    ).scalar()
    return last is not None and clock.now() - clock.as_utc(last) < WINDOW


def send(org_id: str, delivery_id: str) -> str:
    """Send one delivery (a job). Returns its new state."""
    from jasping.channels.providers import adapter_for

    with session_scope(org_id) as s:
        delivery = s.get(Delivery, delivery_id)
        if delivery is None:
            return "missing"
        busy = outbox.claim(delivery, clock.now())  # leased: a dead worker's send is retried after the lease
        if busy is not None:
            return busy  # sent already, another worker holds the lease, or not due yet
        connection = s.get(ChannelConnection, delivery.connection_id)
        body = delivery.body
        out = Outgoing.from_dict(json.loads(body))
        window = _window_open(s, delivery.conversation_id)
        to, attempts = delivery.to, delivery.attempts
        s.expunge(connection)
    key = f"{delivery_id}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"  # a new body (a template): a new key
    try:
        with idempotency(key):
            sent = adapter_for(connection).send(connection, to, out, window_open=window)
    except ProviderError as exc:
        return _failed(org_id, delivery_id, connection, out, attempts, exc)
    except Exception as exc:  # a bug or an unexpected reply: retried like a provider failure, then dead-lettered
        log.exception("delivery %s failed", delivery_id)
        return _failed(org_id, delivery_id, connection, out, attempts, ProviderError(str(exc), retry=True))
    with session_scope(org_id) as s:
        delivery = s.get(Delivery, delivery_id)
        delivery.state, delivery.provider_id, delivery.last_error = "sent", sent.provider_id, None
        _message_state(s, delivery, "sent")
    return "sent"


def _failed(
    org_id: str, delivery_id: str, connection: ChannelConnection, out: Outgoing, attempts: int, exc: ProviderError
) -> str:
    template = (connection.settings or {}).get("template")
    with session_scope(org_id) as s:
        delivery = s.get(Delivery, delivery_id)
        delivery.last_error = str(exc)[:500]
        if exc.window_closed and template and not out.template:
            params = [out.text[:1000]] if template.get("parameters", 1) else []
            re_engage = Outgoing(text=out.text, template={**template, "parameters": params})
            delivery.body = json.dumps(re_engage.to_dict(), ensure_ascii=False)
            delivery.state, delivery.next_attempt_at = "queued", clock.now()
            after_commit(s, lambda: enqueue(org_id, delivery_id))
            return "queued"
        delay = outbox.retry_delay(attempts) if exc.retry else None
        if delay is not None:
            delivery.state, delivery.next_attempt_at = "queued", clock.now() + timedelta(seconds=delay)
            after_commit(s, lambda: enqueue(org_id, delivery_id, delay))
            return "queued"
        delivery.state = "dead"
        _message_state(s, delivery, "failed")
        if exc.opted_out and delivery.conversation_id:
            conversation = s.get(Conversation, delivery.conversation_id)
            s.get(Contact, conversation.contact_id).sms_opted_out = True
        log.warning("delivery %s dead-lettered after %s attempt(s): %s", delivery_id, attempts, exc)
        return "dead"


def _message_state(session: Session, delivery: Delivery, state: str, error: str | None = None) -> None:
    if not delivery.message_id:
        return
    message = session.get(Message, delivery.message_id)
    if message is not None:
        meta = {**(message.meta or {}), "delivery": state}
        if error:
            meta["delivery_error"] = error
        message.meta = meta


def record_status(session: Session, connection: ChannelConnection, event: Incoming) -> bool:
    """A provider's status for a sent message: delivered, read, or failed (never moving backwards). False when
    no delivery has that provider id (yet: a status can arrive before the sender stored the id)."""
    delivery = session.execute(
        select(Delivery).where(Delivery.connection_id == connection.id, Delivery.provider_id == event.provider_id)
    ).scalar()
    if delivery is None:
        return False
    status = event.status or ""
    if status == "failed":
        delivery.state, delivery.last_error = "failed", (event.error or "failed")[:500]
        _message_state(session, delivery, "failed", event.error)
    elif STATUS_ORDER.get(status, -1) > STATUS_ORDER.get(delivery.state, 99):
        delivery.state = status
        _message_state(session, delivery, status)
    return True


def sweep(session: Session) -> list[tuple[str, str]]:
    """Deliveries due and not in the queue (queued past their time, or leased too long): marked queued again;
    returns (org_id, delivery_id) to enqueue after commit."""
    return outbox.stale(session, Delivery)


def dead_letters(session: Session, agent_id: str | None = None, limit: int = 100) -> list[Delivery]:
    query = select(Delivery).where(Delivery.state == "dead").order_by(Delivery.created_at.desc()).limit(limit)
    if agent_id:
        query = query.join(ChannelConnection, ChannelConnection.id == Delivery.connection_id).where(
            ChannelConnection.agent_id == agent_id
        )
    return list(session.execute(query).scalars())


def retry(session: Session, delivery_id: str) -> Delivery:
    """Send a dead-lettered delivery again (from the dashboard or the API)."""
    from jasping.errors import NotFound

    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery", code="delivery_not_found")
    outbox.requeue_dead(session, delivery, enqueue)
    return delivery
