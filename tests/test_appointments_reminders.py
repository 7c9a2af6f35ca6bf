"""Reminders 24 hours before: by email (the mail outbox) and on the channel the customer booked from (a WhatsApp
delivery), once each, through the periodic job — in process and through `jasping jobs run-due --now`."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from conftest import JASPING, cli_env
from jasping import clock
from jasping.channels.models import ChannelConnection, Delivery
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import new_id, session_scope
from jasping.integrations.mail_models import Email
from jasping.jobs.schedule import REGISTRY, run_job
from jasping.scheduling import service
from jasping.scheduling.availability import Service

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)  # Wednesday
BOOKING = {
    "services": [{"id": "cut", "name": "Haircut", "duration_min": 30}],
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "tz": "Europe/Paris",
}


@pytest.fixture(autouse=True)
def set_now(monkeypatch):  # noqa: ANN001, ANN201
    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    return set_now


@pytest.fixture
def salon(client, make_org):  # noqa: ANN001, ANN201
    org = make_org("Salon")
    agent = org.post("/api/v1/agents", json={"name": "Nina"}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    return org, agent


def _book(org, agent, local: str, email: str | None = "lea@example.org") -> dict:  # noqa: ANN001
    start = datetime.fromisoformat(local).replace(tzinfo=PARIS).isoformat()
    body = {"start": start, "service": "cut", "contact": {"name": "Léa", "email": email}, "language": "fr"}
    r = org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def remind(set_now):  # noqa: ANN001, ANN201
    """`remind(at)`: the reminder job run with the clock at `at`."""

    def remind(at: datetime) -> dict:
        set_now(at)
        return run_job(REGISTRY["appointment_reminders"], at.astimezone(UTC), force=True)["result"]

    return remind


def _mails(org_id: str, kind: str) -> list[str]:
    with session_scope(org_id) as s:
        return list(s.execute(select(Email.ref).where(Email.kind == kind)).scalars())


def test_an_email_reminder_once_24_hours_before(salon, remind) -> None:
    org, agent = salon
    friday = _book(org, agent, "2026-11-27 10:00")
    soon = _book(org, agent, "2026-11-25 15:00")  # booked 6 hours ahead: its confirmation is enough
    gone = _book(org, agent, "2026-11-27 11:00")
    org.client.delete(f"/api/v1/appointments/{gone['id']}", headers=org.headers)
    quiet = _book(org, agent, "2026-11-27 12:00", email=None)

    assert remind(datetime(2026, 11, 25, 9, 15, tzinfo=PARIS)) == {"reminded": 0, "emails": 0, "messages": 0}
    assert remind(datetime(2026, 11, 26, 9, 0, tzinfo=PARIS))["reminded"] == 0  # 25 hours before Friday
    result = remind(datetime(2026, 11, 26, 12, 15, tzinfo=PARIS))
    assert result == {"reminded": 2, "emails": 1, "messages": 0}, result  # Friday 10:00 by mail; 12:00 has none
    assert _mails(org.id, "reminder") == [friday["id"]]
    assert remind(datetime(2026, 11, 26, 12, 30, tzinfo=PARIS))["reminded"] == 0  # once
    rows = {a["id"]: a for a in org.get("/api/v1/appointments").json()["appointments"]}
    assert rows[friday["id"]]["reminded_at"] is not None and rows[quiet["id"]]["reminded_at"] is not None
    assert rows[soon["id"]]["reminded_at"] is None and rows[gone["id"]]["reminded_at"] is None
    assert _mails(org.id, "cancellation") == [gone["id"]]  # the cancellation was mailed, not reminded
    assert sorted(_mails(org.id, "confirmation")) == sorted([friday["id"], soon["id"], gone["id"]])


def test_a_whatsapp_customer_is_reminded_on_whatsapp(salon, remind, monkeypatch) -> None:
    from jasping.jobs.queue import huey

    monkeypatch.setattr(huey, "immediate", False)  # queued, not sent: no provider is reachable here
    org, agent = salon
    with session_scope(org.id) as s:
        connection = ChannelConnection(
            id=new_id("chn"), agent_id=agent["id"], type="whatsapp", address=f"pn{new_id('x')[-8:]}", secrets_json="{}"
        )
        contact = Contact(id=new_id("cot"), phone="+33612345678", name="Karim")
        s.add_all([connection, contact])
        s.flush()
        conversation = Conversation(id=new_id("cnv"), agent_id=agent["id"], contact_id=contact.id, channel="whatsapp")
        s.add(conversation)
        s.flush()
        appointment = service.book(
            s,
            agent_id=agent["id"],
            service=Service("cut", "Haircut", 30),
            start=datetime(2026, 11, 27, 10, 0, tzinfo=PARIS).astimezone(UTC),
            conversation_id=conversation.id,
            contact_id=contact.id,
            name="Karim",
            phone="+33612345678",
            language="fr",
        )
        ids = appointment.id, conversation.id
    assert remind(datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)) == {"reminded": 1, "emails": 0, "messages": 1}
    with session_scope(org.id) as s:
        (delivery,) = s.execute(select(Delivery)).scalars()
        body = json.loads(delivery.body)
        assert delivery.to == "+33612345678" and delivery.conversation_id == ids[1] and delivery.state == "queued"
        assert body["text"].startswith("Rappel : votre rendez-vous Haircut est le vendredi 27 novembre à 10h.")
        assert "/appointments/manage/" + ids[0] in body["text"]
        texts = [m.text for m in s.execute(select(Message).where(Message.conversation_id == ids[1])).scalars()]
        assert texts == [body["text"]]  # the inbox shows what was sent


def test_jobs_run_due_at_a_simulated_time(salon, db_url) -> None:
    org, agent = salon
    made = _book(org, agent, "2026-11-27 10:00")
    at = (datetime(2026, 11, 26, 10, 30, tzinfo=PARIS)).astimezone(UTC).isoformat()
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--now", at, "--json"], env=cli_env(db_url), capture_output=True, text=True
    )
    jobs = {j["job"]: j for j in json.loads(out.stdout)["jobs"]}
    assert jobs["appointment_reminders"]["result"]["reminded"] == 1, out.stdout + out.stderr
    assert _mails(org.id, "reminder") == [made["id"]]
