"""The builtin calendar: busy intervals, booking without double booking, cancelling, listing.

Bookings of one agent are serialised by locking the agent's row (PostgreSQL `SELECT … FOR UPDATE`;
SQLite write transactions are already exclusive), then the slot is checked against every booked
appointment before the insert: two customers racing for one slot get one booking and one "taken".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.db import new_id
from jasping.errors import Conflict, NotFound
from jasping.scheduling.availability import Interval, Service
from jasping.scheduling.models import Appointment


def busy(session: Session, agent_id: str, start: datetime, end: datetime, exclude: str | None = None) -> list[Interval]:
    """Booked intervals (with their buffers) that touch [start, end)."""
    rows = session.execute(
        select(Appointment.id, Appointment.start, Appointment.busy_until).where(
            Appointment.agent_id == agent_id,
            Appointment.status == "booked",
            Appointment.start < end,
            Appointment.busy_until > start,
        )
    ).all()
    return [Interval(s, e) for i, s, e in rows if i != exclude]


class SlotTaken(Conflict):
    code = "slot_taken"


def book(
    session: Session,
    *,
    agent_id: str,
    service: Service,
    start: datetime,
    conversation_id: str | None,
    contact_id: str | None,
    name: str | None,
    phone: str | None,
    language: str | None,
    replacing: str | None = None,
) -> Appointment:
    """Book `service` at `start` (UTC) unless the slot overlaps a booked appointment (SlotTaken)."""
    session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update())
    end = start + timedelta(minutes=service.duration_min)
    until = end + timedelta(minutes=service.buffer_min)
    if busy(session, agent_id, start, until, exclude=replacing):
        raise SlotTaken("this slot has just been taken")
    if replacing:
        cancel(session, appointment_id=replacing)
    appointment = Appointment(
        id=new_id("apt"),
        agent_id=agent_id,
        conversation_id=conversation_id,
        contact_id=contact_id,
        service_id=service.id,
        service_name=service.name,
        start=start,
        end=end,
        busy_until=until,
        name=name,
        phone=phone,
        language=language,
    )
    session.add(appointment)
    session.flush()
    return appointment


def cancel(session: Session, *, appointment_id: str) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("no such appointment", code="appointment_not_found")
    appointment.status = "cancelled"
    session.flush()
    return appointment


def upcoming_for_contact(session: Session, contact_id: str) -> list[Appointment]:
    return list(
        session.execute(
            select(Appointment)
            .where(
                Appointment.contact_id == contact_id, Appointment.status == "booked", Appointment.start > clock.now()
            )
            .order_by(Appointment.start)
        ).scalars()
    )


def list_appointments(
    session: Session, *, agent_id: str | None = None, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[Appointment]:
    query = select(Appointment).order_by(Appointment.start, Appointment.id)
    if agent_id:
        query = query.where(Appointment.agent_id == agent_id)
    if status:
        query = query.where(Appointment.status == status)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())
