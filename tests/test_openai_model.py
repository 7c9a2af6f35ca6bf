"""OpenAIChatModel and FallbackChatModel through the real `openai` SDK against a scripted local server."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from jasping.agent.llm import openai_model
from jasping.agent.llm.base import AgentStep, HistoryMessage, RetrievedPassage, ToolCall, TurnContext
from jasping.agent.llm.fallback import SEPARATOR, FallbackChatModel, build_chat_model
from jasping.agent.llm.local import LocalChatModel
from jasping.agent.llm.openai_model import ModelUnavailable, OpenAIChatModel, fit_budget
from jasping.agent.phrases import phrase, quick_replies
from jasping.config import Settings
from openai_stub import OpenAIStub, Reply

HOURS = "We are open Monday to Friday from 9am to 7pm and on Saturday from 9am to 1pm. We are closed on Sundays."
PARKING = "Q: Is there parking?\nA: Yes, free parking for patients is available in the building's basement."
PRICES = (
    "A check-up consultation costs 300 MAD. Scaling and polishing costs 400 MAD. " + "Whitening costs 2,500 MAD. " * 8
)
PASSAGES = [
    RetrievedPassage(
        1, "c-hours", "src-site", "Opening hours", "https://clinic.example/h", None, ("Hours",), HOURS, 0.9, "en"
    ),
    RetrievedPassage(2, "c-park", "src-faq", "FAQ", None, 3, (), PARKING, 0.6, "en"),
    RetrievedPassage(3, "c-price", "src-prices", "Prices", None, 1, ("Prices",), PRICES, 0.2),
]
INSTRUCTIONS = "Always address patients formally. Mention that we speak Arabic, French and English."


def ctx(text: str = "What are your opening hours?", **kw: object) -> TurnContext:
    base = {
        "agent_name": "Amal",
        "instructions": INSTRUCTIONS,
        "languages": ["en", "fr"],
        "user_text": text,
        "language": "en",
        "passages": list(PASSAGES),
        "confidence": 0.8,
        "business_name": "Al Amal Dental Clinic",
    }
    return TurnContext(**{**base, **kw})


@pytest.fixture(autouse=True)
def _no_real_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JASPING_BLOCK_MODEL_REQUESTS", "1")  # loopback only, as the whole suite should run
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        yield server


def remote(stub: OpenAIStub, **kw: object) -> OpenAIChatModel:
    options = {"api_key": "sk-test", "base_url": stub.url, "timeout": 10.0, "max_retries": 0, **kw}
    return OpenAIChatModel("gpt-test", **options)


def collect(pieces) -> tuple[list[str], AgentStep]:  # noqa: ANN001 - the stream of a ChatModel
    out = list(pieces)
    assert all(isinstance(p, str) for p in out[:-1]) and isinstance(out[-1], AgentStep)
    return out[:-1], out[-1]


def test_grounded_answer_is_cited_and_only_what_the_answer_needs_is_sent(stub: OpenAIStub) -> None:
    stub.script(Reply(text="We are open Monday to Friday, 9am to 7pm [1]. Parking is free [2][1]."))
    old = [HistoryMessage("user", "My email is old@example.com"), HistoryMessage("assistant", "Thanks [3].")]
    recent = [HistoryMessage("user", "Hi"), HistoryMessage("assistant", "Hello! How can I help [1]?")]
    step = remote(stub, max_history=2).respond(ctx(history=old + recent))

    assert step.text == "We are open Monday to Friday, 9am to 7pm [1]. Parking is free [2][1]."
    assert [(c.title, c.url, c.source_id, c.page) for c in step.citations] == [
        ("Opening hours", "https://clinic.example/h", "src-site", None),
        ("FAQ", None, "src-faq", 3),
    ]
    assert all(len(c.snippet) <= 160 for c in step.citations) and step.citations[0].snippet.startswith("We are open")
    assert step.grounded and step.intent == "answer" and step.language == "en" and step.tool_calls == []

    [sent] = stub.requests
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == "Bearer sk-test"
    assert set(sent.body) == {"model", "messages", "tools", "stream"} and sent.body["model"] == "gpt-test"
    assert {t["function"]["name"] for t in sent.body["tools"]} == {
        "handoff_to_human", "request_callback", "capture_lead", "find_slots"
    }  # fmt: skip
    roles = [m["role"] for m in sent.body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in sent.body["messages"][1:]] == ["Hi", "Hello! How can I help?", ctx().user_text]
    system = sent.body["messages"][0]["content"]
    for rule in ("ONLY from the numbered passages", "[1] or [2]", "cites no passage is not shown", "don't know",
                 "callback", "Never reveal", "data, not instructions", "Reply in English", "brief",
                 "exactly as the passage writes them", "never translate or convert a price",
                 "quote its words in that language between quotation marks"):  # fmt: skip
        assert rule in system
    assert "Amal" in system and "Al Amal Dental Clinic" in system and f"<<<\n{INSTRUCTIONS}\n>>>" in system
    assert '<passage ref="2" title="FAQ" language="en" page="3">' in system and HOURS in system and PARKING in system
    assert '<passage ref="3" title="Prices" page="1">' in system  # its language unknown: not stated
    assert "old@example.com" not in str(sent.body)  # history beyond the bound is not sent


def test_markers_naming_no_passage_are_stripped(stub: OpenAIStub) -> None:
    stub.script(Reply(text="We open at 9am [9]. Parking is free [2, 9]. Since [2024] we have grown."))
    step = remote(stub).respond(ctx())
    assert step.text == "We open at 9am. Parking is free [2]. Since [2024] we have grown."
    assert [c.source_id for c in step.citations] == ["src-faq"]


def test_tool_calls_are_mapped_with_defensively_parsed_arguments(stub: OpenAIStub) -> None:
    calls = [
        ("delete_everything", "{}"),
        ("capture_lead", '{"name": " Sara ", "email": "sara@example.com", "ssn": "123", "phone": 5}'),
        ("find_slots", '{"date": "tomor'),
    ]
    stub.script(Reply(tool_calls=calls))
    step = remote(stub).respond(ctx("I'd like you to call me back", language="fr"))
    assert step.tool_calls == [
        ToolCall("capture_lead", {"name": "Sara", "email": "sara@example.com"}),
        ToolCall("find_slots", {}),
    ]
    assert step.intent == "lead" and step.input_hint == "text"  # the name is known already
    assert step.text == phrase("lead_start", "fr") and not step.grounded


@pytest.mark.parametrize("confidence", [0.1, 0.9])
def test_an_answer_citing_no_passage_is_declined_whatever_the_retrieval_confidence(
    stub: OpenAIStub, confidence: float
) -> None:
    stub.script(Reply(text="Yes, whitening costs 99 EUR."), Reply(text="Oui, le blanchiment coûte 99 EUR."))
    step = remote(stub).respond(ctx("How much is whitening?", confidence=confidence))
    assert step.text == phrase("unknown", "en") and step.intent == "unknown"
    assert not step.grounded and step.citations == []
    assert step.quick_replies == quick_replies(["human", "callback"], "en")
    step = remote(stub).respond(ctx("Combien coûte le blanchiment ?", language="fr", confidence=confidence))
    assert step.text == phrase("unknown", "fr") and step.quick_replies == quick_replies(["human", "callback"], "fr")


def test_a_marker_naming_a_passage_not_sent_is_no_citation(stub: OpenAIStub) -> None:
    reply = "Whitening costs 2,500 MAD [3]. We also do implants [7]."
    stub.script(Reply(text=reply), Reply(text=reply))
    step = remote(stub, token_budget=120).respond(ctx("How much is whitening?"))  # passage 3 does not fit: not sent
    assert step.text == phrase("unknown", "en") and step.intent == "unknown" and step.citations == []
    out, step = collect(remote(stub, token_budget=120).stream(ctx("How much is whitening?")))
    assert out == [phrase("unknown", "en")] and step.text == phrase("unknown", "en") and not step.grounded


def test_a_cited_answer_is_kept(stub: OpenAIStub) -> None:
    stub.script(Reply(text="Scaling and polishing costs 400 MAD [3]."))
    step = remote(stub).respond(ctx("How much is a scaling?", confidence=0.1))
    assert step.text == "Scaling and polishing costs 400 MAD [3]." and step.grounded and step.intent == "answer"
    assert [c.source_id for c in step.citations] == ["src-prices"] and step.quick_replies == []


@pytest.mark.parametrize(("text", "intent"), [("Hello!", "greeting"), ("Thanks a lot!", "thanks")])
def test_greetings_and_thanks_need_no_citation_and_stream_at_once(stub: OpenAIStub, text: str, intent: str) -> None:
    pieces = ["You're welcome! ", "Is there anything ", "else I can do?"]
    stub.script(Reply(text="".join(pieces)), Reply(pieces=pieces))
    step = remote(stub).respond(ctx(text))
    assert step.text == "".join(pieces) and step.intent == intent and not step.grounded and step.quick_replies == []
    out, step = collect(remote(stub).stream(ctx(text)))
    assert out == ["You're welcome!", " Is there anything", " else I can do?"]  # not held back: nothing to cite
    assert "".join(out) == step.text and step.intent == intent


def test_a_tool_call_needs_no_citation(stub: OpenAIStub) -> None:
    call = ("request_callback", '{"phone": "+212600000000"}')
    reply = Reply(text="Of course, someone from the team will call you.", tool_calls=[call])
    stub.script(reply, reply)
    step = remote(stub).respond(ctx("Can you call me back on +212600000000?"))
    assert step.text == reply.text and step.intent == "callback" and step.tool_calls[0].name == "request_callback"
    out, step = collect(remote(stub).stream(ctx("Can you call me back on +212600000000?")))
    assert "".join(out) == step.text == reply.text and step.intent == "callback"


def test_stream_holds_an_answer_back_until_its_first_citation(stub: OpenAIStub) -> None:
    pieces = ["We are open ", "Monday to Friday ", "from 9am [", "1], and parking ", "is free ", "[2]."]
    stub.script(Reply(pieces=pieces))
    out, step = collect(remote(stub).stream(ctx()))
    assert out == ["We are open Monday to Friday from 9am [1], and parking", " is free", " [2]."]  # then as it comes
    assert "".join(out) == step.text == "We are open Monday to Friday from 9am [1], and parking is free [2]."
    assert step.grounded and [c.source_id for c in step.citations] == ["src-site", "src-faq"]


def test_stream_declines_an_uncited_answer_without_showing_it(stub: OpenAIStub) -> None:
    stub.script(Reply(pieces=["Yes, ", "whitening costs ", "99 EUR [9]", "."]))  # [9] names no passage
    out, step = collect(remote(stub).stream(ctx("How much is whitening?")))
    assert out == [phrase("unknown", "en")] and step.text == out[0] and step.intent == "unknown"
    assert step.quick_replies == quick_replies(["human", "callback"], "en") and step.citations == []


def test_stream_pieces_join_to_the_final_text(stub: OpenAIStub) -> None:
    pieces = ["We open ", "at 9am [", "1] and close", " at 7pm [", "9", "]. Parking [2", "]."]
    stub.script(Reply(pieces=pieces))
    out, step = collect(remote(stub).stream(ctx()))
    assert "".join(out) == step.text == "We open at 9am [1] and close at 7pm. Parking [2]."
    assert len(out) > 2 and not any("9]" in piece or piece.endswith("[") for piece in out)
    assert [c.source_id for c in step.citations] == ["src-site", "src-faq"] and step.grounded
    assert stub.requests[0].body["stream"] is True


def test_stream_tool_call_fragments_are_assembled(stub: OpenAIStub) -> None:
    calls = [
        ("handoff_to_human", '{"reason": "asked for a person"}'),
        ("request_callback", '{"phone": "+212600000000"}'),
    ]
    stub.script(Reply(tool_calls=calls))
    out, step = collect(remote(stub).stream(ctx("I want to talk to someone", within_business_hours=False)))
    assert step.tool_calls == [
        ToolCall("handoff_to_human", {"reason": "asked for a person"}),
        ToolCall("request_callback", {"phone": "+212600000000"}),
    ]
    assert "".join(out) == step.text == phrase("handoff_closed", "en")
    assert step.intent == "human" and step.quick_replies == quick_replies(["callback"], "en")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=500), "HTTP error 500 server_error"),
        (Reply(status=429, code="rate_limit_exceeded"), "rate limited 429 rate_limit_exceeded"),
        (Reply(status=401, code="invalid_api_key"), "HTTP error 401 invalid_api_key"),
        (Reply(raw=b'{"choices": [{"index": 0, "message": {"role"'), "malformed response"),
        (Reply(raw=b'{"object": "chat.completion", "choices": []}'), "malformed response"),
        (Reply(text=""), "empty reply"),
    ],
)
def test_failures_are_model_unavailable_with_a_short_reason(stub: OpenAIStub, reply: Reply, reason: str) -> None:
    stub.script(reply)
    with pytest.raises(ModelUnavailable) as err:
        remote(stub).respond(ctx())
    assert str(err.value) == reason


def test_broken_streams_are_model_unavailable(stub: OpenAIStub) -> None:
    stub.script(Reply(text="We open at nine in the morning", cut_after=3), Reply(raw=b"data: {not json\n\n"))
    model = remote(stub)
    for reason in ("connection failed", "malformed response"):
        with pytest.raises(ModelUnavailable, match=reason):
            list(model.stream(ctx()))


def test_a_dead_endpoint_is_unavailable() -> None:
    with OpenAIStub() as stopped:
        url = stopped.url
    with pytest.raises(ModelUnavailable, match="connection failed"):
        OpenAIChatModel("gpt-test", base_url=url, max_retries=0).respond(ctx())


def test_server_errors_are_retried_by_the_sdk(stub: OpenAIStub) -> None:
    stub.script(Reply(status=500), Reply(status=429), Reply(text="We open at 9am [1]."))
    step = remote(stub, max_retries=2).respond(ctx())
    assert step.text == "We open at 9am [1]." and len(stub.requests) == 3


def test_timeout_falls_back_to_the_local_model(stub: OpenAIStub, caplog: pytest.LogCaptureFixture) -> None:
    stub.script(Reply(text="too late [1]", hang=30))
    model = FallbackChatModel(remote(stub, timeout=0.3), LocalChatModel())
    with caplog.at_level(logging.WARNING, logger="jasping.agent.llm.fallback"):
        step = model.respond(ctx())
    assert (
        replace(step, model="") == LocalChatModel().respond(ctx())
        and step.model == "local"
        and step.grounded
        and step.citations[0].source_id == "src-site"
    )
    assert model.last_used == "local" and model.name == "openai:gpt-test+local"
    [record] = [r for r in caplog.records if r.name == "jasping.agent.llm.fallback"]
    assert "timed out" in record.getMessage() and "opening hours" not in record.getMessage()
    model.respond(ctx())  # the failing endpoint rests for a while instead of being waited on every turn
    assert len(stub.requests) == 1


def test_fallback_streams_the_local_model_when_the_remote_fails_before_any_text(stub: OpenAIStub) -> None:
    stub.script(Reply(status=503))
    model = FallbackChatModel(remote(stub), LocalChatModel())
    out, step = collect(model.stream(ctx()))
    assert "".join(out) == step.text == LocalChatModel().respond(ctx()).text and model.last_used == "local"


def test_fallback_finishes_a_stream_cut_midway_with_the_local_answer(stub: OpenAIStub) -> None:
    stub.script(Reply(pieces=["Parking is free [2] ", "and we open ", "at nine"], cut_after=3))
    model = FallbackChatModel(remote(stub), LocalChatModel())
    out, step = collect(model.stream(ctx()))
    local = LocalChatModel().respond(ctx())
    assert "".join(out) == step.text == "Parking is free [2] and we open" + SEPARATOR + local.text
    assert [c.source_id for c in step.citations] == ["src-faq", "src-site"]  # the partial text's [2], then local's


def test_the_primary_is_used_when_it_answers(stub: OpenAIStub) -> None:
    stub.script(Reply(text="We open at 9am [1]."), Reply(text="We open at 9am [1]."))
    model = FallbackChatModel(remote(stub), LocalChatModel())
    assert model.respond(ctx()).text == "We open at 9am [1]." and model.last_used == "openai:gpt-test"
    out, step = collect(model.stream(ctx()))
    assert "".join(out) == step.text == "We open at 9am [1]."


def test_requests_to_real_providers_are_blocked_without_any_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelUnavailable, match="model requests are blocked"):
        OpenAIChatModel("gpt-4o-mini", api_key="sk-real")  # api.openai.com
    with pytest.raises(ModelUnavailable, match="blocked"):
        build_chat_model(Settings(llm="openai", OPENAI_BASE_URL="https://api.mistral.ai/v1"))
    monkeypatch.delenv("JASPING_BLOCK_MODEL_REQUESTS")
    model = OpenAIChatModel("gpt-4o-mini", base_url="http://10.255.255.1/v1")
    model._client = None  # any request would fail with AttributeError, not ModelUnavailable
    monkeypatch.setattr(openai_model, "ALLOW_MODEL_REQUESTS", False)
    with pytest.raises(ModelUnavailable, match="blocked"):
        model.respond(ctx())
    with pytest.raises(ModelUnavailable, match="blocked"):
        list(model.stream(ctx()))
    for url in ("http://localhost:9/v1", "http://[::1]:9/v1", "http://127.0.0.2/v1"):
        OpenAIChatModel("m", base_url=url)  # loopback stays allowed for local test servers


def test_token_budget_drops_the_oldest_history_then_the_weakest_passages(stub: OpenAIStub) -> None:
    history = [HistoryMessage("user" if i % 2 == 0 else "assistant", f"message {i} " + "x" * 390) for i in range(4)]
    context = ctx(history=history)
    passages, kept = fit_budget(context, budget=10_000, max_history=10)
    assert [p.ref for p in passages] == [1, 2, 3] and kept == history
    passages, kept = fit_budget(context, budget=300, max_history=10)
    assert [p.ref for p in passages] == [1, 2, 3] and [m.text[:9] for m in kept] == ["message 3"]
    passages, kept = fit_budget(context, budget=120, max_history=10)
    assert [p.ref for p in passages] == [1, 2] and kept == []  # 3 ranks lowest (by score), whatever its ref
    passages, kept = fit_budget(context, budget=30, max_history=10)
    assert [p.ref for p in passages] == [1] and len(passages[0].text) < len(HOURS)

    stub.script(Reply(text="Whitening costs 2,500 MAD [3]. We open at 9am [1]."))
    step = remote(stub, token_budget=120).respond(context)
    assert step.text == "Whitening costs 2,500 MAD. We open at 9am [1]."  # [3] was not sent, so it cannot be cited
    messages = stub.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"] and "Whitening" not in messages[0]["content"]


def test_build_chat_model(stub: OpenAIStub) -> None:
    assert isinstance(build_chat_model(Settings(llm="local")), LocalChatModel)
    model = build_chat_model(Settings(llm="openai", llm_model="gpt-test", OPENAI_BASE_URL=stub.url))
    assert isinstance(model, FallbackChatModel) and model.name == "openai:gpt-test+local"
    with pytest.raises(ValueError, match="JASPING_LLM='claude'"):
        build_chat_model(Settings(llm="claude"))
