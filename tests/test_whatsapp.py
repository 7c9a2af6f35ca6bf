"""WhatsApp through its real webhook contract: every payload kind of tests/data/whatsapp signed as Meta signs it,
forged and missing signatures, duplicates, and outbound requests checked against a local Graph API stand-in."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from conftest import JASPING, cli_env
from jasping import clock
from jasping.config import get_settings
from jasping.db import get_engine, session_scope, unscoped
from provider_stub import PNG, ProviderStub

DATA = Path(__file__).parent / "data" / "whatsapp"
PAYLOADS = sorted(p.stem for p in DATA.glob("*.json"))
NUMBER_ID = "1122334455667"
SECRET = "app-secret-for-tests"
CUSTOMER = "+972987654321"


def _payload(name: str, number_id: str = NUMBER_ID) -> dict:
    data = json.loads((DATA / f"{name}.json").read_text())
    data["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number_id
    return data


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def graph(monkeypatch) -> Iterator[ProviderStub]:  # noqa: ANN001
    with ProviderStub() as stub:
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", stub.url + "/v21.0")
        get_settings.cache_clear()
        yield stub
    get_settings.cache_clear()


@pytest.fixture
def wa(client, make_org, graph):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    org.post(
        f"/api/v1/agents/{agent['id']}/sources",
        json={"type": "text", "title": "Hours", "text": "The clinic is open Monday to Friday from 9am to 6pm."},
    )
    body = {
        "type": "whatsapp",
        "phone_number_id": NUMBER_ID,
        "waba_id": "1234567890987654321",
        "access_token": "EAAG-secret-access-token",
        "app_secret": SECRET,
        "verify_token": "verify-me-please",
        "template": {"name": "reply_follow_up", "language": "en", "parameters": 1},
    }
    r = org.post(f"/api/v1/agents/{agent['id']}/channels", json=body)
    assert r.status_code == 201, r.text

    def post(payload: dict | bytes, signature: str | None = "sign") -> object:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = _sign(raw)
        elif signature:
            headers["X-Hub-Signature-256"] = signature
        return client.post("/webhooks/whatsapp", content=raw, headers=headers)

    return org, agent, r.json(), post


def _count(table: str) -> int:
    with get_engine().connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - test table names


def test_connecting_stores_secrets_encrypted_and_never_shows_them(client, wa) -> None:
    org, agent, channel, _ = wa
    assert channel["type"] == "whatsapp" and channel["address"] == NUMBER_ID
    assert channel["secrets"] == ["access_token", "app_secret", "verify_token"]
    assert channel["webhook_url"].endswith("/webhooks/whatsapp")
    listed = org.get(f"/api/v1/agents/{agent['id']}/channels").text
    assert "EAAG" not in listed and SECRET not in listed and "verify-me" not in listed
    with get_engine().connect() as conn:
        raw = " ".join(str(r) for r in conn.execute(text("SELECT * FROM channel_connections")))
    assert "EAAG" not in raw and SECRET not in raw
    again = org.post(
        f"/api/v1/agents/{agent['id']}/channels",
        json={
            "type": "whatsapp",
            "phone_number_id": NUMBER_ID,
            "waba_id": "123456",
            "access_token": "x" * 20,
            "app_secret": "y" * 10,
            "verify_token": "z" * 10,
        },
    )
    assert again.status_code == 409
    bad = org.post(f"/api/v1/agents/{agent['id']}/channels", json={"type": "whatsapp", "phone_number_id": "abc"})
    assert bad.status_code == 422
    twilio = org.post(
        f"/api/v1/agents/{agent['id']}/channels",
        json={"type": "twilio", "phone_number": "0522000000", "account_sid": "AC" + "a" * 32, "auth_token": "t" * 32},
    )
    assert twilio.status_code == 422 and "international" in twilio.text


def test_the_verification_challenge(client, wa) -> None:
    ok = client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-me-please", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = client.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "nope-nope", "hub.challenge": "1"}
    )
    assert bad.status_code == 403
    assert client.get("/webhooks/whatsapp").status_code == 403


def test_a_text_is_answered_through_the_graph_api(client, wa, graph) -> None:
    org, _, _, post = wa
    payload = _payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "What are your opening hours?"
    r = post(payload)
    assert r.status_code == 200 and r.json() == {"received": 1}
    (sent,) = graph.sent()
    assert sent.path == f"/v21.0/{NUMBER_ID}/messages"
    assert sent.headers["Authorization"] == "Bearer EAAG-secret-access-token"
    assert sent.body["messaging_product"] == "whatsapp" and sent.body["to"] == CUSTOMER.lstrip("+")
    reply = sent.body.get("text", {}).get("body") or sent.body["interactive"]["body"]["text"]
    assert "9am to 6pm" in reply
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    assert conversation["channel"] == "whatsapp"
    messages = org.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["text"] == "What are your opening hours?"


@pytest.mark.parametrize("name", PAYLOADS)
def test_every_payload_kind_is_accepted_and_handled(client, wa, graph, name) -> None:
    org, _, _, post = wa
    r = post(_payload(name))
    assert r.status_code == 200, r.text
    assert _count("inbound_events") == 1
    with get_engine().connect() as conn:
        state = conn.execute(text("SELECT state FROM inbound_events")).scalar_one()
    # a status for a message we do not know (yet) waits for the sweep to try it again; everything else is done
    assert state == ("received" if name.startswith("status_") else "done"), name
    sends = graph.sent()
    conversations = org.get("/api/v1/conversations").json()["conversations"]
    if name.startswith("status_"):
        assert sends == [] and conversations == []  # a status for a message we do not know: nothing to do
        return
    if name == "reaction":
        assert sends == []  # a reaction is not answered
        return
    message = _payload(name)["entry"][0]["changes"][0]["value"]["messages"][0]
    media = message.get(message["type"])
    captioned = isinstance(media, dict) and bool(media.get("caption"))  # the caption is answered too
    assert len(sends) == (2 if captioned else 1), (name, [s.body for s in sends])
    detail = org.get(f"/api/v1/conversations/{conversations[0]['id']}").json()
    user = [m for m in detail["messages"] if m["role"] == "user"]
    assert user, name
    if name in ("image", "document", "sticker", "audio", "voice", "video"):
        assert any(r.method == "GET" for r in graph.requests), "the media was fetched through the Graph API"
        assert user[0]["file"] is not None or name != "image"


def test_media_is_downloaded_with_the_token_and_stored_encrypted(client, wa, graph) -> None:
    org, _, _, post = wa
    graph.media["65463453"] = (PNG, "image/jpeg")
    assert post(_payload("image")).status_code == 200
    gets = [r for r in graph.requests if r.method == "GET"]
    assert [r.path for r in gets] == ["/v21.0/65463453", "/files/65463453"]
    assert all(r.headers["Authorization"] == "Bearer EAAG-secret-access-token" for r in gets)
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    detail = org.get(f"/api/v1/conversations/{conversation['id']}").json()
    file = detail["messages"][0]["file"]
    assert file["content_type"] == "image/png"
    got = org.get(f"/api/v1/conversations/{conversation['id']}/files/{file['id']}")
    assert got.content == PNG


@pytest.mark.parametrize(("signature", "status"), [(None, 401), ("sha256=" + "0" * 64, 403), ("md5=abc", 403)])
def test_forged_or_missing_signatures_store_nothing(client, wa, graph, signature, status) -> None:
    _, _, _, post = wa
    r = post(_payload("text"), signature=signature)
    assert r.status_code == status, r.text
    assert _count("inbound_events") == 0 and _count("messages") == 0 and graph.sent() == []
    other_secret = _sign(json.dumps(_payload("text")).encode(), "another-apps-secret")
    assert post(_payload("text"), signature=other_secret).status_code == 403


def test_bad_bodies_and_unknown_numbers(client, wa, graph) -> None:
    _, _, _, post = wa
    assert post(b"{not json").status_code == 422
    assert post(b"[1, 2]").status_code == 422
    assert post(_payload("text", number_id="999999999")).status_code == 404
    assert post(b"x" * (1024 * 1024 + 10)).status_code == 413
    assert _count("inbound_events") == 0


def test_the_same_payload_five_times_is_one_message_and_one_reply(client, wa, graph) -> None:
    org, _, _, post = wa
    for _ in range(5):
        assert post(_payload("text")).status_code == 200
    assert _count("inbound_events") == 1
    assert len(graph.sent()) == 1
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    assert conversation["message_count"] == 2


def test_statuses_update_the_delivery(client, wa, graph) -> None:
    org, _, _, post = wa
    graph.next_ids.append("wamid.xyzxyz")  # the id the status payloads refer to
    assert post(_payload("text")).status_code == 200
    for name in ("status_sent", "status_delivered", "status_read", "status_delivered"):
        assert post(_payload(name)).status_code == 200
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    reply = org.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"][-1]
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT state FROM deliveries")).scalar_one() == "read"  # never backwards
    assert reply["role"] == "assistant"
    assert post(_payload("status_failed")).status_code == 200
    with get_engine().connect() as conn:
        state, error = conn.execute(text("SELECT state, last_error FROM deliveries")).one()
    assert state == "failed" and "130472" in error


def test_buttons_and_lists_are_sent_as_interactive_messages(client, wa, graph) -> None:
    org, agent, _, post = wa
    payload = _payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "Hello"
    post(payload)
    body = graph.sent()[-1].body
    assert body["type"] == "interactive" and body["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]]
    assert 1 <= len(titles) <= 3 and all(len(t) <= 20 for t in titles)
    # the customer taps a button: its title is what the agent reads
    tap = _payload("interactive_button_reply")
    reply = tap["entry"][0]["changes"][0]["value"]["messages"][0]
    reply["id"], reply["interactive"]["button_reply"]["title"] = "wamid.tap", titles[0]
    assert post(tap).status_code == 200
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    texts = [m["text"] for m in org.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"]]
    assert titles[0] in texts


def _run_deliveries(times: int = 10) -> None:
    """Send what is due, moving the clock past each backoff (as the worker's schedule would)."""
    from jasping.channels import deliveries
    from jasping.channels.models import Delivery

    for _ in range(times):
        with session_scope() as s, unscoped(s):
            due = [(d.org_id, d.id) for d in s.execute(select(Delivery).where(Delivery.state == "queued")).scalars()]
        if not due:
            return
        for org_id, delivery_id in due:
            deliveries.send(org_id, delivery_id)


def test_a_failing_provider_is_retried_with_backoff_then_dead_lettered(client, wa, graph, monkeypatch) -> None:
    from jasping.channels import deliveries

    org, agent, _, post = wa
    graph.fail(500, {"error": {"message": "Service temporarily unavailable", "code": 131000}}, times=2)
    assert post(_payload("text")).status_code == 200
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT state, attempts FROM deliveries")).one() == ("queued", 1)
    now = clock.now()
    for minutes in (1, 5):
        monkeypatch.setattr(clock, "now", lambda m=minutes: now + timedelta(minutes=m))
        _run_deliveries(1)
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT state, attempts FROM deliveries")).one() == ("sent", 3)
    assert len(graph.sent()) == 3

    # a provider that keeps failing: every backoff step, then the dead-letter list
    graph.fail(503, {"error": {"message": "down", "code": 1}}, times=20)
    second = _payload("text")
    second["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.second"
    post(second)
    for step in range(1, len(deliveries.BACKOFF) + 2):
        monkeypatch.setattr(clock, "now", lambda s=step: now + timedelta(hours=s))
        _run_deliveries(1)
    dead = org.get(f"/api/v1/agents/{agent['id']}/dead-letters").json()["deliveries"]
    assert len(dead) == 1 and dead[0]["attempts"] == len(deliveries.BACKOFF) + 1 and "503" in dead[0]["last_error"]


def test_a_refused_message_is_dead_lettered_at_once(client, wa, graph) -> None:
    org, agent, _, post = wa
    graph.fail(400, {"error": {"message": "Invalid parameter", "code": 100}})
    post(_payload("text"))
    dead = org.get(f"/api/v1/agents/{agent['id']}/dead-letters").json()["deliveries"]
    assert len(dead) == 1 and dead[0]["attempts"] == 1


def test_outside_the_24_hour_window_the_template_is_sent(client, wa, graph) -> None:
    graph.fail(400, {"error": {"message": "Re-engagement message", "code": 131047}})
    _, _, _, post = wa
    post(_payload("text"))
    first, second = graph.sent()
    assert first.body["type"] in ("text", "interactive")
    assert second.body["type"] == "template"
    assert second.body["template"]["name"] == "reply_follow_up"
    assert second.body["template"]["language"] == {"code": "en"}
    (param,) = second.body["template"]["components"][0]["parameters"]
    assert param["type"] == "text" and param["text"]


def test_a_worker_killed_mid_delivery_loses_nothing(client, wa, graph, monkeypatch) -> None:
    """A worker that died while sending leaves the delivery leased; once the lease is over the sweep sends it."""
    from jasping.channels.models import Delivery
    from jasping.jobs import tasks

    _, _, _, post = wa
    monkeypatch.setattr(tasks, "deliver", lambda org_id, delivery_id: None)  # the worker dies before sending
    post(_payload("text"))
    with session_scope() as s, unscoped(s):
        delivery = s.execute(select(Delivery)).scalar_one()
        delivery.state, delivery.attempts = "sending", 1  # as the dead worker left it
        delivery.next_attempt_at = clock.now() + timedelta(minutes=2)
    monkeypatch.undo()
    assert tasks.sweep_channels() == {"deliveries": 0, "events": 0}  # the lease still runs
    later = clock.now() + timedelta(minutes=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert tasks.sweep_channels()["deliveries"] == 1
    assert len(graph.sent()) == 1
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT state FROM deliveries")).scalar_one() == "sent"


def test_one_contact_across_the_website_and_whatsapp(client, wa, graph) -> None:
    org, agent, _, post = wa
    org.client.patch("/api/v1/organization", json={"country": "MA"})
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    reply = client.post(url, json={"text": "Please call me back"}, headers=headers).json()["reply"]
    for answer in ("06 12 34 56 78", "Dana", "yes", "yes"):
        if reply["input_hint"]["type"] == "text" and not reply["quick_replies"]:
            break
        reply = client.post(url, json={"text": answer}, headers=headers).json()["reply"]
    assert org.get("/api/v1/leads").json()["leads"][0]["phone"] == "+212612345678"
    payload = _payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "212612345678"
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = "212612345678"
    post(payload)
    conversations = org.get("/api/v1/conversations").json()["conversations"]
    assert {c["channel"] for c in conversations} == {"web", "whatsapp"}
    assert len({c["contact_id"] for c in conversations}) == 1, "the same person, one contact"
    history = org.get("/api/v1/conversations", params={"contact_id": conversations[0]["contact_id"]}).json()
    assert len(history["conversations"]) == 2


def test_dead_letters_and_channels_stay_in_their_organization(client, wa, make_org) -> None:
    org, agent, channel, _ = wa
    other = make_org("Other")
    assert other.get(f"/api/v1/agents/{agent['id']}/channels").status_code == 404
    assert other.get(f"/api/v1/agents/{agent['id']}/dead-letters").status_code == 404
    assert other.client.delete(f"/api/v1/agents/{agent['id']}/channels/{channel['id']}").status_code == 404
    assert org.client.delete(f"/api/v1/agents/{agent['id']}/channels/{channel['id']}").status_code == 204
    assert org.get(f"/api/v1/agents/{agent['id']}/channels").json()["channels"] == []


def _wait(condition, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _delivery_state() -> str | None:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT state FROM deliveries")).scalar()


def test_a_real_worker_killed_mid_delivery_loses_nothing(client, wa, graph, db_url, monkeypatch) -> None:
    """Real processes: the webhook only stores and queues; a `jasping worker` answers and starts sending; it is
    killed (SIGKILL) while the Graph API has not answered; a new worker and the sweep deliver the reply."""
    from jasping.jobs.queue import huey

    env = cli_env(db_url, JASPING_WHATSAPP_GRAPH_URL=graph.url + "/v21.0", JASPING_DELIVERY_LEASE_SECONDS="2")
    monkeypatch.setattr(huey, "immediate", False)  # jobs go to the real queue, shared with the worker processes
    huey.flush()
    graph.hang(60)  # the first send never gets its answer
    # Acknowledged with no worker running and nothing sent: the webhook only stores and queues, the work is the
    # worker's (said without a stopwatch, which a busy CI machine makes flaky).
    assert post_text(wa, "What are your opening hours?").status_code == 200
    assert graph.sent() == [] and _delivery_state() is None  # no reply yet: answering is the worker's job
    workers = [subprocess.Popen([JASPING, "worker", "--workers", "1", "--no-periodic"], env=env)]
    try:
        _wait(lambda: len(graph.sent()) == 1)  # the worker is sending the reply
        assert _delivery_state() == "sending"
        workers[0].kill()
        workers[0].wait(timeout=20)
        time.sleep(2.5)  # the dead worker's lease runs out
        workers.append(subprocess.Popen([JASPING, "worker", "--workers", "1", "--no-periodic"], env=env))
        out = subprocess.run(
            [JASPING, "jobs", "run-due", "--force", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        _wait(lambda: _delivery_state() == "sent")
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=20)
        huey.flush()
    assert len(graph.sent()) == 2 and graph.sent()[0].body == graph.sent()[1].body  # sent again, the same reply
    org = wa[0]
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    assert conversation["message_count"] == 2, "one question, one reply: nothing lost, nothing doubled"


def post_text(wa, body: str):  # noqa: ANN001, ANN201
    payload = _payload("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = body
    return wa[3](payload)


def test_outbound_request_shapes() -> None:
    """The Graph API `messages` bodies of the WhatsApp docs: text, reply buttons, lists, media, templates."""
    from jasping.channels.base import Outgoing
    from jasping.channels.whatsapp import CAPABILITIES, request_body

    text_ = request_body("+212612345678", Outgoing("Hello"))
    assert text_ == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "212612345678",
        "type": "text",
        "text": {"preview_url": False, "body": "Hello"},
    }
    slots = [f"Tuesday 1 Dec {h}:00" for h in range(9, 15)]
    listed = request_body("+1", Outgoing("Which time?", buttons=slots).fit(CAPABILITIES))
    assert listed["type"] == "interactive" and listed["interactive"]["type"] == "list"
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == slots and len({r["id"] for r in rows}) == len(rows)
    assert len(listed["interactive"]["action"]["button"]) <= 20
    too_many = Outgoing("Which?", buttons=[f"option {n}" for n in range(12)]).fit(CAPABILITIES)
    assert too_many.buttons == too_many.choices == [] and "12. option 11" in too_many.text
    image = request_body("+1", Outgoing("Our map", media={"type": "image", "link": "https://example.org/map.png"}))
    assert image["type"] == "image" and image["image"] == {"link": "https://example.org/map.png", "caption": "Our map"}
    doc = request_body("+1", Outgoing("", media={"type": "document", "id": "4490709327384033"}))
    assert doc["type"] == "document" and doc["document"] == {"id": "4490709327384033"}
    template = request_body("+1", Outgoing("x", template={"name": "follow_up", "language": "fr", "parameters": ["Hi"]}))
    assert template["template"] == {
        "name": "follow_up",
        "language": {"code": "fr"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Hi"}]}],
    }


def test_media_waits_for_a_file_store_that_is_down(client, wa, graph, monkeypatch) -> None:
    """The store down is not the file refused: no "file refused" reply, the event stays to be handled again,
    and the next try saves the file."""
    from jasping import storage
    from jasping.channels import inbound

    org, _, _, post = wa
    graph.media["65463453"] = (PNG, "image/jpeg")
    real_put = storage.put

    def down(**kw):  # noqa: ANN003, ANN202
        raise storage.StorageUnavailable("the file store is not answering")

    monkeypatch.setattr(storage, "put", down)
    post(_payload("image"))
    with get_engine().connect() as conn:
        org_id, event_id, state = conn.execute(text("SELECT org_id, id, state FROM inbound_events")).one()
    assert state == "received" and _count("conversation_files") == 0
    assert graph.sent() == []  # nothing told the customer their file was refused
    monkeypatch.setattr(storage, "put", real_put)
    inbound.handle(org_id, event_id)  # the job's retry, or the sweep
    (conversation,) = org.get("/api/v1/conversations").json()["conversations"]
    detail = org.get(f"/api/v1/conversations/{conversation['id']}").json()
    assert [m["file"]["content_type"] for m in detail["messages"] if m.get("file")] == ["image/png"]
