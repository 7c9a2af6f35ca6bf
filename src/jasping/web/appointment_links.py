"""The customer's pages behind a signed link (`jasping.scheduling.links`): see the appointment, cancel it, or move
it to one of the free times listed. No account: the link is the key. A changed link answers 400, an expired one
410, each with a page that says so; nothing is written unless the link verifies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from jasping import clock
from jasping.agent.dates import format_slot
from jasping.agents.models import Agent
from jasping.db import session_scope
from jasping.errors import DomainError
from jasping.scheduling import links, rules, service
from jasping.scheduling.models import Appointment

router = APIRouter(prefix=links.PATH, include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "appointment_templates"), autoescape=select_autoescape(["html"])
)
TEXT = {
    "en": {
        "title": "Your appointment",
        "cancel": "Cancel this appointment",
        "move": "Move it",
        "pick": "Choose a new time",
        "previous": "Previous day",
        "next": "Next day",
        "none_that_day": "No free time that day.",
        "move_button": "Move my appointment",
        "cancelled": "Your appointment is cancelled.",
        "moved": "Your appointment is moved to {when}.",
        "taken": "That time has just been taken; please choose another.",
        "not_booked": "This appointment is no longer booked (it was cancelled or moved).",
        "invalid": "This link is not valid: it is incomplete or was changed. Use the link from your message.",
        "expired": "This link has expired: the appointment has already started.",
        "manage_new": "Manage the new appointment",
        "done": "Done",
        "problem": "This link cannot be used",
    },
    "fr": {
        "title": "Votre rendez-vous",
        "cancel": "Annuler ce rendez-vous",
        "move": "Le déplacer",
        "pick": "Choisissez un nouvel horaire",
        "previous": "Jour précédent",
        "next": "Jour suivant",
        "none_that_day": "Aucun horaire libre ce jour-là.",
        "move_button": "Déplacer mon rendez-vous",
        "cancelled": "Votre rendez-vous est annulé.",
        "moved": "Votre rendez-vous est déplacé au {when}.",
        "taken": "Cet horaire vient d'être pris ; choisissez-en un autre.",
        "not_booked": "Ce rendez-vous n'est plus réservé (il a été annulé ou déplacé).",
        "invalid": "Ce lien n'est pas valide : il est incomplet ou a été modifié. Utilisez le lien de votre message.",
        "expired": "Ce lien a expiré : le rendez-vous a déjà commencé.",
        "manage_new": "Gérer le nouveau rendez-vous",
        "done": "C'est fait",
        "problem": "Ce lien ne peut pas être utilisé",
    },
}


def _lang(appointment: Appointment | None) -> str:
    lang = ((appointment.language if appointment else None) or "en")[:2]
    return lang if lang in TEXT else "en"


def _page(template: str, status: int = 200, *, lang: str = "en", **context: object) -> HTMLResponse:
    html = _env.get_template(template).render(lang=lang, t=TEXT[lang], **context)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the link is the key: keep it
    return HTMLResponse(html, status_code=status, headers=headers)


def _message(key: str, status: int, lang: str = "en", *, heading: str = "problem", **params: str) -> HTMLResponse:
    t = TEXT[lang]
    link = params.pop("link", None)
    return _page("message.html", status, lang=lang, heading=t[heading], message=t[key].format(**params), link=link)


def _verify(token: str) -> links.Link | HTMLResponse:
    try:
        return links.verify(token)
    except links.LinkInvalid:
        return _message("invalid", 400)
    except links.LinkExpired:
        return _message("expired", 410)


def _manage(  # noqa: PLR0913
    session,  # noqa: ANN001
    appointment: Appointment,
    token: str,
    status: int = 200,
    notice: str = "",
    day: date | None = None,
) -> HTMLResponse:
    """The appointment's page: what and when, a cancel button, and the free times of one day to move it to."""
    lang, tz = _lang(appointment), appointment.tz or "UTC"
    zone = ZoneInfo(tz)
    now = clock.now()
    day = day or appointment.start.astimezone(zone).date()
    slots: list[datetime] = []
    try:
        agent = session.get(Agent, appointment.agent_id)
        settings = rules.settings_for(session, agent)
        svc = rules.service_for(settings, appointment.service_id)
        lo = datetime.combine(day, time.min, zone).astimezone(UTC)
        hi = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
        busy = service.agent_busy(session, agent.id, lo - timedelta(days=1), hi + timedelta(days=1))
        own = (appointment.start, appointment.busy_until)
        busy = [b for b in busy if (b.start, b.end) != own]  # moving a little later may overlap its own time
        found = rules.slots(settings, svc, start=max(lo, now), end=hi, now=now, busy=busy)
        slots = [s for s in found if s != appointment.start]
    except DomainError:
        pass  # the agent stopped taking bookings or dropped the service: cancelling still works
    base = f"{links.PATH}/{token}"
    today = now.astimezone(zone).date()
    return _page(
        "manage.html",
        status,
        lang=lang,
        base=base,
        service=appointment.service_name,
        when=format_slot(appointment.start, zone, lang),
        tz=tz,
        notice=notice,
        day=format_slot(datetime.combine(day, time(12), zone), zone, lang).rsplit(" ", 2)[0],
        previous=f"{base}?day={day - timedelta(days=1)}" if day > today else None,
        next=f"{base}?day={day + timedelta(days=1)}",
        slots=[(s.isoformat(), format_slot(s, zone, lang)) for s in slots],
    )


