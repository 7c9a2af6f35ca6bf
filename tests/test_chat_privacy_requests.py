"""Data requests from the conversation ("delete my data", "supprimez mes données", "احذفوا بياناتي", "qu'avez-vous sur
moi ?"): the agent sends a one-time code to the email or phone on record and, on the right code, opens a tracked request
(`GET /api/v1/privacy/requests`); a wrong code is refused, three end the attempt. Through the widget's HTTP API and
WhatsApp's signed webhook, as customers would; SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from contact_fixtures import NUMBER_ID, SECRET, Visitor, whatsapp_text
from jasping.agent.intents import detect_intent
from jasping.config import get_settings
from jasping.conversations.models import Contact, Conversation, Message
from jasping.db import session_scope
from jasping.integrations.mail_models import Email
from jasping.security.audit import AuditEvent
from provider_stub import ProviderStub

EMAIL = "nadia.canary@example.org"


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr", "ar"]}).json()
    return org, agent


def _contact_of(org_id: str, conversation_id: str) -> str:
    with session_scope(org_id) as s:
        return s.get(Conversation, conversation_id).contact_id


def _on_record(org, visitor: Visitor, **fields: str) -> str:  # noqa: ANN001
    """The business records the visitor's email or phone (as a lead would have): the contact's id."""
    contact_id = _contact_of(org.id, visitor.conversation_id)
    assert org.client.patch(f"/api/v1/contacts/{contact_id}", json=fields).status_code == 200
    return contact_id


def _codes(org_id: str, to: str) -> list[str]:
    """The codes mailed to `to`, oldest first (the mail outbox: the `emails` table, decrypted)."""
    with session_scope(org_id) as s:
        rows = s.execute(select(Email).where(Email.kind == "code").order_by(Email.created_at)).scalars().all()
        return [re.search(r"\b(\d{6})\b", e.body)[1] for e in rows if e.to == to]


def _requests(org) -> list[dict]:  # noqa: ANN001
    r = org.get("/api/v1/privacy/requests?subject_type=contact")
    assert r.status_code == 200, r.text
    return r.json()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_intents_recognise_requests_in_english_french_and_arabic() -> None:
    for text in (
        "delete my data",
        "Please erase all my personal data",
        "supprimez mes données",
        "Pouvez-vous effacer toutes mes données ?",
        "احذفوا بياناتي",
        "أريد حذف كل بياناتي",
        "what do you have on me?",
        "qu'avez-vous sur moi ?",
        "ما هي البيانات لديكم عني",
    ):
        assert detect_intent(text) == "privacy", text
    for text in ("Do you delete data after the treatment?", "I'd like to leave my details", "What are your hours?"):
        assert detect_intent(text) != "privacy", text


def test_a_visitor_asks_to_erase_their_data_proves_it_is_them_and_the_request_is_tracked(client, chat) -> None:
    org, agent = chat
    visitor = Visitor(client, agent)
    visitor.say("Hello, what are your hours?")
    contact_id = _on_record(org, visitor, email=EMAIL)

    reply = visitor.say("Please delete my data")
    assert "n***@example.org" in reply["text"] and "6-digit code" in reply["text"], reply
    assert EMAIL not in reply["text"]
    (code,) = _codes(org.id, EMAIL)
    reply = visitor.say(_wrong(code))
    assert "not right" in reply["text"] and "2 tries left" in reply["text"], reply
    assert _requests(org) == []

    reply = visitor.say(code)
    (request,) = _requests(org)
    assert request["id"] in reply["text"], reply
    assert (request["subject_type"], request["subject_id"], request["right"]) == ("contact", contact_id, "erasure")
    assert request["channel"] == "widget" and request["status"] == "open"
    received, due = datetime.fromisoformat(request["received_at"]), datetime.fromisoformat(request["due_at"])
    assert (due - received).days == 30 and due.date().isoformat() in reply["text"]
    assert visitor.say(code)["text"] != reply["text"]  # the code is used: the chat goes on as usual
    assert len(_requests(org)) == 1


def test_three_wrong_codes_end_the_attempt_and_the_code_no_longer_works(client, chat) -> None:
    org, agent = chat
    visitor = Visitor(client, agent)
    _on_record(org, visitor, email=EMAIL)
    reply = visitor.say("Supprimez mes données s'il vous plaît")
    assert "code à 6 chiffres" in reply["text"], reply  # in French
    (code,) = _codes(org.id, EMAIL)
    visitor.say(_wrong(code))
    visitor.say(_wrong(_wrong(code)))
    reply = visitor.say(_wrong(_wrong(_wrong(code))))
    assert "pas été enregistrée" in reply["text"], reply
    visitor.say(code)  # too late: the attempt is over
    assert _requests(org) == []
    with session_scope(org.id) as s:
        refused = s.execute(select(AuditEvent).where(AuditEvent.action == "privacy.chat_code_refused")).scalars()
        assert [e.object_id for e in refused] == [visitor.conversation_id]


def test_an_unknown_visitor_is_asked_for_their_email_and_only_a_contact_on_record_gets_a_code(client, chat) -> None:
    org, agent = chat
    known = Visitor(client, agent)
    known_id = _on_record(org, known, email=EMAIL)
    stranger = Visitor(client, agent)

    reply = stranger.say("Qu'avez-vous sur moi ?")
    assert reply["input_hint"]["type"] == "email" and "adresse e-mail" in reply["text"], reply
    reply = stranger.say("someone.else@example.org")
    assert "someone.else@example.org" in reply["text"], reply
    assert _codes(org.id, "someone.else@example.org") == []  # nobody has it: no code, the same answer
    stranger.say("123456")
    assert _requests(org) == []

    stranger.say("Qu'avez-vous sur moi ?")
    reply = stranger.say(EMAIL)  # the address of a contact on record: the code goes to that address
    (code,) = _codes(org.id, EMAIL)
    stranger.say(code)
    (request,) = _requests(org)
    assert (request["subject_id"], request["right"]) == (known_id, "access")  # for the person who owns the address


def test_at_most_three_codes_an_hour_per_conversation(client, chat) -> None:
    org, agent = chat
    visitor = Visitor(client, agent)
    _on_record(org, visitor, email=EMAIL)
    for _ in range(3):
        assert "6-digit code" in visitor.say("delete my data")["text"]
        visitor.say("cancel")
    reply = visitor.say("delete my data")
    assert "too many codes" in reply["text"], reply
    assert len(_codes(org.id, EMAIL)) == 3


def test_a_whatsapp_customer_asks_in_arabic_and_gets_the_code_by_sms(client, chat, monkeypatch) -> None:
    org, agent = chat
    sender = "212661234567"
    with ProviderStub() as stub:
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", stub.url + "/v21.0")
        monkeypatch.setenv("JASPING_TWILIO_API_URL", stub.url)
        monkeypatch.setenv("JASPING_SMS_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
        monkeypatch.setenv("JASPING_SMS_TWILIO_AUTH_TOKEN", "token")
        monkeypatch.setenv("JASPING_SMS_FROM", "+14155550100")
        get_settings.cache_clear()
        channel = {
            "type": "whatsapp",
            "phone_number_id": NUMBER_ID,
            "waba_id": "1234567890987654321",
            "access_token": "EAAG-secret-access-token",
            "app_secret": SECRET,
            "verify_token": "verify-me-please",
        }
        assert org.post(f"/api/v1/agents/{agent['id']}/channels", json=channel).status_code == 201
        whatsapp_text(client, sender, "احذفوا بياناتي من فضلكم", "wamid.privacy1")
        texts = [r.body for r in stub.requests if r.path.endswith("/Messages.json")]
        assert len(texts) == 1 and texts[0]["To"] == f"+{sender}", texts
        code = re.search(r"(\d{6})", texts[0]["Body"])[1]
        whatsapp_text(client, sender, _wrong(code), "wamid.privacy2")
        assert _requests(org) == []
        whatsapp_text(client, sender, code, "wamid.privacy3")
        get_settings.cache_clear()
    (request,) = _requests(org)
    assert request["channel"] == "whatsapp" and request["right"] == "erasure"
    with session_scope(org.id) as s:
        contact = s.get(Contact, request["subject_id"])
        assert contact.phone == f"+{sender}"
        replies = s.execute(
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.channel == "whatsapp", Message.role == "assistant")
            .order_by(Message.seq)
        ).scalars()
        replies = list(replies)
    assert "+2126" in replies[0] and sender not in replies[0]  # the number, masked
    assert request["id"] in replies[-1]
