"""Leads on their way to the sinks: one `LeadSync` per lead and sink, queued in the transaction that saves the lead,
then sent by a job. A failed send waits (`failed`) and is tried again with backoff; after the last try it is `dead`
until someone asks to "send again". A worker that dies mid-send loses nothing: the sync is leased while it is sent
and a periodic sweep queues again what was left queued, failed past its time, or leased too long.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.db import after_commit, new_id, session_scope
from jasping.errors import Conflict, NotFound
from jasping.integrations import service as integrations
from jasping.integrations.lead_sinks import LeadEvent, SinkError, lead_record, receives, sink_for, sink_types
from jasping.integrations.models import Integration
from jasping.jobs import outbox
from jasping.leads.models import Lead, LeadSync
from jasping.privacy import consent
from jasping.security import audit
from jasping.security.audit import Actor

log = logging.getLogger(__name__)
WAITING = ("queued", "failed")  # states a job may take
RETRYABLE = ("failed", "dead", "sent")  # states "send again" accepts
MAX_ERROR = 500


def sinks_for(session: Session, lead: Lead) -> list[Integration]:
    """The integrations that receive this lead: the lead sinks of its agent and of the whole organization."""
    types = sink_types()
    if not types:
        return []
    found = integrations.active(session, agent_id=lead.agent_id, types=types) + integrations.active(
        session, agent_id=None, types=types
    )
    # a marketing sink (settings "purpose": "marketing") only while the contact's marketing consent holds
    return [i for i in found if receives(i) and consent.sink_allowed(session, lead.contact_id, i)]


def queue_syncs(session: Session, lead: Lead, *, event: str) -> list[LeadSync]:
    """Queue `lead` (just "created" or "updated") to every sink; sent once the transaction commits."""
    rows = session.execute(select(LeadSync).where(LeadSync.lead_id == lead.id)).scalars()
    existing = {sync.integration_id: sync for sync in rows}
    now, queued = clock.now(), []
    for integration in sinks_for(session, lead):
        sync = existing.get(integration.id)
        if sync is None:
            sync = LeadSync(id=new_id("lsy"), org_id=lead.org_id, lead_id=lead.id, integration_id=integration.id)
            sync.revision = 1
            session.add(sync)
        else:
            sync.revision += 1  # a new version of the lead: a new event id
        sync.event, sync.state, sync.attempts = event, "queued", 0
        sync.next_attempt_at, sync.last_error = now, None
        queued.append(sync)
    session.flush()
    _enqueue_after_commit(session, [(s.org_id, s.id) for s in queued])
    return queued


def _enqueue_after_commit(session: Session, due: list[tuple[str, str]]) -> None:
    for org_id, sync_id in due:
        after_commit(session, lambda o=org_id, i=sync_id: enqueue(o, i))


def enqueue(org_id: str, sync_id: str, delay: float = 0) -> None:
    from jasping.jobs.tasks import sync_lead

    if delay > 0:
        sync_lead.schedule((org_id, sync_id), delay=delay)
    else:
        sync_lead(org_id, sync_id)


def _event(sync: LeadSync, lead: Lead) -> LeadEvent:
    occurred = lead.updated_at if sync.event == "updated" and lead.updated_at else lead.created_at
    return LeadEvent(f"evt_{sync.id}_{sync.revision}", f"lead.{sync.event}", occurred, lead_record(lead))


def send(org_id: str, sync_id: str) -> str:
    """Send one lead to one sink (a job); returns the sync's new state."""
    with session_scope(org_id) as s:
        sync = s.get(LeadSync, sync_id)
        if sync is None:
            return "missing"
        busy = outbox.claim(sync, clock.now(), WAITING)
        if busy is not None:
            return busy
        lead, integration = s.get(Lead, sync.lead_id), s.get(Integration, sync.integration_id)
        event, revision, attempts = _event(sync, lead), sync.revision, sync.attempts
        sink = sink_for(integration.type)
    try:
        if sink is None:
            raise SinkError(f"no lead sink of type {integration.type!r} in this version of JasPing", retry=False)
        written = sink.send(integration, event)
    except SinkError as exc:
        return _finish(org_id, sync_id, revision, attempts, exc)
    except Exception as exc:  # a bug or an unexpected answer: retried like a failure of the receiver, then dead
        log.exception("lead sync %s failed", sync_id)
        return _finish(org_id, sync_id, revision, attempts, SinkError(f"{type(exc).__name__}: {exc}"))
    return _finish(org_id, sync_id, revision, attempts, None, written)


