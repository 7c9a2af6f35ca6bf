"""Phone calls through Twilio's real webhook contract: every request signed with the `twilio` package's
RequestValidator on the public URL (JASPING_BASE_URL, as behind a proxy: the test client calls http://testserver),
the call driven by the TwiML we answer (each gather's action URL is where the next request goes), and the TwiML
parsed and checked element by element — never matched as a string.

Every test runs at a fixed moment, `NOW` (a Wednesday morning in Casablanca, the clinic open), by replacing
`clock.now` (the TestClient's application thread does not see `clock.frozen_at`).
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from jasping import clock
from jasping.channels import voice_speech
from jasping.config import get_settings
from jasping.db import get_engine

BASE = "https://jasping.example.com"
TOKEN = "twilio-auth-token-for-tests-0001"
ACCOUNT = "AC" + "0123456789abcdef" * 2
NUMBER = "+212522000000"  # the clinic's Twilio number
HANDOFF = "+212522999999"  # a person answers here
CALLER = "+212612345678"
SPOKEN_CALLER = "0 6, 12, 34, 56, 78"  # the caller's number read back, in Morocco
CASA = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=CASA)  # Wednesday, open
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=CASA)  # Wednesday, closed until Thursday 9:00
VECTOR = Path(__file__).parent / "data" / "twilio" / "voice_gather_dtmf_signed.json"
HOURS = {day: [["09:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]}
BOOKING = {"services": [{"id": "checkup", "name": "Check-up", "duration_min": 30, "buffer_min": 10}], "hours": HOURS}
FAQ = (
    "The clinic is open Monday to Friday from 9am to 7pm and on Saturday morning. "
    "A check-up costs 300 dirhams and takes thirty minutes."
)


@pytest.fixture
def set_now(client, monkeypatch):  # noqa: ANN001, ANN201
    """The app and the test see `NOW`; `set_now(instant)` moves the clock."""

    def set_now(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant.astimezone(UTC))

    set_now(NOW)
    return set_now


@pytest.fixture
def go_public(client, monkeypatch):  # noqa: ANN001, ANN201
    """`go_public()`: from now on the public base URL (JASPING_BASE_URL) is not the test client's — as behind a
    proxy. Called once the owner has set things up (the dashboard's cookies are Secure on an https base URL)."""

    def go_public() -> None:
        monkeypatch.setenv("JASPING_BASE_URL", BASE)
        get_settings.cache_clear()

    yield go_public
    monkeypatch.undo()
    get_settings.cache_clear()


def _connect(org, agent: dict, number: str = NUMBER, **settings) -> dict:  # noqa: ANN001
    body = {"type": "twilio", "phone_number": number, "account_sid": ACCOUNT, "auth_token": TOKEN, **settings}
    r = org.post(f"/api/v1/agents/{agent['id']}/channels", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def clinic(client, make_org, set_now, go_public):  # noqa: ANN001, ANN201
    org = make_org("Clinic")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    r = org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": "Clinic", "text": FAQ})
    assert r.status_code in (200, 201, 202), r.text
    _connect(org, agent, voice="Polly.Joanna", handoff_number=HANDOFF)
    go_public()
    return org, agent


def _twiml(response) -> ET.Element:  # noqa: ANN001
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own TwiML
    assert root.tag == "Response"
    return root


def _said(root: ET.Element) -> str:
    return " ".join((say.text or "") for say in root.iter("Say"))


def _verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


class Call:
    """One phone call, as Twilio makes it: every request signed with the auth token on the public URL."""

    def __init__(self, client, caller: str = CALLER, to: str = NUMBER, token: str = TOKEN) -> None:  # noqa: ANN001
        self.client, self.caller, self.to, self.token = client, caller, to, token
        self.sid = "CA" + secrets.token_hex(16)
        self.twiml: ET.Element | None = None

    def params(self, **extra: str) -> dict[str, str]:
        base = {"CallSid": self.sid, "AccountSid": ACCOUNT, "From": self.caller, "To": self.to}
        return {**base, "Direction": "inbound", "ApiVersion": "2010-04-01", **extra}

    def post(self, url: str, params: dict[str, str], signature: str | None = "sign"):  # noqa: ANN201
        assert url.startswith(BASE + "/webhooks/twilio/"), url
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = RequestValidator(self.token).compute_signature(url, params)
        elif signature:
            headers["X-Twilio-Signature"] = signature
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.client.post(path, data=params, headers=headers)

    def ring(self) -> ET.Element:
        self.twiml = _twiml(self.post(f"{BASE}/webhooks/twilio/voice", self.params(CallStatus="ringing")))
        return self.twiml

    def gather(self) -> ET.Element:
        (gather,) = self.twiml.findall("Gather")
        return gather

    def say(self, speech: str) -> ET.Element:
        """The caller says `speech` at the last gather: Twilio posts it to the gather's action URL."""
        params = self.params(CallStatus="in-progress", SpeechResult=speech, Confidence="0.91")
        self.twiml = _twiml(self.post(self.gather().get("action"), params))
        return self.twiml

    def silence(self) -> ET.Element:
        params = self.params(CallStatus="in-progress")  # actionOnEmptyResult: no SpeechResult
        self.twiml = _twiml(self.post(self.gather().get("action"), params))
        return self.twiml

    def dial_ended(self, status: str, duration: str = "0") -> ET.Element:
        (dial,) = self.twiml.findall("Dial")
        params = self.params(CallStatus="in-progress", DialCallStatus=status, DialCallDuration=duration)
        params["DialCallSid"] = "CA" + secrets.token_hex(16)
        self.twiml = _twiml(self.post(dial.get("action"), params))
        return self.twiml

    def hang_up(self, duration: str = "95") -> None:
        params = self.params(CallStatus="completed", CallDuration=duration, Timestamp="Wed, 25 Nov 2026 09:05:00 +0000")
        r = self.post(f"{BASE}/webhooks/twilio/status", params)
        assert r.status_code == 204, r.text


def _count(table: str) -> int:
    with get_engine().connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - test table names


def _voice_conversation(org) -> dict:  # noqa: ANN001
    listed = org.get("/api/v1/conversations").json()["conversations"]
    (conversation,) = [c for c in listed if c["channel"] == "voice"]
    return org.get(f"/api/v1/conversations/{conversation['id']}").json()


def _assert_gathers(
    root: ET.Element,
    *,
    seq: int,
    language: str = "en-US",
    voice: str | None = "Polly.Joanna",
    says: str | None = None,
    menu: bool = False,
) -> None:
    """A speech gather in `language` posting to our public gather URL (sequence `seq`), the reply spoken in it
    (in `says` when the voice names its locale differently); with `menu`, a key also chooses the language."""
    assert _verbs(root) == ["Gather"]
    gather = root.find("Gather")
    assert gather.get("input") == ("dtmf speech" if menu else "speech")
    assert gather.get("numDigits") == ("1" if menu else None)
    assert gather.get("language") == language
    assert gather.get("speechTimeout") == "auto" and gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true"
    action = urlsplit(gather.get("action"))
    assert f"{action.scheme}://{action.netloc}{action.path}" == f"{BASE}/webhooks/twilio/voice/gather"
    assert parse_qs(action.query)["seq"] == [str(seq)]
    say, *others = gather.findall("Say")
    assert say.get("language") == (says or language) and say.get("voice") == voice
    assert say.text and say.text.strip()
    assert bool(others) == menu


def test_the_greeting_knows_whether_the_team_is_in(client, clinic, set_now) -> None:
    call = Call(client)
    root = call.ring()
    _assert_gathers(root, seq=1, menu=True)
    (_, french) = root.findall("Gather/Say")
    assert french.get("language") == "fr-FR" and french.get("voice") is None
    assert french.text == "Pour le français, appuyez sur 2."
    greeting = _said(root)
    assert "thank you for calling Clinic" in greeting and "put you through to the team" in greeting
    assert "away" not in greeting
    assert root.find(".//Record") is None and root.find(".//Dial") is None, "nothing recorded, nobody dialled"
    set_now(EVENING)
    evening = _said(Call(client).ring())
    assert "Our team is away right now and back Thursday 26 November at 9:00" in evening
    assert "How can I help you?" in evening


def test_a_question_is_answered_from_the_knowledge_base(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    root = call.say("How much does a check-up cost?")
    _assert_gathers(root, seq=2)
    assert "300 dirhams" in _said(root)
    conversation = _voice_conversation(org)
    assert conversation["channel"] == "voice" and conversation["language"] == "en"


def test_a_key_at_the_greeting_chooses_the_language(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    params = call.params(CallStatus="in-progress", Digits="2")
    root = _twiml(call.post(call.gather().get("action"), params))
    _assert_gathers(root, seq=1, language="fr-FR", voice=None)
    assert "merci d'avoir appelé Clinic" in _said(root)
    call.twiml = root
    answer = call.say("Je voudrais parler à quelqu'un")
    assert "je vous passe un membre de l'équipe" in _said(answer) and answer.find("Dial") is not None
    assert _voice_conversation(org)["language"] == "fr"


def test_a_french_caller_is_answered_and_heard_in_french(client, clinic) -> None:
    call = Call(client)
    call.ring()
    root = call.say("Bonjour, combien coûte une consultation de contrôle ?")
    _assert_gathers(root, seq=2, language="fr-FR", voice=None)  # Polly.Joanna speaks English only


def test_a_booking_by_voice(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    offered = _said(call.say("I'd like an appointment next Tuesday at 10am"))
    assert "Tuesday 1 December at 10:00" in offered and "You can say:" in offered
    _assert_gathers(call.twiml, seq=2)
    assert "name" in _said(call.say("10 a.m. please"))
    confirm = _said(call.say("My name is Sara Benali"))
    # the read-back, as spoken: the caller's own number in groups, the date as a sentence
    assert f"We have your number as {SPOKEN_CALLER}." in confirm
    assert "Check-up, Tuesday 1 December at 10:00, for Sara Benali" in confirm
    assert "+212" not in confirm
    done = call.say("yes")
    _assert_gathers(done, seq=5)
    assert "booked for Tuesday 1 December at 10:00" in _said(done)
    assert "anything else" in _said(done)
    (appointment,) = org.get("/api/v1/appointments").json()["appointments"]
    assert datetime.fromisoformat(appointment["start"].replace("Z", "+00:00")) == datetime(2026, 12, 1, 10, tzinfo=CASA)
    assert appointment["name"] == "Sara Benali" and appointment["phone"] == CALLER
    assert appointment["status"] == "booked" and appointment["service_name"] == "Check-up"
    goodbye = call.say("No thanks, goodbye")
    assert _verbs(goodbye) == ["Say", "Hangup"] and "Goodbye" in _said(goodbye)


def test_a_booking_in_french_picks_the_time_as_spoken(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    offered = call.say("Bonjour, je voudrais un rendez-vous mardi prochain à 10h")
    _assert_gathers(offered, seq=2, language="fr-FR", voice=None)
    assert "mardi 1 décembre à 10h15" in _said(offered) and "Vous pouvez dire" in _said(offered)
    assert "nom" in _said(call.say("10h15"))
    confirm = _said(call.say("Je m'appelle Sara Benali"))
    assert f"Nous avons votre numéro : {SPOKEN_CALLER}." in confirm
    assert "mardi 1 décembre à 10h15, au nom de Sara Benali" in confirm
    assert "réservé" in _said(call.say("oui"))
    (appointment,) = org.get("/api/v1/appointments").json()["appointments"]
    start = datetime.fromisoformat(appointment["start"].replace("Z", "+00:00"))
    assert start == datetime(2026, 12, 1, 10, 15, tzinfo=CASA) and appointment["language"] == "fr"


def test_lead_capture_by_voice_uses_the_calling_number(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    assert "name" in _said(call.say("I'd like to leave my details so that someone contacts me"))
    asked = _said(call.say("Sara Benali"))
    assert "email" in asked and 'say "this number"' in asked
    read_back = _said(call.say("this number"))
    assert f"Sara Benali, {SPOKEN_CALLER}" in read_back and "is that right?" in read_back
    assert "contact you" in _said(call.say("yes, that's right"))
    done = call.say("yes")
    assert "get back to you" in _said(done)
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["phone"] == CALLER and lead["name"] == "Sara Benali" and lead["kind"] == "lead"
    assert lead["consent"] is True


def test_a_callback_asks_for_the_number_and_yes_uses_the_calling_one(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    asked = _said(call.say("Could you call me back please?"))
    assert "Shall we use the number you're calling from?" in asked
    assert "name" in _said(call.say("Yes"))
    assert SPOKEN_CALLER in _said(call.say("Karim"))
    call.say("yes")
    call.say("yes")
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["kind"] == "callback" and lead["phone"] == CALLER and lead["name"] == "Karim"


def test_a_french_callback_takes_ce_numero(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    asked = _said(call.say("Est-ce que vous pouvez me rappeler s'il vous plaît ?"))
    assert "le numéro depuis lequel vous appelez" in asked
    assert "nom" in _said(call.say("oui, ce numéro"))
    assert f"Karim, {SPOKEN_CALLER}" in _said(call.say("Karim"))
    call.say("oui")
    call.say("oui")
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["kind"] == "callback" and lead["phone"] == CALLER and lead["language"] == "fr"


def test_a_person_is_dialled_and_nobody_answering_leaves_a_callback_lead(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    root = call.say("Can I speak to a person please?")
    assert _verbs(root) == ["Say", "Dial"]
    assert "putting you through" in _said(root)
    dial = root.find("Dial")
    assert dial.get("timeout") == "20" and dial.get("method") == "POST" and dial.get("record") is None
    assert dial.get("action").startswith(f"{BASE}/webhooks/twilio/voice/dial-status?")
    assert [n.text for n in dial.findall("Number")] == [HANDOFF]
    assert org.get("/api/v1/leads").json()["leads"] == []
    after = call.dial_ended("no-answer")
    assert _verbs(after) == ["Say", "Hangup"]
    assert f"I've noted your number, {SPOKEN_CALLER}" in _said(after)
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["kind"] == "callback" and lead["phone"] == CALLER
    conversation = _voice_conversation(org)
    assert conversation["needs_human"] is True
    call.hang_up()
    assert _voice_conversation(org)["status"] == "handoff", "a call back is owed: it stays in the inbox"


def test_an_answered_transfer_ends_the_call_without_a_lead(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    call.say("I want to talk to a human")
    assert _verbs(call.dial_ended("completed", duration="120")) == ["Hangup"]
    assert org.get("/api/v1/leads").json()["leads"] == []
    call.hang_up("180")
    assert _voice_conversation(org)["status"] == "closed"


def test_outside_hours_a_call_back_is_offered_instead_of_a_transfer(client, clinic, set_now) -> None:
    org, _ = clinic
    set_now(EVENING)
    call = Call(client)
    call.ring()
    root = call.say("Can I speak to someone from the team?")
    assert root.find(".//Dial") is None
    assert "they're back Thursday 26 November at 9:00" in _said(root)
    assert parse_qs(urlsplit(call.gather().get("action")).query)["offer"] == ["callback"]
    bye = call.say("Yes please")
    assert _verbs(bye) == ["Say", "Hangup"] and SPOKEN_CALLER in _said(bye)
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["kind"] == "callback" and lead["phone"] == CALLER and lead["consent"] is True


def test_silence_twice_hangs_up(client, clinic) -> None:
    call = Call(client)
    call.ring()
    first = call.silence()
    _assert_gathers(first, seq=1)
    assert "didn't hear you" in _said(first)
    assert parse_qs(urlsplit(call.gather().get("action")).query)["silent"] == ["1"]
    second = call.silence()
    assert _verbs(second) == ["Say", "Hangup"] and "Goodbye" in _said(second)


@pytest.mark.parametrize(
    ("signature", "status"), [(None, 401), ("forged", 403), ("internal-url", 403), ("other-token", 403)]
)
def test_forged_or_missing_signatures_store_nothing(client, clinic, signature, status) -> None:
    call = Call(client)
    params = call.params(CallStatus="ringing")
    conversations, messages = _count("conversations"), _count("messages")
    if signature == "forged":
        sig = "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU="
    elif signature == "internal-url":  # signed on the URL the app sees, not the public one Twilio calls
        sig = RequestValidator(TOKEN).compute_signature("http://testserver/webhooks/twilio/voice", params)
    elif signature == "other-token":
        sig = RequestValidator("not-the-auth-token-of-this-number").compute_signature(
            f"{BASE}/webhooks/twilio/voice", params
        )
    else:
        sig = None
    r = call.post(f"{BASE}/webhooks/twilio/voice", params, signature=sig)
    assert r.status_code == status, r.text
    speech = call.params(SpeechResult="Can I speak to a person?")
    assert call.post(f"{BASE}/webhooks/twilio/voice/gather?seq=1", speech, signature=sig).status_code == status
    ended = call.params(CallStatus="completed", CallDuration="3")
    assert call.post(f"{BASE}/webhooks/twilio/status", ended, signature=sig).status_code == status
    assert (_count("conversations"), _count("messages")) == (conversations, messages)
    assert _count("contacts") == 0, "no contact made for the caller"


def test_a_call_to_an_unknown_number_is_404(client, clinic) -> None:
    call = Call(client, to="+212522111111")
    assert call.post(f"{BASE}/webhooks/twilio/voice", call.params()).status_code == 404
    assert _count("conversations") == 0


def test_the_same_gather_delivered_twice_is_answered_once(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    greeting = call.ring()
    assert ET.tostring(call.ring()) == ET.tostring(greeting), "the call posted twice: one greeting"
    action = call.gather().get("action")
    params = call.params(SpeechResult="How much does a check-up cost?", Confidence="0.9")
    first = _twiml(call.post(action, params))
    messages = _voice_conversation(org)["message_count"]
    again = _twiml(call.post(action, params))
    assert ET.tostring(first) == ET.tostring(again)
    assert _voice_conversation(org)["message_count"] == messages
    roles = [m["role"] for m in _voice_conversation(org)["messages"]]
    assert roles == ["system", "assistant", "user", "assistant"]


def test_the_transcript_is_the_voice_conversation(client, clinic) -> None:
    org, _ = clinic
    call = Call(client)
    call.ring()
    call.say("How much does a check-up cost?")
    call.say("Thank you")
    call.hang_up("42")
    conversation = _voice_conversation(org)
    assert conversation["channel"] == "voice" and conversation["status"] == "closed"
    said = [(m["role"], m["text"]) for m in conversation["messages"]]
    assert said[0] == ("system", "Phone call started.")
    assert said[1][0] == "assistant" and "thank you for calling Clinic" in said[1][1]
    assert said[2] == ("user", "How much does a check-up cost?")
    assert said[3][0] == "assistant" and "300 dirhams" in said[3][1]
    assert said[4] == ("user", "Thank you")
    assert said[-1] == ("system", "Phone call ended (completed, 42 s).")
    call.hang_up("42")  # the status callback again: noted once
    assert _voice_conversation(org)["message_count"] == len(said)
    again = Call(client)  # the next call is a new conversation of the same contact
    again.ring()
    listed = [c for c in org.get("/api/v1/conversations").json()["conversations"] if c["channel"] == "voice"]
    assert len(listed) == 2 and len({c["contact_id"] for c in listed}) == 1


def test_status_callbacks_of_messages_still_route_by_the_sender(client, clinic) -> None:
    call = Call(client)
    call.ring()
    sms = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "From": NUMBER, "To": CALLER}
    sms["AccountSid"] = ACCOUNT
    assert call.post(f"{BASE}/webhooks/twilio/status", sms).status_code == 204
    ringing = call.params(CallStatus="in-progress")
    assert call.post(f"{BASE}/webhooks/twilio/status", ringing).status_code == 204
    unknown = {**call.params(CallStatus="completed"), "To": "+212522111111"}
    assert call.post(f"{BASE}/webhooks/twilio/status", unknown).status_code == 404


def test_recording_is_off_unless_the_number_asks_for_it(client, clinic) -> None:
    org, agent = clinic
    _connect(org, agent, number="+212522000001", handoff_number=HANDOFF, record_calls=True)
    call = Call(client, to="+212522000001")
    assert "This call may be recorded." in _said(call.ring())
    root = call.say("Can I speak to a person?")
    assert root.find("Dial").get("record") == "record-from-answer-dual"
    assert root.find(".//Record") is None


def test_a_caller_who_hides_their_number_is_not_offered_it(client, clinic) -> None:
    org, _ = clinic
    call = Call(client, caller="anonymous")
    call.ring()
    asked = _said(call.say("Please call me back"))
    assert "number you're calling from" not in asked
    assert "name" in _said(call.say("06 61 23 45 67"))


def test_locales_and_voices() -> None:
    line = voice_speech.Line(voice="Polly.Lea", main_language="fr", region="MA")
    assert voice_speech.gather_locale("fr", "MA") == "fr-FR" and voice_speech.gather_locale("en") == "en-US"
    assert voice_speech.gather_locale("ar", "MA") == "ar-MA" and voice_speech.gather_locale("fr", "CA") == "fr-CA"
    assert voice_speech.say_voice("fr", line) == ("Polly.Lea", "fr-FR")
    assert voice_speech.say_voice("en", line) == (None, "en-US")
    assert voice_speech.say_voice("ar", line) == ("Google.ar-XA-Standard-A", "ar-XA")
    google = voice_speech.Line(voice="Google.ar-XA-Wavenet-B", main_language="ar")
    assert voice_speech.say_voice("ar", google) == ("Google.ar-XA-Wavenet-B", "ar-XA")
    assert voice_speech.speak_number("+212612345678", "fr", "MA") == "0 6, 12, 34, 56, 78"
    assert voice_speech.speak_number("+212612345678", "en", "FR") == "plus 2 1 2, 6, 12, 34, 56, 78"
    assert voice_speech.speak_number("+14158675309", "en", "US") == "4 1 5, 8 6 7, 5 3 0 9"


def test_an_arabic_call_listens_in_moroccan_arabic(client, make_org, set_now, go_public) -> None:
    org = make_org("Riad")
    org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    agent = org.post("/api/v1/agents", json={"name": "Salma", "languages": ["ar"]}).json()
    _connect(org, agent)
    go_public()
    root = Call(client).ring()
    _assert_gathers(root, seq=1, language="ar-MA", voice="Google.ar-XA-Standard-A", says="ar-XA")  # one language
    assert "شكرًا لاتصالك بـRiad" in _said(root)


def test_twilios_published_signature_vector_validates() -> None:
    vector = json.loads(VECTOR.read_text())
    validator = RequestValidator(vector["auth_token"])
    signature = validator.compute_signature(vector["url"], vector["params"])
    assert signature == vector["expected_x_twilio_signature"]
    assert validator.validate(vector["url"], vector["params"], vector["expected_x_twilio_signature"])
    assert not validator.validate(vector["url"], {**vector["params"], "Digits": "4321"}, signature)
