"""The copies an erasure reaches outside the database, deleted by jobs with retries: a stored file (local or S3),
a sheet row a lead sink appended (`values:clear` on the range Google gave back), a file copied to Drive
(`files.delete`), an event written to a calendar (CalDAV `DELETE`, Google `events.delete`).

Each task is leased while it runs, retried after a growing pause when the service fails (`jobs.outbox`), and
given up (`dead`) after the last try or when retrying cannot help (the integration was disconnected, access was
revoked). A copy already gone counts as deleted. When every task of an erasure is over, the erasure is `done`, or
`partial` with the copies left listed in `not_removed`. No network call holds a transaction open.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.db import after_commit, session_scope
from jasping.integrations import calendars, google_drive, google_sheets
from jasping.integrations.google_api import GoogleApiError
from jasping.integrations.models import Integration
from jasping.jobs import outbox
from jasping.privacy.erasure_models import ContactErasure, ErasureTask

log = logging.getLogger(__name__)
WAITING = ("queued", "failed")
OVER = ("done", "dead")
MAX_ERROR = 500


class RemoteFailure(Exception):
    """A copy could not be deleted now; `retry` says whether trying later may help."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.message, self.retry = message, retry


def enqueue(org_id: str, task_id: str, delay: float = 0) -> None:
    from jasping.jobs.tasks import erase_copy

    if delay > 0:
        erase_copy.schedule((org_id, task_id), delay=delay)
    else:
        erase_copy(org_id, task_id)


def sweep(session: Session) -> list[tuple[str, str]]:
    """Tasks no job holds (left queued, failed past their retry time, leased too long), queued again."""
    return outbox.stale(session, ErasureTask, waiting=WAITING)


def _delete(kind: str, integration: Integration | None, ref: str) -> None:
    if kind == "stored_file":
        try:
            storage.delete(ref, strict=True)
        except storage.StorageUnavailable as exc:
            raise RemoteFailure(exc.message) from exc
        return
    if integration is None:
        raise RemoteFailure("the integration holding this copy was disconnected", retry=False)
    try:
        if kind == "sheet_row":
            google_sheets.clear_row(integration, ref)
        elif kind == "drive_file":
            google_drive.delete_file(integration, ref)
        elif kind == "calendar_event":
            calendars.calendar_for(integration).cancel_event(ref)
            calendars.forget(integration.id)
        else:
            raise RemoteFailure(f"unknown kind of copy {kind!r}", retry=False)
    except GoogleApiError as exc:
        raise RemoteFailure(exc.message, retry=exc.retry) from exc
    except calendars.CalendarUnavailable as exc:
        raise RemoteFailure(str(exc)) from exc


def run(org_id: str, task_id: str) -> str:
    """Delete one copy (a job); returns the task's new state."""
    with session_scope(org_id) as s:
        task = s.get(ErasureTask, task_id)
        if task is None:
            return "missing"
        busy = outbox.claim(task, clock.now(), WAITING)
        if busy is not None:
            return busy
        kind, ref, attempts = task.kind, task.ref, task.attempts
        integration = s.get(Integration, task.integration_id) if task.integration_id else None
        if integration is not None:
            s.expunge(integration)
    loaded = integration.secrets_json if integration is not None else None
    error = None
    try:
        _delete(kind, integration, ref)
    except RemoteFailure as exc:
        error = exc
    except Exception as exc:  # a bug or an unexpected answer: retried, then given up
        log.exception("erasure task %s failed", task_id)
        error = RemoteFailure(f"{type(exc).__name__}: {exc}")
    return _finish(org_id, task_id, attempts, integration, loaded, error)


def _finish(
    org_id: str,
    task_id: str,
    attempts: int,
    used: Integration | None,
    loaded: str | None,
    error: RemoteFailure | None,
) -> str:
    with session_scope(org_id) as s:
        if used is not None:
            stored = s.get(Integration, used.id)
            if stored is not None and used.secrets_json != loaded and stored.secrets_json == loaded:
                stored.secrets_json = used.secrets_json  # a token refreshed by the call
        task = s.get(ErasureTask, task_id)
        if task is None or task.state != "sending":
            return task.state if task is not None else "missing"
        if error is None:
            task.state, task.done_at, task.last_error = "done", clock.now(), None
        else:
            task.last_error = error.message[:MAX_ERROR]
            delay = outbox.retry_delay(attempts) if error.retry else None
            if delay is None:
                task.state = "dead"
                log.warning("erasure task %s (%s) given up: %s", task_id, task.kind, error.message)
            else:
                task.state, task.next_attempt_at = "failed", clock.now() + timedelta(seconds=delay)
                after_commit(s, lambda: enqueue(org_id, task_id, delay))
        s.flush()
        _close(s, task.erasure_id)
        return task.state


def _close(session: Session, erasure_id: str) -> None:
    """The erasure is over once every task is: done, or partial with the copies given up listed."""
    tasks = list(session.execute(select(ErasureTask).where(ErasureTask.erasure_id == erasure_id)).scalars())
    if any(t.state not in OVER for t in tasks):
        return
    erasure = session.get(ContactErasure, erasure_id)
    if erasure.finished_at is not None:
        return
    dead = [
        {"kind": t.kind, "integration_id": t.integration_id, "reason": t.last_error or "failed"}
        for t in tasks
        if t.state == "dead"
    ]
    erasure.not_removed = [*(erasure.not_removed or []), *dead]
    erasure.state = "partial" if erasure.not_removed else "done"
    erasure.finished_at = clock.now()
