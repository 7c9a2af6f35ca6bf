"""Reminders 24 hours before an appointment: by email when the customer gave one, and on WhatsApp or by SMS when
they booked there (or by phone: an SMS from the same number). Each appointment is claimed once with a conditional
UPDATE of `reminded_at`, so two workers never remind twice. An appointment booked less than 24 hours ahead gets
no reminder: its confirmation is recent enough.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.dates import format_slot
from jasping.scheduling import links
from jasping.scheduling.models import Appointment

log = logging.getLogger(__name__)
AHEAD = timedelta(hours=24)
CONNECTION_OF = {"whatsapp": "whatsapp", "sms": "twilio", "voice": "twilio"}  # conversation channel → connection
TEXT = {
    "en": "Reminder: your {service} appointment is {slot}. To cancel or move it: {link}",
    "fr": "Rappel : votre rendez-vous {service} est le {slot}. Pour l'annuler ou le déplacer : {link}",
}


def reminder_text(appointment: Appointment) -> str:
    lang = (appointment.language or "en")[:2]
    lang = lang if lang in TEXT else "en"
    slot = format_slot(appointment.start, ZoneInfo(appointment.tz or "UTC"), lang)
    return TEXT[lang].format(service=appointment.service_name, slot=slot, link=links.manage_url(appointment))


def _claim(session: Session, appointment: Appointment) -> bool:
    done = session.execute(
        update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.reminded_at.is_(None))
        .values(reminded_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _message(session: Session, appointment: Appointment) -> bool:
    """Queue the reminder on the channel the customer booked from; False when there is none to use."""
    from jasping.channels.base import Outgoing
    from jasping.channels.deliveries import queue
    from jasping.channels.models import ChannelConnection
    from jasping.conversations.models import Conversation
    from jasping.conversations.service import add_message

    conversation = session.get(Conversation, appointment.conversation_id) if appointment.conversation_id else None
    kind = CONNECTION_OF.get(conversation.channel) if conversation else None
    if kind is None:
        return False
    connection = session.execute(
        select(ChannelConnection)
        .where(
            ChannelConnection.agent_id == appointment.agent_id,
            ChannelConnection.type == kind,
            ChannelConnection.active.is_(True),
        )
        .order_by(ChannelConnection.created_at)
        .limit(1)
    ).scalar()
    if connection is None:
        return False
    text = reminder_text(appointment)
    message = add_message(session, conversation, role="assistant", text=text, meta={"kind": "appointment_reminder"})
    return queue(session, connection, conversation, message, Outgoing(text=text)) is not None


def send_due(session: Session) -> dict:
    """Remind the customers whose appointment starts within 24 hours (once each); counts what was sent."""
    now = clock.now()
    rows = session.execute(
        select(Appointment).where(
            Appointment.status == "booked",
            Appointment.reminded_at.is_(None),
            Appointment.start > now,
            Appointment.start <= now + AHEAD,
        )
    ).scalars()
    counts = {"reminded": 0, "emails": 0, "messages": 0}
    for appointment in list(rows):
        if appointment.created_at > appointment.start - AHEAD or not _claim(session, appointment):
            continue
        counts["reminded"] += 1
        if appointment.email:
            from jasping.integrations.mail import queue_appointment_mail

            queue_appointment_mail(session, appointment, "reminder")
            counts["emails"] += 1
        if _message(session, appointment):
            counts["messages"] += 1
    return counts
