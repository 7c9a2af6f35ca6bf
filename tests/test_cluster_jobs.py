"""Workers of a cluster: periodic jobs once per period across worker processes, graceful shutdown (the job in
hand finishes, or goes back on the queue), `jasping worker --processes N` (a supervisor that replaces a dead
consumer). Real `jasping worker` processes on Redis, with PostgreSQL (and SQLite for the in-process checks)."""

from __future__ import annotations

import random
import re
import secrets
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from huey import RedisHuey

from cluster import free_port, processes, wait_for
from conftest import JASPING, REDIS_URL, cli_env, require_service
from jasping import clock
from jasping.db import session_scope
from jasping.jobs import schedule, tasks
from jasping.jobs.models import JobRun


def test_a_run_picked_up_earlier_in_its_minute_than_the_last_one_still_runs(client, db_url) -> None:
    """Huey fires a per-minute job at each minute; the worker picks its copy up a little after. The period is
    claimed for its minute, not for that instant: with the instant, 12:01:00.3 looked less than a minute after
    12:00:00.5 and the 12:01 run was skipped."""
    job = schedule.REGISTRY["sweep_channels"]
    first = datetime(2031, 5, 6, 12, 0, 0, 500000, tzinfo=UTC)
    second = datetime(2031, 5, 6, 12, 1, 0, 300000, tzinfo=UTC)
    assert schedule.run_job(job, first, due=schedule.slot_of(first)) is not None
    assert schedule.run_job(job, first + timedelta(seconds=20), due=schedule.slot_of(first)) is None  # a copy
    assert schedule.run_job(job, second, due=schedule.slot_of(second)) is not None
    with session_scope(write=False) as s:
        row = s.get(JobRun, "sweep_channels")
        assert row.runs == 2 and clock.as_utc(row.last_due_at) == datetime(2031, 5, 6, 12, 1, tzinfo=UTC)


