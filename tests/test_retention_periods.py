"""Time travel around three of DESIGN's retention periods, with data made through the API as users make it and the
periodic job run as of a simulated time (`jasping jobs run-due --now`, or the job in-process): AI conversations
(12 months), the security log (12 months) and cookie / chat-notice consent (6 months).

Each test makes two records two days apart, A then B, and runs the job one day before A's end (both kept), then one
day after A's end — which is one day before B's end: A is gone as the data map says (deleted; audit rows dropped
behind a checkpoint), B is untouched. A rule that deleted too much or too little fails here.
"""

from __future__ import annotations

import contextvars
import io
import json
import subprocess
import zipfile
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from conftest import JASPING, cli_env
from contact_fixtures import Visitor
from jasping import clock, storage
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.db import open_session, session_scope
from jasping.jobs import schedule, tasks  # noqa: F401 - tasks registers the periodic jobs
from jasping.privacy import consent
from jasping.privacy.models import ConsentRecord
from jasping.security import audit

DAY = timedelta(days=1)
NOTICE = {"wording": "By chatting you accept our privacy notice.", "language": "en"}


def months(start: datetime, n: int) -> datetime:
    """`start` plus n calendar months (`start` is on the 15th, so every month has the day)."""
    year, month = divmod(start.month - 1 + n, 12)
    return start.replace(year=start.year + year, month=month + 1)


class _Travelling:
    """Stands in for the clock's context variable: `frozen_at` still works inside a block, and outside one every
    thread — the TestClient's included — and every column default bound to `clock.now` sees the travelled time."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant
        self.inner: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("jasping_now_test", default=None)

    def get(self) -> datetime:
        return self.inner.get() or self.instant

    def set(self, value: datetime) -> contextvars.Token:
        return self.inner.set(value)

    def reset(self, token: contextvars.Token) -> None:
        self.inner.reset(token)


@pytest.fixture
def travel(monkeypatch):  # noqa: ANN001, ANN201
    """`travel(instant)` moves the time everywhere in this process; `travel.start` is when the test began."""
    state = _Travelling(clock.now())
    monkeypatch.setattr(clock, "_frozen", state)

    def to(instant: datetime) -> datetime:
        state.instant = instant
        return instant

    to.start = state.instant
    return to


@pytest.fixture
def t0(travel) -> datetime:  # noqa: ANN001
    """The 15th of this month at noon: the first record's time."""
    return travel(travel.start.replace(day=15, hour=12, minute=0, second=0, microsecond=0))


def _run_due_cli(db_url: str, now: datetime) -> dict:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--now", now.isoformat(), "--json"],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return {j["job"]: j for j in json.loads(out.stdout)["jobs"]}["apply_retention"]["result"]


def _run_job(travel, now: datetime) -> dict:  # noqa: ANN001
    """The daily job in-process, as of `now` (the clock moved there for everything it calls)."""
    travel(now)
    ran = schedule.run_job(schedule.REGISTRY["apply_retention"], now)
    assert ran is not None, "the retention job was not due"
    return ran["result"]


def _chat(client: TestClient, agent: dict, words: str) -> dict:
    """A visitor accepts the chat notice, chats and sends a file; what the business then sees of them."""
    visitor = Visitor(client, agent)
    assert client.post(f"{visitor.url}/consent", json=NOTICE, headers=visitor.headers).status_code == 201
    visitor.say(words)
    sent = visitor.upload("scan.txt", b"my scan " + words.encode())
    with session_scope(write=False) as s:
        conversation = s.get(Conversation, visitor.conversation_id)
        stored = s.get(ConversationFile, sent["id"]).stored_file
        return {"visitor": visitor, "contact": conversation.contact_id, "stored": stored, "file": sent["id"]}


def _count(model, **where) -> int:  # noqa: ANN001
    with open_session(write=False) as s:
        query = select(func.count()).select_from(model).filter_by(**where)
        return s.execute(query).scalar()


