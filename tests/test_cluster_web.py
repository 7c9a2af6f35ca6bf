"""Two real web processes behind one (imaginary) load balancer, on the same PostgreSQL and Redis: what one process
does reaches the other's clients — a customer's message and a takeover made through process A arrive on the inbox's
live feed (server-sent events) streamed by process B — and a rate limit counts the requests of both."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
import redis

from cluster import processes, wait_for
from conftest import REDIS_URL, cli_env, require_service


@pytest.fixture
def pg(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the cluster runs on PostgreSQL")
    return db_url


def _stream(url: str, api_key: str, events: list[dict], ready: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "text/event-stream"}
    with httpx.stream("GET", url + "/api/v1/inbox/events?timeout=40", headers=headers, timeout=60) as response:
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
                ready.set() if kind == "ready" else None
            elif line.startswith("data: ") and kind == "conversation":
                events.append(json.loads(line[6:]))


def test_two_web_processes_share_live_updates_and_rate_limits(client, make_org, pg) -> None:
    redis_url = require_service(REDIS_URL, "redis")
    redis.Redis.from_url(redis_url).flushdb()  # this test's own index: no counter left by another test
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en"]}).json()
    source = {"type": "text", "title": "Hours", "text": "The clinic is open Monday to Friday from 9am to 6pm."}
    assert org.post(f"/api/v1/agents/{agent['id']}/sources", json=source).status_code in (201, 202)
    env = cli_env(pg, JASPING_REDIS_URL=redis_url, JASPING_WIDGET_SESSIONS_PER_IP="4", JASPING_LOG_LEVEL="ERROR")
    with processes() as procs:
        _, a = procs.web(env)
        _, b = procs.web(env)
        sessions = f"/api/v1/widget/{agent['public_key']}/sessions"
        first = httpx.post(a + sessions, json={"locale": "en"}, timeout=30)
        assert first.status_code == 201, first.text
        conversation_id, token = first.json()["conversation_id"], first.json()["session_token"]

        events: list[dict] = []
        ready = threading.Event()
        listener = threading.Thread(target=_stream, args=(b, org.api_key, events, ready), daemon=True)
        listener.start()
        assert ready.wait(60), "process B's stream started"
        said = httpx.post(
            f"{a}/api/v1/widget/sessions/{conversation_id}/messages",
            json={"text": "When are you open?"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert said.status_code == 200, said.text
        wait_for(lambda: any(e["id"] == conversation_id for e in events), 30, "the message on B's live feed")
        taken = httpx.post(f"{a}/api/v1/conversations/{conversation_id}/takeover", headers=org.headers, timeout=30)
        assert taken.status_code == 200, taken.text
        wait_for(
            lambda: any(e["id"] == conversation_id and e["state"] == "human" for e in events),
            30,
            "the takeover on B's live feed",
        )

        codes = [httpx.post(url + sessions, json={"locale": "en"}, timeout=30).status_code for url in (b, a, b)]
        assert codes == [201, 201, 201], "4 sessions an IP a minute, counted over both processes"
        refused = [httpx.post(url + sessions, json={"locale": "en"}, timeout=30) for url in (a, b)]
        assert [r.status_code for r in refused] == [429, 429]
        assert all(int(r.headers["retry-after"]) > 0 for r in refused)