@pytest.fixture
def pg(db_url: str) -> str:
    """The cluster's database: PostgreSQL (the SQLite run of these process tests would add time, not coverage)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the cluster runs on PostgreSQL")
    return db_url


def _redis_env(db_url: str) -> dict[str, str]:
    return cli_env(db_url, JASPING_REDIS_URL=require_service(REDIS_URL, "redis"), JASPING_LOG_LEVEL="ERROR")


def _queue() -> RedisHuey:
    """This test's handle on the workers' queue (the process's own huey may be the SQLite one)."""
    queue = RedisHuey("jasping", url=require_service(REDIS_URL, "redis"), results=True, utc=True)
    for wrapper in (tasks.run_periodic, tasks.ping):
        queue._registry.register(wrapper.task_class)  # what it may enqueue (the workers know them by name)
    return queue


def test_periodic_jobs_run_once_per_period_across_three_workers(client, pg) -> None:
    """Three worker processes; every periodic job is due for 4 periods of a simulated clock; each period is
    enqueued four times (once per worker's scheduler, as huey does each minute, and a late copy), the copies of a
    period shuffled. Each (job, period) runs exactly once, whichever worker takes it."""
    queue = _queue()
    queue.flush()
    env = _redis_env(pg)
    base = (clock.now() + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    periods = [[(job.name, (base + k * job.every).isoformat()) for job in schedule.REGISTRY.values()] for k in range(4)]
    copies, outcomes = [], []
    with processes() as procs:
        for _ in range(3):
            procs.worker(env, "--workers", "2", "--no-periodic")
        for period in periods:  # a period's copies are all taken before the next period comes (a minute later)
            batch = period * 4
            random.Random(15).shuffle(batch)
            results = [queue.enqueue(tasks.run_periodic.s(name, due)) for name, due in batch]
            outcomes += [r.get(blocking=True, timeout=240) for r in results]
            copies += batch
    ran = Counter((name, due) for (name, due), out in zip(copies, outcomes, strict=True) if "skipped" not in out)
    assert set(ran) == set(copies), "every period of every job ran"
    assert set(ran.values()) == {1}, f"a period ran twice: {[k for k, v in ran.items() if v > 1]}"
    with session_scope(write=False) as s:
        runs = {r.name: r.runs for r in s.query(JobRun).all()}
    assert runs == {name: 4 for name in schedule.REGISTRY}


def _ping(queue: RedisHuey, hold: float = 0.0):  # noqa: ANN202
    token = secrets.token_hex(4)
    return token, queue.enqueue(tasks.ping.s(token, hold))


def _taken(queue: RedisHuey) -> bool:
    return queue.pending_count() == 0


def test_sigterm_lets_the_job_in_hand_finish(client, pg) -> None:
    queue = _queue()
    queue.flush()
    with processes() as procs:
        worker = procs.worker(_redis_env(pg), "--workers", "1", "--no-periodic", "--grace", "30")
        token, result = _ping(queue, hold=3)
        wait_for(lambda: _taken(queue), 60, "the worker to take the job")
        time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        answer = result.get(blocking=True, timeout=30)
        assert answer["token"] == token and answer["pid"] == worker.pid, "finished by the worker being stopped"
        assert worker.wait(timeout=30) == 0


def test_a_job_still_running_when_the_grace_ends_goes_back_on_the_queue(client, pg) -> None:
    queue = _queue()
    queue.flush()
    env = _redis_env(pg)
    with processes() as procs:
        first = procs.worker(env, "--workers", "1", "--no-periodic", "--grace", "0.5")
        token, result = _ping(queue, hold=4)
        wait_for(lambda: _taken(queue), 60, "the worker to take the job")
        time.sleep(0.5)
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
        assert queue.pending_count() == 1, "the interrupted job was queued again"
        second = procs.worker(env, "--workers", "1", "--no-periodic")
        answer = result.get(blocking=True, timeout=60)
        assert answer["token"] == token and answer["pid"] == second.pid


def test_worker_processes_are_supervised(client, pg) -> None:
    """`--processes 3`: three consumers share the queue; one killed with SIGKILL is replaced; SIGTERM to the
    supervisor stops them all."""
    queue = _queue()
    queue.flush()
    with processes() as procs:
        port = free_port()
        supervisor = procs.worker(
            _redis_env(pg), "--processes", "3", "--workers", "1", "--no-periodic", "--metrics-port", str(port)
        )
        pids = set()

        def three_answer() -> bool:
            pending = [_ping(queue, hold=0.5)[1] for _ in range(6)]
            pids.update(r.get(blocking=True, timeout=60)["pid"] for r in pending)
            return len(pids) >= 3

        wait_for(three_answer, 120, "three consumer processes")
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text  # the three processes' sum
        done = re.search(r'^jasping_jobs_total\{outcome="complete",task="ping"\} ([0-9.]+)$', scraped, re.M)
        assert done and float(done[1]) >= 6, scraped[-2000:]
        victim = next(iter(pids))
        subprocess.run(["kill", "-9", str(victim)], check=True)  # noqa: S607
        # Gone (reaped by the supervisor) before the next jobs: one popped by a dying consumer would be lost with it,
        # as with any Redis queue — the outboxes' leases and sweeps cover that for the product's jobs.
        wait_for(lambda: not Path(f"/proc/{victim}").exists(), 30, "the killed consumer to be reaped")
        after: set[int] = set()

        def replaced() -> bool:
            pending = [_ping(queue, hold=0.5)[1] for _ in range(6)]
            after.update(r.get(blocking=True, timeout=60)["pid"] for r in pending)
            return len(after - pids) >= 1

        wait_for(replaced, 120, "a new consumer process")
        assert victim not in after
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=60) == 0
        alive = subprocess.run(["ps", "-o", "pid=", "--ppid", str(supervisor.pid)], capture_output=True, text=True)  # noqa: S607
        assert alive.stdout.strip() == "", "no consumer outlives the supervisor"


def test_run_due_runs_only_the_named_job(client, db_url) -> None:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--job", "sweep_channels", "--json"],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert '"sweep_channels"' in out.stdout and "purge_login_sessions" not in out.stdout
    bad = subprocess.run(
        [JASPING, "jobs", "run-due", "--job", "nope"], env=cli_env(db_url), capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and "no periodic job named nope" in bad.stderr
