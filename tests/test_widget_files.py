"""Files a visitor sends in the chat (the save_file tool) and the chat's consent record, through the HTTP API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from jasping.config import get_settings
from jasping.db import get_engine

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.exe", b"MZ" + bytes(100))
    return buf.getvalue()


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en", "ar"]}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "fr-FR"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    base = f"/api/v1/widget/sessions/{session['conversation_id']}"
    return org, session, headers, base


def _upload(client, base, headers, name, data, ctype="application/octet-stream", **fields):  # noqa: ANN001, ANN202
    return client.post(f"{base}/files", files={"file": (name, data, ctype)}, data=fields, headers=headers)


def _files_on_disk(org) -> list[Path]:  # noqa: ANN001
    """The organization's stored conversation files (the data directory is shared by the test session)."""
    root = get_settings().data_dir / "files" / org.id / "conversation-files"
    return [p for p in root.iterdir() if p.is_file()] if root.exists() else []


def test_a_photo_is_saved_encrypted_acknowledged_and_downloadable_by_the_team(client, chat) -> None:
    org, session, headers, base = chat
    r = _upload(client, base, headers, "ordonnance.png", PNG, "image/png")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file"]["name"] == "ordonnance.png" and body["file"]["content_type"] == "image/png"
    assert body["file"]["size"] == len(PNG)
    assert "ordonnance.png" in body["reply"]["text"] and body["reply"]["language"] == "fr"
    stored = _files_on_disk(org)
    assert len(stored) == 1 and PNG not in stored[0].read_bytes(), "stored encrypted"

    history = client.get(f"{base}/messages", headers=headers).json()["messages"]
    assert history[0]["role"] == "user" and history[0]["file"]["id"] == body["file"]["id"]
    assert history[1]["role"] == "assistant" and "ordonnance.png" in history[1]["text"]

    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    assert detail["messages"][0]["file"]["name"] == "ordonnance.png"
    assert "save_file" not in detail["messages"][0]["text"]
    r = org.get(f"/api/v1/conversations/{session['conversation_id']}/files/{body['file']['id']}")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_documents_are_recognised_by_their_bytes_whatever_their_name(client, chat) -> None:
    _, _, headers, base = chat
    cases = [(PDF, "scan", "application/pdf", "scan.pdf"), (_docx(), "form.bin", "wordprocessingml", "form.docx")]
    cases.append((b"Nom: Amina\nRDV: mardi\n", "notes.txt", "text/plain", "notes.txt"))
    for data, name, ctype, shown in cases:
        r = _upload(client, base, headers, name, data)
        assert r.status_code == 201, r.text
        assert ctype in r.json()["file"]["content_type"] and r.json()["file"]["name"] == shown


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (b"MZ\x90\x00" + bytes(200), "photo.jpg", 415, "not accepted"),
        (b"\x7fELF" + bytes(200), "cv.pdf", 415, "not accepted"),
        (_zip(), "docs.zip", 415, "archives are not accepted"),
        (b"<html><script>alert(1)</script></html>", "page.txt", 415, "not accepted"),
        (b"<svg onload=alert(1)></svg>", "logo.svg", 415, "not accepted"),
        (b"", "empty.pdf", 422, "empty"),
    ],
)
def test_refused_files_get_a_clear_error_and_leave_nothing(client, chat, data, name, status, words) -> None:
    org, session, headers, base = chat
    r = _upload(client, base, headers, name, data)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]["message"]
    assert _files_on_disk(org) == []
    assert client.get(f"{base}/messages", headers=headers).json()["messages"] == []


