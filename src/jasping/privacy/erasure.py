"""Erasing a contact (GDPR art. 17, the business as controller): every row about them, their stored files, and the
copies the platform pushed elsewhere — sheet rows appended by a lead sink, files copied to Drive, calendar events.

`erase()` runs in one transaction: it deletes the rows (contact, conversations of every channel, messages,
files, leads with their syncs, appointments, consent records, the webhook events, deliveries and emails that
carried their data), shreds the contact's data keys (`crypto.Keyring.shred`: a copy left anywhere, a backup or a
WAL file, can no longer be decrypted), writes the erasure record and queues one `ErasureTask` per copy outside
the database. Those run as jobs once the transaction commits (`privacy.erasure_jobs`), with retries; what cannot
be removed is listed in the record with the reason. The audit log gets counts only.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.channels.models import ChannelConnection, Delivery, InboundEvent
from jasping.conversations.inbox_models import CsatRating
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.crypto import contact_scope, get_keyring
from jasping.db import after_commit, get_engine, new_id
from jasping.errors import NotFound
from jasping.integrations.file_copy_models import FileCopy
from jasping.integrations.mail_models import Email
from jasping.integrations.models import Integration
from jasping.leads.models import Lead, LeadSync
from jasping.privacy import contacts
from jasping.privacy.erasure_models import ContactErasure, ErasureTask
from jasping.privacy.models import ConsentRecord
from jasping.scheduling.models import Appointment
from jasping.security import audit
from jasping.security.audit import Actor

log = logging.getLogger(__name__)


def _ids(session: Session, query: Select) -> list[str]:
    return list(session.execute(query).scalars())


def _remove(session: Session, model: type, *where: object) -> int:
    """Delete the rows of `model` matching `where`; how many."""
    return session.execute(delete(model).where(*where).execution_options(synchronize_session=False)).rowcount or 0


def _task(erasure: ContactErasure, kind: str, ref: str, integration_id: str | None = None) -> ErasureTask:
    return ErasureTask(
        id=new_id("ert"),
        org_id=erasure.org_id,
        erasure_id=erasure.id,
        kind=kind,
        integration_id=integration_id,
        ref=ref[:1000],
        state="queued",
        attempts=0,
        next_attempt_at=clock.now(),
    )


def _inbound_events(session: Session, contact: Contact, provider_ids: set[str]) -> list[str]:
    """The webhook events that carried the contact's messages or the statuses of replies to them (their body is
    encrypted JSON: read to match the sender, at most 30 days of them are kept)."""
    if not contact.phone and not provider_ids:
        return []
    rows = session.execute(
        select(InboundEvent.id, InboundEvent.body).join(
            ChannelConnection, ChannelConnection.id == InboundEvent.connection_id
        )
    ).all()
    found = []
    for event_id, body in rows:
        data = json.loads(body or "{}")
        if (contact.phone and data.get("sender") == contact.phone) or data.get("provider_id") in provider_ids:
            found.append(event_id)
    return found


def _remote_copies(session: Session, erasure: ContactErasure, leads: list[str], files: list[str], appts: list[str]):
    """The erasure's tasks for copies outside the database, and the copies it cannot reach (with the reason)."""
    tasks, unreachable = [], []
    for ref in _ids(session, select(ConversationFile.stored_file).where(ConversationFile.id.in_(files))):
        if ref:
            tasks.append(_task(erasure, "stored_file", ref))
    copies = session.execute(select(FileCopy).where(FileCopy.file_id.in_(files))).scalars()
    for copy in copies:
        if copy.remote_id:
            tasks.append(_task(erasure, "drive_file", copy.remote_id, copy.integration_id))
        elif copy.state == "sending":
            unreachable.append({"kind": "drive_file", "integration_id": copy.integration_id, "reason": "in_flight"})
    rows = session.execute(
        select(LeadSync, Integration.type)
        .join(Integration, Integration.id == LeadSync.integration_id)
        .where(LeadSync.lead_id.in_(leads))
    ).all()
    for sync, kind in rows:
        for ref in sync.remote_refs or []:
            tasks.append(_task(erasure, "sheet_row", ref, sync.integration_id))
        if kind == "webhook" and (sync.sent_at or sync.state == "sending"):
            unreachable.append({"kind": "webhook", "integration_id": sync.integration_id, "reason": "receiver_keeps"})
        elif sync.state == "sending":
            unreachable.append({"kind": "sheet_row", "integration_id": sync.integration_id, "reason": "in_flight"})
    events = session.execute(
        select(Appointment.calendar_id, Appointment.external_id).where(
            Appointment.id.in_(appts), Appointment.external_id.is_not(None)
        )
    ).all()
    for calendar_id, external_id in events:
        if calendar_id:
            tasks.append(_task(erasure, "calendar_event", external_id, calendar_id))
        else:
            unreachable.append({"kind": "calendar_event", "integration_id": None, "reason": "calendar_disconnected"})
    return tasks, unreachable


