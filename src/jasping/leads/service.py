"""Service functions of leads: record one from a finished dialogue, list them for the organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.conversations.models import Contact, Conversation
from jasping.crypto import get_keyring
from jasping.db import new_id
from jasping.leads.models import Lead
from jasping.privacy import consent as consents


def record_lead(
    session: Session, *, conversation: Conversation, data: dict, consent_text: str, kind: str = "lead"
) -> Lead:
    """Save the lead and fill in the contact's identifiers (looked up later by keyed hash)."""
    keyring = get_keyring()
    email, phone = data.get("email") or None, data.get("phone") or None
    contact = session.get(Contact, conversation.contact_id)
    if contact is not None:
        contact.name = data.get("name") or contact.name
        if email:
            contact.email, contact.email_hash = email, keyring.blind_index(conversation.org_id, email.lower())
        if phone:
            contact.phone, contact.phone_hash = phone, keyring.blind_index(conversation.org_id, phone)
    consent = bool(data.get("consent"))
    lead = Lead(
        id=new_id("led"),
        org_id=conversation.org_id,
        agent_id=conversation.agent_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        name=data.get("name") or None,
        email=email,
        phone=phone,
        custom=dict(data.get("custom") or {}),
        language=data.get("language"),
        kind=kind,
        consent=consent,
        consent_at=clock.now() if consent else None,
        consent_text=consent_text if consent else None,
    )
    session.add(lead)
    session.flush()
    consents.record(
        session,
        conversation,
        purpose=consents.CONTACT,
        granted=consent,
        wording=consent_text,
        language=data.get("language"),
    )
    return lead


def list_leads(session: Session, *, agent_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Lead]:
    query = select(Lead).order_by(Lead.created_at.desc(), Lead.id)
    if agent_id:
        query = query.where(Lead.agent_id == agent_id)
    return list(session.execute(query.limit(limit).offset(offset)).scalars())