def _finish(
    org_id: str, sync_id: str, revision: int, attempts: int, error: SinkError | None, written: str | None = None
) -> str:
    with session_scope(org_id) as s:
        sync = s.get(LeadSync, sync_id)
        if sync is None:
            return "missing"  # the lead was erased or the sink disconnected meanwhile
        integration = s.get(Integration, sync.integration_id)
        integrations.record_use(integration, error.message if error else None)
        if written:  # kept whatever happens next: erasure must reach every copy made
            sync.remote_refs = [*(sync.remote_refs or []), written]
        if sync.revision != revision or sync.state != "sending":
            return sync.state  # the lead changed meanwhile: its new version is queued already
        if error is None:
            sync.state, sync.sent_at, sync.last_error = "sent", clock.now(), None
            return "sent"
        sync.last_error = error.message[:MAX_ERROR]
        delay = outbox.retry_delay(attempts) if error.retry else None
        if delay is None:
            sync.state = "dead"
            log.warning("lead sync %s dead after %s attempt(s): %s", sync_id, attempts, error.message)
            return "dead"
        sync.state, sync.next_attempt_at = "failed", clock.now() + timedelta(seconds=delay)
        after_commit(s, lambda: enqueue(org_id, sync_id, delay))
        return "failed"


def sweep(session: Session) -> list[tuple[str, str]]:
    """Syncs no job holds (left queued, failed past their retry time, leased too long): queued again; returns
    (org_id, sync_id) to enqueue after commit."""
    return outbox.stale(session, LeadSync, waiting=WAITING)


def for_leads(session: Session, lead_ids: list[str]) -> dict[str, list[tuple[LeadSync, Integration]]]:
    """Each lead's syncs with their integration, oldest integration first."""
    if not lead_ids:
        return {}
    rows = session.execute(
        select(LeadSync, Integration)
        .join(Integration, Integration.id == LeadSync.integration_id)
        .where(LeadSync.lead_id.in_(lead_ids))
        .order_by(Integration.created_at, Integration.id)
    ).all()
    out: dict[str, list[tuple[LeadSync, Integration]]] = {}
    for sync, integration in rows:
        out.setdefault(sync.lead_id, []).append((sync, integration))
    return out


def retry(session: Session, *, lead_id: str, sync_id: str, actor: Actor) -> LeadSync:
    """ "Send again": a failed or dead sync is queued with a fresh set of tries (same event id, so a receiver that did
    get it ignores it); a sent one is sent as a new event. Recorded in the audit log."""
    sync = session.get(LeadSync, sync_id)
    if sync is None or sync.lead_id != lead_id:
        raise NotFound("no such sync for this lead", code="lead_sync_not_found")
    if sync.state not in RETRYABLE:
        raise Conflict(f"this lead is being sent to the sink already ({sync.state})", code="lead_sync_busy")
    previous = sync.state
    if previous == "sent":
        sync.revision += 1
    sync.state, sync.attempts, sync.next_attempt_at = "queued", 0, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="lead.sync.retry",
        org_id=sync.org_id,
        object_type="lead_sync",
        object_id=sync.id,
        detail={"lead_id": lead_id, "integration_id": sync.integration_id, "previous_state": previous},
    )
    _enqueue_after_commit(session, [(sync.org_id, sync.id)])
    return sync