# ---- AI conversation logs: 12 months ------------------------------------------------------------------------------
def test_conversations_messages_and_files_are_kept_until_12_months_then_erased(
    client, make_org, travel, t0, db_url
) -> None:
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    a = _chat(client, agent, "canary one asks about prices")
    travel(t0 + 2 * DAY)
    b = _chat(client, agent, "canary two asks about hours")
    end_a = months(t0, 12)

    travel(end_a - DAY)
    result = _run_due_cli(db_url, end_a - DAY)
    assert result["categories"].get("conversation", 0) == 0 and result["categories"].get("file", 0) == 0
    for made in (a, b):
        history = client.get(f"{made['visitor'].url}/messages", headers=made["visitor"].headers)
        assert history.status_code == 200 and len(history.json()["messages"]) >= 2
        assert storage.exists(made["stored"])
        assert org.get(f"/api/v1/contacts/{made['contact']}").status_code == 200

    travel(end_a + DAY)
    result = _run_due_cli(db_url, end_a + DAY)
    assert result["tables"]["conversations"] == 1 and result["tables"]["contacts"] == 1
    assert result["tables"]["conversation_files"] == 1
    # A: erased, as the data map says (delete) — conversation, messages, file (row and stored bytes), contact
    assert client.get(f"{a['visitor'].url}/messages", headers=a["visitor"].headers).status_code in (401, 404)
    assert org.get(f"/api/v1/conversations/{a['visitor'].conversation_id}").status_code == 404
    assert org.get(f"/api/v1/contacts/{a['contact']}").status_code == 404
    assert _count(Message, conversation_id=a["visitor"].conversation_id) == 0
    assert _count(ConversationFile, id=a["file"]) == 0 and not storage.exists(a["stored"])
    # B: one day before its end, whole
    detail = org.get(f"/api/v1/conversations/{b['visitor'].conversation_id}")
    assert detail.status_code == 200
    assert any("canary two" in m["text"] for m in detail.json()["messages"])
    assert storage.exists(b["stored"]) and _count(Contact, id=b["contact"]) == 1

    travel(months(t0 + 2 * DAY, 12) + DAY)
    result = _run_due_cli(db_url, months(t0 + 2 * DAY, 12) + DAY)
    assert result["tables"]["conversations"] == 1
    assert org.get(f"/api/v1/conversations/{b['visitor'].conversation_id}").status_code == 404
    assert not storage.exists(b["stored"])


# ---- security and access logs: 12 months -------------------------------------------------------------------------
def _log_in(client: TestClient, org) -> TestClient:  # noqa: ANN001
    fresh = TestClient(client.app, base_url="http://testserver")
    r = fresh.post("/api/v1/auth/login", json={"email": org.email, "password": org.password})
    assert r.status_code == 200, r.text
    fresh.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return fresh


def _logins(client: TestClient, org) -> list[str]:  # noqa: ANN001
    """The times of the user's logins, as Download My Data shows them (each export logs in anew)."""
    r = _log_in(client, org).get("/api/v1/me/export")
    assert r.status_code == 200, r.text
    account = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("account.json"))
    return sorted(e["at"] for e in account["audit_events"] if e["action"] == "auth.login")


def test_audit_rows_are_kept_12_months_then_dropped_behind_a_checkpoint(client, make_org, travel, t0) -> None:
    org = make_org()
    _log_in(client, org)  # A
    travel(t0 + 2 * DAY)
    _log_in(client, org)  # B
    end_a = months(t0, 12)

    result = _run_job(travel, end_a - DAY)
    assert result["tables"].get("audit_events", 0) == 0
    at = [datetime.fromisoformat(x) for x in _logins(client, org)]
    assert t0 in at and t0 + 2 * DAY in at

    result = _run_job(travel, end_a + DAY)
    assert result["tables"]["audit_events"] >= 1
    at = [datetime.fromisoformat(x) for x in _logins(client, org)]
    assert t0 not in at and t0 + 2 * DAY in at
    with open_session(write=False) as s:
        assert s.execute(select(func.min(audit.AuditEvent.at))).scalar().replace(tzinfo=None) >= (t0 + 2 * DAY).replace(
            tzinfo=None
        )
        checkpoint = s.execute(select(audit.AuditCheckpoint)).scalars().one()
        assert s.get(audit.AuditEvent, checkpoint.last_seq) is None
        assert s.get(audit.AuditEvent, checkpoint.last_seq + 1) is not None  # the chain resumes right after it
        result = audit.verify(s)
        assert result.ok, result.problem


# ---- cookie and chat-notice consent: 6 months ---------------------------------------------------------------------
def test_chat_notice_consent_is_kept_6_months_then_erased_and_marketing_consent_stays(
    client, make_org, travel, t0
) -> None:
    org = make_org("Shop")
    agent = org.post("/api/v1/agents", json={"name": "Sami"}).json()
    a = _chat(client, agent, "first visitor")
    opt_in = client.post(f"{a['visitor'].url}/consents", json={"purpose": "marketing"}, headers=a["visitor"].headers)
    assert opt_in.status_code == 201, opt_in.text
    travel(t0 + 2 * DAY)
    b = _chat(client, agent, "second visitor")
    end_a = months(t0, 6)

    def state(made: dict) -> dict:
        r = org.get(f"/api/v1/contacts/{made['contact']}/consents")
        assert r.status_code == 200, r.text
        return r.json()["current"]

    result = _run_job(travel, end_a - DAY)
    assert result["categories"].get("cookie_consent", 0) == 0
    assert state(a) == {consent.CHAT_NOTICE: True, consent.MARKETING: True}
    assert state(b) == {consent.CHAT_NOTICE: True}

    result = _run_job(travel, end_a + DAY)
    assert result["categories"]["cookie_consent"] == 1
    assert state(a) == {consent.MARKETING: True}  # the marketing opt-in is kept 3 years
    assert state(b) == {consent.CHAT_NOTICE: True}
    assert _count(ConsentRecord, contact_id=a["contact"], purpose=consent.CHAT_NOTICE) == 0

    _run_job(travel, months(t0 + 2 * DAY, 6) + DAY)
    assert state(b) == {}
