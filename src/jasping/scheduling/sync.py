"""Copying appointments into the external calendar they were booked in: create, move, delete.

`request()` marks an appointment `pending` in the booking's transaction and queues `push()` once it commits.
`push()` reads what to write in a short transaction, talks to the calendar with no transaction open, and records
the outcome in another: `synced`, or `failed` with the reason (the booking itself is never undone). A periodic job
(`due()`) queues again what is pending or failed, with a growing pause between tries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.db import after_commit, session_scope
from jasping.integrations import calendars
from jasping.integrations import service as integrations
from jasping.integrations.models import Integration
from jasping.scheduling.models import Appointment

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12  # then it stays `failed`, visible on the appointment, until something changes it
PENDING_GRACE = timedelta(minutes=2)  # a pending push not done by then was lost (a worker died): queued again


def request(session: Session, appointment: Appointment) -> None:
    """Mark the appointment to be written to its calendar; queued once this transaction commits."""
    appointment.sync_state, appointment.sync_error, appointment.sync_attempts = "pending", None, 0
    appointment.sync_next_at = clock.now()
    org_id, appointment_id = appointment.org_id, appointment.id
    after_commit(session, lambda: enqueue(org_id, appointment_id))


def enqueue(org_id: str, appointment_id: str) -> None:
    from jasping.jobs.tasks import sync_appointment

    sync_appointment(org_id, appointment_id)


def event_of(appointment: Appointment) -> calendars.EventSpec:
    who = appointment.name or "customer"
    details = "\n".join(x for x in (appointment.name, appointment.phone, appointment.email) if x)
    return calendars.EventSpec(
        uid=f"{appointment.id}@jasping",
        start=appointment.start,
        end=appointment.end,
        tz=appointment.tz or "UTC",
        summary=f"{appointment.service_name} — {who}",
        description=details,
    )


def push(org_id: str, appointment_id: str) -> str:
    """Write one appointment's state to its calendar (a job). Returns the new sync state."""
    with session_scope(org_id, write=False) as s:
        appointment = s.get(Appointment, appointment_id)
        if appointment is None or appointment.sync_state not in ("pending", "failed") or not appointment.calendar_id:
            return appointment.sync_state or "none" if appointment else "missing"
        integration = s.get(Integration, appointment.calendar_id)
        if integration is None:
            return "none"
        status, ref, event = appointment.status, appointment.external_id, event_of(appointment)
        s.expunge(integration)
    loaded_secrets = integration.secrets_json  # a token refreshed by the call is written back after it
    provider = calendars.calendar_for(integration, event.tz)
    error = None
    try:
        if status == "cancelled":
            if ref:
                provider.cancel_event(ref)
            ref = None
        elif ref:
            ref = provider.update_event(ref, event)
        else:
            ref = provider.create_event(event)
    except calendars.CalendarUnavailable as exc:
        error = str(exc)
    calendars.forget(integration.id)
    return _record(org_id, appointment_id, (integration, loaded_secrets), status, ref, error)


def _record(org_id: str, appointment_id: str, used: tuple[Integration, str], status: str, ref: str | None, error):
    with session_scope(org_id) as s:
        appointment = s.get(Appointment, appointment_id)
        integration = s.get(Integration, used[0].id)
        if integration is not None:
            integrations.record_use(integration, error)
            if used[0].secrets_json != used[1] and integration.secrets_json == used[1]:
                integration.secrets_json = used[0].secrets_json  # unless re-authorized meanwhile
        if appointment is None:
            return "missing"
        if error:
            appointment.sync_state, appointment.sync_error = "failed", error[:500]
            appointment.sync_attempts = (appointment.sync_attempts or 0) + 1
            appointment.sync_next_at = clock.now() + timedelta(minutes=min(60, 2 ** (appointment.sync_attempts - 1)))
            log.warning("calendar sync of %s failed: %s", appointment_id, error)
            return "failed"
        appointment.external_id = ref
        if appointment.status != status:  # changed while we wrote: write again
            request(s, appointment)
            return "pending"
        appointment.sync_state, appointment.sync_error = "synced", None
        return "synced"


def due(session: Session) -> list[tuple[str, str]]:
    """(org_id, appointment_id) of the pushes to try again: failed ones once their pause is over (1, 2, 4…
    minutes, at most an hour), pending ones left behind by a worker that died."""
    now = clock.now()
    rows = session.execute(
        select(Appointment.org_id, Appointment.id).where(
            Appointment.sync_attempts < MAX_ATTEMPTS,
            or_(
                and_(Appointment.sync_state == "failed", Appointment.sync_next_at <= now),
                and_(Appointment.sync_state == "pending", Appointment.sync_next_at <= now - PENDING_GRACE),
            ),
        )
    ).all()
    return [(org_id, appointment_id) for org_id, appointment_id in rows]
