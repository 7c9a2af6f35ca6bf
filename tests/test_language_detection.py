"""A customer message's language: clear English or French is settled by function words and character n-grams (no
langdetect); what they leave open still goes to langdetect, so answers do not change."""

from __future__ import annotations

import pytest

from jasping.agent import intents
from jasping.agent.intents import detect_message_language
from jasping.knowledge.ingest.language import ngram_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour, quels sont vos horaires d'ouverture le samedi ?", "fr"),
        ("Hello, what are your opening hours on Saturday?", "en"),
        ("Hola, ¿cuánto cuesta una limpieza dental?", "es"),
        ("Wie viel kostet eine Zahnreinigung bei Ihnen?", "de"),
    ],
)
def test_the_ngram_scorer_names_the_language(text, expected) -> None:
    code, lead, grams = ngram_language(text)
    assert code == expected and lead > 0 and grams > 20


def test_the_ngram_scorer_is_deterministic_and_quiet_without_letters() -> None:
    text = "Est-ce que je peux payer par carte bancaire sur place ?"
    assert len({ngram_language(text) for _ in range(5)}) == 1
    assert ngram_language("12345 !!! 678") == (None, 0.0, 0)


def _count_langdetect(monkeypatch) -> list[str]:  # noqa: ANN001
    calls: list[str] = []
    real = intents.guess_language

    def spy(text: str):  # noqa: ANN202
        calls.append(text)
        return real(text)

    monkeypatch.setattr(intents, "guess_language", spy)
    return calls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour, est-ce que vous êtes ouverts le dimanche matin pour les urgences ?", "fr"),
        ("Hello, do you have any appointments available for a cleaning this week?", "en"),
        ("Combien coûte le remplacement des plaquettes de frein sur une Clio ?", "fr"),
        ("Can I bring my own yoga mat to the class and is there a shower?", "en"),
    ],
)
def test_clear_messages_skip_langdetect(monkeypatch, text, expected) -> None:
    calls = _count_langdetect(monkeypatch)
    assert detect_message_language(text, ["en", "fr"]) == expected
    assert calls == []


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        ("Hola, ¿cuánto cuesta una limpieza dental?", ["en", "fr"], "en"),  # Spanish: not spoken, the first
        ("Wie viel kostet eine Zahnreinigung bei Ihnen?", ["fr", "en"], "fr"),
        ("Is it possible to encrypt gmail messages?", ["en", "fr"], "fr"),  # langdetect's word, as before
    ],
)
def test_unclear_messages_still_go_to_langdetect(monkeypatch, text, languages, expected) -> None:
    calls = _count_langdetect(monkeypatch)
    assert detect_message_language(text, languages) == expected
    assert calls == [text]


def test_arabic_script_and_darija_never_reach_langdetect(monkeypatch) -> None:
    calls = _count_langdetect(monkeypatch)
    assert detect_message_language("السلام عليكم، شحال كيدير التبييض ديال السنان؟", ["fr", "ar"]) == "ar"
    assert detect_message_language("salam khoya, bghit nakhod rdv ghda 3afak wach kayn", ["fr", "ar"]) == "ar"
    assert calls == []
