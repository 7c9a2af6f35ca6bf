"""The calendar of an agent: busy intervals, booking without double booking, cancelling, no-shows, listing.

Bookings of one agent are serialised by locking the agent's row (PostgreSQL `SELECT … FOR UPDATE`;
SQLite write transactions are already exclusive), then the slot is checked against the appointments booked on the
chosen calendar, and that calendar's external busy times, before the insert: two customers racing for one slot of
one calendar get one booking and one "taken". Each of an agent's calendars (staff or rooms) is booked on its own: a
slot is offered while one of them is free, and a booking goes to the first one free (or to the one named).
External calendars are read before the lock (and cached), and written after the commit by a job
(`jasping.scheduling.sync`), so a calendar that is slow or down never holds the lock nor loses a booking. Every
booking, cancellation and move goes through here, from the agent, the API and the customer's links alike, and
queues the customer's mail.
"""

from __future__ import annotations

from dataclasses import replace as copy
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.db import new_id
from jasping.errors import Conflict, NotFound
from jasping.integrations import calendars
from jasping.scheduling import sync
from jasping.scheduling.availability import Interval, Service, resource
from jasping.scheduling.models import Appointment
from jasping.tenancy.models import Organization


def busy(session: Session, agent_id: str, start: datetime, end: datetime, exclude: str | None = None) -> list[Interval]:
    """Booked intervals (with their buffers) that touch [start, end), each on its calendar (`resource`)."""
    rows = session.execute(
        select(Appointment.id, Appointment.start, Appointment.busy_until, Appointment.calendar_id).where(
            Appointment.agent_id == agent_id,
            Appointment.status == "booked",
            Appointment.start < end,
            Appointment.busy_until > start,
        )
    ).all()
    return [Interval(s, e, c) for i, s, e, c in rows if i != exclude]


def agent_tz(session: Session, agent: Agent) -> str:
    """The time zone the agent books in: its booking settings', else its organization's."""
    tz = (agent.booking or {}).get("tz")
    if tz:
        return str(tz)
    org = session.get(Organization, agent.org_id)
    return (org.timezone if org else None) or "UTC"


def agent_busy(session: Session, agent_id: str, start: datetime, end: datetime) -> list[Interval]:
    """Everything that blocks the agent's slots in [start, end): its appointments and its external calendars' busy
    times, per calendar (a slot is free while one calendar is; see `availability.resource`)."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return []
    ids = [c.id for c in calendars.agent_calendars(session, agent_id)]
    external = calendars.external_busy(session, agent_id, start, end, tz=agent_tz(session, agent))
    return [resource(i) for i in ids] + _on_calendars(busy(session, agent_id, start, end), ids) + external


def _on_calendars(booked: list[Interval], ids: list[str]) -> list[Interval]:
    """Appointments on none of the agent's calendars (builtin, or one since disconnected) block all of them."""
    return [iv if iv.resource in ids else copy(iv, resource=None) for iv in booked]


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
    email: str | None = None,
    calendar_id: str | None = None,
    replacing: str | None = None,
) -> Appointment:
    """Book `service` at `start` (UTC) on the first of the agent's calendars (oldest first) where it overlaps no
    booked appointment and no external busy time, else SlotTaken. `calendar_id` allows only that calendar;
    `replacing` moves that appointment here (it is cancelled, its calendar event moved when it stays on its
    calendar, which is tried first)."""
    end = start + timedelta(minutes=service.duration_min)
    until = end + timedelta(minutes=service.buffer_min)
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    old = session.get(Appointment, replacing) if replacing else None
    choices = calendars.booking_calendars(session, agent_id, calendar_id, prefer=old.calendar_id if old else None)
    tz = agent_tz(session, agent)
    external = calendars.external_busy(session, agent_id, start, until, tz=tz)  # read before the lock
    session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update())
    ids = [c.id for c in calendars.agent_calendars(session, agent_id)]
    booked = _on_calendars(busy(session, agent_id, start, until, exclude=replacing), ids)
    taken = {iv.resource for iv in booked + external if iv.start < until and iv.end > start}  # None: all calendars
    free = [c for c in choices if None not in taken and (c.id if c else None) not in taken]
    if not free:
        raise SlotTaken("this slot has just been taken")
    calendar = free[0]
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
        email=email if email is not None else (old.email if old else None),
        language=language,
        tz=tz,
        calendar_id=calendar.id if calendar else None,
        created_at=clock.now(),
    )
    if old is not None:
        if old.external_id and old.calendar_id == appointment.calendar_id:  # the event moves with it
            appointment.external_id, old.external_id, old.sync_state = old.external_id, None, None
        cancel(session, appointment_id=old.id, notify=False)
    session.add(appointment)
    session.flush()
    if calendar is not None:
        sync.request(session, appointment)
    _mail(session, appointment, "confirmation")
    return appointment


