"""Outgoing email: what other modules call. Each function renders its template (in the customer's or the business's
language), builds the MIME message (text, HTML and, for bookings, an iCalendar invitation) and queues it in the
caller's transaction (`mail_outbox`); a job sends it after the commit, through SMTP or into the file outbox.

A missing or invalid customer address is not an error of the booking: the mail is skipped and the reason logged.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.dates import format_slot
from jasping.agents.models import LANGUAGES, Agent
from jasping.config import get_settings
from jasping.errors import Invalid
from jasping.integrations import ics, mail_templates
from jasping.integrations.mail_models import Email
from jasping.integrations.mail_outbox import queue
from jasping.integrations.mail_templates import Rendered, one_line, render
from jasping.integrations.mail_transport import platform_sender
from jasping.scheduling.links import manage_url
from jasping.tenancy.models import Membership, Organization, Role, User

log = logging.getLogger(__name__)
APPOINTMENT_EVENTS = ("confirmation", "cancellation", "reminder")
_METHOD = {"confirmation": "REQUEST", "cancellation": "CANCEL"}  # a reminder carries no invitation


@dataclass(frozen=True)
class Attachment:
    data: bytes
    maintype: str
    subtype: str
    filename: str
    params: dict


def checked_address(value: str | None) -> str | None:
    """The address normalised, or None when it is missing or not an address a mail server takes."""
    if not value or not isinstance(value, str):
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError:
        return None


def compose(
    *,
    sender: tuple[str, str],
    to: tuple[str | None, str],
    rendered: Rendered,
    reply_to: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """A 7-bit clean MIME message: multipart/alternative (text, HTML), then the attachments; non-ASCII headers are
    RFC 2047 encoded, bodies quoted-printable UTF-8."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = rendered.subject
    msg["From"] = Address(one_line(sender[0], 120), addr_spec=sender[1])
    msg["To"] = Address(one_line(to[0] or "", 120), addr_spec=to[1])
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender[1].rpartition("@")[2])
    msg["Content-Language"] = rendered.lang
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to the robot
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if attachments:
        msg.make_mixed()
    for a in attachments:
        msg.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename, params=a.params)
    return msg


def _sender(session: Session, org: Organization) -> tuple[str, str]:
    """(name, address) mail to customers comes from: the organization's Gmail's, else its own SMTP integration's,
    else the platform's."""
    from jasping.integrations import mail_gmail
    from jasping.integrations.mail_smtp import org_smtp, sender_of

    if (gmail := mail_gmail.org_gmail(session)) is not None:
        return mail_gmail.sender_of(gmail, org.name or "JasPing")
    integration = org_smtp(session)
    return sender_of(integration, org.name) if integration else (org.name or "JasPing", platform_sender())


def _zone(name: str) -> tuple[str, ZoneInfo]:
    try:
        return name, ics.zone(name)
    except ValueError:
        log.warning("unknown time zone %r; appointment mail shown in UTC", name)
        return "UTC", ics.zone("UTC")


def _sequence(session: Session, appointment_id: str) -> int:
    """How many invitations were sent for the appointment before: the next SEQUENCE of its event."""
    query = select(func.count()).where(Email.ref == appointment_id, Email.kind.in_(tuple(_METHOD)))
    return int(session.execute(query).scalar() or 0)


