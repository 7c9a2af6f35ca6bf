"""Analytics (issue 13, point 4): conversations built through the real widget, WhatsApp webhook and API — answers,
declines, a handoff, a lead, a booking — then every figure of `GET /api/v1/analytics` compared with the same figure
computed independently from the public listings (conversations, their messages, leads, appointments). Day boundaries
in Africa/Casablanca (UTC+01:00 in June 2026), clear 422s, tenancy, the CSV and the dashboard page."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from jasping import clock
from jasping.agent.phrases import phrase
from jasping.conversations.models import Message
from jasping.db import session_scope, unscoped
from test_whatsapp import NUMBER_ID, _payload, _sign, graph  # noqa: F401 - the Graph API stand-in fixture

CASABLANCA = ZoneInfo("Africa/Casablanca")
DAY1 = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 11:00 in Casablanca
LATE = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)  # 00:30 on 11 June in Casablanca: the next local day
BOOKING = {
    "services": [{"id": "check", "name": "Check-up", "duration_min": 30}],
    "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "tz": "Africa/Casablanca",
}
HOURS = "The clinic is open Monday to Friday from 9am to 6pm. Parking is free behind the building."


@pytest.fixture
def now(monkeypatch):  # noqa: ANN001, ANN201
    state = {"now": DAY1}

    class Frozen:  # the clock of every thread (the app's handlers and jobs too), rows' created_at included
        @staticmethod
        def get() -> datetime:
            return state["now"]

    monkeypatch.setattr(clock, "_frozen", Frozen)

    def set_now(instant: datetime) -> None:
        state["now"] = instant

    return set_now


@pytest.fixture
def clinic(client, make_org, graph, now):  # noqa: ANN001, ANN201, F811
    org = make_org("Clinic")
    r = org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": "Africa/Casablanca"})
    assert r.status_code == 200, r.text
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"booking": BOOKING}).status_code == 200
    source = {"type": "text", "title": "Hours", "text": HOURS}
    assert org.post(f"/api/v1/agents/{agent['id']}/sources", json=source).status_code == 202
    channel = {
        "type": "whatsapp",
        "phone_number_id": NUMBER_ID,
        "waba_id": "1234567890987654321",
        "access_token": "EAAG-secret-access-token",
        "app_secret": "app-secret-for-tests",
        "verify_token": "verify-me-please",
    }
    assert org.post(f"/api/v1/agents/{agent['id']}/channels", json=channel).status_code == 201
    return org, agent


def _web(client, agent: dict):  # noqa: ANN001, ANN202
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"

    def say(text: str) -> dict:
        r = client.post(url, json={"text": text}, headers={"Authorization": f"Bearer {session['session_token']}"})
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    return say


def _whatsapp(client, text: str, n: int, sender: str = "212600000001") -> None:  # noqa: ANN001
    payload = _payload("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0] |= {"id": f"wamid.analytics{n}", "from": sender, "text": {"body": text}}
    value["contacts"][0]["wa_id"] = sender
    raw = __import__("json").dumps(payload).encode()
    r = client.post("/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": _sign(raw)})
    assert r.status_code == 200, r.text


def _lead(say) -> None:  # noqa: ANN001
    reply = say("I would like to be contacted about a quote")
    answers = {"name": ["Karim Benali"], "email": ["karim@example.com"], "phone": ["0661234567"]}
    answers["choice"] = ["yes", "yes"]
    for _ in range(10):
        pending = answers.get(reply["input_hint"]["type"])
        if not pending:
            return
        reply = say(pending.pop(0))


def _build(client, clinic, now) -> None:  # noqa: ANN001
    org, agent = clinic
    say = _web(client, agent)
    say("What are your opening hours?")
    say("Do you accept pets in the waiting room?")
    say("Do you allow pets in your waiting room?")
    _web(client, agent)("I want to talk to a human")
    _whatsapp(client, "Is parking free?", 1)
    _whatsapp(client, "Can I pay with bitcoin?", 2)
    now(LATE)
    _lead(_web(client, agent))
    _web(client, agent)("Can I pay with bitcoin?")
    body = {
        "start": "2026-06-12T10:00:00+01:00",
        "service": "check",
        "contact": {"name": "Sara", "phone": "0612345678"},
    }
    assert org.post(f"/api/v1/agents/{agent['id']}/appointments", json=body).status_code == 201
    now(LATE + timedelta(days=2))  # every conversation has ended (no message for a day)


def _expected(org, now_: datetime) -> dict:  # noqa: ANN001
    """The figures computed from the public API alone (and the stored reply times, which the API does not show)."""
    conversations = org.get("/api/v1/conversations", params={"limit": 200}).json()["conversations"]
    details = [org.get(f"/api/v1/conversations/{c['id']}").json() for c in conversations]
    leads = org.get("/api/v1/leads", params={"limit": 200}).json()["leads"]
    appointments = org.get("/api/v1/appointments", params={"limit": 200}).json()["appointments"]

    def local_day(stamp: str) -> str:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(CASABLANCA).date().isoformat()

    declines = {phrase("unknown", "en"), phrase("unknown", "fr"), phrase("cant_share", "en")}
    daily: Counter = Counter()
    by_channel: Counter = Counter()
    handoffs = resolved = 0
    unanswered: list[str] = []
    for c in details:
        daily[local_day(c["created_at"])] += 1
        by_channel[c["channel"]] += 1
        handed = (
            c["needs_human"] or c["status"] in ("handoff", "human") or any(m["role"] == "human" for m in c["messages"])
        )
        ended = c["status"] == "closed" or now_ - datetime.fromisoformat(c["last_message_at"]) > timedelta(hours=24)
        handoffs += handed
        resolved += (not handed) and ended
        by_seq = {m["seq"]: m for m in c["messages"]}
        for m in c["messages"]:
            asked = by_seq.get(m["seq"] - 1)
            if m["role"] == "assistant" and m["text"] in declines and asked and asked["role"] == "user":
                unanswered.append(asked["text"])
    n = len(details)
    return {
        "conversations": n,
        "daily": daily,
        "by_channel": by_channel,
        "handoffs": handoffs,
        "resolved": resolved,
        "leads": len(leads),
        "lead_days": Counter(local_day(x["created_at"]) for x in leads),
        "bookings": len(appointments),
        "unanswered": unanswered,
    }


def _login(org) -> None:  # noqa: ANN001
    r = org.client.post("/api/v1/auth/login", json={"email": org.email, "password": org.password})
    assert r.status_code == 200, r.text


def _stored_latency() -> list[int]:
    with session_scope() as s, unscoped(s):
        metas = s.execute(select(Message.meta).where(Message.role == "assistant")).scalars()
        return sorted(int(math.floor(m["total_ms"])) for m in metas if m and m.get("total_ms") is not None)


def _nearest_rank(values: list[int], q: int) -> int | None:
    return values[max(1, math.ceil(q / 100 * len(values))) - 1] if values else None


def test_the_figures_equal_those_computed_from_the_api(client, clinic, now) -> None:
    org, agent = clinic
    _build(client, clinic, now)
    r = org.get("/api/v1/analytics", params={"from": "2026-06-01", "to": "2026-06-30"})
    assert r.status_code == 200, r.text
    got, want = r.json(), _expected(org, LATE + timedelta(days=2))
    assert got["timezone"] == "Africa/Casablanca" and got["from"] == "2026-06-01" and len(got["daily"]) == 30
    assert got["conversations"] == want["conversations"] == 5
    assert {d["date"]: d["conversations"] for d in got["daily"] if d["conversations"]} == dict(want["daily"])
    assert dict(want["daily"]) == {"2026-06-10": 3, "2026-06-11": 2}  # 23:30 UTC is the next day in Casablanca
    assert {k: v for k, v in got["conversations_by_channel"].items() if v} == dict(want["by_channel"])
    assert want["by_channel"] == {"web": 4, "whatsapp": 1}
    assert got["handoffs"] == want["handoffs"] >= 1
    assert got["handoff_rate"] == round(want["handoffs"] / 5, 4)
    assert got["automated_resolutions"] == want["resolved"] and want["resolved"] + want["handoffs"] == 5
    assert got["automated_resolution_rate"] == round(want["resolved"] / 5, 4)
    assert got["leads"] == want["leads"] == 1 and got["lead_conversion_rate"] == round(1 / 5, 4)
    assert {d["date"]: d["leads"] for d in got["daily"] if d["leads"]} == dict(want["lead_days"])
    assert got["bookings"] == want["bookings"] == 1
    assert [d["date"] for d in got["daily"] if d["bookings"]] == ["2026-06-11"]
    latencies = _stored_latency()
    assert got["latency_ms"] == {
        "replies": len(latencies),
        "p50": _nearest_rank(latencies, 50),
        "p95": _nearest_rank(latencies, 95),
    }
    assert got["csat"] == {"answers": 0, "average": None, "by_channel": {}}  # no rating yet: none invented
    unanswered = got["unanswered_questions"]
    assert unanswered["total"] == unanswered["sampled"] == len(want["unanswered"]) >= 2
    assert sum(g["count"] for g in unanswered["groups"]) == len(want["unanswered"])
    assert {g["example"] for g in unanswered["groups"]} <= set(want["unanswered"])
    bitcoin = [g for g in unanswered["groups"] if "bitcoin" in g["example"]]
    if sum("bitcoin" in q for q in want["unanswered"]) == 2:  # asked on WhatsApp and on the web: one group
        assert len(bitcoin) == 1 and bitcoin[0]["count"] == 2
    for g in unanswered["groups"]:
        assert g["agent_id"] == agent["id"]
        assert g["add_answer_url"].startswith(f"/agents/{agent['id']}/knowledge?question=")
    top = got["top_questions"]
    assert any("opening hours" in g["example"] for g in top) and all(g["count"] >= 1 for g in top)

    # a sample smaller than the period's questions: the most recently active conversations are read first, then more
    from jasping.analytics import periods, service

    with session_scope(org.id, write=False) as s:
        p = periods.period("2026-06-01", "2026-06-30", "Africa/Casablanca")
        small = service.as_json(service.report(s, org_id=org.id, period=p, filters=service.Filters(), sample=1))
    assert (
        small["unanswered_questions"]["sampled"] == 1 and small["unanswered_questions"]["total"] == unanswered["total"]
    )
    assert small["unanswered_questions"]["groups"][0]["example"] == "Can I pay with bitcoin?"  # the latest decline

    # the channel and agent filters, and the daily series as CSV
    wa = org.get("/api/v1/analytics", params={"from": "2026-06-01", "to": "2026-06-30", "channel": "whatsapp"}).json()
    assert wa["conversations"] == 1 and wa["leads"] == 0 and wa["bookings"] == 0
    same = org.get("/api/v1/analytics", params={"from": "2026-06-01", "to": "2026-06-30", "agent_id": agent["id"]})
    assert same.json()["conversations"] == 5
    text = org.get("/api/v1/analytics.csv", params={"from": "2026-06-10", "to": "2026-06-11"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert [(x["date"], x["conversations"], x["web"], x["whatsapp"]) for x in rows] == [
        ("2026-06-10", "3", "2", "1"),
        ("2026-06-11", "2", "2", "0"),
    ]
    assert rows[1]["leads"] == "1" and rows[1]["bookings"] == "1"
    again = org.get("/api/v1/analytics", params={"from": "2026-06-10", "to": "2026-06-11", "format": "csv"})
    assert again.content == text.content

    # the dashboard page: the same figures, SVG charts, the link to answer, in French too
    _login(org)  # two days later: the log-in has expired
    login = org.client.get("/analytics", params={"from": "2026-06-01", "to": "2026-06-30"})
    assert login.status_code == 200, login.text
    html = login.text
    assert "<svg" in html and "<script" not in html and "style=" not in html
    assert 'href="/analytics" aria-current="page"' in html
    assert f"/agents/{agent['id']}/knowledge?question=" in html
    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get("/analytics", params={"from": "2026-06-01", "to": "2026-06-30"}).text
    assert "Questions les plus posées" in fr and "Conversations par jour" in fr and "Statistiques" in fr
    org.client.cookies.delete("jasping_lang")
    link = next(g["add_answer_url"] for g in unanswered["groups"])
    form = org.client.get(link.split("#")[0]).text
    assert 'id="qa-q"' in form and "value=" in form.split('id="qa-q"')[1].split(">")[0]


def test_dates_are_checked_and_the_default_is_the_last_30_days(client, make_org, now) -> None:
    org = make_org("Dates")
    org.client.patch("/api/v1/organization", json={"timezone": "Africa/Casablanca"})
    now(LATE)  # 00:30 on 11 June in Casablanca: "today" there is the 11th
    got = org.get("/api/v1/analytics").json()
    assert (got["from"], got["to"]) == ("2026-05-13", "2026-06-11") and got["conversations"] == 0
    assert got["handoff_rate"] is None and got["latency_ms"] == {"replies": 0, "p50": None, "p95": None}
    for params, word in [
        ({"from": "2026-06-10", "to": "2026-06-01"}, "before"),
        ({"from": "2025-01-01", "to": "2026-06-01"}, "366"),
        ({"from": "10/06/2026"}, "YYYY-MM-DD"),
        ({"to": "2026-02-30"}, "calendar"),
        ({"from": "9999-12-31"}, "between"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "between"),
        ({"channel": "Web; drop"}, ""),
    ]:
        r = org.get("/api/v1/analytics", params=params)
        assert r.status_code == 422 and word in r.text, (params, r.text)
    assert org.get("/api/v1/analytics", params={"from": "2025-06-12", "to": "2026-06-12"}).status_code == 200
    _login(org)
    page = org.client.get("/analytics", params={"from": "2026-06-10", "to": "2026-06-01"})
    assert page.status_code == 422 and "before" in page.text


def test_other_organizations_agents_are_not_found_and_viewers_may_read(client, make_org, now) -> None:
    mine, theirs = make_org("Mine"), make_org("Theirs")
    agent = theirs.post("/api/v1/agents", json={"name": "Other", "languages": ["en"]}).json()
    r = mine.get("/api/v1/analytics", params={"agent_id": agent["id"]})
    assert r.status_code == 404
    key = mine.client.post("/api/v1/api-keys", json={"name": "viewer", "role": "viewer"})
    assert key.status_code == 201, key.text
    viewer = {"Authorization": f"Bearer {key.json()['secret']}"}
    assert client.get("/api/v1/analytics", headers=viewer).status_code == 200
    assert client.get("/api/v1/analytics.csv", headers=viewer).status_code == 200
    assert client.get("/api/v1/analytics").status_code == 401
