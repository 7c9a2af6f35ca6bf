"""Files in S3-compatible object storage, against moto's real HTTP server reached through JASPING_S3_ENDPOINT_URL:
what a customer sends lands in the bucket encrypted with the organization's key, the team downloads it, deleting a
stored file deletes its object, and a bucket that is down answers 503 with nothing stored."""

from __future__ import annotations

import io
import secrets
import socket

import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from sqlalchemy import func, select  # noqa: E402

from jasping import storage  # noqa: E402
from jasping.config import get_settings  # noqa: E402
from jasping.conversations import files  # noqa: E402
from jasping.conversations.models import Conversation, ConversationFile, Message  # noqa: E402
from jasping.crypto import get_keyring  # noqa: E402
from jasping.db import session_scope  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"private scan of a prescription" * 4
KEYS = {"aws_access_key_id": "jasping-test", "aws_secret_access_key": "jasping-test-secret"}
REGION = "eu-west-3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """moto's S3 as a real HTTP server on a free local port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def __enter__(self) -> S3Server:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def client(self):  # noqa: ANN201
        """A raw client, as an operator would look into the bucket."""
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, **KEYS)

    def new_bucket(self) -> str:
        name = f"jasping-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name


@pytest.fixture(scope="module")
def s3() -> S3Server:
    with S3Server() as server:
        yield server


def use_s3(monkeypatch, url: str, bucket: str) -> None:  # noqa: ANN001
    for name, value in (
        ("JASPING_FILES_BACKEND", "s3"),
        ("JASPING_S3_ENDPOINT_URL", url),
        ("JASPING_S3_BUCKET", bucket),
        ("JASPING_S3_REGION", REGION),
        ("JASPING_S3_ACCESS_KEY_ID", KEYS["aws_access_key_id"]),
        ("JASPING_S3_SECRET_ACCESS_KEY", KEYS["aws_secret_access_key"]),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def bucket(s3, monkeypatch) -> str:  # noqa: ANN001
    name = s3.new_bucket()
    use_s3(monkeypatch, s3.url, name)
    yield name
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def chat(client, make_org):  # noqa: ANN001, ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "fr-FR"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    return org, agent, session, headers, f"/api/v1/widget/sessions/{session['conversation_id']}"


def _upload(client, base: str, headers: dict, name: str = "ordonnance.png", data: bytes = PNG):  # noqa: ANN001, ANN202
    return client.post(f"{base}/files", files={"file": (name, data, "image/png")}, headers=headers)


def _objects(s3: S3Server, bucket: str) -> dict[str, bytes]:
    raw = s3.client()
    listed = raw.list_objects_v2(Bucket=bucket).get("Contents") or []
    return {o["Key"]: raw.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _stored_rows(org_id: str) -> tuple[int, int]:
    """(files, messages) the organization has in the database."""
    with session_scope(org_id, write=False) as s:
        count = s.execute(select(func.count()).select_from(ConversationFile)).scalar_one()
        return count, s.execute(select(func.count()).select_from(Message)).scalar_one()


def test_a_customers_file_lands_in_the_bucket_encrypted_and_the_team_downloads_it(client, chat, s3, bucket) -> None:
    org, _, session, headers, base = chat
    r = _upload(client, base, headers)
    assert r.status_code == 201, r.text
    file_id = r.json()["file"]["id"]

    objects = _objects(s3, bucket)
    assert list(objects) == [f"{org.id}/conversation-files/{file_id}"]
    raw = objects[f"{org.id}/conversation-files/{file_id}"]
    assert PNG not in raw and b"prescription" not in raw, "the provider holds ciphertext only"
    assert raw.startswith(b"JPB1") and get_keyring().decrypt_bytes(raw) == PNG
    assert not (get_settings().data_dir / "files" / org.id).exists(), "nothing on the local disk"

    url = f"/api/v1/conversations/{session['conversation_id']}/files/{file_id}"
    r = org.get(url)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-disposition"].startswith("attachment;") and r.headers["content-type"] == "image/png"
    assert client.get(url).status_code == 401, "only members of the organization"


def test_deleting_a_stored_file_deletes_its_object(client, chat, s3, bucket) -> None:
    org, agent, _, _, _ = chat
    upload = {"file": ("tarifs.md", io.BytesIO(b"# Tarifs\n\nLe detartrage coute 400 dirhams.\n"), "text/markdown")}
    source = org.post(f"/api/v1/agents/{agent['id']}/sources", files=upload).json()
    key = f"{org.id}/kb/{source['id']}"
    assert list(_objects(s3, bucket)) == [key] and storage.exists(key)

    assert org.client.delete(f"/api/v1/agents/{agent['id']}/sources/{source['id']}").status_code == 204
    assert _objects(s3, bucket) == {} and not storage.exists(key)
    assert storage.delete(key) is False, "already gone"


def test_a_file_whose_transaction_rolls_back_leaves_no_object(client, chat, s3, bucket) -> None:
    org, _, session, _, _ = chat
    with pytest.raises(RuntimeError), session_scope(org.id) as s:
        conversation = s.get(Conversation, session["conversation_id"])
        files.save_file(s, conversation, filename="scan.png", data=PNG)
        assert len(_objects(s3, bucket)) == 1
        raise RuntimeError("the database write failed after the upload")
    assert _objects(s3, bucket) == {}
    assert _stored_rows(org.id) == (0, 0)


def test_a_bucket_that_is_down_answers_503_and_nothing_is_stored(client, chat, monkeypatch) -> None:
    org, _, session, headers, base = chat
    with S3Server() as down:
        use_s3(monkeypatch, down.url, down.new_bucket())
        first = _upload(client, base, headers)
        assert first.status_code == 201, first.text
    # the server is stopped: uploads, downloads and deletes all say so clearly
    r = _upload(client, base, headers, "second.png")
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "storage_unavailable" and "cannot be reached" in r.json()["error"]["message"]
    assert r.headers["retry-after"]
    assert _stored_rows(org.id) == (1, 2), "only the first file and its acknowledgement"
    history = client.get(f"{base}/messages", headers=headers).json()["messages"]
    assert [m["text"] for m in history if m["role"] == "user"] == ["ordonnance.png"]

    url = f"/api/v1/conversations/{session['conversation_id']}/files/{first.json()['file']['id']}"
    assert org.get(url).status_code == 503
    ref = f"{org.id}/conversation-files/{first.json()['file']['id']}"
    assert storage.delete(ref) is False, "commit and rollback hooks never fail"
    with pytest.raises(storage.StorageUnavailable):
        storage.delete(ref, strict=True)  # erasure must know, to try again
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_missing_bucket_or_wrong_keys_are_named(client, chat, s3, monkeypatch) -> None:
    _, _, _, headers, base = chat
    use_s3(monkeypatch, s3.url, "no-such-bucket-here")
    r = _upload(client, base, headers)
    assert r.status_code == 503 and "'no-such-bucket-here' does not exist" in r.json()["error"]["message"]
    monkeypatch.undo()
    get_settings.cache_clear()
