"""Lead capture through the widget, as a customer does it: details asked one by one, an invalid email and
phone corrected, the details read back, consent asked — then the lead is in `GET /api/v1/leads`."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jasping.db import get_engine

ANSWERS = {
    "name": ["Karim Benali"],
    "email": ["karim@@exemple", "karim.benali@example.com"],
    "phone": ["06 61", "06 61 23 45 67"],
    "choice": ["oui", "oui"],
}


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Agence")
    assert org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Léa", "languages": ["fr", "en"]}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "fr"}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    headers = {"Authorization": f"Bearer {session['session_token']}"}

    def say(message: str) -> dict:
        r = client.post(url, json={"text": message}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    return org, session, say


def test_a_lead_is_captured_in_french_with_corrections_and_consent(chat) -> None:
    org, session, say = chat
    reply = say("Bonjour, je voudrais être recontacté pour un devis")
    answers = {k: list(v) for k, v in ANSWERS.items()}
    seen_hints = []
    for _ in range(14):
        hint = reply["input_hint"]["type"]
        seen_hints.append(hint)
        if not answers.get(hint):
            break
        reply = say(answers[hint].pop(0))
    assert {"name", "email", "choice"} <= set(seen_hints), seen_hints
    leads = org.get("/api/v1/leads").json()["leads"]
    assert len(leads) == 1, (seen_hints, reply)
    lead = leads[0]
    assert lead["email"] == "karim.benali@example.com" and lead["name"] == "Karim Benali"
    assert lead["consent"] is True and lead["consent_at"] and lead["conversation_id"] == session["conversation_id"]
    (consent,) = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()["consents"]
    assert consent["purpose"] == "contact_about_request" and consent["granted"] is True
    assert consent["wording"] and consent["channel"] == "web"
    with get_engine().connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(text("SELECT name, email, phone FROM leads")))
    assert "karim" not in stored.lower()


def test_a_question_mid_capture_is_answered_and_the_capture_resumes(chat, client) -> None:
    org, _, say = chat
    reply = say("Je veux laisser mes coordonnées")
    first_hint = reply["input_hint"]["type"]
    reply = say("Au fait, quels sont vos horaires ?")
    assert reply["input_hint"]["type"] == first_hint  # the pending question is asked again
    reply = say("laissez tomber")
    assert org.get("/api/v1/leads").json()["leads"] == []