def test_too_large_too_many_and_malformed_uploads(client, chat, monkeypatch) -> None:
    org, _, headers, base = chat
    monkeypatch.setenv("JASPING_WIDGET_MAX_FILE_MB", "1")
    monkeypatch.setenv("JASPING_WIDGET_FILES_PER_CONVERSATION", "2")
    get_settings.cache_clear()
    try:
        r = _upload(client, base, headers, "big.pdf", b"%PDF-1.4\n" + bytes(1024 * 1024 + 10))
        assert r.status_code == 413 and "1 MB" in r.json()["error"]["message"]
        for n in range(2):
            assert _upload(client, base, headers, f"p{n}.png", PNG).status_code == 201
        r = _upload(client, base, headers, "p3.png", PNG)
        assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_files"
        assert len(_files_on_disk(org)) == 2
    finally:
        get_settings.cache_clear()
    r = client.post(f"{base}/files", json={"file": "x"}, headers=headers)
    assert r.status_code == 422 and "multipart" in r.json()["error"]["message"]
    r = client.post(f"{base}/files", files={"other": ("a.png", PNG)}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_file"


def test_names_are_cleaned_and_a_retry_is_stored_once(client, chat) -> None:
    org, _, headers, base = chat
    name = "../../etc/\u202eevil\u202c تقرير.png"
    first = _upload(client, base, headers, name, PNG, client_message_id="f1")
    again = _upload(client, base, headers, name, PNG, client_message_id="f1")
    assert first.status_code == again.status_code == 201
    assert first.json()["file"]["id"] == again.json()["file"]["id"]
    assert first.json()["file"]["name"] == "evil تقرير.png"
    assert len(_files_on_disk(org)) == 1
    assert len(client.get(f"{base}/messages", headers=headers).json()["messages"]) == 2


def test_files_need_the_visitors_session_and_stay_in_their_organization(client, chat, make_org) -> None:
    org, session, headers, base = chat
    assert _upload(client, base, {}, "a.png", PNG).status_code == 401
    assert _upload(client, base, {"Authorization": "Bearer nope"}, "a.png", PNG).status_code == 401
    file_id = _upload(client, base, headers, "a.png", PNG).json()["file"]["id"]
    other = make_org("Other")
    url = f"/api/v1/conversations/{session['conversation_id']}/files/{file_id}"
    assert other.get(url).status_code == 404
    assert org.get(f"/api/v1/conversations/{session['conversation_id']}/files/fil_nope").status_code == 404
    assert client.get(url).status_code == 401


def test_the_file_name_is_not_stored_in_clear(client, chat, db_url) -> None:
    _, _, headers, base = chat
    assert _upload(client, base, headers, "dossier-medical-zyxwv.png", PNG).status_code == 201
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT name FROM conversation_files")).scalars().all()
        messages = conn.execute(text("SELECT text FROM messages")).scalars().all()
    assert rows and all("zyxwv" not in (r or "") for r in rows + messages)


def test_the_privacy_notice_consent_is_recorded_once_per_conversation(client, chat) -> None:
    org, session, headers, base = chat
    body = {
        "wording": "En discutant, vous acceptez notre politique de confidentialité.",
        "policy_url": "https://clinic.example/privacy",
        "language": "fr",
    }
    first = client.post(f"{base}/consent", json=body, headers=headers)
    again = client.post(f"{base}/consent", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["id"] == again.json()["id"] and first.json()["purpose"] == "chat_privacy_notice"
    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    (record,) = detail["consents"]
    assert record["wording"] == body["wording"] and record["policy_url"] == body["policy_url"]
    assert record["granted"] is True and record["channel"] == "web" and record["language"] == "fr"

    assert client.post(f"{base}/consent", json=body).status_code == 401
    assert client.post(f"{base}/consent", json={"wording": ""}, headers=headers).status_code == 422
    bad = {**body, "policy_url": "javascript:alert(1)"}
    other = client.post(f"/api/v1/widget/{org.id}/sessions", json={})
    assert other.status_code == 404
    r = client.post(f"{base}/consent", json=bad, headers=headers)
    assert r.status_code == 201  # the record made first stands; a script URL is never stored
    assert "javascript" not in str(org.get(f"/api/v1/conversations/{session['conversation_id']}").json())
