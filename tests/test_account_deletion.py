"""Deleting an account (`DELETE /api/v1/me`): login refused at once, restorable through the emailed link until day
30, erased by the daily job after it — with the organizations the user solely owned, their rows, files and keys —
while every other account and organization is untouched. The link: tampered 400, expired 410, used twice 409."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

import account_fixtures
from account_fixtures import PASSWORD, delete_account, log_in, register, restore_token
from jasping import storage
from jasping.db import get_engine, new_id, session_scope
from jasping.jobs import tasks  # noqa: F401 - registers the periodic jobs
from jasping.jobs.schedule import run_due
from jasping.security import audit
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Membership, Role, User

smtp, travel = account_fixtures.smtp, account_fixtures.travel  # fixtures
DAY = timedelta(days=1)
CANARY = {"name": "Canary Zelda Quist", "email": "canary.quist@example.org"}


def _setup(client):  # noqa: ANN001, ANN202
    """The canary (sole owner of Canary Co, with an agent and an uploaded file; co-owner of the other user's
    organization), and the other user."""
    canary = register(client, CANARY["name"], CANARY["email"], "Canary Co")
    other = register(client, "Olivia Other", "olivia@example.org", "Other Co")
    agent = canary.post("/api/v1/agents", json={"name": "Bot"}).json()
    files = {"file": ("notes.md", io.BytesIO(b"# Notes\n\nQuist secret plan.\n"), "text/markdown")}
    source = canary.post(f"/api/v1/agents/{agent['id']}/sources", files=files).json()
    with session_scope() as s:
        ref = s.execute(text("SELECT stored_file FROM kb_sources WHERE id = :i"), {"i": source["id"]}).scalar()
        # a second organization the canary co-owns with the other user: it survives the canary
        shared = other.me["organization_id"]
        s.add(Membership(id=new_id("mem"), org_id=shared, user_id=canary.me["user_id"], role=Role.owner.value))
    return canary, other, ref


def _rows(sql: str, **params) -> list:
    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).all()


def test_login_is_refused_at_once_and_the_link_restores_the_account_on_day_29(client, smtp, travel) -> None:
    canary, other, _ = _setup(client)
    assert delete_account(canary, "not my password").status_code == 403
    assert log_in(client, CANARY["email"]).status_code == 200  # nothing happened

    r = delete_account(canary)
    assert r.status_code == 202, r.text
    body = r.json()
    assert [o["name"] for o in body["organizations_erased_with_the_account"]] == ["Canary Co"]
    assert canary.get("/api/v1/auth/me").status_code == 401  # the session is over
    refused = log_in(client, CANARY["email"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_deleted"
    assert "restore link" in refused.json()["error"]["message"]
    wrong = log_in(client, CANARY["email"], "not my password")
    assert wrong.status_code == 401  # without the password, nothing tells the account exists
    assert log_in(client, "olivia@example.org").status_code == 200  # others unaffected

    token = restore_token(smtp, CANARY["email"])
    travel(travel.start + 29 * DAY)
    run_due(travel.start + 29 * DAY)
    assert _rows("SELECT id FROM users WHERE id = :i", i=canary.me["user_id"])
    page = client.get(f"/account/restore?token={token}")
    assert page.status_code == 200 and "Restore" in page.text
    assert client.post("/account/restore", data={"token": token}).status_code == 200
    assert log_in(client, CANARY["email"]).status_code == 200
    again = client.post("/account/restore", data={"token": token})
    assert again.status_code == 409
    [(status,)] = _rows("SELECT status FROM data_requests WHERE subject_id = :i", i=canary.me["user_id"])
    assert status == "withdrawn"


def test_the_account_is_erased_on_day_31_and_nothing_else(client, smtp, travel, db_url) -> None:
    canary, other, ref = _setup(client)
    user_id, org_id = canary.me["user_id"], canary.me["organization_id"]
    email_hash = _rows("SELECT email_hash FROM users WHERE id = :i", i=user_id)[0][0]
    assert delete_account(canary).status_code == 202
    token = restore_token(smtp, CANARY["email"])

    travel(travel.start + 29 * DAY)
    run_due(travel.start + 29 * DAY)
    assert _rows("SELECT id FROM organizations WHERE id = :i", i=org_id) and storage.exists(ref)

    travel(travel.start + 31 * DAY)
    results = {r["job"]: r for r in run_due(travel.start + 31 * DAY)}
    assert results["apply_retention"]["result"]["tables"]["users"] == 1
    assert not _rows("SELECT id FROM users WHERE id = :i", i=user_id)
    assert not _rows("SELECT id FROM organizations WHERE id = :i", i=org_id)
    assert not _rows("SELECT id FROM agents WHERE org_id = :i", i=org_id)
    assert not _rows("SELECT id FROM data_keys WHERE scope = :i", i=org_id)
    assert not storage.exists(ref)
    assert not _rows("SELECT id FROM memberships WHERE user_id = :i", i=user_id)
    # the co-owned organization and the other account are untouched
    assert _rows("SELECT id FROM organizations WHERE id = :i", i=other.me["organization_id"])
    assert log_in(client, "olivia@example.org").status_code == 200
    assert _rows("SELECT id FROM data_keys WHERE scope = :i", i=other.me["organization_id"])
    # the erasure request is closed; the link is over
    [(status,)] = _rows("SELECT status FROM data_requests WHERE subject_id = :i", i=user_id)
    assert status == "completed"
    assert client.get(f"/account/restore?token={token}").status_code == 410
    assert log_in(client, CANARY["email"]).status_code == 401

    # no trace of the email, the name or the blind index anywhere in the database
    needles = [CANARY["email"], CANARY["name"], email_hash, "Quist"]
    with get_engine().connect() as conn:
        if conn.dialect.name == "sqlite":
            path = db_url.split("///", 1)[1]
            raw = b"".join(Path(p).read_bytes() for p in (path, f"{path}-wal") if Path(p).exists())
            assert not [n for n in needles[:2] if n.encode() in raw]
        tables = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type='table'")
            if conn.dialect.name == "sqlite"
            else text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ).scalars()
        dump = "\n".join(str(row) for t in tables for row in conn.execute(text(f'SELECT * FROM "{t}"')))
    assert not [n for n in needles if n in dump]


def test_a_changed_or_expired_restore_link(client, smtp, travel) -> None:
    canary, _, _ = _setup(client)
    assert delete_account(canary).status_code == 202
    token = restore_token(smtp, CANARY["email"])
    body, sig = token.rsplit(".", 1)
    tampered = f"{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    for bad in (tampered, "acd_0123.12.x", "", token[:-1]):
        r = client.post("/account/restore", data={"token": bad})
        assert r.status_code == 400, bad
    later = token.split(".")
    later[1] = str(int(later[1]) + 86400)  # a longer validity is not ours to give
    assert client.post("/account/restore", data={"token": ".".join(later)}).status_code == 400
    travel(travel.start + 30 * DAY + timedelta(hours=1))  # expired, before the daily job erased it
    assert client.get(f"/account/restore?token={token}").status_code == 410
    assert client.post("/account/restore", data={"token": token}).status_code == 410


def test_only_the_account_holder_with_the_password_deletes(client, make_org) -> None:
    org = make_org()
    assert org.client.request("DELETE", "/api/v1/me", json={}).status_code == 422
    r = org.client.request("DELETE", "/api/v1/me", json={"password": "wrong"}, headers={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "step_up"
    key = org.client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=org.headers)
    assert key.status_code == 403 and key.json()["error"]["code"] == "user_only"
    anonymous = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
    assert anonymous.status_code == 401


def test_the_dashboard_deletes_the_account_and_the_settings_offer_the_download(client, smtp) -> None:
    canary = register(client, CANARY["name"], CANARY["email"], "Canary Co")
    settings = canary.get("/settings")
    assert settings.status_code == 200 and "/account/export" in settings.text
    with session_scope() as s:  # a second organization the canary owns alone: also named, whichever is current
        user = s.get(User, canary.me["user_id"])
        tenancy.create_organization(s, name="Second Co", owner=user, actor=audit.SYSTEM)
    page = canary.get("/account")
    assert page.status_code == 200 and "Canary Co" in page.text and "Second Co" in page.text
    canary.cookies.set("jasping_lang", "fr")
    assert "Supprimer mon compte" in canary.get("/account").text
    canary.cookies.set("jasping_lang", "en")
    csrf = canary.me["csrf_token"]
    wrong = canary.post("/account/delete", data={"csrf_token": csrf, "password": "nope"})
    assert wrong.status_code == 403
    done = canary.post("/account/delete", data={"csrf_token": csrf, "password": PASSWORD})
    assert done.status_code == 200 and "erased on" in done.text
    assert canary.get("/api/v1/auth/me").status_code == 401
    assert restore_token(smtp, CANARY["email"])
