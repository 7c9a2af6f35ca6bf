"""Usage metering: 1,000 concurrent counts land exactly on PostgreSQL and SQLite, the 80 % and 100 % warnings go out
once; at the limit the customer gets the polite over-quota answer (the team told, a call back offered), never
silence; billing off counts nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import billing_fixtures
from billing_fixtures import mails_to
from jasping import clock
from jasping.billing import usage
from jasping.billing.models import UsageCounter
from jasping.config import get_settings
from jasping.conversations.models import Conversation
from jasping.db import session_scope

billing_on, mailbox, stripe_stub = billing_fixtures.billing_on, billing_fixtures.mailbox, billing_fixtures.stripe_stub


@pytest.fixture
def on_free(monkeypatch, billing_on):  # noqa: ANN001, ANN201
    """Billing on, no trial: a new organization is on Free (100 messages a month)."""
    monkeypatch.setenv("JASPING_BILLING_TRIAL_DAYS", "0")
    get_settings.cache_clear()
    return billing_on


def _counter(org_id: str) -> UsageCounter | None:
    with session_scope() as s:
        return s.execute(select(UsageCounter).where(UsageCounter.org_id == org_id)).scalar()


def test_a_thousand_concurrent_counts_land_exactly_and_warn_once(client, on_free, make_org, monkeypatch) -> None:
    org = make_org()
    warned = []
    monkeypatch.setattr(usage, "_queue_warning", lambda org_id, month, level: warned.append(level))
    with ThreadPoolExecutor(max_workers=12) as pool:
        counts = list(pool.map(lambda _: usage.count_message(org.id), range(1000)))
    assert sorted(counts) == list(range(1, 1001))  # each count saw its own number: none lost, none twice
    row = _counter(org.id)
    assert row.messages == 1000 and row.warned_80_at is not None and row.warned_100_at is not None
    assert sorted(warned) == [80, 100]  # once each, whichever thread crossed the line


def _widget(client, org):  # noqa: ANN001, ANN202
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    org.post(
        f"/api/v1/agents/{agent['id']}/sources",
        json={"type": "text", "title": "Hours", "text": "The shop is open Monday to Friday from 9am to 6pm."},
    )
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"

    def say(text: str) -> dict:
        r = client.post(url, json={"text": text}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    return session["conversation_id"], say


def test_at_the_limit_the_customer_gets_a_polite_answer_and_the_owner_is_told(
    client, on_free, mailbox, make_org
) -> None:
    org = make_org()
    conversation_id, say = _widget(client, org)
    with session_scope() as s:
        s.add(UsageCounter(org_id=org.id, month=usage.month_of(), messages=98, warned_80_at=clock.now()))
    first = say("When are you open?")  # the 99th message: answered as usual
    assert "9am" in first["text"]
    second = say("And on Saturday?")  # the 100th: answered, and the owner warned
    assert "I've passed your request to the team" not in second["text"]
    assert mails_to(mailbox, org.email) == ["Acme has used all of this month's messages"]
    over = say("Do you repair bikes?")  # over the limit: a polite answer, the team and a call back
    assert (
        over["text"]
        == "I've passed your request to the team; someone will reply to you here. Would you like us to call you back?"
    )
    assert over["quick_replies"] == ["Call me back"]
    with session_scope() as s:
        conversation = s.get(Conversation, conversation_id)
        assert conversation.needs_human and conversation.status == "handoff"
    callback = say("Call me back")  # the call back offered goes through as a dialogue
    assert "phone number" in callback["text"]
    assert _counter(org.id).messages == 102
    assert len(mails_to(mailbox, org.email)) == 1  # told once a month


def test_billing_off_counts_nothing_and_never_limits(client, make_org) -> None:
    org = make_org()
    _, say = _widget(client, org)
    for _ in range(3):
        assert "9am" in say("When are you open?")["text"]
    assert _counter(org.id) is None
    assert usage.count_message(org.id) is None
