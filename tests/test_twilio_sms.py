"""Twilio SMS through its real contract: webhook forms as Twilio posts them (parameters from Twilio's "incoming
message webhook" and status-callback docs), each signed with the `twilio` package's RequestValidator on the public
URL (JASPING_BASE_URL) while the test client posts to http://testserver — as behind a TLS-terminating proxy — and
replies checked at Twilio's REST boundary (`POST /2010-04-01/Accounts/{sid}/Messages.json`) on a local stand-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from jasping import clock
from jasping.config import get_settings
from jasping.db import get_engine, session_scope, unscoped
from provider_stub import ProviderStub

PUBLIC = "https://jasping.example.com"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "9f86d081884c7d659a2feaa0c55ad015"
BUSINESS = "+14155550100"
CUSTOMER = "+14155550199"
SMS_URL = f"{PUBLIC}/webhooks/twilio/sms"
STATUS_URL = f"{PUBLIC}/webhooks/twilio/status"
WA_DATA = Path(__file__).parent / "data" / "whatsapp"
WA_NUMBER_ID = "1122334455667"
WA_SECRET = "app-secret-for-tests"


def sms_params(body: str, *, sid: str | None = None, sender: str = CUSTOMER, to: str = BUSINESS) -> dict[str, str]:
    """An inbound SMS as Twilio posts it to the number's messaging webhook."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94103",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "94105",
        "NumSegments": str(max(1, -(-len(body) // 153))),
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def status_params(sid: str, status: str, *, error: str | None = None, to: str = CUSTOMER) -> dict[str, str]:
    """A status callback of a message we sent (`From` is the business number)."""
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": BUSINESS,
        "ApiVersion": "2010-04-01",
    }
    if status == "delivered":
        params["RawDlrDoneDate"] = "2603121030"
    if error:
        params["ErrorCode"] = error
    return params


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def provider(monkeypatch) -> Iterator[ProviderStub]:  # noqa: ANN001
    """Twilio's REST API and Meta's Graph API, both on a local stand-in."""
    with ProviderStub() as stub:
        monkeypatch.setenv("JASPING_TWILIO_API_URL", stub.url)
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", stub.url + "/v21.0")
        get_settings.cache_clear()
        yield stub
    get_settings.cache_clear()


class Sms:
    """An organization with an agent connected to a Twilio number, and Twilio's side of the webhooks."""

    def __init__(self, client, org, agent: dict, channel: dict) -> None:  # noqa: ANN001
        self.client, self.org, self.agent, self.channel = client, org, agent, channel

    def post(self, path: str, params: dict[str, str], signature: str | None = "sign", url: str | None = None):  # noqa: ANN201
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(url or f"{PUBLIC}{path}", params)
        elif signature:
            headers["X-Twilio-Signature"] = signature
        return self.client.post(path, data=params, headers=headers)

    def text(self, body: str, **kw):  # noqa: ANN003, ANN201
        """The customer texts the business number; Twilio's webhook answers 200 with empty TwiML."""
        r = self.post("/webhooks/twilio/sms", sms_params(body, **kw))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/xml") and "<Response/>" in r.text
        return r

    def status(self, sid: str, status: str, **kw):  # noqa: ANN003, ANN201
        return self.post("/webhooks/twilio/status", status_params(sid, status, **kw))

    def conversation(self, channel: str = "sms") -> dict:
        rows = [c for c in self.org.get("/api/v1/conversations").json()["conversations"] if c["channel"] == channel]
        assert len(rows) == 1, rows
        return self.org.get(f"/api/v1/conversations/{rows[0]['id']}").json()


@pytest.fixture
def sms(client, make_org, provider, monkeypatch) -> Sms:  # noqa: ANN001
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    org.post(
        f"/api/v1/agents/{agent['id']}/sources",
        json={"type": "text", "title": "Hours", "text": "The clinic is open Monday to Friday from 9am to 6pm."},
    )
    # From here on the platform sits behind a proxy at a public https URL; the test client still posts to
    # http://testserver, so only a signature checked against JASPING_BASE_URL verifies.
    monkeypatch.setenv("JASPING_BASE_URL", PUBLIC)
    get_settings.cache_clear()
    body = {"type": "twilio", "phone_number": BUSINESS, "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
    r = org.post(f"/api/v1/agents/{agent['id']}/channels", json=body)
    assert r.status_code == 201, r.text
    return Sms(client, org, agent, r.json())


def _count(table: str) -> int:
    with get_engine().connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - test table names


def _deliveries() -> list[tuple]:
    with get_engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT state, attempts, last_error FROM deliveries"))]


def _opted_out(phone: str = CUSTOMER) -> bool:
    from jasping.conversations.models import Contact

    with session_scope() as s, unscoped(s):
        (contact,) = [c for c in s.execute(select(Contact)).scalars() if c.phone == phone]
        return contact.sms_opted_out


def _message_meta() -> list[tuple[str, str, dict]]:
    from jasping.conversations.models import Message

    with session_scope() as s, unscoped(s):
        rows = s.execute(select(Message).order_by(Message.conversation_id, Message.seq)).scalars()
        return [(m.role, m.text, dict(m.meta or {})) for m in rows]


def _run_deliveries(times: int = 1) -> None:
    """Send what is due (as the worker's scheduled retries would)."""
    from jasping.channels import deliveries
    from jasping.channels.models import Delivery

    for _ in range(times):
        with session_scope() as s, unscoped(s):
            due = [(d.org_id, d.id) for d in s.execute(select(Delivery).where(Delivery.state == "queued")).scalars()]
        for org_id, delivery_id in due:
            deliveries.send(org_id, delivery_id)


def test_connecting_a_twilio_number(sms) -> None:
    channel = sms.channel
    assert channel["type"] == "twilio" and channel["address"] == BUSINESS
    assert channel["secrets"] == ["account_sid", "auth_token"]
    assert channel["webhook_url"] == SMS_URL  # what to paste into the number's "A message comes in" field
    listed = sms.org.get(f"/api/v1/agents/{sms.agent['id']}/channels").text
    assert AUTH_TOKEN not in listed
    with get_engine().connect() as conn:
        raw = " ".join(str(r) for r in conn.execute(text("SELECT * FROM channel_connections")))
    assert AUTH_TOKEN not in raw and ACCOUNT_SID not in raw
    again = {"type": "twilio", "phone_number": "+1 (415) 555-0100", "account_sid": ACCOUNT_SID, "auth_token": "x" * 32}
    assert sms.org.post(f"/api/v1/agents/{sms.agent['id']}/channels", json=again).status_code == 409
    bad_sid = {**again, "phone_number": "+14155550111", "account_sid": "AC123"}
    assert sms.org.post(f"/api/v1/agents/{sms.agent['id']}/channels", json=bad_sid).status_code == 422


def test_an_sms_is_answered_through_the_rest_api(sms, provider) -> None:
    sms.text("What are your opening hours?")
    (sent,) = provider.sent()
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {basic}"
    assert sent.body["From"] == BUSINESS and sent.body["To"] == CUSTOMER
    assert "9am to 6pm" in sent.body["Body"] and len(sent.body["Body"]) <= 1600
    assert sent.body["StatusCallback"] == STATUS_URL  # the public URL, not the internal one
    detail = sms.conversation()
    assert detail["channel"] == "sms"
    assert [(m["role"], m["text"]) for m in detail["messages"]][0] == ("user", "What are your opening hours?")
    assert detail["messages"][1]["role"] == "assistant"
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT state, provider_id FROM deliveries")).one() == ("sent", "SM1")
        assert conn.execute(text("SELECT state FROM inbound_events")).scalar_one() == "done"


def test_accented_text_verifies_and_reaches_the_agent(sms, provider) -> None:
    """UTF-8 and "+" in the form (Twilio signs the decoded values) verify, and reach the agent unchanged."""
    sms.text("Bonjour, à quelle heure ouvrez-vous ? Merci d'avance — 1+1")
    assert len(provider.sent()) == 1
    assert sms.conversation()["messages"][0]["text"] == "Bonjour, à quelle heure ouvrez-vous ? Merci d'avance — 1+1"


def test_quick_replies_become_a_numbered_list(sms, provider) -> None:
    sms.text("Hello")
    body = provider.sent()[-1].body["Body"]
    lines = body.splitlines()
    numbered = [line for line in lines if line[:1].isdigit() and ". " in line]
    assert numbered, body
    assert [line.split(". ", 1)[0] for line in numbered] == [str(n) for n in range(1, len(numbered) + 1)]
    assert set(provider.sent()[-1].body) == {"From", "To", "Body", "StatusCallback"}  # no buttons field for SMS


def test_storing_an_sms_holds_up_no_other_request(sms, provider, monkeypatch) -> None:
    """Regression: the SMS webhook stored its event (a database write, on SQLite a wait for the write lock while the
    worker writes, then the job's enqueue) on the server's event loop, so every other request waited behind it."""
    import threading

    from jasping.channels import inbound

    real, started, release, acks, released = inbound.receive, threading.Event(), threading.Event(), [], []

    def slow(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        started.set()
        released.append(release.wait(30))  # as a write waiting for SQLite's lock, until /healthz has answered
        return real(*args, **kw)

    monkeypatch.setattr(inbound, "receive", slow)
    texting = threading.Thread(target=lambda: acks.append(sms.text("What are your opening hours?").status_code))
    texting.start()
    assert started.wait(5)
    assert sms.client.get("/healthz").status_code == 200  # answered while the webhook's write still waits
    release.set()
    texting.join()
    assert acks == [200] and len(provider.sent()) == 1
    assert released == [True], "/healthz waited for the SMS webhook (which waited for /healthz: 30 s)"


def test_replies_do_not_build_a_tls_context_each(sms, provider, monkeypatch) -> None:
    """Regression: every reply built a new TLS context (`httpx.post` loads the CA bundle each call, ~25 ms of the
    worker's CPU per message, more than the rest of the delivery)."""
    import ssl

    sms.text("Hello")  # the first reply: lazy imports, and the one context the sender keeps
    made = []
    real = ssl.create_default_context

    def counted(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        made.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    for question in ("What are your opening hours?", "Are you open on Saturday?", "Where are you?"):
        sms.text(question)
    assert len(provider.sent()) == 4 and made == []


@pytest.mark.parametrize("word", ["STOP", "arret", "Unsubscribe", "ARRÊT"])
def test_stop_opts_the_contact_out_until_start(sms, provider, word) -> None:
    sms.text("What are your opening hours?")
    assert len(provider.sent()) == 1 and not _opted_out()
    sms.text(word)
    assert _opted_out(), word
    assert len(provider.sent()) == 1, "no reply to STOP (Twilio confirms the opt-out itself)"
    # a later question is stored and answered, but the answer is not queued to a customer who opted out
    sms.text("Are you open on Saturday?")
    assert len(provider.sent()) == 1 and _count("deliveries") == 1
    role, _, meta = _message_meta()[-1]
    assert role == "assistant" and meta.get("delivery") == "opted_out"
    # START opts back in (no reply to the keyword itself); the next question is answered by SMS again
    sms.text("START")
    assert not _opted_out() and len(provider.sent()) == 1
    sms.text("What are your opening hours?")
    assert len(provider.sent()) == 2 and provider.sent()[-1].body["To"] == CUSTOMER
    texts = [m["text"] for m in sms.conversation()["messages"] if m["role"] == "user"]
    assert word in texts and "START" in texts  # the keywords are kept in the conversation for the team


def test_stop_inside_a_sentence_is_a_message(sms, provider) -> None:
    """Twilio blocks only on a message that is the keyword alone; "please stop calling me" is a message."""
    sms.text("Please stop calling me on Sundays")
    assert not _opted_out() and len(provider.sent()) == 1


def test_statuses_update_the_delivery(sms, provider) -> None:
    provider.next_ids.append("SM" + "a" * 32)
    sms.text("What are your opening hours?")
    sid = "SM" + "a" * 32
    for status in ("queued", "sent", "delivered", "sent"):  # a late "sent" never moves it backwards
        assert sms.status(sid, status).status_code == 204
    assert _deliveries() == [("delivered", 1, None)]
    assert _message_meta()[-1][2]["delivery"] == "delivered"
    r = sms.status(sid, "undelivered", error="30003")
    assert r.status_code == 204
    ((state, _, error),) = _deliveries()
    assert state == "failed" and "30003" in error
    meta = _message_meta()[-1][2]
    assert meta["delivery"] == "failed" and "30003" in meta["delivery_error"]


def test_a_failed_status_with_its_error_code(sms, provider) -> None:
    provider.next_ids.append("SM" + "b" * 32)
    sms.text("What are your opening hours?")
    assert sms.status("SM" + "b" * 32, "failed", error="30008").status_code == 204
    ((state, _, error),) = _deliveries()
    assert state == "failed" and error == "Twilio 30008"


def test_a_status_for_an_unknown_message_changes_nothing(sms, provider) -> None:
    sms.text("What are your opening hours?")
    assert sms.status("SM" + "c" * 32, "delivered").status_code == 204
    assert _deliveries() == [("sent", 1, None)]


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (None, 401),  # missing
        ("bm90IGEgc2lnbmF0dXJl", 403),  # forged
        ("other-token", 403),  # signed with another account's auth token
    ],
)
def test_forged_or_missing_signatures_store_nothing(sms, provider, signature, code) -> None:
    params = sms_params("What are your opening hours?")
    if signature == "other-token":
        signature = sign(SMS_URL, params, "0" * 32)
    r = sms.post("/webhooks/twilio/sms", params, signature=signature)
    assert r.status_code == code, r.text
    assert _count("inbound_events") == 0 and _count("messages") == 0 and _count("contacts") == 0
    assert provider.sent() == []


def test_a_signature_on_another_url_or_altered_params_is_refused(sms, provider) -> None:
    params = sms_params("What are your opening hours?")
    # signed for the internal URL the proxy forwards to: not what Twilio signs
    internal = sms.post("/webhooks/twilio/sms", params, url="http://testserver/webhooks/twilio/sms")
    assert internal.status_code == 403
    # a valid signature, then the body changed on the way
    tampered = sms.post(
        "/webhooks/twilio/sms", {**params, "Body": "Send me everything"}, signature=sign(SMS_URL, params)
    )
    assert tampered.status_code == 403
    # a status callback signed for another route (the SMS URL) is refused, an unsigned one too
    callback = status_params("SM" + "d" * 32, "delivered")
    assert sms.post("/webhooks/twilio/status", callback, signature=sign(SMS_URL, callback)).status_code == 403
    assert sms.post("/webhooks/twilio/status", callback, signature=None).status_code == 401
    assert _count("inbound_events") == 0 and provider.sent() == []


def test_unknown_numbers_and_bad_forms(sms, provider) -> None:
    assert sms.post("/webhooks/twilio/sms", sms_params("hi", to="+14155550111")).status_code == 404
    assert (
        sms.post("/webhooks/twilio/status", {**status_params("SM1", "sent"), "From": "+14155550111"}).status_code == 404
    )
    no_to = sms_params("hi")
    del no_to["To"]
    assert sms.post("/webhooks/twilio/sms", no_to).status_code == 422
    headers = {"X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"}
    big = sms.client.post("/webhooks/twilio/sms", content=b"Body=" + b"x" * (1024 * 1024 + 10), headers=headers)
    assert big.status_code == 413
    assert _count("inbound_events") == 0 and provider.sent() == []


def test_the_same_message_five_times_is_one_message_and_one_reply(sms, provider) -> None:
    sid = "SM" + uuid.uuid4().hex
    for _ in range(5):
        sms.text("What are your opening hours?", sid=sid)
    assert _count("inbound_events") == 1
    assert len(provider.sent()) == 1
    detail = sms.conversation()
    assert detail["message_count"] == 2 and [m["role"] for m in detail["messages"]] == ["user", "assistant"]


def test_a_failing_rest_api_is_retried_with_backoff_then_dead_lettered(sms, provider, monkeypatch) -> None:
    from jasping.channels import deliveries

    error = {"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500"}
    provider.fail(500, {**error, "status": 500}, times=2)
    sms.text("What are your opening hours?")
    assert _deliveries()[0][:2] == ("queued", 1)
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(seconds=3))  # before the first backoff: not due
    _run_deliveries()
    assert _deliveries()[0][:2] == ("queued", 1) and len(provider.sent()) == 1
    for seconds in (deliveries.BACKOFF[0] + 1, deliveries.BACKOFF[0] + deliveries.BACKOFF[1] + 2):
        monkeypatch.setattr(clock, "now", lambda s=seconds: now + timedelta(seconds=s))
        _run_deliveries()
    assert _deliveries() == [("sent", 3, None)] and len(provider.sent()) == 3
    assert _message_meta()[-1][2]["delivery"] == "sent"

    # a REST API that keeps failing: every backoff step, then the dead-letter list
    provider.fail(503, {"code": 20503, "message": "Service Unavailable", "status": 503}, times=20)
    sms.text("Are you open on Saturday?")
    for step in range(1, len(deliveries.BACKOFF) + 2):
        monkeypatch.setattr(clock, "now", lambda s=step: now + timedelta(hours=s))
        _run_deliveries()
    dead = sms.org.get(f"/api/v1/agents/{sms.agent['id']}/dead-letters").json()["deliveries"]
    assert len(dead) == 1 and dead[0]["attempts"] == len(deliveries.BACKOFF) + 1
    assert "503" in dead[0]["last_error"] and "Service Unavailable" in dead[0]["last_error"]
    assert len(provider.sent()) == 3 + len(deliveries.BACKOFF) + 1
    assert _message_meta()[-1][2]["delivery"] == "failed"


def test_rate_limited_is_retried(sms, provider, monkeypatch) -> None:
    provider.fail(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
    sms.text("What are your opening hours?")
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(minutes=1))
    _run_deliveries()
    assert [d[:2] for d in _deliveries()] == [("sent", 2)]


def test_an_unsubscribed_recipient_is_dead_lettered_at_once(sms, provider) -> None:
    provider.fail(
        400,
        {
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610",
            "status": 400,
        },
    )
    sms.text("What are your opening hours?")
    dead = sms.org.get(f"/api/v1/agents/{sms.agent['id']}/dead-letters").json()["deliveries"]
    assert len(dead) == 1 and dead[0]["attempts"] == 1 and "unsubscribed" in dead[0]["last_error"]
    assert len(provider.sent()) == 1
    assert _opted_out(), "Twilio says the number sent STOP: the contact is opted out here too"
    sms.text("Are you open on Saturday?")
    assert len(provider.sent()) == 1, "nothing more is sent to it"


def test_help_is_left_to_twilio(sms, provider) -> None:
    sms.text("HELP")
    assert provider.sent() == [] and not _opted_out()


def test_a_wrong_number_is_dead_lettered_even_on_a_5xx(sms, provider) -> None:
    """A code Twilio says is final (21211 invalid 'To') is not retried whatever the HTTP status."""
    provider.fail(503, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 503})
    sms.text("What are your opening hours?")
    assert [d[:2] for d in _deliveries()] == [("dead", 1)]


def _wa_payload(wa_id: str, body: str, message_id: str) -> dict:
    data = json.loads((WA_DATA / "text.json").read_text())
    value = data["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = WA_NUMBER_ID
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update({"from": wa_id, "id": message_id, "text": {"body": body}})
    return data


def test_one_contact_across_sms_and_whatsapp(sms, provider) -> None:
    _connect_whatsapp(sms)
    sms.text("What are your opening hours?")
    _post_whatsapp(sms, "Are you open on Saturday?", "wamid.one")
    conversations = sms.org.get("/api/v1/conversations").json()["conversations"]
    assert sorted(c["channel"] for c in conversations) == ["sms", "whatsapp"]
    assert len({c["contact_id"] for c in conversations}) == 1, "the same E.164 number, one contact"
    assert _count("contacts") == 1
    sms_sent, wa_sent = provider.sent()
    assert sms_sent.body["To"] == CUSTOMER and wa_sent.body["to"] == CUSTOMER.lstrip("+")
    # STOP by SMS is an SMS opt-out: WhatsApp replies to the same contact still go out
    sms.text("STOP")
    _post_whatsapp(sms, "What are your opening hours?", "wamid.two")
    assert len(provider.sent()) == 3 and provider.sent()[-1].path == f"/v21.0/{WA_NUMBER_ID}/messages"


def test_yes_is_an_answer_not_an_opt_in(sms, provider) -> None:
    """Regression: "yes" was taken as Twilio's opt-in keyword, so the reply to "is that right?" and to the consent
    question was never answered and a callback request by SMS could not be finished."""
    for answer in ("Please call me back", CUSTOMER, "Sam", "yes", "Yes"):
        sms.text(answer)
    assert len(provider.sent()) == 5, [s.body["Body"] for s in provider.sent()]
    (lead,) = sms.org.get("/api/v1/leads").json()["leads"]
    assert lead["name"] == "Sam" and lead["phone"] == CUSTOMER and lead["consent"] is True
    # after STOP, "YES" is no way back in here (START is: Twilio's confirmation of the opt-out says so)
    sms.text("STOP")
    sms.text("YES")
    assert _opted_out() and len(provider.sent()) == 5
    sms.text("start")
    assert not _opted_out()


def test_answering_with_the_number_of_an_option(sms, provider) -> None:
    """The options of a reply are listed "1. …, 2. …" on SMS: "2" is the second option, as its words would be."""
    sms.text("Hello")
    (second,) = [line[3:] for line in provider.sent()[-1].body["Body"].splitlines() if line.startswith("2. ")]
    sms.text("2")
    by_number = provider.sent()[-1].body["Body"]
    sms.text(second)
    by_words = provider.sent()[-1].body["Body"]
    assert by_number == by_words


def test_a_status_arriving_before_the_send_is_recorded_is_not_lost(sms, provider, monkeypatch) -> None:
    """Twilio may call the StatusCallback before the worker that sent the message has committed its sid (the
    callback races the worker's second transaction); the status must still reach the delivery."""
    from starlette.testclient import TestClient

    from jasping.app import create_app
    from jasping.channels.http import client
    from jasping.jobs import tasks

    real_post = client().post
    other = TestClient(create_app(), base_url="http://testserver")  # Twilio's callback, on another connection

    def post_then_callback(url, **kw):  # noqa: ANN001, ANN003, ANN202
        response = real_post(url, **kw)
        sid = response.json()["sid"]
        params = status_params(sid, "undelivered", error="30003")
        signature = sign(STATUS_URL, params)
        r = other.post("/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature})
        assert r.status_code == 204
        return response

    monkeypatch.setattr(client(), "post", post_then_callback)
    sms.text("What are your opening hours?")
    monkeypatch.undo()
    later = clock.now() + timedelta(minutes=5)  # time for a retry of the status or for the sweep
    monkeypatch.setattr(clock, "now", lambda: later)
    tasks.sweep_channels()
    ((state, _, error),) = _deliveries()
    assert state == "failed" and "30003" in (error or "")


def _connect_whatsapp(sms: Sms) -> None:
    wa = {
        "type": "whatsapp",
        "phone_number_id": WA_NUMBER_ID,
        "waba_id": "1234567890987654321",
        "access_token": "EAAG-secret-access-token",
        "app_secret": WA_SECRET,
        "verify_token": "verify-me-please",
    }
    assert sms.org.post(f"/api/v1/agents/{sms.agent['id']}/channels", json=wa).status_code == 201


def _post_whatsapp(sms: Sms, body: str, message_id: str) -> None:
    raw = json.dumps(_wa_payload(CUSTOMER.lstrip("+"), body, message_id)).encode()
    signature = "sha256=" + hmac.new(WA_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    assert sms.client.post("/webhooks/whatsapp", content=raw, headers=headers).status_code == 200


def test_one_contact_when_sms_and_whatsapp_arrive_at_once(sms, provider, monkeypatch) -> None:
    """The worker runs several threads: a customer who writes by SMS and WhatsApp at the same moment (or sends two
    messages in a row) is handled by two of them at once, and must still be one contact."""
    import threading

    from jasping.channels import inbound
    from jasping.channels.models import InboundEvent

    _connect_whatsapp(sms)
    monkeypatch.setattr(inbound, "_enqueue", lambda org_id, event_id: None)  # stored now, handled below
    sms.text("What are your opening hours?")
    _post_whatsapp(sms, "Are you open on Saturday?", "wamid.at-once")
    with session_scope() as s, unscoped(s):
        events = [(e.org_id, e.id) for e in s.execute(select(InboundEvent)).scalars()]
    assert len(events) == 2
    barrier, real = threading.Barrier(2, timeout=1), inbound.contact_for_phone

    def both_look_up_first(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        contact = real(*args, **kw)
        try:
            barrier.wait()  # both workers have looked the number up before either commits
        except threading.BrokenBarrierError:
            pass  # SQLite: the other worker waits for the write lock instead
        return contact

    monkeypatch.setattr(inbound, "contact_for_phone", both_look_up_first)
    workers = [threading.Thread(target=inbound.handle, args=event) for event in events]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(provider.sent()) == 2
    assert _count("contacts") == 1
