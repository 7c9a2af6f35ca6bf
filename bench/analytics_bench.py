"""Analytics and inbox at scale: server time of `GET /api/v1/analytics`, the `/analytics` page and the inbox list
(`/inbox`, `GET /api/v1/inbox`) with N conversations in one organization (issue 13: 100,000, p95 under 300 ms is the
target).

Run from the repository root:

    .venv/bin/python bench/analytics_bench.py [--conversations 100000] [--repeat 20] [--database-url URL] [--json]

Without `--database-url` it uses SQLite in a fresh temporary data directory; with one (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_analytics, which must exist) its public schema is WIPED.
The script migrates, creates an organization (Africa/Casablanca) with an owner and an API key, an agent through the
API, then seeds in batches of 2,000 straight through SQLAlchemy Core (texts sealed with the organization's data key,
as the ORM does): N conversations over the last 90 days (web 70 %, WhatsApp 20 %, SMS 5 %, voice 5 %; 10 % handed
off, 30 % closed), 4 messages each (two questions, two replies: 20 % declines, the rest answers, reply times
log-normal around 150 ms in `meta.total_ms`), leads for 5 % and bookings for 3 % of them. It then times, in this
process through the ASGI app (server time, no network), `repeat` requests of each: the API for the default period
(last 30 days), the API for 90 days, the CSV, the page (logged in) for 30 and 90 days, the inbox page and the inbox
API (the 100 and 50 most recent conversations) — p50/p95/max in ms, after 2 warm-ups each. The very first analytics
request, which builds the organization's daily roll-up, is timed on its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

QUESTIONS = [
    "What are your opening hours on {day}?",
    "Are you open on {day} morning?",
    "How much does a {service} cost?",
    "What is the price of a {service}?",
    "Do you accept {pay}?",
    "Can I pay with {pay}?",
    "Is there parking near the clinic?",
    "Do you take walk-ins for a {service}?",
    "Can I bring my dog to the waiting room?",
    "Do you speak {lang}?",
]
FILL = {
    "day": ["Saturday", "Sunday", "Monday", "Friday"],
    "service": ["check-up", "cleaning", "whitening", "crown"],
    "pay": ["bitcoin", "cheques", "credit cards", "cash"],
    "lang": ["Spanish", "Arabic", "German"],
}
CHANNELS = ["web"] * 14 + ["whatsapp"] * 4 + ["sms", "voice"]
BATCH = 2000


def log(message: str) -> None:
    print(f"[analytics] {message}", file=sys.stderr, flush=True)


def question(rng: random.Random) -> str:
    template = rng.choice(QUESTIONS)
    return template.format(**{k: rng.choice(v) for k, v in FILL.items()})


def seed(org_id: str, agent_id: str, n: int, now: datetime) -> float:
    from sqlalchemy import insert

    from jasping.conversations.models import Contact, Conversation, Message
    from jasping.crypto import Sealed
    from jasping.db import new_id, session_scope
    from jasping.leads.models import Lead
    from jasping.scheduling.models import Appointment

    rng = random.Random(13)
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        contacts, conversations, messages, leads, bookings = [], [], [], [], []
        for _ in range(min(BATCH, n - first)):
            created = now - timedelta(seconds=rng.randint(0, 90 * 86400))
            contact_id, conversation_id = new_id("cot"), new_id("cnv")
            contacts.append({"id": contact_id, "org_id": org_id, "created_at": created, "last_seen_at": created})
            handed, closed = rng.random() < 0.10, rng.random() < 0.30
            conversations.append(
                {
                    "id": conversation_id,
                    "org_id": org_id,
                    "agent_id": agent_id,
                    "contact_id": contact_id,
                    "channel": rng.choice(CHANNELS),
                    "status": "handoff" if handed else "closed" if closed else "open",
                    "needs_human": handed,
                    "message_count": 4,
                    "language": "en",
                    "created_at": created,
                    "last_message_at": created + timedelta(minutes=2),
                }
            )
            for seq in (1, 3):
                at = created + timedelta(seconds=seq * 20)
                declined = rng.random() < 0.20
                reply = "I'm not sure, and I couldn't find this in our information." if declined else "We are open."
                meta = {
                    "intent": "unknown" if declined else "answer",
                    "language": "en",
                    "grounded": not declined,
                    "total_ms": round(rng.lognormvariate(math.log(150), 0.5), 1),
                }
                for offset, role, text, m in ((0, "user", question(rng), {}), (1, "assistant", reply, meta)):
                    messages.append(
                        {
                            "id": new_id("msg"),
                            "org_id": org_id,
                            "conversation_id": conversation_id,
                            "contact_id": None,
                            "seq": seq + offset,
                            "role": role,
                            "text": Sealed(org_id, text),
                            "citations": [],
                            "meta": m,
                            "created_at": at + timedelta(seconds=offset),
                        }
                    )
            if rng.random() < 0.05:
                leads.append(
                    {"id": new_id("led"), "org_id": org_id, "agent_id": agent_id, "conversation_id": conversation_id}
                    | {
                        "contact_id": contact_id,
                        "kind": "lead",
                        "status": "new",
                        "consent": True,
                        "created_at": created,
                    }
                )
            if rng.random() < 0.03:
                start = created + timedelta(days=2)
                bookings.append(
                    {"id": new_id("apt"), "org_id": org_id, "agent_id": agent_id, "conversation_id": conversation_id}
                    | {"contact_id": contact_id, "service_id": "check", "service_name": "Check-up", "start": start}
                    | {"end": start + timedelta(minutes=30), "busy_until": start + timedelta(minutes=30)}
                    | {"status": "booked", "created_at": created}
                )
        with session_scope(org_id) as s:
            s.execute(insert(Contact), contacts)
            s.execute(insert(Conversation), conversations)
            s.execute(insert(Message), messages)
            if leads:
                s.execute(insert(Lead), leads)
            if bookings:
                s.execute(insert(Appointment), bookings)
        if (first // BATCH) % 10 == 0:
            log(f"seeded {first + len(conversations):,} / {n:,} conversations")
    return time.perf_counter() - started


def timed(client, path: str, repeat: int, **kw) -> dict:  # noqa: ANN001
    for _ in range(2):
        r = client.get(path, **kw)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(path, **kw)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    samples.sort()
    p95 = samples[max(0, math.ceil(0.95 * len(samples)) - 1)]
    return {"p50": round(statistics.median(samples), 1), "p95": round(p95, 1), "max": round(samples[-1], 1)}


def roll_up_versus_live(org_id: str, today, repeat: int) -> dict:  # noqa: ANN001
    """`service.report` from the roll-up and counted live (the code before the roll-up), alternated in this process so
    that both see the same load: p50/p95 in ms, for 30 and 90 days."""
    from jasping.analytics import periods, service
    from jasping.db import session_scope

    out: dict = {}
    for days in (30, 90):
        p = periods.period((today - timedelta(days=days - 1)).isoformat(), today.isoformat(), "Africa/Casablanca")
        samples: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeat):
            for live in (False, True):
                with session_scope(org_id, write=False) as s:
                    t = time.perf_counter()
                    service.report(s, org_id=org_id, period=p, filters=service.Filters(), live=live)
                    samples[live].append((time.perf_counter() - t) * 1000)
        for live, values in samples.items():
            values.sort()
            p95 = values[max(0, math.ceil(0.95 * len(values)) - 1)]
            key = f"{'live' if live else 'roll_up'}_{days}_days"
            out[key] = {"p50": round(statistics.median(values), 1), "p95": round(p95, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="jasping-analytics-bench-")
    os.environ.update({"JASPING_DATA_DIR": data_dir, "PYTHONTZPATH": "", "JASPING_LOG_LEVEL": "WARNING"})
    os.environ["JASPING_BLOCK_MODEL_REQUESTS"] = "1"
    if args.database_url:
        os.environ["JASPING_DATABASE_URL"] = args.database_url
        from sqlalchemy import create_engine, text

        with create_engine(args.database_url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from fastapi.testclient import TestClient

    from jasping import clock, migrate
    from jasping.app import create_app
    from jasping.db import session_scope
    from jasping.security.audit import SYSTEM
    from jasping.tenancy import service as tenancy

    migrate.upgrade()
    email, password = "owner@bench.example", "bench-password-2026"
    with session_scope() as s:
        user = tenancy.create_user(s, email=email, password=password)
        org = tenancy.create_organization(s, name="Bench", owner=user, actor=SYSTEM, timezone="Africa/Casablanca")
        secret = tenancy.create_api_key(s, org_id=org.id, name="bench", actor=SYSTEM).secret
        org_id = org.id
    client = TestClient(create_app(), base_url="http://testserver")
    headers = {"Authorization": f"Bearer {secret}"}
    agent = client.post("/api/v1/agents", json={"name": "Amal", "languages": ["en"]}, headers=headers).json()
    seconds = seed(org_id, agent["id"], args.conversations, clock.now())
    if args.database_url:  # the planner's statistics, as autovacuum would gather them after such a load
        from sqlalchemy import text

        with session_scope() as s:
            s.execute(text("ANALYZE"))
    log(f"seeded {args.conversations:,} conversations in {seconds:.0f} s; timing {args.repeat} requests each")
    login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    started = time.perf_counter()
    first = client.get("/api/v1/analytics", headers=headers)
    assert first.status_code == 200, first.text
    build_ms = round((time.perf_counter() - started) * 1000, 1)
    log(f"first request (builds the roll-up): {build_ms:.0f} ms")
    today = clock.now().date()
    last90 = {"from": (today - timedelta(days=89)).isoformat(), "to": today.isoformat()}
    results = {
        "conversations": args.conversations,
        "backend": "postgresql" if args.database_url else "sqlite",
        "seed_seconds": round(seconds, 1),
        "first_request_ms": build_ms,
        "api_30_days": timed(client, "/api/v1/analytics", args.repeat, headers=headers),
        "api_90_days": timed(client, "/api/v1/analytics", args.repeat, headers=headers, params=last90),
        "csv_90_days": timed(client, "/api/v1/analytics.csv", args.repeat, headers=headers, params=last90),
        "page_30_days": timed(client, "/analytics", args.repeat),
        "page_90_days": timed(client, "/analytics", args.repeat, params=last90),
        "inbox_page": timed(client, "/inbox", args.repeat),
        "inbox_api": timed(client, "/api/v1/inbox", args.repeat, headers=headers),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results["in_process"] = roll_up_versus_live(org_id, today, args.repeat)
    figures = client.get("/api/v1/analytics", headers=headers).json()
    results["last_30_days"] = {k: figures[k] for k in ("conversations", "handoffs", "leads", "bookings", "latency_ms")}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['backend']}, {args.conversations:,} conversations (seeded in {seconds:.0f} s):")
    print(f"  first request (builds the roll-up): {build_ms:.0f} ms")
    for key in ("api_30_days", "api_90_days", "csv_90_days", "page_30_days", "page_90_days", "inbox_page", "inbox_api"):
        r = results[key]
        print(f"  {key:13} p50 {r['p50']:7.1f} ms   p95 {r['p95']:7.1f} ms   max {r['max']:7.1f} ms")
    for key, r in results["in_process"].items():
        print(f"  report {key:17} p50 {r['p50']:7.1f} ms   p95 {r['p95']:7.1f} ms (in process)")
    print(f"  last 30 days: {results['last_30_days']}")


if __name__ == "__main__":
    main()
