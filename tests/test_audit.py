"""The audit log: append-only, hash-chained, and `jasping audit verify` catches tampering."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conftest import JASPING, cli_env
from jasping.db import get_engine, open_session
from jasping.security import audit


def _verify_cli(db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [JASPING, "audit", "verify"], env=cli_env(db_url), capture_output=True, text=True, timeout=120
    )


def _events(client, make_org) -> None:  # noqa: ANN001
    org = make_org()
    for n in range(3):
        org.post("/api/v1/agents", json={"name": f"Bot {n}"})
    client.post("/api/v1/auth/login", json={"email": org.email, "password": "wrong password!"})


def test_actions_are_recorded_with_actor_and_hashed_ip(client, make_org, db_url) -> None:
    _events(client, make_org)
    with open_session() as s:
        rows = s.query(audit.AuditEvent).order_by(audit.AuditEvent.seq).all()
    actions = [r.action for r in rows]
    assert {"user.register", "organization.create", "api_key.create", "agent.create", "auth.login_failed"} <= set(
        actions
    )
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    agent_rows = [r for r in rows if r.action == "agent.create"]
    assert all(r.actor_type == "api_key" and r.org_id and r.object_id.startswith("agt_") for r in agent_rows)
    assert all(r.ip_hash is None or (len(r.ip_hash) == 64 and "testclient" not in r.ip_hash) for r in rows)
    assert _verify_cli(db_url).returncode == 0


def test_the_database_refuses_to_update_audit_rows(client, make_org, db_url) -> None:
    _events(client, make_org)
    with pytest.raises(DBAPIError, match="append-only"):
        with get_engine().begin() as conn:
            conn.execute(text("UPDATE audit_events SET action='nothing' WHERE seq=2"))


def _drop_trigger(conn, db_url: str) -> None:  # noqa: ANN001
    suffix = " ON audit_events" if db_url.startswith("postgresql") else ""
    conn.execute(text("DROP TRIGGER audit_events_no_update" + suffix))


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_verify_detects_an_edited_or_removed_row(client, make_org, db_url, tamper: str) -> None:
    _events(client, make_org)
    assert _verify_cli(db_url).returncode == 0
    engine = get_engine()
    try:
        with engine.begin() as conn:
            _drop_trigger(conn, db_url)
            if tamper == "edit":
                conn.execute(text("UPDATE audit_events SET actor_id='usr_someone_else' WHERE seq=3"))
            elif tamper == "delete":
                conn.execute(text("DELETE FROM audit_events WHERE seq=3"))
            else:  # recompute nothing, just swap two rows' content
                conn.execute(
                    text(
                        "UPDATE audit_events SET action = CASE seq WHEN 2 THEN 'auth.login' ELSE action END "
                        "WHERE seq = 2"
                    )
                )
        out = _verify_cli(db_url)
        assert out.returncode == 1
        assert "TAMPERED" in out.stderr and ("row 3" in out.stderr or "row 2" in out.stderr)
        with open_session() as s:
            result = audit.verify(s)
        assert not result.ok and result.seq in (2, 3)
    finally:
        _recreate_trigger(db_url)


def _recreate_trigger(db_url: str) -> None:
    """Put the migration's trigger back for the tests that follow."""
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER IF EXISTS audit_events_no_update"
                + (" ON audit_events" if db_url.startswith("postgresql") else "")
            )
        )
        if db_url.startswith("postgresql"):
            conn.execute(
                text(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
            )


def test_a_forged_row_with_a_plain_sha256_does_not_verify(client, make_org, db_url) -> None:
    """Someone with database access but not the master key cannot append a consistent row."""
    import hashlib
    import json

    _events(client, make_org)
    with open_session() as s:
        last = s.query(audit.AuditEvent).order_by(audit.AuditEvent.seq.desc()).first()
        forged = audit.AuditEvent(
            seq=last.seq + 1,
            at=last.at,
            org_id=None,
            actor_type="system",
            actor_id=None,
            action="auth.login",
            object_type=None,
            object_id=None,
            ip_hash=None,
            detail="{}",
            prev_hash=last.hash,
        )
        body = [
            forged.seq,
            forged.at.isoformat(timespec="microseconds"),
            None,
            "system",
            None,
            "auth.login",
            None,
            None,
            None,
            "{}",
            last.hash,
        ]
        forged.hash = hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()
        s.add(forged)
        s.commit()
        result = audit.verify(s)
    assert not result.ok and result.seq == last.seq + 1
