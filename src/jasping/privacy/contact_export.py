"""A contact's data as one JSON document (GDPR art. 15 access and art. 20 portability), valid against the schema
published at `GET /api/v1/schemas/contact-export.json` (`privacy/schemas/contact-export.json`).

It holds the contact, their conversations on every channel (web chat, WhatsApp, SMS, calls as transcripts) with
every message and the satisfaction rating given after closing, the files they sent (metadata and a download link; the
bytes in base64 on request), their leads, appointments and consent records (each decision with the notice version,
method and keyed IP hash, and the state per purpose now). Rows are found through the contact and through their
conversations, so a lead or appointment left without its contact id is exported too.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from functools import cache
from importlib import resources

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.conversations.inbox_models import CsatRating
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.leads.models import Lead
from jasping.privacy.models import ConsentRecord
from jasping.scheduling.models import Appointment

FORMAT, VERSION = "jasping.contact-export", 3  # 2: consent records' notice version, method, IP hash; 3: CSAT


@cache
def schema() -> dict:
    """The published JSON Schema of the export."""
    return json.loads(resources.files("jasping.privacy").joinpath("schemas/contact-export.json").read_text("utf-8"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _message(m: Message) -> dict:
    meta = m.meta or {}
    return {
        "id": m.id,
        "seq": m.seq,
        "role": m.role,
        "text": m.text,
        "created_at": _iso(m.created_at),
        "language": meta.get("language"),
        "file": meta.get("file"),
    }


def _csat(r: CsatRating | None) -> dict | None:
    if r is None:
        return None
    return {"rating": r.rating, "comment": r.comment, "channel": r.channel, "created_at": _iso(r.created_at)}


def _file(f: ConversationFile, with_content: bool) -> dict:
    out = {
        "id": f.id,
        "conversation_id": f.conversation_id,
        "channel": f.channel,
        "name": f.name,
        "content_type": f.content_type,
        "size": f.size,
        "created_at": _iso(f.created_at),
        "download_url": f"/api/v1/conversations/{f.conversation_id}/files/{f.id}",
    }
    if with_content:
        out["content_base64"] = base64.b64encode(storage.get(f.stored_file)).decode()
    return out


def _lead(x: Lead) -> dict:
    return {
        "id": x.id,
        "agent_id": x.agent_id,
        "conversation_id": x.conversation_id,
        "kind": x.kind,
        "status": x.status,
        "name": x.name,
        "email": x.email,
        "phone": x.phone,
        "custom": dict(x.custom or {}),
        "language": x.language,
        "consent": bool(x.consent),
        "consent_at": _iso(x.consent_at),
        "consent_text": x.consent_text,
        "created_at": _iso(x.created_at),
        "updated_at": _iso(x.updated_at),
    }


def _appointment(a: Appointment) -> dict:
    return {
        "id": a.id,
        "agent_id": a.agent_id,
        "conversation_id": a.conversation_id,
        "service_name": a.service_name,
        "start": _iso(a.start),
        "end": _iso(a.end),
        "status": a.status,
        "name": a.name,
        "phone": a.phone,
        "email": a.email,
        "language": a.language,
        "tz": a.tz,
        "created_at": _iso(a.created_at),
    }


def _consent(c: ConsentRecord) -> dict:
    return {
        "id": c.id,
        "conversation_id": c.conversation_id,
        "purpose": c.purpose,
        "granted": bool(c.granted),
        "channel": c.channel,
        "wording": c.wording,
        "policy_url": c.policy_url,
        "language": c.language,
        "notice_version": c.notice_version,
        "method": c.method,
        "ip_hash": c.ip_hash,
        "created_at": _iso(c.created_at),
    }


def _consent_state(rows: list[ConsentRecord]) -> dict:
    """The state per purpose now: the latest decision (rows are oldest first) and since when."""
    return {c.purpose: {"granted": bool(c.granted), "since": _iso(c.created_at)} for c in rows}


def export(session: Session, contact: Contact, *, include_files: bool = False) -> dict:
    """Everything about `contact` (see the module's docstring); `include_files` adds each file's bytes."""
    conversations = list(
        session.execute(
            select(Conversation).where(Conversation.contact_id == contact.id).order_by(Conversation.created_at)
        ).scalars()
    )
    ids = [c.id for c in conversations]
    messages: dict[str, list[dict]] = {i: [] for i in ids}
    rows = session.execute(
        select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.conversation_id, Message.seq)
    ).scalars()
    for m in rows:
        messages[m.conversation_id].append(_message(m))

    ratings = {
        r.conversation_id: r
        for r in session.execute(select(CsatRating).where(CsatRating.conversation_id.in_(ids))).scalars()
    }

    def of(model: type, *order: object) -> list:
        where = or_(model.contact_id == contact.id, model.conversation_id.in_(ids))
        return list(session.execute(select(model).where(where).order_by(*order)).scalars())

    consents = of(ConsentRecord, ConsentRecord.created_at, ConsentRecord.id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(clock.now()),
        "organization_id": contact.org_id,
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "locale": contact.locale,
            "sms_opted_out": bool(contact.sms_opted_out),
            "restricted_at": _iso(contact.restricted_at),
            "objected_at": _iso(contact.objected_at),
            "created_at": _iso(contact.created_at),
            "last_seen_at": _iso(contact.last_seen_at),
        },
        "conversations": [
            {
                "id": c.id,
                "agent_id": c.agent_id,
                "channel": c.channel,
                "status": c.status,
                "language": c.language,
                "created_at": _iso(c.created_at),
                "last_message_at": _iso(c.last_message_at),
                "messages": messages[c.id],
                "csat": _csat(ratings.get(c.id)),
            }
            for c in conversations
        ],
        "files": [
            _file(f, include_files) for f in of(ConversationFile, ConversationFile.created_at, ConversationFile.id)
        ],
        "leads": [_lead(x) for x in of(Lead, Lead.created_at, Lead.id)],
        "appointments": [_appointment(a) for a in of(Appointment, Appointment.start, Appointment.id)],
        "consents": [_consent(c) for c in consents],
        "consent_state": _consent_state(consents),
    }
