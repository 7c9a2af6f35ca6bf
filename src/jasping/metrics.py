"""Prometheus metrics of every process (web, worker): requests, jobs, channel deliveries, model calls, retrieval.

With several processes on one machine (`jasping serve --workers N`, `jasping worker --processes N`), set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by them (wiped before they start): each process writes its
samples there and `/metrics` (or the worker's `--metrics-port`) adds them up, so a counter is the machine's total and
not one process's, whichever process the scrape reaches. Without it each process reports its own (one process per
container: Prometheus adds them up by pod). Labels never hold ids or personal data: route templates, task names,
outcomes, model names.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter("jasping_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "jasping_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS_ENQUEUED = Counter("jasping_jobs_enqueued_total", "Jobs put on the queue", ["task"])
JOBS_DONE = Counter("jasping_jobs_total", "Jobs run, by outcome", ["task", "outcome"])
JOBS_RUNNING = Gauge("jasping_jobs_running", "Jobs being run now", ["task"], multiprocess_mode="livesum")
JOB_SECONDS = Histogram("jasping_job_seconds", "Time a job took to run", ["task"], buckets=SECONDS)
DELIVERIES = Counter("jasping_channel_deliveries_total", "Reply send attempts, by resulting state", ["state"])
LLM_CALLS = Counter("jasping_llm_calls_total", "Model calls, by model and outcome", ["model", "outcome"])
LLM_SECONDS = Histogram("jasping_llm_call_seconds", "Model call latency", ["model"], buckets=SECONDS)
LLM_TOKENS = Counter("jasping_llm_tokens_total", "Model tokens", ["model", "kind"])
LLM_FALLBACKS = Counter("jasping_llm_fallbacks_total", "Turns answered by a fallback after a model failed", ["reason"])
RETRIEVAL_SECONDS = Histogram(
    "jasping_retrieval_seconds", "Knowledge search latency", buckets=(0.001, 0.0025, *SECONDS)
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _QueueCollector:
    """The queue's length, read when scraped (the same for every process: it is the shared queue's)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from jasping.jobs import queue

        family = GaugeMetricFamily("jasping_jobs_queued", "Jobs waiting on the queue", labels=["backend"])
        try:
            family.add_metric([queue.backend_name()], float(queue.huey.pending_count()))
        except Exception:  # noqa: BLE001, S110 - an unreachable queue shows as no sample (and /readyz says so)
            pass
        yield family


class _Everything:
    """This process's metrics (or every process's, in multiprocess mode) and the queue's length."""

    def collect(self) -> Iterator:
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        yield from _QueueCollector().collect()


EVERYTHING = _Everything()


def exposition() -> tuple[bytes, str]:
    """The text exposition of the metrics, with their media type."""
    return generate_latest(EVERYTHING), CONTENT_TYPE_LATEST


def serve(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from other machines
    """Serve the metrics on `port` from a thread of this process (workers, which have no web server)."""
    start_http_server(port, addr=host, registry=EVERYTHING)


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(*labels) if labels else histogram).observe(time.perf_counter() - start)


# ---- jobs, from huey's signals ------------------------------------------------------------------------------
_started: dict[str, tuple[str, float]] = {}  # task id -> (name, start) while it runs in this process
_started_lock = threading.Lock()
_ENDS = ("complete", "error", "timeout", "rate-limited", "locked", "canceled", "interrupted", "retrying")


def watch_jobs(huey) -> None:  # noqa: ANN001 - a huey.Huey
    """Count the jobs this process enqueues and runs (connected once per process)."""
    if getattr(huey, "_jasping_metrics", False):
        return
    huey._jasping_metrics = True

    @huey.signal("enqueued")
    def _enqueued(signal: str, task) -> None:  # noqa: ANN001, ARG001
        JOBS_ENQUEUED.labels(task.name).inc()

    @huey.signal("executing")
    def _executing(signal: str, task) -> None:  # noqa: ANN001, ARG001
        with _started_lock:
            _started[task.id] = (task.name, time.perf_counter())
        JOBS_RUNNING.labels(task.name).inc()

    @huey.signal(*_ENDS)
    def _ended(signal: str, task, *args) -> None:  # noqa: ANN001, ARG001
        with _started_lock:
            began = _started.pop(task.id, None)
        if began is not None:  # "error" then "retrying" for one run: counted once, as the error
            JOBS_RUNNING.labels(began[0]).dec()
            JOB_SECONDS.labels(began[0]).observe(time.perf_counter() - began[1])
            JOBS_DONE.labels(task.name, signal).inc()
