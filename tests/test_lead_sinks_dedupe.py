"""One lead per person and agent: a returning customer (the same email, any case; the same phone, any format)
updates their lead instead of making a second one; every consent answer stays on record and the latest holds;
the business's new-lead notice goes out for new leads only."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jasping.conversations.models import Conversation
from jasping.db import get_engine, session_scope
from jasping.leads.service import normal_email, normal_phone, record_lead


def _chat(client, agent: dict, answers: dict[str, list[str]], opening: str) -> str:
    """A customer leaves their details in the widget, answering each question by its input hint."""
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "fr"}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    answers = {k: list(v) for k, v in answers.items()}
    message = opening
    for _ in range(14):
        r = client.post(url, json={"text": message}, headers=headers)
        assert r.status_code == 200, r.text
        hint = r.json()["reply"]["input_hint"]["type"]
        if not answers.get(hint):
            break
        message = answers[hint].pop(0)
    return session["conversation_id"]


@pytest.fixture
def shop(client, make_org):  # noqa: ANN201
    org = make_org("Agence")
    assert org.client.patch("/api/v1/organization", json={"country": "MA"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Léa", "languages": ["fr", "en"]}).json()
    return org, agent


def test_a_returning_customer_updates_their_lead_and_the_consent_history_is_kept(client, shop) -> None:
    org, agent = shop
    first = _chat(
        client,
        agent,
        {
            "name": ["Karim Benali"],
            "email": ["karim.benali@example.com"],
            "phone": ["06 61 23 45 67"],
            "choice": ["oui", "oui"],
        },  # fmt: skip
        "Bonjour, je voudrais être recontacté pour un devis",
    )
    (lead,) = org.get("/api/v1/leads").json()["leads"]
    assert lead["consent"] is True and lead["updated_at"] is None and lead["conversation_id"] == first

    second = _chat(
        client,
        agent,
        {
            "name": ["Karim Benali-Alaoui"],
            "email": ["KARIM.BENALI@EXAMPLE.COM"],
            "phone": ["+212 661-234567"],
            "choice": ["oui", "non merci"],
        },  # fmt: skip
        "Je veux laisser mes coordonnées",
    )
    leads = org.get("/api/v1/leads").json()["leads"]
    assert len(leads) == 1, leads
    again = leads[0]
    assert again["id"] == lead["id"] and again["conversation_id"] == second and again["updated_at"]
    assert again["email"] == "karim.benali@example.com" and again["name"] == "Karim Benali-Alaoui"
    assert again["consent"] is False and again["consent_at"] is None  # the latest answer holds
    consents = [
        (c["granted"], cid)
        for cid in (first, second)
        for c in org.get(f"/api/v1/conversations/{cid}").json()["consents"]
        if c["purpose"] == "contact_about_request"
    ]
    assert consents == [(True, first), (False, second)]  # both answers on record
    with get_engine().connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(text("SELECT email_hash, phone_hash, email FROM leads")))
        notices = conn.execute(text("SELECT ref FROM emails WHERE kind = 'lead_notice'")).scalars().all()
    assert "karim" not in stored.lower() and "661234567" not in stored  # hashes and ciphertext only
    assert notices == [lead["id"]]  # the business heard of the new lead once, not of its update


def _capture(client, org, agent: dict, **data) -> str:
    r = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={})
    with session_scope(org.id) as s:
        conversation = s.get(Conversation, r.json()["conversation_id"])
        return record_lead(s, conversation=conversation, data=data, consent_text="You may contact me.").id


def test_phone_matches_in_any_format_per_agent_and_organization(client, shop, make_org, monkeypatch) -> None:
    from jasping.integrations import mail

    notices: list[str] = []
    monkeypatch.setattr(mail, "queue_lead_notice", lambda session, lead: notices.append(lead.id))
    org, agent = shop
    callback = _capture(client, org, agent, phone="0661234567", consent=True)
    same = _capture(client, org, agent, phone="+212 6 61 23 45 67", email="nadia@example.com", name="Nadia")
    assert same == callback
    assert _capture(client, org, agent, email="Nadia@Example.com ", custom={"budget": "5000"}) == callback
    lead = org.get(f"/api/v1/leads/{callback}").json()
    assert lead["consent"] is True  # no answer this time (None): the earlier consent stands
    assert lead["phone"] == "+212661234567" and lead["name"] == "Nadia" and lead["custom"] == {"budget": "5000"}

    other_agent = org.post("/api/v1/agents", json={"name": "Omar"}).json()
    assert _capture(client, org, other_agent, phone="0661234567") != callback  # per agent
    other = make_org("Other")
    other_bot = other.post("/api/v1/agents", json={"name": "Zed"}).json()
    assert _capture(client, other, other_bot, phone="+212661234567") != callback
    assert len(notices) == 3 and notices[0] == callback and len(set(notices)) == 3  # for new leads only
    assert len(org.get("/api/v1/leads").json()["leads"]) == 2 and len(other.get("/api/v1/leads").json()["leads"]) == 1


def test_an_email_match_wins_over_a_phone_match(client, shop) -> None:
    org, agent = shop
    by_phone = _capture(client, org, agent, phone="+33612345678", consent=True)
    by_email = _capture(client, org, agent, email="amal@example.org", consent=True)
    assert by_phone != by_email
    assert _capture(client, org, agent, email="amal@example.org", phone="+33 6 12 34 56 78") == by_email
    assert len(org.get("/api/v1/leads").json()["leads"]) == 2


def test_normalisation() -> None:
    assert normal_email("  Karim@Example.COM ") == "karim@example.com" and normal_email("") is None
    assert normal_phone("06 61 23 45 67", "MA") == normal_phone("+212661234567") == "+212661234567"
    assert normal_phone("06 12 34 56 78", "FR") == "+33612345678"
    assert normal_phone("ext. 12", None) == "ext. 12" and normal_phone("  ", "MA") is None
