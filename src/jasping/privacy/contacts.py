"""A contact's rights, with the business as controller (GDPR art. 16, 18, 21): find a contact by email or phone,
rectify their identifiers (the keyed hashes follow), restrict processing and object to it.

Restriction (art. 18): the agent stops processing the contact's messages — each is stored for the team, the
conversation goes to "needs a person", and the only answer is a fixed acknowledgement in the live session the
contact opened (web chat, a call); nothing is queued to them (WhatsApp, SMS, email, reminders).
Objection (art. 21): nothing is sent to them unasked (reminders); the agent still answers what they ask.
The two checks live in one place each: `held()` in the agent's turn (`agent.respond`), `may_send()` in the two
outboxes (`channels.deliveries.queue`, `integrations.mail.queue_appointment_mail`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agent.llm.base import AgentStep
from jasping.conversations.models import Contact, Conversation
from jasping.crypto import get_keyring
from jasping.errors import Invalid, NotFound
from jasping.leads.models import Lead
from jasping.leads.service import normal_email, normal_phone
from jasping.scheduling.models import Appointment
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.tenancy.models import Organization

HELD_REPLY = {
    "en": "Thank you, your message has been passed on to the team. A person will follow up with you.",
    "fr": "Merci, votre message a été transmis à l'équipe. Une personne vous répondra.",
    "ar": "شكرًا، تم إرسال رسالتك إلى الفريق. سيتواصل معك أحد أعضائه.",
}
MAX_NAME = 200


def _region(session: Session, org_id: str) -> str | None:
    org = session.get(Organization, org_id)
    return org.country if org else None


def _checked_email(email: str | None) -> str | None:
    value = normal_email(email)
    if value is not None and (len(value) > 254 or "@" not in value.strip("@")):
        raise Invalid("give an email address such as name@example.com", code="invalid_email")
    return value


def _checked_phone(session: Session, org_id: str, phone: str | None) -> str | None:
    value = normal_phone(phone, _region(session, org_id))
    if value is not None and (not value.startswith("+") or len(value) > 20):
        raise Invalid(
            "give a phone number in international form (+212…), or a national one in the organization's country",
            code="invalid_phone",
        )
    return value


def find(session: Session, *, org_id: str, email: str | None = None, phone: str | None = None) -> list[Contact]:
    """The organization's contacts with this email or phone (through the keyed hashes), newest first."""
    if not email and not phone:
        raise Invalid("give an email or a phone to look a contact up", code="missing_identifier")
    keyring, conditions = get_keyring(), []
    if email:
        conditions.append(Contact.email_hash == keyring.blind_index(org_id, _checked_email(email)))
    if phone:
        conditions.append(Contact.phone_hash == keyring.blind_index(org_id, _checked_phone(session, org_id, phone)))
    query = select(Contact).where(*conditions).order_by(Contact.last_seen_at.desc(), Contact.id).limit(100)
    return list(session.execute(query).scalars())


def get(session: Session, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such contact", code="contact_not_found")
    return contact


def rectify(session: Session, contact: Contact, *, changes: dict, actor: Actor) -> Contact:
    """Correct the contact's name, email or phone (a None clears it), and the same fields of their leads and
    appointments; the keyed hashes follow, so lookups find the corrected values only."""
    keyring, org_id, fields = get_keyring(), contact.org_id, {}
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if len(name) > MAX_NAME:
            raise Invalid(f"a name has at most {MAX_NAME} characters", code="invalid_name")
        fields["name"] = name or None
    if "email" in changes:
        fields["email"] = _checked_email(changes["email"])
    if "phone" in changes:
        fields["phone"] = _checked_phone(session, org_id, changes["phone"])
    leads = session.execute(select(Lead).where(Lead.contact_id == contact.id)).scalars().all()
    appointments = session.execute(select(Appointment).where(Appointment.contact_id == contact.id)).scalars().all()
    for row in [contact, *leads, *appointments]:
        for name, value in fields.items():
            setattr(row, name, value)
            if name in ("email", "phone") and hasattr(row, f"{name}_hash"):
                setattr(row, f"{name}_hash", keyring.blind_index(org_id, value) if value else None)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contact.rectify",
        org_id=org_id,
        object_type="contact",
        object_id=contact.id,
        detail={"fields": sorted(fields), "leads": len(leads), "appointments": len(appointments)},
    )
    return contact


def set_restricted(session: Session, contact: Contact, *, on: bool, actor: Actor) -> Contact:
    """Restrict processing (art. 18) or lift the restriction."""
    contact.restricted_at = (contact.restricted_at or clock.now()) if on else None
    _note(session, contact, "contact.restrict" if on else "contact.unrestrict", actor)
    return contact


def set_objected(session: Session, contact: Contact, *, on: bool, actor: Actor) -> Contact:
    """Record an objection (art. 21) or its withdrawal."""
    contact.objected_at = (contact.objected_at or clock.now()) if on else None
    _note(session, contact, "contact.object" if on else "contact.unobject", actor)
    return contact


def _note(session: Session, contact: Contact, action: str, actor: Actor) -> None:
    session.flush()
    audit.record(
        session, actor=actor, action=action, org_id=contact.org_id, object_type="contact", object_id=contact.id
    )


# ---- the two checks ------------------------------------------------------------------------------------------
def may_send(contact: Contact | None, *, unsolicited: bool) -> bool:
    """Whether an outbox may queue a message to `contact`: never while restricted; nothing unasked (a reminder)
    once they objected."""
    if contact is None:
        return True
    if contact.restricted_at is not None:
        return False
    return not (unsolicited and contact.objected_at is not None)


def held(session: Session, conversation: Conversation) -> bool:
    """Whether the agent must not process this conversation's new messages (its contact is restricted)."""
    contact = session.get(Contact, conversation.contact_id)
    return contact is not None and contact.restricted_at is not None


def held_step(session: Session, conversation: Conversation, language: str | None) -> AgentStep:
    """The only answer to a restricted contact: an acknowledgement; the conversation goes to a person."""
    from jasping.conversations.service import flag_for_human

    flag_for_human(session, conversation, "restricted")
    lang = (language or conversation.language or "en")[:2]
    lang = lang if lang in HELD_REPLY else "en"
    return AgentStep(text=HELD_REPLY[lang], intent="restricted", language=lang, model="none")