def queue_appointment_mail(session: Session, appointment, event: str) -> None:
    """Queue the customer's mail about `appointment` (a `scheduling.models.Appointment`): "confirmation" (a new
    booking or a move, with METHOD:REQUEST), "cancellation" (METHOD:CANCEL) or "reminder". Nothing when the
    appointment has no valid email address, or for a reminder already queued."""
    if event not in APPOINTMENT_EVENTS:
        raise ValueError(f"event must be one of {', '.join(APPOINTMENT_EVENTS)}")
    from jasping.conversations.models import Contact
    from jasping.privacy.contacts import may_send

    contact = session.get(Contact, appointment.contact_id) if appointment.contact_id else None
    if not may_send(contact, unsolicited=event == "reminder"):  # restricted or objected (GDPR art. 18 / 21)
        return
    raw = appointment.email
    to = checked_address(raw)
    if to is None:
        if raw:
            log.warning("appointment %s: %r is not an email address; no %s mail", appointment.id, raw, event)
        return
    seen = select(Email.id).where(Email.ref == appointment.id, Email.kind == "reminder").limit(1)
    if event == "reminder" and session.execute(seen).first():
        return
    org = session.get(Organization, appointment.org_id)
    agent = session.get(Agent, appointment.agent_id)
    booking = (agent.booking if agent else None) or {}
    tz_name, tz = _zone(appointment.tz or booking.get("tz") or org.timezone or "UTC")
    lang = mail_templates.language(appointment.language)
    sequence = _sequence(session, appointment.id) if event in _METHOD else 0
    moved = event == "confirmation" and sequence > 0
    start, end = clock.as_utc(appointment.start), clock.as_utc(appointment.end)
    context = {
        "business": org.name,
        "customer": appointment.name,
        "service": appointment.service_name,
        "when": format_slot(start, tz, lang),
        "ends": end.astimezone(tz).strftime("%H:%M"),
        "tz": tz_name,
        "updated": moved,
        "manage_url": manage_url(appointment) if event != "cancellation" else None,  # signed, until it starts
    }
    rendered = render(event, lang, context, subject_key="moved" if moved else None)
    sender = _sender(session, org)
    reply_to = checked_address(org.contact_email)
    attachments: tuple[Attachment, ...] = ()
    if event in _METHOD:
        method = _METHOD[event]
        invite = ics.Invitation(
            uid=ics.appointment_uid(appointment.id),
            start=start,
            end=end,
            tz=tz_name,
            summary=f"{appointment.service_name} — {org.name}",
            method=method,
            sequence=sequence,
            organizer=ics.Person(reply_to or sender[1], org.name),
            attendee=ics.Person(to, appointment.name),
        )
        params = {"method": method, "charset": "utf-8"}
        attachments = (Attachment(ics.build_ics(invite), "text", "calendar", "invite.ics", params),)
    message = compose(
        sender=sender, to=(appointment.name, to), rendered=rendered, reply_to=reply_to, attachments=attachments
    )
    queue(session, org_id=appointment.org_id, kind=event, to=to, message=message, ref=appointment.id)


def business_address(session: Session, org: Organization) -> str | None:
    """Where the business is written to: its contact email, else its first owner's login email."""
    if address := checked_address(org.contact_email):
        return address
    owner = session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org.id, Membership.role == Role.owner.value, User.is_active.is_(True))
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
    ).scalar()
    return checked_address(owner.email) if owner else None


def queue_lead_notice(session: Session, lead) -> None:
    """Queue the new-lead notice to the business (its contact email, else its owner), in its default language."""
    org = session.get(Organization, lead.org_id)
    to = business_address(session, org) if org else None
    if to is None:
        log.warning("organization %s has no contact or owner email; no notice of lead %s", lead.org_id, lead.id)
        return
    agent = session.get(Agent, lead.agent_id)
    lang = mail_templates.language(org.default_language)
    _, tz = _zone(org.timezone or "UTC")
    received = format_slot(clock.as_utc(lead.created_at) or clock.now(), tz, lang)
    custom = [(one_line(k, 80), one_line(v, 500)) for k, v in (lead.custom or {}).items() if v not in (None, "")]
    context = {
        "business": org.name,
        "agent": agent.name if agent else org.name,
        "who": lead.name or lead.email or lead.phone or "—",
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "language": LANGUAGES.get(lead.language or "", lead.language),
        "received": received,
        "custom": custom,
        "consent": bool(lead.consent),
        "callback": lead.kind == "callback",
        "dashboard_url": f"{get_settings().base_url.rstrip('/')}/agents/{lead.agent_id}",
    }
    rendered = render("lead_notice", lang, context)
    reply_to = checked_address(lead.email)
    message = compose(sender=("JasPing", platform_sender()), to=(org.name, to), rendered=rendered, reply_to=reply_to)
    queue(session, org_id=org.id, kind="lead_notice", to=to, message=message, ref=lead.id)


def queue_code(session: Session, *, org_id: str, to: str, code: str, language: str) -> None:
    """Queue a verification code to `to`; `Invalid` for an address or a code that cannot be sent."""
    address = checked_address(to)
    if address is None:
        raise Invalid("to: give a valid email address such as name@example.com", code="invalid_email")
    code = str(code).strip()
    if not code or len(code) > 32 or any(c.isspace() for c in code):
        raise Invalid("code: give a short code without spaces", code="invalid")
    org = session.get(Organization, org_id)
    if org is None:
        raise Invalid("org_id: no such organization", code="invalid")
    rendered = render("code", language, {"business": org.name, "code": code})
    message = compose(sender=_sender(session, org), to=(None, address), rendered=rendered)
    queue(session, org_id=org_id, kind="code", to=address, message=message)