def erase(session: Session, *, contact_id: str, actor: Actor) -> ContactErasure:
    """Erase the contact and everything about them (see the module's docstring); the record of the erasure."""
    contact = contacts.get(session, contact_id)
    org_id, cid = contact.org_id, contact.id
    conversations = _ids(session, select(Conversation.id).where(Conversation.contact_id == cid))
    in_theirs = Conversation.id.in_(conversations)
    files = _ids(
        session,
        select(ConversationFile.id).where(
            or_(ConversationFile.contact_id == cid, ConversationFile.conversation_id.in_(conversations))
        ),
    )
    leads = _ids(session, select(Lead.id).where(or_(Lead.contact_id == cid, Lead.conversation_id.in_(conversations))))
    appts = _ids(
        session,
        select(Appointment.id).where(
            or_(Appointment.contact_id == cid, Appointment.conversation_id.in_(conversations))
        ),
    )
    provider_ids = set(
        _ids(session, select(Delivery.provider_id).where(Delivery.conversation_id.in_(conversations)))
    ) - {None}
    events = _inbound_events(session, contact, provider_ids)
    erasure = ContactErasure(id=new_id("cer"), org_id=org_id, contact_id=cid, state="running", not_removed=[])
    session.add(erasure)
    session.flush()
    tasks, unreachable = _remote_copies(session, erasure, leads, files, appts)
    removed = {
        "emails": _remove(session, Email, Email.ref.in_(leads + appts)),
        "inbound_events": _remove(session, InboundEvent, InboundEvent.id.in_(events)),
        "deliveries": _remove(session, Delivery, Delivery.conversation_id.in_(conversations)),
        "consent_records": _remove(
            session,
            ConsentRecord,
            or_(ConsentRecord.contact_id == cid, ConsentRecord.conversation_id.in_(conversations)),
        ),
        "conversation_files": _remove(session, ConversationFile, ConversationFile.id.in_(files)),
        "csat_ratings": _remove(
            session, CsatRating, or_(CsatRating.contact_id == cid, CsatRating.conversation_id.in_(conversations))
        ),
        "leads": _remove(session, Lead, Lead.id.in_(leads)),
        "appointments": _remove(session, Appointment, Appointment.id.in_(appts)),
        "messages": _remove(
            session, Message, or_(Message.contact_id == cid, Message.conversation_id.in_(conversations))
        ),
        "conversations": _remove(session, Conversation, in_theirs),
        "contacts": _remove(session, Contact, Contact.id == cid),
    }
    removed["data_keys"] = get_keyring().shred(session, contact_scope(cid))
    erasure.removed = removed
    erasure.not_removed = unreachable
    session.add_all(tasks)
    if not tasks:
        erasure.state = "partial" if unreachable else "done"
        erasure.finished_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contact.erase",
        org_id=org_id,
        object_type="contact",
        object_id=cid,
        detail={"erasure_id": erasure.id, "removed": removed, "remote": len(tasks), "not_removed": len(unreachable)},
    )
    from jasping.privacy import erasure_jobs

    for task in tasks:
        after_commit(session, lambda t=task.id: erasure_jobs.enqueue(org_id, t))
    after_commit(session, _reclaim_freed_pages)
    return erasure


def _reclaim_freed_pages() -> None:
    """SQLite: the erased rows' pages are zeroed (secure_delete) in the database file; the WAL still holds their
    earlier images until a checkpoint empties it. PostgreSQL: dead rows are left to autovacuum."""
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # a busy database: the next automatic checkpoint does it
        log.warning("WAL checkpoint after an erasure could not run now", exc_info=True)


def get_erasure(session: Session, erasure_id: str) -> ContactErasure:
    erasure = session.get(ContactErasure, erasure_id)
    if erasure is None:
        raise NotFound("no such erasure", code="erasure_not_found")
    return erasure


def tasks_of(session: Session, erasure_id: str) -> list[ErasureTask]:
    query = select(ErasureTask).where(ErasureTask.erasure_id == erasure_id).order_by(ErasureTask.created_at)
    return list(session.execute(query.order_by(ErasureTask.id)).scalars())
