"""Jobs: periodic jobs run as of a simulated time, and jobs cross processes on SQLite and Redis."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import timedelta

import pytest

from conftest import JASPING, REDIS_URL, cli_env, require_service
from jasping import clock
from jasping.db import open_session
from jasping.jobs import schedule, tasks  # noqa: F401 - registers the jobs
from jasping.jobs.models import JobRun
from jasping.security.sessions import LoginSession


def _run_due(db_url: str, now: str, *extra: str) -> dict:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--now", now, "--json", *extra],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return {j["job"]: j for j in json.loads(out.stdout)["jobs"]}


def test_run_due_runs_periodic_jobs_with_the_simulated_time(client, make_org, db_url) -> None:
    org = make_org()
    r = client.post("/api/v1/auth/login", json={"email": org.email, "password": org.password})
    assert r.status_code == 200
    with open_session() as s:
        expiries = sorted(x.expires_at for x in s.query(LoginSession).all())
    assert len(expiries) == 2
    before = (expiries[0] - timedelta(days=1)).isoformat()
    after = (expiries[-1] + timedelta(hours=2)).isoformat()

    first = _run_due(db_url, before)
    assert first["purge_login_sessions"]["result"] == {"deleted": 0}
    assert first["verify_audit_chain"]["result"]["ok"] is True
    again = _run_due(db_url, before)
    assert again["purge_login_sessions"] == {"job": "purge_login_sessions", "skipped": "not due"}

    later = _run_due(db_url, after)
    assert later["purge_login_sessions"]["result"] == {"deleted": 2}
    with open_session() as s:
        assert s.query(LoginSession).count() == 0
        run = s.get(JobRun, "purge_login_sessions")
        assert run.last_due_at == clock.parse_instant(after) and run.runs == 2
    assert client.get("/api/v1/auth/me", cookies=dict(r.cookies)).status_code == 401


def test_a_periodic_job_is_claimed_once(client, db_url) -> None:
    job = schedule.REGISTRY["purge_login_sessions"]
    now = clock.now()
    assert schedule.run_job(job, now) is not None
    assert schedule.run_job(job, now + timedelta(minutes=5)) is None  # not due yet
    assert schedule.run_job(job, now + timedelta(minutes=5), force=True) is not None
    assert schedule.run_job(job, now + timedelta(hours=2)) is not None


def test_run_due_rejects_a_malformed_time(client, db_url) -> None:
    out = subprocess.run(
        [JASPING, "jobs", "run-due", "--now", "next tuesday"],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "ISO-8601" in out.stderr and "Traceback" not in out.stderr


def _ping_through_worker(env: dict[str, str]) -> None:
    worker = subprocess.Popen(
        [JASPING, "worker", "--workers", "2", "--no-periodic"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = subprocess.run(
            [JASPING, "jobs", "ping", "--timeout", "60"], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        answer = json.loads(out.stdout)
        assert answer["ok"] is True and answer["worker_pid"] == worker.pid
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_a_job_enqueued_in_one_process_runs_in_another_sqlite(tmp_path) -> None:
    _ping_through_worker(cli_env(f"sqlite:///{tmp_path / 'jasping.db'}", JASPING_DATA_DIR=str(tmp_path)))


@pytest.mark.redis
def test_a_job_enqueued_in_one_process_runs_in_another_redis(client, db_url) -> None:
    url = require_service(REDIS_URL, "redis")
    _ping_through_worker(cli_env(db_url, JASPING_REDIS_URL=url))


def test_ping_without_a_worker_says_so(client, db_url, tmp_path) -> None:
    env = cli_env(db_url, JASPING_DATA_DIR=str(tmp_path))
    out = subprocess.run(
        [JASPING, "jobs", "ping", "--timeout", "2"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1 and "no worker answered" in out.stderr
