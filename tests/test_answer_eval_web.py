"""Testing an agent from the web: `POST /api/v1/agents/{id}/evaluations` and the playground's "Test your agent"."""

from __future__ import annotations

import json
import re

import pytest

from test_answer_eval import FIXTURE, ScriptedModel, upload_fixture

QUESTIONS = (FIXTURE / "questions.jsonl").read_bytes()


@pytest.fixture
def business(make_org, tmp_path):  # noqa: ANN001, ANN201
    org = make_org("VeloAtlas")
    agent = org.post("/api/v1/agents", json={"name": "Atlas", "languages": ["fr", "en"]}).json()
    return org, agent["id"], upload_fixture(org, agent["id"], tmp_path)


@pytest.fixture
def scripted(business, monkeypatch):  # noqa: ANN001, ANN201
    model = ScriptedModel(business[2])
    monkeypatch.setattr("jasping.agent.llm.get_chat_model", lambda settings: model)
    return model


def _evaluate(org, agent_id: str, name: str, data: bytes):  # noqa: ANN001, ANN202
    return org.post(f"/api/v1/agents/{agent_id}/evaluations", files={"file": (name, data)})


def test_the_api_scores_a_question_file(business, scripted) -> None:
    org, agent_id, _ = business
    r = _evaluate(org, agent_id, "questions.jsonl", QUESTIONS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["questions"], body["answerable"], body["unanswerable"]) == (6, 4, 2)
    assert (body["accuracy"], body["fact_accuracy"], body["citation_accuracy"]) == (0.5, 0.75, 0.5)
    assert (body["honest_decline_rate"], body["false_decline_rate"], body["cross_lingual_accuracy"]) == (0.5, 0.25, 1.0)
    assert body["by_language"]["fr"]["questions"] == 2 and body["by_format"]["md"]["accuracy"] == 0.5
    misses = {m["id"]: m for m in body["misses"]}
    assert set(misses) == {"velo-002", "velo-004", "velo-006"}
    assert misses["velo-002"]["cited"] == ["faq.html"] and misses["velo-002"]["why"].endswith("instead of tarifs.md")
    assert len(scripted.contexts) == 6
    assert org.get("/api/v1/conversations").json()["conversations"] == []  # nothing stored


def test_the_api_takes_a_spreadsheet_and_runs_the_local_model(business) -> None:
    org, agent_id, _ = business
    csv = "question,expected,document\nwhat time do you open on saturday,9:00,faq.html\nDo you sell car tyres?,,\n"
    r = _evaluate(org, agent_id, "mine.csv", csv.encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["questions"], body["honest_decline_rate"]) == (2, 1.0)
    assert body["accuracy"] == 1.0, body["misses"]


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("q.jsonl", b'{"text": "a", "expected": ["x"]}\n{"text": \n', 422, "q.jsonl:2: invalid JSON"),
        ("q.csv", b"question,answer\nHow much?,350 DH\n", 422, "q.csv:1: unknown column 'answer'"),
        ("q.pdf", b"%PDF-1.4", 422, "use a .jsonl, .csv or .xlsx file"),
        ("q.jsonl", b"".join(b'{"text": "q%d?"}\n' % n for n in range(501)), 422, "at most 500"),
        ("q.jsonl", b" " * (2 * 1024 * 1024 + 1), 413, "larger than 2 MB"),
    ],
)
def test_the_api_explains_a_bad_file(business, name: str, data: bytes, status: int, message: str) -> None:
    org, agent_id, _ = business
    r = _evaluate(org, agent_id, name, data)
    assert r.status_code == status and message in r.json()["error"]["message"], r.text


def test_the_api_wants_a_file_and_hides_other_organizations_agents(business, make_org) -> None:
    org, agent_id, _ = business
    r = org.post(f"/api/v1/agents/{agent_id}/evaluations", json={"questions": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_file"
    other = make_org("Other")
    r = _evaluate(other, agent_id, "questions.jsonl", QUESTIONS)
    assert r.status_code == 404 and r.json()["error"]["code"] == "agent_not_found"
    spec = org.get("/api/v1/openapi.json").json()["paths"]["/api/v1/agents/{agent_id}/evaluations"]["post"]
    assert "multipart/form-data" in spec["requestBody"]["content"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_playground_runs_an_uploaded_file_and_lists_the_misses(business, scripted) -> None:
    org, agent_id, _ = business
    page = org.client.get(f"/agents/{agent_id}/playground")
    assert page.status_code == 200 and "Test your agent" in page.text and "At most 500 questions, 2 MB." in page.text
    r = org.client.post(
        f"/agents/{agent_id}/playground/evaluate",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("questions.jsonl", QUESTIONS)},
    )
    assert r.status_code == 200, r.text
    figures = dict(re.findall(r'data-figure="(\w+)">([\d.–]+ %?)', r.text))
    assert figures == {
        "accuracy": "50.0 %",
        "fact_accuracy": "75.0 %",
        "citation_accuracy": "50.0 %",
        "honest_decline_rate": "50.0 %",
        "false_decline_rate": "25.0 %",
    }
    table = r.text[r.text.index('<table id="misses">') :]
    assert table.count("<tr>") == 4  # the header and three misses
    assert "Combien de temps sont garanties les pièces ?" in table and "cited faq.html instead of tarifs.md" in table
    assert "Oui, 99 EUR le week-end." in table and "an honest decline" in table


def test_the_playground_explains_a_bad_file_in_french(business, scripted) -> None:
    org, agent_id, _ = business
    org.client.get("/lang/fr")
    page = org.client.get(f"/agents/{agent_id}/playground")
    assert "Testez votre agent" in page.text and "Lancer le test" in page.text
    rows = "\n".join(json.dumps({"text": f"q{n}?"}) for n in range(501)).encode()
    r = org.client.post(
        f"/agents/{agent_id}/playground/evaluate",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("questions.jsonl", rows)},
    )
    assert r.status_code == 422 and 'role="alert"' in r.text and "at most 500" in r.text
    assert scripted.contexts == []
    r = org.client.post(
        f"/agents/{agent_id}/playground/evaluate",
        data={"csrf_token": "forged"},
        files={"file": ("questions.jsonl", QUESTIONS)},
    )
    assert r.status_code == 403 and scripted.contexts == []
