"""The message limit on WhatsApp, SMS and phone calls, through the real webhook endpoints (payloads from
../shared/data/webhooks/, signed as Meta and Twilio sign them): past the plan's messages a customer still gets the
polite answer — the conversation handed to the team, a call back offered — and nothing else is sent: no answer of
the agent, one reply per message. The organization is on its Pro trial (20,000 messages), its counter set at the
limit."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

import billing_fixtures
import test_twilio_sms
import test_twilio_voice
import test_whatsapp
from jasping.billing import usage
from jasping.billing.models import UsageCounter
from jasping.billing.plans import PRO
from jasping.conversations.models import Conversation
from jasping.db import session_scope, unscoped
from test_twilio_voice import Call, _said

billing_on, stripe_stub = billing_fixtures.billing_on, billing_fixtures.stripe_stub
wa, graph = test_whatsapp.wa, test_whatsapp.graph
sms, provider = test_twilio_sms.sms, test_twilio_sms.provider
clinic, set_now, go_public = test_twilio_voice.clinic, test_twilio_voice.set_now, test_twilio_voice.go_public
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "webhooks"
POLITE = "I've passed your request to the team; someone will reply to you here. Would you like us to call you back?"


def _at_the_limit(org_id: str, messages: int = PRO.messages) -> None:
    with session_scope() as s:
        s.add(UsageCounter(org_id=org_id, month=usage.month_of(), messages=messages))


def _count(org_id: str) -> int:
    with session_scope() as s:
        return s.execute(select(UsageCounter.messages).where(UsageCounter.org_id == org_id)).scalar_one()


def _handed_over(org_id: str) -> list[Conversation]:
    with session_scope() as s, unscoped(s):
        rows = s.execute(select(Conversation).where(Conversation.org_id == org_id)).scalars().all()
        return [c for c in rows if c.needs_human and c.status == "handoff"]


def _whatsapp_text(body: str, message_id: str) -> dict:
    payload = json.loads((SHARED / "whatsapp" / "text.json").read_text())
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "1122334455667"  # the number the `wa` fixture connected
    value["messages"][0]["text"]["body"] = body
    value["messages"][0]["id"] = message_id
    return payload


def _sent_text(sent) -> str:  # noqa: ANN001
    return sent.body.get("text", {}).get("body") or sent.body["interactive"]["body"]["text"]


def test_whatsapp_over_the_limit_gets_the_polite_handoff_and_nothing_else(client, billing_on, wa, graph) -> None:
    org, _, _, post = wa
    _at_the_limit(org.id, PRO.messages - 1)
    r = post(_whatsapp_text("What are your opening hours?", "wamid.quota-1"))  # the last message of the plan
    assert r.status_code == 200
    (answered,) = graph.sent()
    assert "9am to 6pm" in _sent_text(answered)
    r = post(_whatsapp_text("And on Saturday?", "wamid.quota-2"))  # over the limit
    assert r.status_code == 200
    _, polite = graph.sent()
    assert _sent_text(polite) == POLITE  # the handoff and the call back offer, not the agent's answer
    assert polite.body["to"] == "972987654321"
    assert "Call me back" in json.dumps(polite.body)  # the call back button
    assert len(_handed_over(org.id)) == 1
    post(_whatsapp_text("And on Saturday?", "wamid.quota-2"))  # Meta retries the same message: nothing more sent
    assert len(graph.sent()) == 2
    assert _count(org.id) == PRO.messages + 1


def test_sms_over_the_limit_gets_the_polite_handoff_and_nothing_else(client, billing_on, sms, provider) -> None:
    _at_the_limit(sms.org.id)
    sms.text("What are your opening hours?", sid="SM" + "a" * 32)
    (sent,) = provider.sent()
    assert sent.path.endswith("/Messages.json")
    assert sent.body["Body"].startswith(POLITE) and "9am" not in sent.body["Body"]
    assert "Call me back" in sent.body["Body"]  # the button as a numbered choice
    sms.text("What are your opening hours?", sid="SM" + "a" * 32)  # Twilio retries the webhook: nothing more
    assert len(provider.sent()) == 1
    messages = sms.conversation()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[1]["text"] == POLITE
    assert len(_handed_over(sms.org.id)) == 1
    assert _count(sms.org.id) == PRO.messages + 1


def test_a_call_over_the_limit_gets_the_polite_handoff_and_no_answer(client, billing_on, clinic) -> None:
    org, _ = clinic
    _at_the_limit(org.id)
    call = Call(client)
    call.ring()
    root = call.say("How much does a check-up cost?")
    said = _said(root)
    assert "300 dirhams" not in said  # no answer of the agent past the limit
    assert "passed your request to the team" in said and "call you back" in said
    assert len(_handed_over(org.id)) == 1
    assert _count(org.id) == PRO.messages + 1
