"""A customer's file copied into the agent's Google Drive folder (a `google` integration with the `drive` use), against
the local Google stand-in: one multipart upload into the folder, retried with backoff when Google fails, given up
after the last try, picked up again when a worker dies; the customer's file in the file store is never at risk."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from google_stub import GoogleStub, Recorded, connect, point_jasping_at
from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope, unscoped
from jasping.integrations import drive_copy
from jasping.integrations.file_copy_models import FileCopy
from jasping.integrations.models import Integration
from jasping.jobs import outbox
from test_google_api import assert_shape

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"scan of a prescription" * 4
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def google(monkeypatch) -> GoogleStub:
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


class Chat:
    """An organization, its agent with a Google account connected, and a visitor's conversation in the widget."""

    def __init__(self, client, make_org, google: GoogleStub, uses: list[str]) -> None:  # noqa: ANN001
        self.client, self.google = client, google
        self.org = make_org("Clinic")
        self.agent = self.org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()
        self.integration = connect(self.org, google, self.agent["id"], uses=uses, drive_folder="Dossiers clients")
        session = client.post(f"/api/v1/widget/{self.agent['public_key']}/sessions", json={}).json()
        self.conversation_id = session["conversation_id"]
        self.headers = {"Authorization": f"Bearer {session['session_token']}"}
        google.requests.clear()

    def upload(self, name: str = "ordonnance.png", data: bytes = PNG, ctype: str = "image/png") -> dict:
        r = self.client.post(
            f"/api/v1/widget/sessions/{self.conversation_id}/files",
            files={"file": (name, data, ctype)},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return r.json()["file"]

    def download(self, file_id: str) -> bytes:
        r = self.org.get(f"/api/v1/conversations/{self.conversation_id}/files/{file_id}")
        assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment;")
        return r.content

    def copies(self) -> list[FileCopy]:
        with session_scope(self.org.id, write=False) as s:
            rows = list(s.execute(select(FileCopy).order_by(FileCopy.created_at, FileCopy.id)).scalars())
            s.expunge_all()
            return rows

    def integration_row(self) -> Integration:
        with session_scope(self.org.id, write=False) as s:
            row = s.get(Integration, self.integration["id"])
            s.expunge(row)
            return row

    def uploads(self) -> list[Recorded]:
        return self.google.of("POST", "/upload/drive/v3/files")


@pytest.fixture
def drive(client, make_org, google) -> Chat:  # noqa: ANN001
    return Chat(client, make_org, google, ["drive"])


def _parts(request: Recorded) -> tuple[dict, bytes, str]:
    """(metadata, media bytes, media content type) of a multipart upload."""
    parsed = email.message_from_bytes(
        f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.body, policy=email.policy.default
    )
    meta, media = list(parsed.iter_parts())
    return json.loads(meta.get_content()), media.get_payload(decode=True), media.get_content_type()


def _fail_drive_uploads(google: GoogleStub, monkeypatch, status: int = 503) -> None:  # noqa: ANN001
    """Google answers `status` to every upload (the folder calls still work)."""
    real = google.api

    def api(r: Recorded):  # noqa: ANN202
        if r.path == "/upload/drive/v3/files":
            return status, {"error": {"code": status, "message": "The service is currently unavailable."}}
        return real(r)

    monkeypatch.setattr(google, "api", api)


def _at(monkeypatch, when) -> None:  # noqa: ANN001
    monkeypatch.setattr(clock, "now", lambda: when)


def test_a_customers_file_is_copied_into_the_agents_drive_folder(drive) -> None:
    sent = drive.upload()
    (listing,) = drive.google.of("GET", "/drive/v3/files")
    (folder_made,) = drive.google.of("POST", "/drive/v3/files")
    (upload,) = drive.uploads()
    assert_shape(listing, "drive.v3", "files.list")
    assert_shape(folder_made, "drive.v3", "files.create")
    assert_shape(upload, "drive.v3", "files.create", media=True)
    assert upload.query["uploadType"] == ["multipart"]
    assert upload.headers["content-type"].startswith("multipart/related; boundary=")
    meta, content, ctype = _parts(upload)
    folder = next(f for f in drive.google.files.values() if f["mimeType"].endswith("folder"))
    assert folder["name"] == "Dossiers clients"
    assert meta == {"name": "ordonnance.png", "parents": [folder["id"]], "mimeType": "image/png"}
    assert content == PNG and ctype == "image/png", "the business reads its copy in Drive"

    (row,) = drive.copies()
    assert row.state == "copied" and row.attempts == 1 and row.copied_at and row.last_error is None
    assert drive.google.files[row.remote_id]["content"] == PNG and row.file_id == sent["id"]
    assert drive.download(sent["id"]) == PNG, "the stored file stays the source of truth"
    stored = drive.integration_row()
    assert stored.settings["drive_folder_id"] == folder["id"] and stored.status == "active"

    drive.google.requests.clear()
    second = drive.upload("formulaire.pdf", PDF, "application/pdf")
    assert [r.path for r in drive.google.requests] == ["/upload/drive/v3/files"], "the folder id was remembered"
    assert _parts(drive.uploads()[0])[0]["mimeType"] == "application/pdf"
    assert [c.state for c in drive.copies()] == ["copied", "copied"] and drive.copies()[1].file_id == second["id"]


def test_an_agent_without_the_drive_use_gets_no_copy(client, make_org, google) -> None:
    chat = Chat(client, make_org, google, ["calendar"])
    sent = chat.upload()
    assert chat.copies() == [] and google.requests == []
    assert chat.download(sent["id"]) == PNG


def test_google_failing_keeps_the_file_and_the_copy_is_retried_with_backoff(drive, monkeypatch) -> None:
    _fail_drive_uploads(drive.google, monkeypatch)
    sent = drive.upload()
    assert drive.download(sent["id"]) == PNG
    (row,) = drive.copies()
    assert row.state == "failed" and row.attempts == 1 and "503" in row.last_error
    first_wait = clock.as_utc(row.next_attempt_at) - clock.now()
    assert timedelta(seconds=outbox.BACKOFF[0] - 2) < first_wait <= timedelta(seconds=outbox.BACKOFF[0])
    assert drive.integration_row().status == "error" and "503" in drive.integration_row().last_error
    assert drive_copy.copy(drive.org.id, row.id) == "failed", "an early copy of the scheduled retry waits"
    assert len(drive.uploads()) == 1

    monkeypatch.undo()  # Google is back
    point_jasping_at(drive.google, monkeypatch)
    _at(monkeypatch, clock.as_utc(row.next_attempt_at))
    assert drive_copy.copy(drive.org.id, row.id) == "copied"
    monkeypatch.undo()
    (row,) = drive.copies()
    assert row.state == "copied" and row.attempts == 2 and row.last_error is None
    assert drive.google.files[row.remote_id]["content"] == PNG
    assert drive.integration_row().status == "active"


def test_after_the_last_try_the_copy_is_dead_and_the_file_is_safe(drive, monkeypatch) -> None:
    from jasping.jobs import tasks

    _fail_drive_uploads(drive.google, monkeypatch, status=500)
    sent = drive.upload()
    start = clock.now()
    for step in range(1, len(outbox.BACKOFF) + 1):  # the worker's schedule, or the sweep, tries again when due
        _at(monkeypatch, start + timedelta(hours=step))
        assert tasks.sweep_file_copies() == {"file_copies": 1}
    (row,) = drive.copies()
    assert row.state == "dead" and row.attempts == len(outbox.BACKOFF) + 1 and "500" in row.last_error
    assert len(drive.uploads()) == len(outbox.BACKOFF) + 1
    _at(monkeypatch, start + timedelta(days=1))
    assert tasks.sweep_file_copies() == {"file_copies": 0}, "dead stays dead"
    monkeypatch.undo()
    point_jasping_at(drive.google, monkeypatch)
    assert drive.download(sent["id"]) == PNG


def test_a_revoked_google_access_is_not_retried(drive) -> None:
    drive.google.expire_access_tokens()
    drive.google.refuse_refresh = True
    sent = drive.upload()
    (row,) = drive.copies()
    assert row.state == "dead" and row.attempts == 1 and "connect the Google account again" in row.last_error
    assert drive.integration_row().status == "error"
    assert drive.uploads() == [] and drive.download(sent["id"]) == PNG


def test_a_worker_dying_mid_copy_is_picked_up_by_the_sweep(drive, monkeypatch) -> None:
    from jasping.jobs import tasks

    monkeypatch.setattr(tasks, "copy_file", lambda org_id, copy_id: None)  # the queue lost the job
    drive.upload()
    with session_scope() as s, unscoped(s):  # a worker took it, then died before Google answered
        row = s.execute(select(FileCopy)).scalar_one()
        assert outbox.claim(row, clock.now(), drive_copy.WAITING) is None
    monkeypatch.undo()
    point_jasping_at(drive.google, monkeypatch)
    assert drive.uploads() == []
    assert tasks.sweep_file_copies() == {"file_copies": 0}, "the lease still runs: maybe it is only slow"
    _at(monkeypatch, clock.now() + outbox.lease() + timedelta(seconds=1))
    assert tasks.sweep_file_copies() == {"file_copies": 1}
    (row,) = drive.copies()
    assert row.state == "copied" and row.attempts == 2 and len(drive.uploads()) == 1


def test_disconnecting_google_drops_the_pending_copies(drive, monkeypatch) -> None:
    _fail_drive_uploads(drive.google, monkeypatch)
    sent = drive.upload()
    assert [c.state for c in drive.copies()] == ["failed"]
    assert drive.org.client.delete(f"/api/v1/integrations/{drive.integration['id']}").status_code == 204
    assert drive.copies() == [] and drive.download(sent["id"]) == PNG