def book_request(
    session: Session,
    *,
    agent_id: str,
    service_id: str,
    start: datetime,
    name: str,
    phone: str | None,
    email: str | None,
    language: str | None = None,
    calendar_id: str | None = None,
) -> Appointment:
    """A booking from outside the dialogue (the API): the agent's service at one of the times it offers, checked
    (Invalid says why), then booked with the same guard as the agent's (SlotTaken)."""
    from jasping.agents.service import get_agent
    from jasping.scheduling import rules

    agent = get_agent(session, agent_id)
    settings = rules.settings_for(session, agent)
    service = rules.service_for(settings, service_id)
    rules.check_start(settings, service, start.astimezone(UTC), clock.now())
    return book(
        session,
        agent_id=agent.id,
        service=service,
        start=start.astimezone(UTC),
        conversation_id=None,
        contact_id=None,
        name=name,
        phone=phone,
        email=email,
        language=language,
        calendar_id=calendar_id,
    )


def move(session: Session, *, appointment_id: str, start: datetime) -> Appointment:
    """Move a booked appointment to another of the times the agent offers: a new appointment replaces it (same
    customer, service and calendar event, moved), the old one is cancelled. Invalid / SlotTaken as for booking."""
    from jasping.scheduling import rules

    old = get(session, appointment_id)
    if old.status != "booked":
        raise Conflict(f"this appointment is {old.status.replace('_', ' ')}; it cannot be moved", code="not_booked")
    agent = session.get(Agent, old.agent_id)
    settings = rules.settings_for(session, agent)
    service = next((s for s in settings.services if s.id == old.service_id), None) or Service(
        old.service_id,
        old.service_name,
        int((old.end - old.start).total_seconds() // 60),
        int((old.busy_until - old.end).total_seconds() // 60),
    )
    start = start.astimezone(UTC)
    rules.check_start(settings, service, start, clock.now())
    return book(
        session,
        agent_id=old.agent_id,
        service=service,
        start=start,
        conversation_id=old.conversation_id,
        contact_id=old.contact_id,
        name=old.name,
        phone=old.phone,
        language=old.language,
        replacing=old.id,
    )


def _mail(session: Session, appointment: Appointment, event: str) -> None:
    if not appointment.email:
        return
    from jasping.integrations.mail import queue_appointment_mail

    queue_appointment_mail(session, appointment, event)


def get(session: Session, appointment_id: str) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("no such appointment", code="appointment_not_found")
    return appointment


def cancel(session: Session, *, appointment_id: str, notify: bool = True) -> Appointment:
    """Cancel the appointment (already cancelled: nothing changes); its slot is free again, its event deleted."""
    appointment = get(session, appointment_id)
    if appointment.status == "cancelled":
        return appointment
    if appointment.status == "no_show":
        raise Conflict("this appointment is marked as a no-show; it cannot be cancelled", code="no_show")
    appointment.status = "cancelled"
    session.flush()
    if appointment.external_id or appointment.sync_state == "pending":
        sync.request(session, appointment)
    if notify:
        _mail(session, appointment, "cancellation")
    return appointment


def mark_no_show(session: Session, *, appointment_id: str) -> Appointment:
    """The customer did not come: only a booked appointment that has started can be marked."""
    appointment = get(session, appointment_id)
    if appointment.status == "no_show":
        return appointment
    if appointment.status != "booked":
        raise Conflict("only a booked appointment can be marked as a no-show", code="not_booked")
    if appointment.start > clock.now():
        raise Conflict("this appointment has not started yet", code="not_started")
    appointment.status = "no_show"
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
