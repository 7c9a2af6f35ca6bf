"""Service functions of leads: record one from a finished dialogue (one lead per person and agent: a returning
customer updates theirs), list and find them for the organization, and queue them to the sinks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.channels.connections import e164
from jasping.conversations.models import Contact, Conversation
from jasping.crypto import get_keyring
from jasping.db import new_id
from jasping.errors import NotFound
from jasping.leads import syncs
from jasping.leads.models import Lead
from jasping.privacy import consent as consents
from jasping.tenancy.models import Organization


@dataclass(frozen=True)
class LeadFilter:
    """What the list and the CSV export show: one agent's leads, a status, a kind, a creation window."""

    agent_id: str | None = None
    status: str | None = None
    kind: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def normal_email(email: str | None) -> str | None:
    return (email or "").strip().lower() or None


def normal_phone(phone: str | None, region: str | None = None) -> str | None:
    """E.164 when the number parses (with the organization's country for national numbers), else as given."""
    raw = (phone or "").strip()
    return (e164(raw, region) or raw) if raw else None


def record_lead(
    session: Session, *, conversation: Conversation, data: dict, consent_text: str, kind: str = "lead"
) -> Lead:
    """Save the lead — or update the agent's lead with the same email or phone — fill in the contact's identifiers,
    record the consent answer, and queue the lead to the sinks in the same transaction."""
    keyring, org_id = get_keyring(), conversation.org_id
    org = session.get(Organization, org_id)
    email = normal_email(data.get("email"))
    phone = normal_phone(data.get("phone"), org.country if org else None)
    email_hash = keyring.blind_index(org_id, email) if email else None
    phone_hash = keyring.blind_index(org_id, phone) if phone else None
    contact = session.get(Contact, conversation.contact_id)
    if contact is not None:
        contact.name = data.get("name") or contact.name
        if email:
            contact.email, contact.email_hash = email, email_hash
        if phone:
            contact.phone, contact.phone_hash = phone, keyring.blind_index(org_id, phone)
    existing = _returning(session, conversation.agent_id, email_hash, phone_hash)
    consent = data.get("consent")
    if existing is None:
        lead = Lead(
            id=new_id("led"),
            org_id=org_id,
            agent_id=conversation.agent_id,
            custom={},
            status="new",
            consent=False,
        )
        session.add(lead)
    else:
        lead = existing
        lead.updated_at = clock.now()
        lead.status = "new"  # they asked again: to be contacted again
    lead.conversation_id, lead.contact_id = conversation.id, conversation.contact_id
    lead.name = data.get("name") or lead.name
    if email:
        lead.email, lead.email_hash = email, email_hash
    if phone:
        lead.phone, lead.phone_hash = phone, phone_hash
    lead.custom = {**(lead.custom or {}), **dict(data.get("custom") or {})}
    lead.language = data.get("language") or lead.language
    lead.kind = kind
    if existing is None or consent is not None:  # the latest answer holds; every answer is kept as a record
        granted = bool(consent)
        lead.consent, lead.consent_at = granted, clock.now() if granted else None
        lead.consent_text = consent_text if granted else None
        consents.record(
            session,
            conversation,
            purpose=consents.CONTACT,
            granted=granted,
            wording=consent_text,
            language=data.get("language"),
        )
    if data.get("marketing") is not None:  # the optional marketing opt-in, with the wording shown
        consents.marketing_answer(
            session, conversation, bool(data["marketing"]), data.get("marketing_text"), data.get("language")
        )
    session.flush()
    syncs.queue_syncs(session, lead, event="created" if existing is None else "updated")
    if existing is None:
        from jasping.integrations.mail import queue_lead_notice

        queue_lead_notice(session, lead)
    return lead


def _returning(session: Session, agent_id: str, email_hash: str | None, phone_hash: str | None) -> Lead | None:
    """The agent's lead with this email or phone (one matching both first, then the email, then the newest). The
    agent's row is locked first, so two captures of one person at once make one lead."""
    if not email_hash and not phone_hash:
        return None
    session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update())
    conditions = [Lead.email_hash == email_hash] if email_hash else []
    conditions += [Lead.phone_hash == phone_hash] if phone_hash else []
    query = select(Lead).where(Lead.agent_id == agent_id, or_(*conditions))
    rows = list(session.execute(query.order_by(Lead.created_at.desc(), Lead.id)).scalars())

    def score(lead: Lead) -> int:
        return 2 * bool(email_hash and lead.email_hash == email_hash) + bool(
            phone_hash and lead.phone_hash == phone_hash
        )

    return max(rows, key=score) if rows else None  # the first of the best: the newest


def _filtered(query: Select, where: LeadFilter) -> Select:
    if where.agent_id:
        query = query.where(Lead.agent_id == where.agent_id)
    if where.status:
        query = query.where(Lead.status == where.status)
    if where.kind:
        query = query.where(Lead.kind == where.kind)
    if where.created_from:
        query = query.where(Lead.created_at >= where.created_from)
    if where.created_to:
        query = query.where(Lead.created_at < where.created_to)
    return query


def list_leads(
    session: Session, *, agent_id: str | None = None, where: LeadFilter | None = None, limit: int = 50, offset: int = 0
) -> list[Lead]:
    """Newest first."""
    where = where or LeadFilter(agent_id=agent_id)
    query = _filtered(select(Lead), where).order_by(Lead.created_at.desc(), Lead.id)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def get_lead(session: Session, lead_id: str) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound("no such lead", code="lead_not_found")
    return lead
