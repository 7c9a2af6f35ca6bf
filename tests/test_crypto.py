"""Encryption at rest: no plaintext in the database, master-key rotation, failing closed."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from conftest import JASPING, cli_env
from jasping import crypto
from jasping.config import get_settings
from jasping.crypto import CryptoError, Keyring, MasterKeyError, decode_key, encode_key
from jasping.db import get_engine, open_session
from jasping.tenancy.models import Organization, User

SECRET_EMAIL = "fatima.zahra+secret@clinique-atlas.example"
SECRET_PHONE = "+212661234567"
SECRET_NAME = "Fatima Zahra El Idrissi"


def _store_personal_data(client, make_org) -> str:  # noqa: ANN001
    org = make_org("Atlas")
    r = org.client.patch("/api/v1/organization", json={"contact_email": SECRET_EMAIL, "contact_phone": SECRET_PHONE})
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": "owner.private@example.org",
            "password": "correct horse battery",
            "organization_name": "Riad",
            "name": SECRET_NAME,
            "accept_privacy_notice": True,
        },
    )
    assert r.status_code == 201
    return org.id


def _all_cells(db_url: str) -> str:
    engine = get_engine()
    with engine.connect() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                    if db_url.startswith("sqlite")
                    else "SELECT tablename FROM pg_tables WHERE schemaname='public'"
                )
            )
        ]
        return "\n".join(str(tuple(row)) for n in names for row in conn.execute(text(f'SELECT * FROM "{n}"')))  # noqa: S608


def test_raw_database_holds_no_plaintext_of_encrypted_fields(client, make_org, db_url) -> None:
    org_id = _store_personal_data(client, make_org)
    dump = _all_cells(db_url)
    for secret in (SECRET_EMAIL, SECRET_PHONE, SECRET_NAME, "owner.private@example.org", "fatima"):
        assert secret.lower() not in dump.lower(), f"{secret} found in the database"
    assert "jp1:dek_" in dump
    if db_url.startswith("sqlite"):
        with get_engine().connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(db_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in (SECRET_EMAIL, SECRET_PHONE, SECRET_NAME):
            assert secret.encode() not in raw
    # and the application reads them back
    with open_session(org_id) as s:
        org = s.get(Organization, org_id)
        assert (org.contact_email, org.contact_phone) == (SECRET_EMAIL, SECRET_PHONE)


def test_each_organization_has_its_own_data_key(client, make_org, db_url) -> None:
    a, b = make_org("A"), make_org("B")
    for org in (a, b):
        org.client.patch("/api/v1/organization", json={"contact_email": "same@example.org"})
    with get_engine().connect() as conn:
        values = dict(
            conn.execute(text("SELECT id, contact_email FROM organizations WHERE contact_email IS NOT NULL")).all()
        )
    assert values[a.id].split(":")[1] != values[b.id].split(":")[1]
    assert values[a.id] != values[b.id]


def test_tampered_ciphertext_fails_authentication(client, make_org, db_url) -> None:
    org = make_org()
    org.client.patch("/api/v1/organization", json={"contact_phone": SECRET_PHONE})
    with get_engine().begin() as conn:
        value = conn.execute(text("SELECT contact_phone FROM organizations WHERE id=:i"), {"i": org.id}).scalar()
        prefix, dek, body = value.split(":", 2)
        flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
        conn.execute(
            text("UPDATE organizations SET contact_phone=:v WHERE id=:i"),
            {"v": f"{prefix}:{dek}:{flipped}", "i": org.id},
        )
    with pytest.raises(CryptoError):
        crypto.get_keyring().decrypt(f"{prefix}:{dek}:{flipped}")
    r = org.get("/api/v1/organization")
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"


def test_master_key_rotation_keeps_old_rows_readable(client, make_org, db_url) -> None:
    org_id = _store_personal_data(client, make_org)
    key_path = get_settings().data_dir / "master.key"
    before = key_path.read_text()
    out = subprocess.run([JASPING, "keys", "rotate"], env=cli_env(db_url), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "re-wrapped" in out.stdout
    assert key_path.read_text() != before
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    with get_engine().connect() as conn:
        kids = set(conn.execute(text("SELECT master_kid FROM data_keys")).scalars())
    assert kids == {crypto.key_id(decode_key(key_path.read_text()))}
    # a fresh process holding only the new key reads rows written before the rotation
    new_only = Keyring(get_engine(), decode_key(key_path.read_text()))
    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT contact_email FROM organizations WHERE id=:i"), {"i": org_id}).scalar()
    assert new_only.decrypt(stored) == SECRET_EMAIL
    out = subprocess.run([JASPING, "keys", "retire"], env=cli_env(db_url), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not list(key_path.parent.glob("master.key.old-*"))
    crypto.reset_keyrings()
    with open_session() as s:
        with pytest.raises(StatementError, match="blind index"):  # ciphertext cannot be compared
            s.query(User).filter(User.name == SECRET_NAME).count()
        s.rollback()
        assert SECRET_NAME in {u.name for u in s.query(User).all()}


def test_rotation_with_an_environment_key_prints_the_new_key(client, make_org, db_url) -> None:
    org_id = _store_personal_data(client, make_org)
    current = (get_settings().data_dir / "master.key").read_text().strip()
    new = encode_key(os.urandom(32))
    env = cli_env(db_url, JASPING_MASTER_KEY=current)
    out = subprocess.run(
        [JASPING, "keys", "rotate", "--new-key", new], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert new in out.stdout
    out = subprocess.run(
        [JASPING, "audit", "verify"],
        env=cli_env(db_url, JASPING_MASTER_KEY=new),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    reader = Keyring(get_engine(), decode_key(new))
    with get_engine().connect() as conn:
        stored = conn.execute(text("SELECT contact_email FROM organizations WHERE id=:i"), {"i": org_id}).scalar()
    assert reader.decrypt(stored) == SECRET_EMAIL
    # put the file key back for the other tests
    subprocess.run(
        [JASPING, "keys", "rotate", "--new-key", current],
        env=cli_env(db_url, JASPING_MASTER_KEY=new),
        capture_output=True,
        timeout=120,
        check=True,
    )
    crypto.reset_keyrings()


def test_a_wrong_master_key_fails_closed_with_a_clear_error(client, make_org, db_url) -> None:
    _store_personal_data(client, make_org)
    wrong = encode_key(os.urandom(32))
    out = subprocess.run(
        [JASPING, "audit", "verify"],
        env=cli_env(db_url, JASPING_MASTER_KEY=wrong),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "master key" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(MasterKeyError):
        Keyring(get_engine(), os.urandom(32)).check()
    for bad in ("short", "A" * 10, "é" * 44):
        with pytest.raises(MasterKeyError):
            decode_key(bad)


def test_key_file_is_created_owner_only(tmp_path) -> None:
    settings = get_settings().model_copy(update={"data_dir": tmp_path, "master_key": None})
    raw, old = crypto.load_master_keys(settings)
    path = tmp_path / "master.key"
    assert len(raw) == 32 and old == []
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert crypto.load_master_keys(settings)[0] == raw