def _booked(session, link: links.Link) -> Appointment | HTMLResponse:  # noqa: ANN001
    appointment = session.get(Appointment, link.appointment_id)
    if appointment is None:
        return _message("invalid", 404)
    if appointment.status != "booked":
        return _message("not_booked", 409, _lang(appointment))
    return appointment


@router.get("/{token}", response_class=HTMLResponse)
def show(token: str, day: str | None = Query(None, max_length=10)) -> HTMLResponse:
    """The page; `?day=YYYY-MM-DD` lists that day's free times (default: the appointment's day)."""
    link = _verify(token)
    if isinstance(link, HTMLResponse):
        return link
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        chosen = None
    with session_scope(link.org_id, write=False) as s:
        appointment = _booked(s, link)
        return appointment if isinstance(appointment, HTMLResponse) else _manage(s, appointment, token, day=chosen)


@router.post("/{token}/cancel", response_class=HTMLResponse)
def cancel(token: str) -> HTMLResponse:
    link = _verify(token)
    if isinstance(link, HTMLResponse):
        return link
    with session_scope(link.org_id) as s:
        appointment = _booked(s, link)
        if isinstance(appointment, HTMLResponse):
            return appointment
        service.cancel(s, appointment_id=appointment.id)
        return _message("cancelled", 200, _lang(appointment), heading="done")


@router.post("/{token}/move", response_class=HTMLResponse)
def move(token: str, start: str = Form(..., max_length=40)) -> HTMLResponse:
    link = _verify(token)
    if isinstance(link, HTMLResponse):
        return link
    try:
        when = clock.parse_instant(start)
    except ValueError:
        when = None
    with session_scope(link.org_id) as s:
        appointment = _booked(s, link)
        if isinstance(appointment, HTMLResponse):
            return appointment
        lang = _lang(appointment)
        if when is None:
            return _manage(s, appointment, token, 422, TEXT[lang]["taken"])
        try:
            moved = service.move(s, appointment_id=appointment.id, start=when)
        except service.SlotTaken:
            return _manage(s, appointment, token, 409, TEXT[lang]["taken"])
        except DomainError as exc:
            return _manage(s, appointment, token, exc.status, exc.message)
        spoken = format_slot(moved.start, ZoneInfo(moved.tz or "UTC"), lang)
        return _message("moved", 200, lang, heading="done", when=spoken, link=links.manage_url(moved))
