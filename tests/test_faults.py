"""Faults with real processes on PostgreSQL and Redis: a worker killed (SIGKILL) in the middle of deliveries, a web
process killed in the middle of webhooks — no message lost, none sent twice (the provider stand-in deduplicates on
the `Idempotency-Key` each send carries, as the providers' APIs do) — and Redis restarted: the jobs resume.
PostgreSQL restarted: tests/test_faults_postgres.py."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from huey import RedisHuey
from huey.api import Result
from sqlalchemy import text

from cluster import OwnRedis, processes, wait_for
from conftest import JASPING, REDIS_URL, cli_env, require_service
from jasping.db import get_engine
from jasping.jobs import tasks
from test_whatsapp import _payload, _sign, graph, wa  # noqa: F401 - fixtures

LEASE = "2"  # seconds a send is leased: a dead worker's sends are swept again soon after


def _env(db_url: str, stub_url: str, redis_url: str | None = None) -> dict[str, str]:
    return cli_env(
        db_url,
        JASPING_REDIS_URL=redis_url or require_service(REDIS_URL, "redis"),
        JASPING_WHATSAPP_GRAPH_URL=stub_url + "/v21.0",
        JASPING_DELIVERY_LEASE_SECONDS=LEASE,
        JASPING_LOG_LEVEL="ERROR",
    )


def _message(i: int) -> bytes:
    """Customer i's question, with a message id of its own."""
    payload = copy.deepcopy(_payload("text"))
    value = payload["entry"][0]["changes"][0]["value"]
    phone = f"21260000{i:04d}"
    value["contacts"][0]["wa_id"] = phone
    value["messages"][0].update({"from": phone, "id": f"wamid.fault.{i}", "text": {"body": "When are you open?"}})
    return json.dumps(payload).encode()


def _post(url: str, raw: bytes) -> int:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": _sign(raw)}
    try:
        return httpx.post(url + "/webhooks/whatsapp", content=raw, headers=headers, timeout=30).status_code
    except httpx.HTTPError:
        return 0  # the process died under the request: the provider will deliver it again


def _rows(sql: str) -> list:
    with get_engine().connect() as conn:
        return list(conn.execute(text(sql)))


def _sweep(env: dict[str, str], *extra: str) -> None:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--job", "sweep_channels", "--force", "--json", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr


def _one_reply_each(stub, customers: int) -> None:  # noqa: ANN001
    """Every customer got one reply, none two; and every stored reply is marked sent."""
    to = Counter(r.body["to"] for r in stub.accepted)
    assert len(to) == customers, f"{customers - len(to)} customers got no reply"
    assert set(to.values()) == {1}, f"sent twice: {[k for k, v in to.items() if v > 1]}"
    assert len({r.headers["Idempotency-Key"] for r in stub.accepted}) == customers
    states = Counter(state for (state,) in _rows("SELECT state FROM deliveries"))
    assert states == {"sent": customers}, states
    per_conversation = _rows("SELECT count(*) FROM messages GROUP BY conversation_id")
    assert sorted(n for (n,) in per_conversation) == [2] * customers, "one question and one reply each"


def _queue_flushed(url: str) -> None:
    RedisHuey("jasping", url=url).flush()


@pytest.fixture
def pg(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the cluster runs on PostgreSQL")
    return db_url


def test_a_worker_killed_in_the_middle_of_deliveries(client, wa, graph, pg) -> None:  # noqa: F811
    """A worker's three threads are all waiting on the provider when it is killed with SIGKILL; other workers send
    the rest, the sweep sends the dead worker's three again once their lease ends, with the same idempotency keys:
    the provider sends each reply once."""
    customers = 8
    env = _env(pg, graph.url)
    _queue_flushed(env["JASPING_REDIS_URL"])
    for _ in range(3):
        graph.hang(30)  # the first three sends get no answer while the worker lives
    with processes() as procs:
        _, web = procs.web(env)
        doomed = procs.worker(env, "--workers", "3", "--no-periodic")
        assert all(_post(web, _message(i)) == 200 for i in range(customers))
        wait_for(lambda: len(graph.sent()) >= 3, 120, "the worker's threads to be sending")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=20)
        assert len(_rows("SELECT id FROM deliveries WHERE state = 'sending'")) == 3
        for _ in range(2):
            procs.worker(env, "--workers", "2", "--no-periodic")
        wait_for(lambda: len(graph.accepted) >= customers, 240, "the other replies")
        time.sleep(float(LEASE) + 0.5)  # the dead worker's leases run out
        _sweep(env)
        wait_for(lambda: not _rows("SELECT id FROM deliveries WHERE state <> 'sent'"), 120, "every reply sent")
    assert len(graph.sent()) >= customers + 3, "the three lost sends were made again"
    _one_reply_each(graph, customers)


