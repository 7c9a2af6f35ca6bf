"""Retention: each period of DESIGN's table, one day before (kept) and one day after (erased), on both databases;
an organization's shorter conversation period, batches, idempotence, the audit counts, `jobs run-due --now`."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import JASPING, cli_env
from jasping import clock, storage
from jasping.agents.models import Agent
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.db import new_id, open_session, session_scope
from jasping.integrations.mail_models import Email
from jasping.leads.models import Lead
from jasping.privacy import consent, retention
from jasping.privacy.models import ConsentRecord
from jasping.scheduling.models import Appointment
from jasping.security import audit
from jasping.security.sessions import LoginSession
from jasping.tenancy import service as tenancy

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def months(n: int, start: datetime = T0) -> datetime:
    """`start` plus n calendar months (the inverse of `Period.before`)."""
    year, month = divmod(start.month - 1 + n, 12)
    return start.replace(year=start.year + year, month=month + 1)


def _org(name: str = "Acme") -> tuple[str, str]:
    with clock.frozen_at(T0), session_scope() as s:
        user = tenancy.create_user(s, email=f"{name.lower()}@example.org", password="correct horse battery")
        org = tenancy.create_organization(s, name=name, owner=user, actor=audit.SYSTEM)
        agent = Agent(id=new_id("agt"), org_id=org.id, name="Bot", public_key=new_id("pk"))
        s.add(agent)
    return org.id, agent.id


@pytest.fixture
def org(db_url: str) -> tuple[str, str]:
    return _org()


def _conversation(org_id: str, agent_id: str, at: datetime, *, messages: int = 1) -> dict:
    """A contact and a conversation whose messages were all written at `at`."""
    with clock.frozen_at(at), session_scope(org_id) as s:
        contact = Contact(id=new_id("con"), name="Canary Person", email="canary@example.org")
        s.add(contact)
        s.flush()
        conv = Conversation(id=new_id("cnv"), agent_id=agent_id, contact_id=contact.id, message_count=messages)
        s.add(conv)
        s.flush()
        ids = []
        for seq in range(messages):
            msg = Message(id=new_id("msg"), conversation_id=conv.id, seq=seq, role="user", text=f"hello {seq}")
            s.add(msg)
            ids.append(msg.id)
    return {"contact": contact.id, "conversation": conv.id, "messages": ids}


def _add_message(org_id: str, conversation_id: str, at: datetime) -> str:
    with clock.frozen_at(at), session_scope(org_id) as s:
        conv = s.get(Conversation, conversation_id)
        msg = Message(id=new_id("msg"), conversation_id=conv.id, seq=conv.message_count, role="user", text="later")
        conv.message_count, conv.last_message_at = conv.message_count + 1, at
        s.add(msg)
    return msg.id


def _file(org_id: str, conversation_id: str, at: datetime) -> tuple[str, str]:
    with clock.frozen_at(at), session_scope(org_id) as s:
        f = ConversationFile(
            id=new_id("fil"), conversation_id=conversation_id, name="scan.pdf", content_type="application/pdf", size=3
        )
        f.stored_file = storage.put(org_id=org_id, area="conversation-files", name=f.id, data=b"pdf")
        s.add(f)
    return f.id, f.stored_file


def _exists(model, key: str) -> bool:  # noqa: ANN001
    with open_session(write=False) as s:
        return s.get(model, key) is not None


def _count(model) -> int:  # noqa: ANN001
    with open_session(write=False) as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def _apply(now: datetime, **kw) -> dict:
    return retention.apply(now=now, **kw).as_dict()


# ---- conversations, messages, files, contacts: 12 months --------------------------------------------
def test_a_conversation_is_erased_12_months_after_its_last_activity(org) -> None:
    made = _conversation(*org, T0)
    file_id, ref = _file(org[0], made["conversation"], T0)
    _apply(months(12) - DAY)
    assert _exists(Conversation, made["conversation"]) and _exists(Message, made["messages"][0])
    assert _exists(Contact, made["contact"]) and storage.exists(ref)

    report = _apply(months(12) + DAY)
    assert not _exists(Conversation, made["conversation"]) and not _exists(Message, made["messages"][0])
    assert not _exists(ConversationFile, file_id) and not storage.exists(ref)
    assert not _exists(Contact, made["contact"])
    assert report["tables"]["conversation_files"] == 1 and report["tables"]["contacts"] == 1


def test_messages_are_erased_12_months_after_creation_in_a_conversation_still_going_on(org) -> None:
    made = _conversation(*org, T0)
    later = _add_message(org[0], made["conversation"], months(6))
    file_id, ref = _file(org[0], made["conversation"], T0)
    _apply(months(12) - DAY)
    assert _exists(Message, made["messages"][0]) and _exists(ConversationFile, file_id)
    _apply(months(12) + DAY)
    assert not _exists(Message, made["messages"][0]) and not _exists(ConversationFile, file_id)
    assert not storage.exists(ref)
    assert _exists(Message, later) and _exists(Conversation, made["conversation"]) and _exists(Contact, made["contact"])


def test_a_contact_with_a_lead_left_stays_until_the_lead_goes(org) -> None:
    made = _conversation(*org, T0)
    with clock.frozen_at(T0), session_scope(org[0]) as s:
        lead = Lead(id=new_id("led"), agent_id=org[1], contact_id=made["contact"], name="Canary", updated_at=months(6))
        s.add(lead)
    _apply(months(12) + DAY)
    assert not _exists(Conversation, made["conversation"]) and _exists(Contact, made["contact"])
    _apply(months(18) + DAY)
    assert not _exists(Lead, lead.id) and not _exists(Contact, made["contact"])


# ---- leads and appointments: 12 months ----------------------------------------------------------------
def test_a_lead_is_erased_12_months_after_its_last_update(org) -> None:
    with clock.frozen_at(T0), session_scope(org[0]) as s:
        kept = Lead(id=new_id("led"), agent_id=org[1], name="Returning", updated_at=months(2))
        gone = Lead(id=new_id("led"), agent_id=org[1], name="Once")
        s.add_all([kept, gone])
    _apply(months(12) - DAY)
    assert _exists(Lead, gone.id)
    _apply(months(12) + DAY)
    assert not _exists(Lead, gone.id) and _exists(Lead, kept.id)
    _apply(months(14) - DAY)
    assert _exists(Lead, kept.id)
    _apply(months(14) + DAY)
    assert not _exists(Lead, kept.id)


def test_an_appointment_is_erased_12_months_after_it_took_place(org) -> None:
    start = months(1)
    with clock.frozen_at(T0), session_scope(org[0]) as s:
        appt = Appointment(
            id=new_id("apt"),
            agent_id=org[1],
            service_id="cut",
            service_name="Haircut",
            start=start,
            end=start + timedelta(hours=1),
            busy_until=start + timedelta(hours=1),
            name="Canary Person",
            email="canary@example.org",
        )
        s.add(appt)
    _apply(months(12, start + timedelta(hours=1)) - DAY)
    assert _exists(Appointment, appt.id)
    _apply(months(12, start + timedelta(hours=1)) + DAY)
    assert not _exists(Appointment, appt.id)


# ---- transport copies: 30 days once handled --------------------------------------------------------------
def test_sent_emails_are_erased_30_days_after_sending_but_not_before_their_appointment(org) -> None:
    soon = T0 + timedelta(days=90)
    with clock.frozen_at(T0), session_scope(org[0]) as s:
        appt = Appointment(
            id=new_id("apt"), agent_id=org[1], service_id="x", service_name="X", start=soon, end=soon, busy_until=soon
        )
        sent = Email(id=new_id("eml"), kind="lead_notice", to="a@example.org", body="x", state="sent", sent_at=T0)
        about = Email(
            id=new_id("eml"), kind="confirmation", ref=appt.id, to="b@example.org", body="y", state="sent", sent_at=T0
        )
        queued = Email(id=new_id("eml"), kind="code", to="c@example.org", body="z", state="queued")
        s.add_all([appt, sent, about, queued])
    _apply(T0 + timedelta(days=29))
    assert _exists(Email, sent.id)
    _apply(T0 + timedelta(days=31))
    assert not _exists(Email, sent.id) and _exists(Email, about.id) and _exists(Email, queued.id)
    _apply(soon + DAY)
    assert not _exists(Email, about.id) and _exists(Email, queued.id)


# ---- consent records: 6 months (cookie), 3 years or withdrawal (marketing) ----------------------------------
def _consent(org_id: str, contact_id: str, at: datetime, purpose: str, granted: bool = True) -> str:
    with clock.frozen_at(at), session_scope(org_id) as s:
        row = ConsentRecord(id=new_id("cns"), contact_id=contact_id, purpose=purpose, granted=granted, wording="ok")
        s.add(row)
    return row.id


def test_cookie_consent_records_are_erased_after_6_months(org) -> None:
    made = _conversation(*org, months(3))
    row = _consent(org[0], made["contact"], T0, consent.CHAT_NOTICE)
    _apply(months(6) - DAY)
    assert _exists(ConsentRecord, row)
    _apply(months(6) + DAY)
    assert not _exists(ConsentRecord, row)


def test_marketing_consent_is_kept_3_years_from_the_last_consent_and_grants_go_once_withdrawn(org) -> None:
    kept = _conversation(*org, T0)["contact"]
    first = _consent(org[0], kept, T0, consent.CONTACT)
    renewed = _consent(org[0], kept, months(12), consent.CONTACT)
    _apply(months(36) + DAY)  # 3 years after the first grant, 2 after the renewal: both kept
    assert _exists(ConsentRecord, first) and _exists(ConsentRecord, renewed)
    _apply(months(48) - DAY)
    assert _exists(ConsentRecord, renewed)
    _apply(months(48) + DAY)
    assert not _exists(ConsentRecord, first) and not _exists(ConsentRecord, renewed)

    other = _conversation(*org, months(50))["contact"]
    grant = _consent(org[0], other, months(50), consent.CONTACT)
    withdrawal = _consent(org[0], other, months(51), consent.CONTACT, granted=False)
    _apply(months(51) + DAY)
    assert not _exists(ConsentRecord, grant) and _exists(ConsentRecord, withdrawal)


# ---- security logs: 12 months, the chain still verifies ------------------------------------------------------
def test_audit_rows_are_dropped_after_12_months_and_the_chain_still_verifies(org) -> None:
    with open_session(write=False) as s:
        first = s.execute(select(func.min(audit.AuditEvent.seq))).scalar()
    _apply(months(12) - DAY)
    assert _exists(audit.AuditEvent, first)
    report = _apply(months(12) + DAY)
    assert not _exists(audit.AuditEvent, first) and report["tables"]["audit_events"] >= 1
    with open_session(write=False) as s:
        result = audit.verify(s)
        assert result.ok, result.problem
        assert s.execute(select(func.count()).select_from(audit.AuditCheckpoint)).scalar() == 1
        assert s.execute(select(func.min(audit.AuditEvent.at))).scalar() >= T0 + DAY


def test_expired_login_sessions_are_erased(org) -> None:
    with open_session(write=False) as s:
        user_id = s.execute(select(tenancy.User.id)).scalar()
    with session_scope() as s:
        s.add(LoginSession(token_hash="a" * 64, user_id=user_id, csrf_token="x", expires_at=T0 + 14 * DAY))
    _apply(T0 + 13 * DAY)
    assert _exists(LoginSession, "a" * 64)
    _apply(T0 + 15 * DAY)
    assert not _exists(LoginSession, "a" * 64)


# ---- the organization's shorter conversation period -----------------------------------------------------------
def test_an_organization_shortens_its_conversation_retention_and_cannot_lengthen_it(client, make_org) -> None:
    short, other = make_org("Short"), make_org("Other")
    for days, problem in ((366, "at most 12 months"), (0, "at least 1 day"), (10_000, "never lengthen it")):
        r = short.client.patch("/api/v1/organization", json={"conversation_retention_days": days})
        assert r.status_code == 422 and problem in r.json()["error"]["message"], r.text
    r = short.client.patch("/api/v1/organization", json={"conversation_retention_days": 30})
    assert r.status_code == 200 and r.json()["conversation_retention_days"] == 30
    assert short.get("/api/v1/privacy/record-of-processing").json()["conversation_retention_days"] == 30
    r = other.client.patch("/api/v1/organization", json={"conversation_retention_days": 365})
    assert r.status_code == 200 and r.json()["conversation_retention_days"] == 365
    r = other.client.patch("/api/v1/organization", json={"conversation_retention_days": None})
    assert r.status_code == 200 and r.json()["conversation_retention_days"] is None

    agents = {}
    for o in (short, other):
        with session_scope(o.id) as s:
            agents[o.id] = Agent(id=new_id("agt"), name="Bot", public_key=new_id("pk"))
            s.add(agents[o.id])
    mine = _conversation(short.id, agents[short.id].id, T0)
    theirs = _conversation(other.id, agents[other.id].id, T0)
    _apply(T0 + 29 * DAY)
    assert _exists(Conversation, mine["conversation"])
    report = retention.apply(now=T0 + 31 * DAY)
    assert not _exists(Conversation, mine["conversation"]) and _exists(Conversation, theirs["conversation"])
    assert report.by_org[short.id] == {"conversation": 2} and other.id not in report.by_org

    with session_scope() as s:  # a value longer than the default stored behind the API's back is not honoured
        s.get(tenancy.Organization, other.id).conversation_retention_days = 5000
    _apply(months(12) + DAY)
    assert not _exists(Conversation, theirs["conversation"])


def test_the_dashboard_sets_the_conversation_retention(client, make_org) -> None:
    org = make_org()
    page = org.client.get("/privacy/record")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = org.client.post("/privacy/record/retention", data={"csrf_token": csrf, "conversation_retention_days": "400"})
    assert r.status_code == 422 and "never lengthen it" in r.text
    r = org.client.post(
        "/privacy/record/retention",
        data={"csrf_token": csrf, "conversation_retention_days": "90"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert org.get("/api/v1/organization").json()["conversation_retention_days"] == 90
    r = org.client.post(
        "/settings", data={"csrf_token": csrf, "name": "Renamed", "timezone": "UTC"}, follow_redirects=False
    )
    assert r.status_code == 303  # saving the settings leaves the retention alone
    assert org.get("/api/v1/organization").json()["conversation_retention_days"] == 90


# ---- batches, idempotence, audit counts, storage down -----------------------------------------------------------
def test_batches_idempotence_and_the_audit_counts(org, monkeypatch) -> None:
    made = _conversation(*org, T0, messages=2)
    _add_message(org[0], made["conversation"], months(6))  # keeps the conversation alive
    with clock.frozen_at(T0), session_scope(org[0]) as s:
        s.add_all(Lead(id=new_id("led"), agent_id=org[1], name=f"n{i}") for i in range(23))
    scopes = []
    real = retention.session_scope
    monkeypatch.setattr(retention, "session_scope", lambda *a, **kw: scopes.append(1) or real(*a, **kw))

    first = retention.apply(now=months(12) + DAY, batch_size=5)
    assert first.tables["leads"] == 23 and first.tables["messages"] == 2
    assert first.categories["lead"] == 23 and first.categories["conversation"] == 2
    assert len(scopes) >= 23 // 5 + 1, "each batch in its own transaction"
    assert _count(Lead) == 0 and _count(Message) == 1

    again = retention.apply(now=months(12) + DAY, batch_size=5)
    assert sum(again.tables.values()) == 0
    assert _count(Message) == 1 and _exists(Conversation, made["conversation"])

    with open_session(write=False) as s:
        events = (
            s.execute(
                select(audit.AuditEvent)
                .where(audit.AuditEvent.action == "privacy.retention")
                .order_by(audit.AuditEvent.seq)
            )
            .scalars()
            .all()
        )
    platform = [json.loads(e.detail) for e in events if e.org_id is None]
    mine = [json.loads(e.detail) for e in events if e.org_id == org[0]]
    assert platform[0]["categories"]["lead"] == 23 and platform[0]["tables"]["messages"] == 2
    assert platform[1]["tables"] == {} and len(mine) == 1
    assert mine[0] == {"categories": {"conversation": 2, "lead": 23}}


def test_a_file_store_that_is_down_keeps_the_file_for_the_next_run(org, monkeypatch) -> None:
    made = _conversation(*org, T0)
    file_id, ref = _file(org[0], made["conversation"], T0)

    def down(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        raise storage.StorageUnavailable("down")

    monkeypatch.setattr(storage, "delete", down)
    report = _apply(months(12) + DAY)
    assert _exists(ConversationFile, file_id) and _exists(Conversation, made["conversation"])
    assert report["kept"]["conversation_files"] == 1 and report["kept"]["conversations"] == 1
    monkeypatch.undo()
    _apply(months(12) + 2 * DAY)
    assert not _exists(ConversationFile, file_id) and not storage.exists(ref)
    assert not _exists(Conversation, made["conversation"])


# ---- the periodic job, at a simulated time -------------------------------------------------------------------------
def _run_due(db_url: str, now: datetime) -> dict:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--now", now.isoformat(), "--json"],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return {j["job"]: j for j in json.loads(out.stdout)["jobs"]}["apply_retention"]


def test_jobs_run_due_applies_the_retention_at_the_simulated_time(org, db_url) -> None:
    made = _conversation(*org, T0)
    before = _run_due(db_url, months(12) - DAY)
    assert before["result"]["categories"].get("conversation", 0) == 0
    assert _exists(Conversation, made["conversation"])
    after = _run_due(db_url, months(12) + DAY)
    assert after["result"]["tables"]["conversations"] == 1 and after["result"]["tables"]["contacts"] == 1
    assert not _exists(Conversation, made["conversation"]) and not _exists(Contact, made["contact"])
    assert _run_due(db_url, months(12) + DAY + timedelta(hours=1)) == {"job": "apply_retention", "skipped": "not due"}
