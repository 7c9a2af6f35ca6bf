"""bench/answer_oracle.py: OpenAIChatModel against the oracle stand-in, with French passages and English questions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from jasping.agent.llm.base import AgentStep, RetrievedPassage, TurnContext
from jasping.agent.llm.openai_model import OpenAIChatModel
from jasping.agent.phrases import phrase, quick_replies

_spec = importlib.util.spec_from_file_location("answer_oracle", Path(__file__).parents[1] / "bench/answer_oracle.py")
answer_oracle = importlib.util.module_from_spec(_spec)
sys.modules["answer_oracle"] = answer_oracle  # its dataclasses look their module up
_spec.loader.exec_module(answer_oracle)
OracleStub = answer_oracle.OracleStub

HOURS = "Le cabinet est ouvert du lundi au vendredi de 9h00 à 18h30. Fermé le dimanche."
PRICES = "Détartrage : 350 MAD. Blanchiment : 2 500 MAD. Consultation du Dr Benali : 300 MAD."
PASSAGES = [
    RetrievedPassage(1, "c-h", "src-info", "Infos pratiques", None, None, (), HOURS, 0.7, "fr"),
    RetrievedPassage(2, "c-p", "src-tarifs", "Tarifs du cabinet", None, 2, ("Tarifs",), PRICES, 0.6, "fr"),
]


def ctx(text: str, language: str = "en") -> TurnContext:
    return TurnContext(
        agent_name="Amal", instructions="", languages=["fr", "en"], user_text=text, language=language,
        passages=list(PASSAGES), confidence=0.8, business_name="Cabinet Dentaire Al Amal",
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JASPING_BLOCK_MODEL_REQUESTS", "1")


@pytest.fixture
def oracle():  # noqa: ANN201
    with OracleStub() as stub:
        yield stub


def model(oracle: OracleStub) -> OpenAIChatModel:
    return OpenAIChatModel("oracle", base_url=oracle.base_url, api_key="sk-oracle", max_retries=0, timeout=10)


def test_an_answerable_question_gets_the_fact_as_written_and_the_right_passage(oracle: OracleStub) -> None:
    oracle.expect(["350 MAD|350 dirhams"])
    step = model(oracle).respond(ctx("How much is a scaling?"))
    assert step.text == "Here is what I found: 350 MAD [2]." and step.grounded and step.intent == "answer"
    assert [c.source_id for c in step.citations] == ["src-tarifs"]
    [seen] = oracle.seen
    assert seen.rules and seen.language == "en" and seen.facts_in_prompt and seen.cited == [2]
    assert [(p.ref, p.title, p.language, p.page) for p in seen.passages] == [
        (1, "Infos pratiques", "fr", None), (2, "Tarifs du cabinet", "fr", 2),
    ]  # fmt: skip
    assert seen.passages[1].text == PRICES and oracle.requests[0]["messages"][-1]["content"] == "How much is a scaling?"

    oracle.expect(["oui|yes", "9h00"])  # a yes/no question: the answer word, then the fact as the passage writes it
    step = model(oracle).respond(ctx("Vous ouvrez le matin ?", "fr"))
    assert step.text == "Voici ce que j'ai trouvé : oui, 9h00 [1]." and oracle.seen[-1].language == "fr"
    oracle.expect(["9h00", "2 500 MAD"])  # facts in two passages: each with its marker
    assert model(oracle).respond(ctx("Hours and whitening price?")).text == (
        "Here is what I found: 9h00 [1], 2 500 MAD [2]."
    )
    assert oracle.prompt_recall() == 1.0


def test_an_unanswerable_question_gets_a_hallucination_that_is_declined(oracle: OracleStub) -> None:
    oracle.expect([])
    step = model(oracle).respond(ctx("Do you sell electric toothbrushes?"))
    assert oracle.seen[-1].reply == "Yes, it costs 99 EUR." and oracle.seen[-1].facts_in_prompt is None
    assert step.text == phrase("unknown", "en") and step.intent == "unknown" and not step.grounded
    assert step.citations == [] and step.quick_replies == quick_replies(["human", "callback"], "en")
    oracle.expect(["1 200 MAD"])  # answerable in principle, but not from these passages
    assert model(oracle).respond(ctx("How much is an implant?")).intent == "unknown"
    assert oracle.seen[-1].facts_in_prompt is False and oracle.prompt_recall() == 0.0


def test_streaming_shows_the_cited_answer_and_never_the_hallucination(oracle: OracleStub) -> None:
    oracle.expect(["Dr Benali"])
    out = list(model(oracle).stream(ctx("Who does the consultations?")))
    pieces, step = out[:-1], out[-1]
    assert isinstance(step, AgentStep) and "".join(pieces) == step.text == "Here is what I found: Dr Benali [2]."
    assert oracle.requests[-1]["stream"] is True

    oracle.expect([])
    out = list(model(oracle).stream(ctx("Is it 99 EUR?")))
    assert out[:-1] == [phrase("unknown", "en")] and out[-1].text == phrase("unknown", "en")
    assert out[-1].intent == "unknown" and "99" not in "".join(out[:-1])
