"""Observability: JSON logs with request ids and no personal data, Prometheus metrics of jobs and deliveries, and
the metrics of several processes added up (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

from jasping import logs
from test_widget_api import _say, widget  # noqa: F401 - the fixture

SECRET_TEXT = "Je m'appelle Jane Doe, mon email est jane.doe@example.org et mon numéro +212 6 12 34 56 78"


def _json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_turn_logs_json_with_request_ids_and_no_personal_data(client, widget) -> None:  # noqa: F811
    _, _, session, headers = widget
    logs.setup("DEBUG", "json")
    (handler,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, logs.RedactingFilter) for f in h.filters)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("jasping.test").info("a customer wrote %s", SECRET_TEXT)  # a careless log call
        reply = client.post(
            f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
            json={"text": SECRET_TEXT + " — quels sont vos horaires ?"},
            headers={**headers, "X-Request-ID": "req-from-the-proxy-1"},
        )
        assert reply.status_code == 200 and reply.headers["x-request-id"] == "req-from-the-proxy-1"
        other = client.get("/healthz")
        assert len(other.headers["x-request-id"]) == 16  # a new one when none was given
    finally:
        handler.setStream(previous)
        logs.setup("INFO", "text")
    lines = _json_lines(stream)
    access = [x for x in lines if x["logger"] == "jasping.access"]
    assert any(x.get("request_id") == "req-from-the-proxy-1" and " 200 " in x["message"] for x in access), access
    assert all({"time", "level", "logger", "message", "pid"} <= set(x) for x in lines)
    turn = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines if x["logger"] != "jasping.test")
    for secret in ("jane.doe", "example.org", "12 34 56 78", "+212", "Jane Doe", "horaires"):
        assert secret not in turn, f"{secret!r} was logged"
    (careless,) = [x["message"] for x in lines if x["logger"] == "jasping.test"]
    assert "[email]" in careless and "[phone]" in careless and "example.org" not in careless


def test_phone_numbers_are_masked_and_times_are_not() -> None:
    assert logs.redact("call +33612345678 or 06 12 34 56 78") == "call [phone] or [phone]"
    kept = "took 1234567 ms at 2026-12-03 19:03:39, order 42"
    assert logs.redact(kept) == kept


def test_jobs_and_deliveries_are_counted(client, make_org) -> None:
    from jasping.jobs import tasks
    from jasping.metrics import exposition

    tasks.ping("metrics")  # immediate mode in tests: enqueued and run here
    body = exposition()[0].decode()
    assert 'jasping_jobs_enqueued_total{task="ping"}' in body
    assert 'jasping_jobs_total{outcome="complete",task="ping"}' in body
    assert "jasping_job_seconds_bucket" in body and "jasping_jobs_queued" in body
    assert client.get("/metrics").status_code == 200


COUNT = """
import sys
from jasping import metrics
metrics.JOBS_ENQUEUED.labels("t").inc(int(sys.argv[1]))
"""


def test_several_processes_add_up_in_multiprocess_mode(tmp_path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "JASPING_DATA_DIR": str(tmp_path)}
    for n in (2, 5):
        subprocess.run([sys.executable, "-c", COUNT, str(n)], env=env, check=True, timeout=120)  # noqa: S603
    read = "from jasping import metrics; print(metrics.exposition()[0].decode())"
    out = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, check=True, timeout=120)  # noqa: S603
    assert 'jasping_jobs_enqueued_total{task="t"} 7.0' in out.stdout
