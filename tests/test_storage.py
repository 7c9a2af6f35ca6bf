"""The local file store (the default): encrypted files under the data directory, references checked, and a disk that
refuses a write answers 503 with nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jasping import storage
from jasping.config import get_settings
from jasping.conversations.models import ConversationFile, Message
from jasping.crypto import get_keyring
from jasping.db import session_scope

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"a private photo" * 4


def test_local_files_are_encrypted_and_can_be_read_checked_and_deleted(make_org) -> None:
    org = make_org()
    assert storage.store().name == "local"
    ref = storage.put(org_id=org.id, area="conversation-files", name="fil_abc", data=PNG)
    assert ref == f"{org.id}/conversation-files/fil_abc"
    path = get_settings().data_dir / "files" / org.id / "conversation-files" / "fil_abc"
    raw = path.read_bytes()
    assert b"a private photo" not in raw and get_keyring().decrypt_bytes(raw) == PNG
    assert [p.name for p in path.parent.iterdir()] == ["fil_abc"], "no temporary file left"
    assert storage.get(ref) == PNG and storage.exists(ref)

    assert storage.delete(ref) is True and not path.exists()
    assert storage.delete(ref) is False and not storage.exists(ref) and storage.delete(None) is False
    with pytest.raises(FileNotFoundError):
        storage.get(ref)


@pytest.mark.parametrize("ref", ["../etc/passwd", "org/area", "org/area/../x", "org/ar ea/x", "org/area/x/y", ""])
def test_references_that_could_leave_the_store_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="invalid file reference"):
        storage.get(ref)
    with pytest.raises(ValueError, match="invalid file reference"):
        storage.store().write(ref, b"x")


def test_a_disk_that_refuses_the_write_answers_503_and_nothing_is_stored(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    root = get_settings().data_dir / "files"
    root.mkdir(parents=True, exist_ok=True)
    (root / org.id).write_bytes(b"")  # a file where the organization's directory should be: mkdir fails
    try:
        r = client.post(
            f"/api/v1/widget/sessions/{session['conversation_id']}/files",
            files={"file": ("photo.png", PNG, "image/png")},
            headers={"Authorization": f"Bearer {session['session_token']}"},
        )
    finally:
        (root / org.id).unlink()
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "storage_unavailable" and "try again" in r.json()["error"]["message"]
    with session_scope(org.id, write=False) as s:
        assert s.execute(select(func.count()).select_from(ConversationFile)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Message)).scalar_one() == 0
