"""Job definitions: thin wrappers that open a session and call a service."""

from __future__ import annotations

import importlib
import logging
import os
import time
from datetime import timedelta

from huey import crontab

import jasping.models  # noqa: F401 - every table mapped before a job touches one
from jasping import clock
from jasping.db import session_scope
from jasping.jobs.queue import huey
from jasping.jobs.schedule import REGISTRY, periodic, run_job, slot_of
from jasping.security import audit, sessions

log = logging.getLogger(__name__)


@huey.task()
def ping(token: str, hold: float = 0.0) -> dict:
    """Answer from whichever worker process takes it (liveness of the queue and its workers), after `hold` seconds
    (a job that takes time: to see a shutdown wait for it, or a job spread over several workers)."""
    if hold:
        time.sleep(min(hold, 600.0))
    return {"token": token, "pid": os.getpid(), "at": clock.now().isoformat()}


@huey.task()
def ingest_source(org_id: str, source_id: str) -> str:
    """Parse, chunk and index one knowledge source."""
    from jasping.knowledge.ingestion import ingest

    return ingest(org_id, source_id)


@periodic("recrawl_sources", every=timedelta(hours=1), cron={"minute": "23"})
def recrawl_sources() -> dict:
    """Queue URL and website sources whose re-crawl is due, and sources whose job was lost."""
    from jasping.knowledge.service import due_for_recrawl, enqueue_ingestion, stalled

    with session_scope() as s:
        due, lost = due_for_recrawl(s), stalled(s)
        for source, note in [(x, "scheduled re-crawl") for x in due] + [(x, "restarted") for x in lost]:
            source.state, source.progress, source.progress_note = "queued", 0, note
            enqueue_ingestion(s, source)
        return {"recrawl": len(due), "restarted": len(lost)}


@periodic("purge_login_sessions", every=timedelta(hours=1), cron={"minute": "7"})
def purge_login_sessions() -> dict:
    """Delete expired dashboard login sessions."""
    with session_scope() as s:
        return {"deleted": sessions.purge_expired(s)}


@periodic("verify_audit_chain", every=timedelta(days=1), cron={"minute": "17", "hour": "3"})
def verify_audit_chain() -> dict:
    """Verify the audit log's hash chain and log an alert when it is broken."""
    with session_scope(write=False) as s:
        result = audit.verify(s)
    if not result.ok:
        log.error("audit chain broken: %s", result.problem)
    return {"ok": result.ok, "checked": result.checked, "problem": result.problem}


@huey.task(retries=4, retry_delay=15)
def handle_inbound(org_id: str, event_id: str) -> str:
    """Handle one webhook event of a channel (the customer's message, a delivery status)."""
    from jasping.channels.inbound import handle

    return handle(org_id, event_id)


@huey.task()
def deliver(org_id: str, delivery_id: str) -> str:
    """Send one reply through its provider (retries are scheduled by the delivery itself)."""
    from jasping.channels.deliveries import send
    from jasping.metrics import DELIVERIES

    state = send(org_id, delivery_id)
    DELIVERIES.labels(state).inc()
    return state


@periodic("sweep_channels", every=timedelta(minutes=1), cron={"minute": "*"})
def sweep_channels() -> dict:
    """Send again the deliveries left queued or whose worker died mid-send; handle events left behind."""
    from jasping.channels.deliveries import enqueue, sweep
    from jasping.channels.inbound import stalled_events

    with session_scope() as s:
        due = sweep(s)
        events = stalled_events(s)
    for org_id, delivery_id in due:
        enqueue(org_id, delivery_id)
    for org_id, event_id in events:
        handle_inbound(org_id, event_id)
    return {"deliveries": len(due), "events": len(events)}


@huey.task()
def sync_appointment(org_id: str, appointment_id: str) -> str:
    """Write one appointment (booked, moved or cancelled) to its external calendar."""
    from jasping.scheduling.sync import push

    return push(org_id, appointment_id)


@periodic("sync_calendars", every=timedelta(minutes=1), cron={"minute": "*"})
def sync_calendars() -> dict:
    """Try again the calendar writes that failed (after their pause) or were lost with a worker."""
    from jasping.scheduling.sync import due, enqueue

    with session_scope(write=False) as s:
        rows = due(s)
    for org_id, appointment_id in rows:
        enqueue(org_id, appointment_id)
    return {"retried": len(rows)}


@periodic("appointment_reminders", every=timedelta(minutes=15), cron={"minute": "*/15"})
def appointment_reminders() -> dict:
    """Remind customers of their appointment 24 hours before (email, and WhatsApp or SMS where they wrote)."""
    from jasping.scheduling.reminders import send_due

    with session_scope() as s:
        return send_due(s)


