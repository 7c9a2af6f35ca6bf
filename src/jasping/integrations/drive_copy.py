"""Files customers send, copied into the agent's Google Drive folder (a `google` integration with the `drive` use).

`queue_copies` adds one `FileCopy` per Drive integration of the conversation's agent in the transaction that saves
the file, and queues `copy` once it commits. `copy` (a job) leases the row, reads the file from the file store (the
source of truth: local or S3), uploads it with one multipart request, and records the outcome in another
transaction: `copied` with Drive's id, `failed` to be tried again after a growing pause, or `dead` after the last
try or when trying again cannot help (access revoked, the `drive` use removed). No network call holds a transaction
open. A worker that dies mid-copy loses nothing: the periodic `sweep` queues again what was left behind. A failed
copy never touches the customer's file.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock, storage
from jasping.conversations.models import Conversation, ConversationFile
from jasping.db import after_commit, new_id, session_scope
from jasping.integrations import google_drive
from jasping.integrations import service as integrations
from jasping.integrations.file_copy_models import FileCopy
from jasping.integrations.google_api import GoogleApiError
from jasping.integrations.models import Integration
from jasping.jobs import outbox

log = logging.getLogger(__name__)
WAITING = ("queued", "failed")  # states a job may take
MAX_ERROR = 500


class CopyFailed(Exception):
    """A copy did not happen; `retry` says whether trying again later may help, `google` whether Google failed (the
    integration then shows the error)."""

    def __init__(self, message: str, *, retry: bool = True, google: bool = False):
        super().__init__(message)
        self.message, self.retry, self.google = message, retry, google


def drive_integrations(session: Session, agent_id: str) -> list[Integration]:
    """The agent's Google integrations connected with the `drive` use, oldest first."""
    found = integrations.active(session, agent_id=agent_id, types=("google",))
    return [i for i in found if "drive" in ((i.settings or {}).get("uses") or [])]


def queue_copies(session: Session, file: ConversationFile) -> list[FileCopy]:
    """Queue `file` (just saved, flushed) to every Drive folder of its agent; copied once the transaction commits."""
    conversation = session.get(Conversation, file.conversation_id)
    if conversation is None:
        return []
    rows = []
    for integration in drive_integrations(session, conversation.agent_id):
        row = FileCopy(id=new_id("fcp"), org_id=file.org_id, file_id=file.id, integration_id=integration.id)
        row.state, row.attempts, row.next_attempt_at = "queued", 0, clock.now()
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
        for row in rows:
            after_commit(session, lambda o=row.org_id, i=row.id: enqueue(o, i))
    return rows


def enqueue(org_id: str, copy_id: str, delay: float = 0) -> None:
    from jasping.jobs.tasks import copy_file

    if delay > 0:
        copy_file.schedule((org_id, copy_id), delay=delay)
    else:
        copy_file(org_id, copy_id)


def copy(org_id: str, copy_id: str) -> str:
    """Copy one file into one Drive folder (a job); returns the copy's new state."""
    with session_scope(org_id) as s:
        row = s.get(FileCopy, copy_id)
        if row is None:
            return "missing"
        busy = outbox.claim(row, clock.now(), WAITING)
        if busy is not None:
            return busy
        file, integration = s.get(ConversationFile, row.file_id), s.get(Integration, row.integration_id)
        attempts, ref, name, ctype = row.attempts, file.stored_file, file.name, file.content_type
        s.expunge(integration)  # used without a transaction open; what the call changed is written back after
    loaded_secrets = integration.secrets_json
    remote_id, error = None, None
    try:
        if "drive" not in ((integration.settings or {}).get("uses") or []):
            raise CopyFailed("this Google integration no longer copies files to Drive", retry=False)
        data = _stored_bytes(ref)
        remote_id = google_drive.upload_file(integration, name=name, content=data, mime_type=ctype)["id"]
    except CopyFailed as exc:
        error = exc
    except GoogleApiError as exc:
        error = CopyFailed(exc.message, retry=exc.retry, google=True)
    except Exception as exc:  # a bug or an unexpected answer: retried like a failure of Google, then dead
        log.exception("file copy %s failed", copy_id)
        error = CopyFailed(f"{type(exc).__name__}: {exc}")
    return _finish(org_id, copy_id, attempts, integration, loaded_secrets, remote_id, error)


def _stored_bytes(ref: str) -> bytes:
    try:
        return storage.get(ref)
    except storage.StorageUnavailable as exc:
        raise CopyFailed(exc.message) from exc
    except FileNotFoundError as exc:
        raise CopyFailed("the file is no longer stored (erased?)", retry=False) from exc


def _finish(
    org_id: str,
    copy_id: str,
    attempts: int,
    used: Integration,
    loaded_secrets: str,
    remote_id: str | None,
    error: CopyFailed | None,
) -> str:
    with session_scope(org_id) as s:
        row = s.get(FileCopy, copy_id)
        integration = s.get(Integration, used.id)
        if integration is not None:
            _keep_changes(integration, used, loaded_secrets)
            if error is None or error.google:
                integrations.record_use(integration, error.message if error else None)
        if row is None or row.state != "sending":
            return row.state if row is not None else "missing"  # erased or disconnected meanwhile
        if error is None:
            row.state, row.copied_at, row.remote_id, row.last_error = "copied", clock.now(), remote_id, None
            return "copied"
        row.last_error = error.message[:MAX_ERROR]
        delay = outbox.retry_delay(attempts) if error.retry else None
        if delay is None:
            row.state = "dead"
            log.warning("file copy %s dead after %s attempt(s): %s", copy_id, attempts, error.message)
            return "dead"
        row.state, row.next_attempt_at = "failed", clock.now() + timedelta(seconds=delay)
        after_commit(s, lambda: enqueue(org_id, copy_id, delay))
        return "failed"


def _keep_changes(stored: Integration, used: Integration, loaded_secrets: str) -> None:
    """What the call learnt, written back: a refreshed token (unless the integration was re-authorized meanwhile)
    and the folder it made or found (unless one is known already)."""
    if used.secrets_json != loaded_secrets and stored.secrets_json == loaded_secrets:
        stored.secrets_json = used.secrets_json
    folder = (used.settings or {}).get("drive_folder_id")
    if folder and not (stored.settings or {}).get("drive_folder_id"):
        stored.settings = {**(stored.settings or {}), "drive_folder_id": folder}


def sweep(session: Session) -> list[tuple[str, str]]:
    """Copies no job holds (left queued, failed past their retry time, leased too long): queued again; returns
    (org_id, copy_id) to enqueue after commit."""
    return outbox.stale(session, FileCopy, waiting=WAITING)


def copies_of(session: Session, file_id: str) -> list[FileCopy]:
    """A file's copies, oldest first (their state, and Drive's id for erasure)."""
    query = select(FileCopy).where(FileCopy.file_id == file_id).order_by(FileCopy.created_at, FileCopy.id)
    return list(session.execute(query).scalars())