def test_a_web_process_killed_in_the_middle_of_webhooks(client, wa, graph, pg) -> None:  # noqa: F811
    """Webhooks arrive at web process A, which is killed with SIGKILL halfway; the provider delivers again what was
    not acknowledged (and, as Meta may, some of what was) to web process B. Each question is answered once."""
    customers = 24
    env = _env(pg, graph.url)
    _queue_flushed(env["JASPING_REDIS_URL"])
    with processes() as procs:
        a, web_a = procs.web(env)
        _, web_b = procs.web(env)
        procs.worker(env, "--workers", "3", "--no-periodic")
        with ThreadPoolExecutor(6) as pool:
            first = {i: pool.submit(_post, web_a, _message(i)) for i in range(customers)}
            wait_for(lambda: sum(f.done() for f in first.values()) >= customers // 3, 60, "some answers")
            a.send_signal(signal.SIGKILL)
            statuses = {i: f.result() for i, f in first.items()}
        acknowledged = [i for i, status in statuses.items() if status == 200]
        assert 0 < len(acknowledged) < customers, statuses
        for i in range(customers):  # Meta delivers again: every one not acknowledged, and the acknowledged too
            assert _post(web_b, _message(i)) == 200
        done = lambda: len(graph.accepted) >= customers  # noqa: E731
        try:
            wait_for(done, 60, "every reply")
        except AssertionError:  # A died after a commit and before queuing the job: the sweep finds the event
            wait_for(lambda: not _rows("SELECT id FROM deliveries WHERE state <> 'sent'"), 60, "the sends")
            _sweep(env, "--now", (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90))))
            wait_for(done, 120, "every reply, after the sweep")
        wait_for(lambda: not _rows("SELECT id FROM deliveries WHERE state <> 'sent'"), 60, "every send recorded")
    _one_reply_each(graph, customers)
    events = _rows("SELECT provider_id FROM inbound_events WHERE kind = 'message'")
    assert len(events) == customers, "each message stored once"


def test_redis_restarted_jobs_resume(client, pg) -> None:
    """A Redis of the test's own (append-only file on, as docs/operations.md asks) restarted under a running
    worker: a job scheduled before the restart is run after it, and the same worker takes new jobs."""
    redis = OwnRedis()
    redis.start()
    env = cli_env(pg, JASPING_REDIS_URL=redis.url, JASPING_LOG_LEVEL="CRITICAL")
    queue = RedisHuey("jasping", url=redis.url, results=True, utc=True)
    queue._registry.register(tasks.ping.task_class)  # what it enqueues (the worker knows it by name)

    def ping(timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            [JASPING, "jobs", "ping", "--timeout", str(timeout)], env=env, capture_output=True, text=True, timeout=120
        )

    try:
        with processes() as procs:
            worker = procs.worker(env, "--workers", "2", "--no-periodic")
            first = ping(60)
            assert first.returncode == 0, first.stderr
            assert json.loads(first.stdout)["worker_pid"] == worker.pid
            # A job due in 6 s waits in Redis's schedule (persisted: append-only file) while Redis restarts.
            eta = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=6)
            task = tasks.ping.task_class(args=("queued-before-restart",), eta=eta)
            queue.add_schedule(task)
            redis.stop()
            assert ping(2).returncode != 0, "no queue, no job"
            time.sleep(2)  # the worker finds Redis gone, and keeps trying
            redis.start()
            assert Result(queue, task).get(blocking=True, timeout=60)["token"] == "queued-before-restart"
            again = ping(60)
            assert again.returncode == 0, again.stderr
            assert json.loads(again.stdout)["worker_pid"] == worker.pid, "the same worker, not a restarted one"
            assert worker.poll() is None
    finally:
        redis.close()
