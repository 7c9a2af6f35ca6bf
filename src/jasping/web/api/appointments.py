"""`/api/v1/appointments` and `/api/v1/agents/{id}/appointments`: the bookings of the organization's agents —
listed, booked (the same guard against double booking as the agent's), cancelled, marked as no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from jasping import clock
from jasping.agent.flows import contact_fields
from jasping.agents.service import get_agent
from jasping.errors import Invalid
from jasping.scheduling import rules, service
from jasping.scheduling.models import Appointment
from jasping.tenancy.models import Organization, Role
from jasping.web.api import API
from jasping.web.deps import MAX_OFFSET, CurrentPrincipal, DbSession, Principal, requires

router = APIRouter(prefix=API, tags=["appointments"])
MemberPrincipal = Annotated[Principal, Depends(requires(Role.agent))]


class AppointmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent_id: str
    conversation_id: str | None
    service_id: str
    service_name: str
    start: datetime
    end: datetime
    status: str  # booked | cancelled | no_show
    name: str | None
    phone: str | None
    email: str | None
    language: str | None
    calendar_id: str | None  # the external calendar it is written to (None: JasPing's own only)
    sync_state: str | None  # pending | synced | failed (None: no external calendar)
    sync_error: str | None
    reminded_at: datetime | None
    created_at: datetime
    manage_url: str | None = None  # the customer's signed link to cancel or move it (while booked)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with its offset, such as 2026-11-27T10:00:00+01:00")
    return value


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)


class AppointmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Annotated[datetime, AfterValidator(_aware)]
    service: str = Field(min_length=1, max_length=64, description="The id of one of the agent's services")
    contact: ContactIn
    calendar_id: str | None = Field(None, max_length=40, description="One of the agent's calendars (integrations)")
    language: str | None = Field(None, max_length=8)


def read(appointment: Appointment) -> AppointmentRead:
    from jasping.scheduling import links

    out = AppointmentRead.model_validate(appointment)
    if appointment.status == "booked":
        out.manage_url = links.manage_url(appointment)
    return out


@router.get("/appointments", response_model=dict[str, list[AppointmentRead]])
def list_appointments(
    principal: CurrentPrincipal,
    db: DbSession,
    agent_id: str | None = Query(None, max_length=40),
    status: str | None = Query(None, pattern="^(booked|cancelled|no_show)$"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """In start order."""
    rows = service.list_appointments(db, agent_id=agent_id, status=status, limit=limit, offset=offset)
    return {"appointments": [read(a) for a in rows]}


@router.post("/agents/{agent_id}/appointments", status_code=201, response_model=AppointmentRead)
def book(agent_id: str, body: AppointmentCreate, principal: MemberPrincipal, db: DbSession) -> AppointmentRead:
    """Book one of the agent's services at one of the times it offers (409 `slot_taken` when it is taken;
    422 with the reason for a time outside opening hours, an unknown service or bad contact details)."""
    agent = get_agent(db, agent_id)
    org = db.get(Organization, agent.org_id)
    phone = email = None
    if body.contact.phone:
        phone = contact_fields.parse_phone(body.contact.phone, org.country if org else None)
        if phone is None:
            raise Invalid("contact.phone: not a phone number (give it with its country code, such as +33612345678)")
    if body.contact.email:
        email = contact_fields.parse_email(body.contact.email)
        if email is None or email != body.contact.email.strip().lower():
            raise Invalid("contact.email: not an email address")
    appointment = service.book_request(
        db,
        agent_id=agent.id,
        service_id=body.service,
        start=body.start,
        name=body.contact.name,
        phone=phone,
        email=email,
        language=body.language,
        calendar_id=body.calendar_id,
    )
    return read(appointment)


@router.get("/agents/{agent_id}/slots")
def free_slots(
    agent_id: str,
    principal: CurrentPrincipal,
    db: DbSession,
    service_id: str = Query(..., alias="service", max_length=64),
    days: int = Query(7, ge=1, le=60),
) -> dict:
    """The free slot starts (UTC) for a service over the next `days` days, as the agent offers them."""
    agent = get_agent(db, agent_id)
    settings = rules.settings_for(db, agent)
    svc = rules.service_for(settings, service_id)
    now = clock.now()
    end = now + timedelta(days=min(days, settings.horizon_days))
    busy = service.agent_busy(db, agent.id, now - timedelta(days=1), end + timedelta(days=1))
    slots = rules.slots(settings, svc, start=now, end=end, now=now, busy=busy)
    return {"tz": settings.tz, "service": svc.id, "slots": [s.isoformat().replace("+00:00", "Z") for s in slots]}


@router.get("/appointments/{appointment_id}", response_model=AppointmentRead)
def get_appointment(appointment_id: str, principal: CurrentPrincipal, db: DbSession) -> AppointmentRead:
    return read(service.get(db, appointment_id))


@router.delete("/appointments/{appointment_id}", status_code=204)
def cancel(appointment_id: str, principal: MemberPrincipal, db: DbSession) -> Response:
    """Cancel: the slot is free again, the calendar event deleted, the customer told."""
    service.cancel(db, appointment_id=appointment_id)
    return Response(status_code=204)


class AppointmentMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Annotated[datetime, AfterValidator(_aware)]


@router.post("/appointments/{appointment_id}/move", status_code=201, response_model=AppointmentRead)
def move(appointment_id: str, body: AppointmentMove, principal: MemberPrincipal, db: DbSession) -> AppointmentRead:
    """Move a booked appointment to another free time: answers the new appointment (the old one is cancelled; its
    calendar event is moved). 409 `slot_taken`, or 422 with the reason, as for booking."""
    return read(service.move(db, appointment_id=appointment_id, start=body.start))


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentRead)
def no_show(appointment_id: str, principal: MemberPrincipal, db: DbSession) -> AppointmentRead:
    """The customer did not come (409 before the appointment has started, or when it is not booked)."""
    return read(service.mark_no_show(db, appointment_id=appointment_id))
