"""The widget with `JASPING_LLM=openai`: the real SDK against a local OpenAI-compatible stand-in; when the
remote model fails, the local model answers and the conversation records which model did."""

from __future__ import annotations

import json

import pytest

from jasping.agent import llm
from jasping.agent.phrases import phrase, quick_replies
from jasping.config import get_settings
from openai_stub import OpenAIStub, Reply


@pytest.fixture
def remote(monkeypatch):  # noqa: ANN201
    with OpenAIStub() as stub:
        monkeypatch.setenv("JASPING_LLM", "openai")
        monkeypatch.setenv("JASPING_LLM_MODEL", "gpt-test")
        monkeypatch.setenv("OPENAI_BASE_URL", stub.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        get_settings.cache_clear()
        llm._models.clear()
        yield stub
    for name in ("JASPING_LLM", "JASPING_LLM_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    llm._models.clear()


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en"]}).json()
    org.post(
        f"/api/v1/agents/{agent['id']}/sources",
        json={"type": "text", "title": "Parking", "text": "Free parking is available behind the clinic."},
    )
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    return org, session, url, {"Authorization": f"Bearer {session['session_token']}"}


def test_the_remote_model_answers_with_mapped_citations(client, chat, remote) -> None:
    org, session, url, headers = chat
    remote.script(Reply(text="You can park for free behind the clinic [1]."))
    r = client.post(url, json={"text": "Where can I park?"}, headers=headers)
    reply = r.json()["reply"]
    assert reply["text"] == "You can park for free behind the clinic [1]."
    assert reply["citations"][0]["title"] == "Parking"
    sent = remote.requests[0].body
    assert sent["model"] == "gpt-test" and "Free parking is available" in json.dumps(sent["messages"])
    detail = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()
    assert detail["messages"][-1]["text"] == reply["text"]


def test_the_stream_goes_through_and_a_failure_falls_back_to_the_local_model(client, chat, remote) -> None:
    _, _, url, headers = chat
    remote.script(
        Reply(text="Parking is free behind the clinic [1].", pieces=["Parking is ", "free behind ", "the clinic [1]."])
    )
    with client.stream("POST", url, json={"text": "parking?"}, headers={**headers, "Accept": "text/event-stream"}) as r:
        raw = "".join(r.iter_text())
    events = [(b.split("\n")[0][7:], json.loads(b.split("\n")[1][6:])) for b in raw.strip().split("\n\n")]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert streamed == events[-2][1]["reply"]["text"] == "Parking is free behind the clinic [1]."
    remote.script(Reply(status=500), Reply(status=500), Reply(status=500))
    reply = client.post(url, json={"text": "Where can I park?"}, headers=headers).json()["reply"]
    assert "parking" in reply["text"].lower() and reply["citations"]  # the local model, grounded


def test_an_uncited_remote_answer_is_declined_and_never_streamed(client, chat, remote) -> None:
    org, session, url, headers = chat
    hallucination = "Yes, parking costs 99 EUR an hour."
    remote.script(
        Reply(text=hallucination), Reply(text=hallucination, pieces=["Yes, parking ", "costs 99 EUR an hour."])
    )
    reply = client.post(url, json={"text": "How much is parking?"}, headers=headers).json()["reply"]
    assert reply["text"] == phrase("unknown", "en") and reply["citations"] == []
    assert reply["quick_replies"] == quick_replies(["human", "callback"], "en")
    sse = {**headers, "Accept": "text/event-stream"}
    with client.stream("POST", url, json={"text": "Parking price?"}, headers=sse) as r:
        raw = "".join(r.iter_text())
    events = [(b.split("\n")[0][7:], json.loads(b.split("\n")[1][6:])) for b in raw.strip().split("\n\n")]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert streamed == events[-2][1]["reply"]["text"] == phrase("unknown", "en") and "99" not in raw
    messages = org.get(f"/api/v1/conversations/{session['conversation_id']}").json()["messages"]
    assert [m["text"] for m in messages if m["role"] == "assistant"][-2:] == [phrase("unknown", "en")] * 2
