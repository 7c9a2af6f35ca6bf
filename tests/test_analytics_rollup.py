"""The analytics roll-up (issue 13, analytics at scale): the figures `GET /api/v1/analytics` reads from the daily
roll-up equal those counted live from the conversations and their messages, before and after each kind of change the
roll-up must follow — a takeover and a hand-back without any message, a customer writing again in an old
conversation, a deleted conversation, the organization's time zone changed, the clock going back; SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from jasping.analytics import periods, service
from jasping.analytics.models import AnalyticsDay
from jasping.conversations.models import Conversation
from jasping.db import session_scope
from test_analytics import DAY1, LATE, _build, _web, clinic, now  # noqa: F401 - fixtures
from test_whatsapp import graph  # noqa: F401 - the Graph API stand-in fixture

JUNE = {"from": "2026-02-01", "to": "2026-06-30"}  # 15 February: Morocco moves to UTC+00:00 at 03:00 for Ramadan


def _both(org, **params) -> tuple[dict, dict]:  # noqa: ANN001
    """The API's figures (from the roll-up) and the same report counted live."""
    asked = JUNE | params
    r = org.get("/api/v1/analytics", params=asked)
    assert r.status_code == 200, r.text
    rolled = r.json()
    rolled.pop("generated_at")
    with session_scope(org.id, write=False) as s:
        p = periods.period(asked["from"], asked["to"], rolled["timezone"])
        f = service.Filters(agent_id=params.get("agent_id"), channel=params.get("channel"))
        live = service.as_json(service.report(s, org_id=org.id, period=p, filters=f, live=True))
    return rolled, live


def _same(org) -> dict:  # noqa: ANN001
    rolled, live = _both(org)
    assert rolled == live
    with session_scope(org.id, write=False) as s:  # read from the roll-up, not counted live after a failed refresh
        counted = s.execute(select(func.sum(AnalyticsDay.conversations)).where(AnalyticsDay.org_id == org.id))
        held = s.execute(select(func.count()).select_from(Conversation).where(Conversation.org_id == org.id))
        assert counted.scalar() == held.scalar()
    for channel in ("web", "whatsapp"):
        assert _both(org, channel=channel)[0] == _both(org, channel=channel)[1]
    return rolled


def _rows(org_id: str) -> int:
    with session_scope(org_id, write=False) as s:
        return s.execute(select(func.count()).select_from(AnalyticsDay).where(AnalyticsDay.org_id == org_id)).scalar()


def test_the_rolled_up_figures_follow_every_change(client, clinic, now) -> None:  # noqa: F811
    org, agent = clinic
    for hour in (1, 10):  # 02:00 local (UTC+01:00) and 10:00 local (UTC+00:00): one local day in two UTC offsets
        now(datetime(2026, 2, 15, hour, tzinfo=UTC))
        _web(client, agent)("What are your opening hours?")
    now(DAY1)
    _build(client, clinic, now)
    first = _same(org)
    assert first["conversations"] == 7 and _rows(org.id) >= 4  # web and WhatsApp, three days
    assert {d["date"]: d["conversations"] for d in first["daily"] if d["date"] == "2026-02-15"} == {"2026-02-15": 2}
    bot = next(c for c in org.get("/api/v1/conversations").json()["conversations"] if not c["needs_human"])

    # a takeover changes no message, only the inbox state: one more handoff, one less automated resolution
    assert org.post(f"/api/v1/conversations/{bot['id']}/takeover").status_code == 200
    taken = _same(org)
    assert taken["handoffs"] == first["handoffs"] + 1
    assert taken["automated_resolutions"] == first["automated_resolutions"] - 1
    assert org.post(f"/api/v1/conversations/{bot['id']}/handback").status_code == 200
    assert _same(org)["handoffs"] == first["handoffs"]

    # a new conversation, then a customer writes again: more replies, the conversation no longer ended
    now(LATE + timedelta(days=3))
    say = _web(client, agent)
    say("What are your opening hours?")
    later = _same(org) | {}
    assert later["latency_ms"]["replies"] > first["latency_ms"]["replies"]
    say("Is parking free?")
    assert _same(org)["latency_ms"]["replies"] > later["latency_ms"]["replies"]

    # a conversation deleted (as retention or an erasure does): counted no more
    with session_scope(org.id) as s:
        s.execute(delete(Conversation).where(Conversation.id == bot["id"]))
    assert _same(org)["conversations"] == later["conversations"] - 1
    with session_scope(org.id, write=False) as s:  # only the miscounted days were counted again, not every day
        february = s.execute(select(AnalyticsDay.created_at).where(AnalyticsDay.day == 20499)).scalar_one()
    assert february < LATE + timedelta(days=3)

    # another time zone: the days are cut again (23:30 UTC is 10 June in UTC, 11 June in Casablanca)
    assert org.client.patch("/api/v1/organization", json={"timezone": "UTC"}, headers=org.headers).status_code == 200
    utc = _same(org)
    assert utc["timezone"] == "UTC" and utc["daily"] != later["daily"]

    # the application clock goes back (a simulated run) and a conversation starts then
    now(DAY1 + timedelta(hours=1))
    _web(client, agent)("Do you accept pets in the waiting room?")
    assert _same(org)["conversations"] == utc["conversations"] + 1
