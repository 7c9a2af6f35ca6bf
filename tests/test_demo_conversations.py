"""The demo clinic, as a customer talks to it: right answers with the right citation, honest "I don't know"."""

from __future__ import annotations

import pytest

from jasping.demo import demo_public_key, ensure_demo

ANSWERED = [
    ("Quels sont vos horaires ?", "19h", "Horaires"),
    ("Êtes-vous ouverts le samedi ?", "13h", "Horaires"),
    ("Où se trouve la clinique ?", "boulevard d'Anfa", "Horaires"),
    ("Y a-t-il un parking ?", "parking gratuit", "Horaires"),
    ("Que faire en cas d'urgence le dimanche ?", "garde", "Horaires"),
    ("Combien coûte un détartrage ?", "400", "Tarifs"),
    ("Quel est le prix du blanchiment des dents ?", "2 500", "Tarifs"),
    ("Combien coûte un implant ?", "9 000", "Tarifs"),
    ("Combien coûte la première consultation ?", "300", "Tarifs"),
    ("Acceptez-vous la CNSS ?", "CNSS", "Tarifs"),
    ("Peut-on payer en plusieurs fois ?", "trois fois", "Tarifs"),
    ("Prix d'une dévitalisation ?", "1 500", "Tarifs"),
    ("Le blanchiment abîme-t-il les dents ?", "émail", "Questions fréquentes"),
    ("Combien de temps dure la pose d'un implant ?", "une heure", "Questions fréquentes"),
    ("Acceptez-vous les enfants ?", "trois ans", None),
    ("What are your opening hours?", "7pm", "Atlas Dental Clinic"),
    ("Are you open on Saturday?", "1pm", "Atlas Dental Clinic"),
    ("Which languages does your team speak?", "English", "Atlas Dental Clinic"),
    ("Do you do teeth whitening?", "whitening", None),
    ("What is your cancellation policy?", "24 hours", "Atlas Dental Clinic"),
    ("Do you treat children?", "three", "Atlas Dental Clinic"),
    ("What should I bring to my first visit?", "insurance card", "Atlas Dental Clinic"),
]
UNANSWERABLE = [
    "Vendez-vous des lunettes de vue ?",
    "What is the wifi password?",
    "Quel temps fera-t-il demain à Rabat ?",
    "Do you repair cars?",
    "Quel est le salaire du directeur ?",
]


@pytest.fixture
def demo_chat(client, db_url):  # noqa: ANN201
    ensure_demo()
    public_key = demo_public_key()
    session = client.post(f"/api/v1/widget/{public_key}/sessions", json={"locale": "fr"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}

    def ask(text: str) -> dict:
        r = client.post(
            f"/api/v1/widget/sessions/{session['conversation_id']}/messages", json={"text": text}, headers=headers
        )
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    return ask


def test_the_demo_answers_its_customers_with_citations(demo_chat) -> None:
    failures = []
    for question, fact, title in ANSWERED:
        reply = demo_chat(question)
        titles = [c["title"] for c in reply["citations"]]
        if fact.lower() not in reply["text"].lower() or not titles or (title and not any(title in t for t in titles)):
            failures.append((question, reply["text"][:120], titles))
    assert not failures, failures


def test_the_demo_says_when_it_does_not_know(demo_chat) -> None:
    for question in UNANSWERABLE:
        reply = demo_chat(question)
        assert reply["citations"] == [], (question, reply["text"])
        assert reply["quick_replies"], question


def test_the_demo_clinic_books_appointments(demo_chat) -> None:
    reply = demo_chat("Je voudrais prendre rendez-vous")
    assert reply["quick_replies"] == ["Consultation", "Détartrage / Scaling", "Contrôle / Check-up"], reply
    reply = demo_chat("un détartrage")  # one of the names the service gives
    if reply["input_hint"]["type"] == "date":
        reply = demo_chat("mardi prochain")
    assert reply["input_hint"]["type"] == "choice", reply
    assert reply["quick_replies"] and all(any(c.isdigit() for c in q) for q in reply["quick_replies"][:2]), reply
