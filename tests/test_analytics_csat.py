"""CSAT in the analytics (issue 13): the customers' ratings after a conversation was closed, counted by the local day
they were given and by channel, in `GET /api/v1/analytics`, its CSV and the `/analytics` page — compared with the
ratings as stored; SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from jasping.conversations.inbox_models import CsatRating
from jasping.db import new_id, session_scope
from test_analytics import DAY1, LATE, _build, _login, clinic, now  # noqa: F401 - fixtures
from test_whatsapp import graph  # noqa: F401 - the Graph API stand-in fixture

JUNE = {"from": "2026-06-01", "to": "2026-06-30"}


def _rate(org, ratings: list[tuple[str, int]]) -> None:  # noqa: ANN001
    """One rating a conversation: (channel of the conversation wanted, rating), given at DAY1 then LATE."""
    conversations = org.get("/api/v1/conversations", params={"limit": 200}).json()["conversations"]
    with session_scope(org.id) as s:
        for i, (channel, rating) in enumerate(ratings):
            c = [x for x in conversations if x["channel"] == channel][i if channel == "web" else 0]
            at = DAY1 + timedelta(hours=2) if i < 2 else LATE + timedelta(minutes=5)
            s.add(
                CsatRating(
                    id=new_id("csa"), org_id=org.id, conversation_id=c["id"], contact_id=None, agent_id=c["agent_id"],
                    channel=c["channel"], rating=rating, created_at=at,
                )
            )  # fmt: skip


def test_csat_by_channel_and_day_in_the_json_csv_and_page(client, clinic, now) -> None:  # noqa: F811
    org, agent = clinic
    _build(client, clinic, now)
    _rate(org, [("web", 5), ("whatsapp", 2), ("web", 4)])  # 10 June: 5 and 2; 11 June (23:35 UTC on the 10th): 4
    got = org.get("/api/v1/analytics", params=JUNE).json()
    assert got["csat"] == {
        "answers": 3,
        "average": round(11 / 3, 2),
        "by_channel": {"web": {"answers": 2, "average": 4.5}, "whatsapp": {"answers": 1, "average": 2.0}},
    }
    days = {d["date"]: (d["csat_answers"], d["csat_average"]) for d in got["daily"] if d["csat_answers"]}
    assert days == {"2026-06-10": (2, 3.5), "2026-06-11": (1, 4.0)}
    wa = org.get("/api/v1/analytics", params=JUNE | {"channel": "whatsapp"}).json()["csat"]
    assert wa == {"answers": 1, "average": 2.0, "by_channel": {"whatsapp": {"answers": 1, "average": 2.0}}}
    other = org.get("/api/v1/analytics", params={"from": "2026-06-12", "to": "2026-06-30"}).json()["csat"]
    assert other == {"answers": 0, "average": None, "by_channel": {}}

    text = org.get("/api/v1/analytics.csv", params={"from": "2026-06-10", "to": "2026-06-12"}).content.decode(
        "utf-8-sig"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["date"], r["csat_answers"], r["csat_average"]) for r in rows] == [
        ("2026-06-10", "2", "3.5"),
        ("2026-06-11", "1", "4.0"),
        ("2026-06-12", "0", ""),
    ]

    _login(org)
    html = org.client.get("/analytics", params=JUNE).text
    assert "3.67 / 5" in html and "3 ratings" in html and "whatsapp 2.0 (1)" in html
    org.client.cookies.set("jasping_lang", "fr")
    assert "3 notes" in org.client.get("/analytics", params=JUNE).text
