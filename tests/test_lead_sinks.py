"""Leads leave JasPing through an outgoing webhook: a real local receiver (http.server in a thread) checks every
signature as a business's server would; a failing receiver is retried with backoff, then the failure is shown and
"send again" works; a worker that dies mid-send leaves a lease the sweep picks up; nothing is lost."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, text

from jasping import clock
from jasping.config import get_settings
from jasping.conversations.models import Conversation
from jasping.db import get_engine, session_scope, unscoped
from jasping.integrations import webhook_out
from jasping.jobs import outbox
from jasping.leads.models import LeadSync
from jasping.leads.service import record_lead


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A business's endpoint: verifies the signature with the secret it was shown (400 when it does not hold),
    then answers the next scripted status (200 when none is scripted)."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.redirect_to: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = webhook_out.verify(
                    receiver.secret, body, self.headers.get("X-JasPing-Signature", ""), now=clock.now().timestamp()
                )
                receiver.received.append(Received(self.path, dict(self.headers), body, ok))
                if receiver.redirect_to and self.path == "/moved":
                    self.send_response(307)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 400 if not ok else (receiver.statuses.popleft() if receiver.statuses else 200)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def private_urls():  # noqa: ANN201
    """The receiver listens on 127.0.0.1, which the SSRF guard refuses unless the operator allows private URLs."""
    with pytest.MonkeyPatch.context() as mp:  # apart from the tests' own monkeypatch (they undo it)
        mp.setenv("JASPING_ALLOW_PRIVATE_URLS", "true")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture
def receiver(private_urls):  # noqa: ANN201
    r = Receiver()
    yield r
    r.close()


@dataclass
class Shop:
    org: object
    agent: dict
    client: object

    def connect_webhook(self, url: str, agent: bool = True) -> dict:
        body = {"type": "webhook", "url": url, "name": "CRM"}
        if agent:
            body["agent_id"] = self.agent["id"]
        r = self.org.post("/api/v1/integrations", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def capture(self, **data) -> str:
        """A lead as the agent records it at the end of a chat (a real widget conversation)."""
        r = self.client.post(f"/api/v1/widget/{self.agent['public_key']}/sessions", json={"locale": "fr"})
        assert r.status_code == 201, r.text
        with session_scope(self.org.id) as s:
            conversation = s.get(Conversation, r.json()["conversation_id"])
            data.setdefault("consent", True)
            return record_lead(s, conversation=conversation, data=data, consent_text="You may contact me.").id

    def lead(self, lead_id: str) -> dict:
        r = self.org.get(f"/api/v1/leads/{lead_id}")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def shop(client, make_org) -> Shop:
    org = make_org("Riad")
    assert org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en", "ar"]}).json()
    return Shop(org, agent, client)


def _at(monkeypatch, when) -> None:
    monkeypatch.setattr(clock, "now", lambda: when)


def test_a_lead_reaches_the_webhook_signed_and_its_state_shows(shop, receiver) -> None:
    hook = shop.connect_webhook(receiver.url + "/hooks/jasping")
    secret = hook["shown_once"]["signing_secret"]
    assert secret.startswith("whsec_") and hook["secrets"] == ["signing_secret"]
    assert hook["settings"] == {"url": receiver.url + "/hooks/jasping"}
    assert secret not in shop.org.get(f"/api/v1/integrations/{hook['id']}").text  # shown once only
    with get_engine().connect() as conn:
        assert secret not in conn.execute(text("SELECT secrets_json FROM integrations")).scalar()
    receiver.secret = secret

    lead_id = shop.capture(name="Salma Idrissi", email="Salma@Example.com", phone="06 61 23 45 67", language="fr")
    (got,) = receiver.received
    assert got.verified and got.path == "/hooks/jasping"
    event = got.event
    assert event["type"] == "lead.created" and got.headers["X-JasPing-Event"] == "lead.created"
    assert got.headers["X-JasPing-Event-Id"] == event["id"]
    assert got.headers["X-JasPing-Signature"].startswith(f"t={got.headers['X-JasPing-Timestamp']},v1=")
    assert event["lead"]["id"] == lead_id and event["lead"]["email"] == "salma@example.com"
    assert event["lead"]["phone"] == "+212661234567" and event["lead"]["consent"] is True

    lead = shop.lead(lead_id)
    (sync,) = lead["syncs"]
    assert sync["state"] == "sent" and sync["attempts"] == 1 and sync["sent_at"] and sync["last_error"] is None
    assert sync["integration_id"] == hook["id"] and sync["integration_type"] == "webhook"
    listed = shop.org.get("/api/v1/leads").json()["leads"]
    assert listed[0]["syncs"] == lead["syncs"]
    assert shop.org.get(f"/api/v1/integrations/{hook['id']}").json()["last_used_at"]


def test_a_failing_receiver_is_retried_then_shown_dead_and_sent_again(shop, receiver, monkeypatch) -> None:
    receiver.secret = shop.connect_webhook(receiver.url + "/in")["shown_once"]["signing_secret"]
    receiver.statuses.extend([500] * (len(outbox.BACKOFF) + 1))  # every try fails
    lead_id = shop.capture(name="Yassine", phone="+212 6 12 34 56 78")
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "failed" and sync["attempts"] == 1 and "HTTP 500" in sync["last_error"]
    assert sync["next_attempt_at"]

    from jasping.jobs import tasks

    start = clock.now()
    for step in range(1, len(outbox.BACKOFF) + 1):  # the worker's schedule, or the sweep, tries again when due
        _at(monkeypatch, start + timedelta(hours=step))
        assert tasks.sweep_lead_syncs() == {"lead_syncs": 1}
    monkeypatch.undo()
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "dead" and sync["attempts"] == len(outbox.BACKOFF) + 1
    assert "HTTP 500" in sync["last_error"] and sync["next_attempt_at"] is None
    assert len(receiver.received) == len(outbox.BACKOFF) + 1 and all(r.verified for r in receiver.received)
    assert len({r.event["id"] for r in receiver.received}) == 1  # one event, tried again: receivers dedupe
    hook = shop.org.get("/api/v1/integrations").json()["integrations"][0]
    assert hook["status"] == "error" and "HTTP 500" in hook["last_error"]
    assert tasks.sweep_lead_syncs() == {"lead_syncs": 0}  # dead stays dead until someone sends it again

    # the receiver is fixed; "send again"
    r = shop.org.post(f"/api/v1/leads/{lead_id}/syncs/{sync['id']}/retry")
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "queued" and r.json()["attempts"] == 0
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "sent" and sync["attempts"] == 1 and sync["last_error"] is None
    assert receiver.received[-1].verified and receiver.received[-1].event["id"] == receiver.received[0].event["id"]
    assert shop.org.get("/api/v1/integrations").json()["integrations"][0]["status"] == "active"
    with get_engine().connect() as conn:
        audit = conn.execute(
            text("SELECT actor_type, object_id, detail FROM audit_events WHERE action = 'lead.sync.retry'")
        )
        (actor_type, object_id, detail) = audit.one()
    assert actor_type == "api_key" and object_id == sync["id"] and json.loads(detail)["previous_state"] == "dead"


def test_send_again_is_refused_while_queued_and_answers_404_elsewhere(shop, receiver, make_org) -> None:
    receiver.secret = shop.connect_webhook(receiver.url + "/in")["shown_once"]["signing_secret"]
    lead_id = shop.capture(email="nora@example.org")
    (sync,) = shop.lead(lead_id)["syncs"]
    with session_scope(shop.org.id) as s:
        s.get(LeadSync, sync["id"]).state = "queued"
    busy = shop.org.post(f"/api/v1/leads/{lead_id}/syncs/{sync['id']}/retry")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "lead_sync_busy"
    other = make_org("Other")
    assert other.post(f"/api/v1/leads/{lead_id}/syncs/{sync['id']}/retry").status_code == 404
    assert other.get(f"/api/v1/leads/{lead_id}").status_code == 404
    assert shop.org.post(f"/api/v1/leads/{lead_id}/syncs/lsy_nope/retry").status_code == 404
    viewer = shop.org.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    refused = shop.client.post(
        f"/api/v1/leads/{lead_id}/syncs/{sync['id']}/retry", headers={"Authorization": f"Bearer {viewer}"}
    )
    assert refused.status_code == 403


def test_a_worker_dying_mid_send_is_picked_up_by_the_sweep(shop, receiver, monkeypatch) -> None:
    from jasping.jobs import tasks

    receiver.secret = shop.connect_webhook(receiver.url + "/in")["shown_once"]["signing_secret"]
    monkeypatch.setattr(tasks, "sync_lead", lambda org_id, sync_id: None)  # the queue lost the job
    lead_id = shop.capture(email="lost@example.org")
    with session_scope() as s, unscoped(s):  # a worker took it, then died before the receiver answered
        sync = s.execute(select(LeadSync)).scalar_one()
        assert outbox.claim(sync, clock.now(), ("queued",)) is None
        assert sync.state == "sending" and sync.attempts == 1
    monkeypatch.undo()
    assert receiver.received == []
    assert tasks.sweep_lead_syncs() == {"lead_syncs": 0}  # the lease still runs: maybe it is only slow
    _at(monkeypatch, clock.now() + outbox.lease() + timedelta(seconds=1))
    assert tasks.sweep_lead_syncs() == {"lead_syncs": 1}
    monkeypatch.undo()
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "sent" and sync["attempts"] == 2
    assert len(receiver.received) == 1 and receiver.received[0].verified


def test_a_job_lost_before_it_ran_is_sent_by_the_sweep(shop, receiver, monkeypatch) -> None:
    from jasping.jobs import tasks

    receiver.secret = shop.connect_webhook(receiver.url + "/in", agent=False)["shown_once"]["signing_secret"]
    monkeypatch.setattr(tasks, "sync_lead", lambda org_id, sync_id: None)
    lead_id = shop.capture(email="queued@example.org")
    monkeypatch.undo()
    assert shop.lead(lead_id)["syncs"][0]["state"] == "queued"
    _at(monkeypatch, clock.now() + outbox.QUEUED_GRACE + timedelta(seconds=1))
    assert tasks.sweep_lead_syncs() == {"lead_syncs": 1}
    monkeypatch.undo()
    assert shop.lead(lead_id)["syncs"][0]["state"] == "sent"  # an organization-wide webhook gets every agent's leads
    assert len(receiver.received) == 1


def test_a_returning_customer_sends_an_update_with_a_new_event_id(shop, receiver) -> None:
    receiver.secret = shop.connect_webhook(receiver.url + "/in")["shown_once"]["signing_secret"]
    first = shop.capture(name="Karim", email="karim@example.com")
    again = shop.capture(name="Karim Benali", email="KARIM@example.com ", phone="0661234567", custom={"budget": "5k"})
    assert again == first
    created, updated = (r.event for r in receiver.received)
    assert (created["type"], updated["type"]) == ("lead.created", "lead.updated")
    assert created["id"] != updated["id"] and updated["lead"]["name"] == "Karim Benali"
    assert updated["lead"]["phone"] == "+212661234567" and updated["lead"]["custom"] == {"budget": "5k"}
    (sync,) = shop.lead(first)["syncs"]
    assert sync["event"] == "updated" and sync["state"] == "sent"


def test_disconnecting_the_webhook_stops_syncing(shop, receiver) -> None:
    hook = shop.connect_webhook(receiver.url + "/in")
    receiver.secret = hook["shown_once"]["signing_secret"]
    lead_id = shop.capture(email="a@example.org")
    assert shop.org.client.delete(f"/api/v1/integrations/{hook['id']}", headers=shop.org.headers).status_code == 204
    assert shop.lead(lead_id)["syncs"] == []
    shop.capture(email="b@example.org")
    assert len(receiver.received) == 1


def test_redirects_to_another_host_are_not_followed(shop, receiver) -> None:
    receiver.secret = shop.connect_webhook(receiver.url + "/moved")["shown_once"]["signing_secret"]
    receiver.redirect_to = "http://elsewhere.invalid/steal"
    lead_id = shop.capture(email="r@example.org")
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "dead" and sync["attempts"] == 1 and "elsewhere.invalid" in sync["last_error"]
    assert [r.path for r in receiver.received] == ["/moved"]

    receiver.redirect_to = receiver.url + "/new-home"  # the same host: followed, the POST and its signature kept
    r = shop.org.post(f"/api/v1/leads/{lead_id}/syncs/{sync['id']}/retry")
    assert r.status_code == 202
    assert shop.lead(lead_id)["syncs"][0]["state"] == "sent"
    assert [r.path for r in receiver.received][-1] == "/new-home" and receiver.received[-1].verified


def test_private_addresses_are_refused_unless_the_operator_allows_them(shop) -> None:
    receiver = Receiver()
    try:
        receiver.secret = shop.connect_webhook(receiver.url + "/in")["shown_once"]["signing_secret"]
        lead_id = shop.capture(email="ssrf@example.org")
    finally:
        receiver.close()
    (sync,) = shop.lead(lead_id)["syncs"]
    assert sync["state"] == "dead" and "private or local network address" in sync["last_error"]
    assert receiver.received == []


def test_the_outbox_lease_and_backoff() -> None:
    from types import SimpleNamespace

    now = clock.now()
    row = SimpleNamespace(state="queued", attempts=0, next_attempt_at=now)
    assert outbox.claim(row, now) is None
    assert (row.state, row.attempts, row.next_attempt_at) == ("sending", 1, now + outbox.lease())
    assert outbox.claim(row, now) == "sending" and row.attempts == 1  # another worker holds the lease
    assert outbox.claim(row, now + outbox.lease()) is None and row.attempts == 2  # the lease ran out
    later = SimpleNamespace(state="failed", attempts=1, next_attempt_at=now + timedelta(seconds=30))
    assert outbox.claim(later, now, ("queued", "failed")) == "failed" and later.attempts == 1  # not due yet
    assert outbox.claim(later, now + timedelta(seconds=30), ("queued", "failed")) is None
    assert outbox.claim(SimpleNamespace(state="failed", attempts=1, next_attempt_at=now), now) == "failed"
    assert outbox.claim(SimpleNamespace(state="sent", attempts=1, next_attempt_at=now), now) == "sent"
    delays = [outbox.retry_delay(n) for n in range(0, len(outbox.BACKOFF) + 2)]
    assert delays == [None, *outbox.BACKOFF, None]