def _resend(module: str, label: str) -> dict:
    """Queue again what an outbox's sweep finds due (left queued, failed past its time, or leased by a worker that
    died): the outbox module gives `sweep(session) -> [(org_id, id)]` and `enqueue(org_id, id)`."""
    outbox = importlib.import_module(module)
    with session_scope() as s:
        due = outbox.sweep(s)
    for org_id, row_id in due:
        outbox.enqueue(org_id, row_id)
    return {label: len(due)}


@huey.task()
def sync_lead(org_id: str, sync_id: str) -> str:
    """Send one lead to one sink (retries are scheduled by the sync itself)."""
    from jasping.leads.syncs import send

    return send(org_id, sync_id)


@periodic("sweep_lead_syncs", every=timedelta(minutes=1), cron={"minute": "*"})
def sweep_lead_syncs() -> dict:
    """Send again the lead syncs left queued, failed past their retry time, or whose worker died mid-send."""
    return _resend("jasping.leads.syncs", "lead_syncs")


@huey.task()
def send_email(org_id: str, email_id: str) -> str:
    """Send one email of the outbox (retries are scheduled by the outbox itself)."""
    from jasping.integrations.mail_outbox import send

    return send(org_id, email_id)


@huey.task(retries=5, retry_delay=60)
def send_security_alert(org_id: str, integration_id: str, payload: dict) -> str:
    """POST a security alert to one of the organization's webhooks (retried when the receiver fails)."""
    from jasping.security.alerts import deliver

    return deliver(org_id, integration_id, payload)


@periodic("sweep_emails", every=timedelta(minutes=1), cron={"minute": "*"})
def sweep_emails() -> dict:
    """Send again the emails left queued or whose worker died mid-send."""
    return _resend("jasping.integrations.mail_outbox", "emails")


@huey.task()
def copy_file(org_id: str, copy_id: str) -> str:
    """Copy one customer's file into a connected Google Drive folder (retries are scheduled by the copy itself)."""
    from jasping.integrations.drive_copy import copy

    return copy(org_id, copy_id)


@periodic("sweep_file_copies", every=timedelta(minutes=1), cron={"minute": "*"})
def sweep_file_copies() -> dict:
    """Copy again the files to Drive left queued, failed past their retry time, or whose worker died mid-copy."""
    return _resend("jasping.integrations.drive_copy", "file_copies")


@huey.task()
def erase_copy(org_id: str, task_id: str) -> str:
    """Delete one copy of an erased contact's data outside the database (retries are scheduled by the task itself)."""
    from jasping.privacy.erasure_jobs import run

    return run(org_id, task_id)


@periodic("sweep_erasures", every=timedelta(minutes=1), cron={"minute": "*"})
def sweep_erasures() -> dict:
    """Try again the erasure deletions left queued, failed past their retry time, or whose worker died."""
    return _resend("jasping.privacy.erasure_jobs", "erasure_tasks")


@periodic("apply_retention", every=timedelta(days=1), cron={"minute": "41", "hour": "2"})
def apply_retention() -> dict:
    """Delete what has outlived the privacy policy's retention (counts in the audit log)."""
    from jasping.privacy import retention

    return retention.apply().as_dict()


@periodic("data_request_reminders", every=timedelta(days=1), cron={"minute": "11", "hour": "8"})
def data_request_reminders() -> dict:
    """Remind of data-subject requests due in 7 days and in 1 day; flag the overdue ones."""
    from jasping.privacy.account_mail import send_request_reminders

    with session_scope() as s:
        return send_request_reminders(s)


from jasping.billing import jobs as billing_jobs  # noqa: E402, F401 - its periodic job and its mail tasks


def _register_with_huey() -> None:
    for job in REGISTRY.values():

        def run(job=job) -> dict | None:
            now = clock.now()
            return run_job(job, now, due=slot_of(now))  # claimed for its minute: once across the cluster

        run.__name__ = f"periodic_{job.name}"
        huey.periodic_task(crontab(**job.cron), name=f"periodic.{job.name}")(run)


_register_with_huey()


@huey.task()
def run_periodic(name: str, due: str) -> dict:
    """Run one periodic job for the period due at `due` (ISO-8601), with the clock at that time, unless another
    process ran that period already: what every worker's scheduler does each minute, for a simulated time."""
    instant = clock.parse_instant(due)
    return run_job(REGISTRY[name], instant, due=instant) or {"job": name, "skipped": "not due or claimed"}


from jasping.privacy import account_mail  # noqa: E402, F401 - its task (the restore link) known to every worker
