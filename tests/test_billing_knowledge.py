"""The plan's knowledge size (characters of text, all agents together): a text or Q&A past it is refused at once
with 402 `plan_limit`; a file, page or website (whose text is known only once read) is refused at once when the
knowledge base is already full, and otherwise fails its reading with `plan_limit` when its text does not fit —
nothing written, the knowledge already there untouched. Billing off: no limit."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

import billing_fixtures
from jasping.billing.plans import FREE
from jasping.config import get_settings
from jasping.db import session_scope, unscoped
from jasping.knowledge.models import Chunk, Document

billing_on, stripe_stub = billing_fixtures.billing_on, billing_fixtures.stripe_stub
LIMIT = FREE.knowledge_chars
HOURS = "The shop is open Monday to Friday from 9am to 6pm."


@pytest.fixture
def shop(make_org, monkeypatch, billing_on):  # noqa: ANN001, ANN201
    """Billing on, no trial: an organization on Free (200,000 characters) with an agent and one text."""
    monkeypatch.setenv("JASPING_BILLING_TRIAL_DAYS", "0")
    get_settings.cache_clear()
    org = make_org("Shop")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    r = org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": "Hours", "text": HOURS})
    assert r.status_code == 202, r.text
    return org, agent["id"]


def _fill(org_id: str, used: int) -> None:
    """Make the knowledge already there weigh `used` characters (as a large document would)."""
    with session_scope() as s, unscoped(s):
        s.execute(update(Document).where(Document.org_id == org_id).values(chars=used))


def _used(org) -> int:  # noqa: ANN001
    return org.get("/api/v1/billing").json()["usage"]["knowledge_chars"]["used"]


def _rows(org_id: str) -> tuple[int, int]:
    with session_scope() as s, unscoped(s):
        docs = s.execute(select(func.count()).select_from(Document).where(Document.org_id == org_id)).scalar()
        chunks = s.execute(select(func.count()).select_from(Chunk).where(Chunk.org_id == org_id)).scalar()
        return docs, chunks


def _sources(org, agent_id: str) -> list[dict]:  # noqa: ANN001
    return org.get(f"/api/v1/agents/{agent_id}/sources").json()["sources"]


def test_a_text_past_the_limit_is_refused_and_nothing_is_written(client, shop) -> None:
    org, agent_id = shop
    _fill(org.id, LIMIT - 100)
    body = {"type": "text", "title": "Returns", "text": "Returns are accepted within 30 days. " * 10}
    r = org.post(f"/api/v1/agents/{agent_id}/sources", json=body)
    assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit"
    message = r.json()["error"]["message"]
    assert "Free plan allows 200000 characters of knowledge" in message and "100 left" in message
    qa = {"type": "qa", "question": "Do you deliver?", "answer": "Yes, everywhere in Morocco. " * 10}
    assert org.post(f"/api/v1/agents/{agent_id}/sources", json=qa).status_code == 402
    assert len(_sources(org, agent_id)) == 1 and _used(org) == LIMIT - 100
    small = {"type": "text", "title": "Phone", "text": "Call us on 0522 00 00 00."}
    assert org.post(f"/api/v1/agents/{agent_id}/sources", json=small).status_code == 202  # what fits is taken


def test_a_full_knowledge_base_refuses_files_pages_and_crawls_at_once(client, shop) -> None:
    org, agent_id = shop
    _fill(org.id, LIMIT)
    files = {"file": ("faq.md", io.BytesIO(b"# FAQ\n\nWe repair bikes."), "text/markdown")}
    r = org.post(f"/api/v1/agents/{agent_id}/sources", files=files)
    assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit"
    for body in (
        {"type": "url", "url": "https://shop.example.org/faq"},
        {"type": "url", "url": "https://shop.example.org/", "crawl": True},
    ):
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json=body)
        assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit"
    assert len(_sources(org, agent_id)) == 1 and _rows(org.id) == (1, 1)


def test_a_file_whose_text_does_not_fit_fails_with_a_reason_and_writes_nothing(client, shop) -> None:
    org, agent_id = shop
    _fill(org.id, LIMIT - 1_000)
    text = "\n\n".join(f"## Question {n}\n\nThe answer to question {n} is in the shop's booklet." for n in range(60))
    files = {"file": ("faq.md", io.BytesIO(text.encode()), "text/markdown")}
    r = org.post(f"/api/v1/agents/{agent_id}/sources", files=files)
    assert r.status_code == 202, r.text  # its text is known only once read
    failed = next(s for s in _sources(org, agent_id) if s["kind"] == "file")
    assert failed["state"] == "failed" and failed["error_code"] == "plan_limit"
    assert "Free plan allows 200000 characters of knowledge" in failed["error_message"]
    assert failed["chunk_count"] == 0 and _rows(org.id) == (1, 1) and _used(org) == LIMIT - 1_000


def test_reading_a_source_again_counts_its_new_text_not_both(client, shop) -> None:
    org, agent_id = shop
    (source,) = _sources(org, agent_id)
    _fill(org.id, LIMIT - 10)  # the hours text itself now weighs nearly the whole plan
    r = org.post(f"/api/v1/agents/{agent_id}/sources/{source['id']}/refresh")
    assert r.status_code in (200, 202), r.text
    (again,) = _sources(org, agent_id)
    assert again["state"] == "ready" and _rows(org.id) == (1, 1)  # its own old text made room for it


def test_the_dashboard_says_why_a_text_is_refused(client, shop) -> None:
    org, agent_id = shop
    _fill(org.id, LIMIT)
    form = {"csrf_token": org.client.headers["X-CSRF-Token"], "kind": "text", "title": "More", "text": "More text."}
    page = org.client.post(f"/agents/{agent_id}/knowledge/add", data=form)
    assert page.status_code == 402
    assert "Free plan allows 200000 characters of knowledge" in page.text and "Billing page" in page.text
    upload = org.client.post(
        f"/agents/{agent_id}/knowledge/upload",
        data={"csrf_token": org.client.headers["X-CSRF-Token"]},
        files={"file": ("faq.txt", b"We repair bikes.", "text/plain")},
    )
    assert upload.status_code == 402 and "characters of knowledge" in upload.text
    assert len(_sources(org, agent_id)) == 1


def test_billing_off_never_limits_knowledge(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    r = org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": "Hours", "text": HOURS})
    assert r.status_code == 202
    _fill(org.id, 10 * LIMIT)
    more = {"type": "text", "title": "More", "text": "Returns are accepted within 30 days."}
    assert org.post(f"/api/v1/agents/{agent['id']}/sources", json=more).status_code == 202
    files = {"file": ("faq.md", io.BytesIO(b"# FAQ\n\nWe repair bikes."), "text/markdown")}
    assert org.post(f"/api/v1/agents/{agent['id']}/sources", files=files).status_code == 202
    assert all(s["state"] == "ready" for s in _sources(org, agent["id"]))
