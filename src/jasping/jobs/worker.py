"""`jasping worker`: one huey consumer, or a supervisor of several consumer processes (`--processes N`).

Shutdown: SIGTERM (what Kubernetes, Docker and systemd send) is graceful: no new job is taken, the jobs in hand
finish within `grace` seconds; a job still running then is put back on the queue before the process exits (as is one
in hand on SIGINT, which stops at once), so another worker runs it. A job whose process is killed outright (kill -9,
out of memory, lost machine) is never lost either: every outbox (deliveries, emails, lead syncs, calendar writes, file
copies, erasures, inbound events) leases its row while it is worked on, and a periodic sweep queues again what a dead
worker held once the lease ends; the jobs are idempotent (a row's state says what was done).

Periodic jobs: each consumer with the scheduler on enqueues its copy of every due job each minute; the first copy
to claim the period in the database runs it, the others skip (jobs/schedule.py), so any number of workers on any
number of machines run each period once. With `--processes N` only the first process of the group runs the scheduler.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

log = logging.getLogger(__name__)
RESPAWN_PAUSE = 1.0  # seconds before a child that died is started again


def consume(threads: int, *, periodic: bool, grace: float) -> None:
    """Run one consumer with `threads` worker threads until SIGTERM (graceful) or SIGINT (at once)."""
    from jasping.jobs import tasks  # noqa: F401 - registers the tasks and the periodic jobs
    from jasping.jobs.queue import huey

    @huey.signal("interrupted")
    def _requeue(signal_name: str, task) -> None:  # noqa: ANN001, ARG001
        """A job cut short by the shutdown goes back on the queue for another worker."""
        try:
            huey.enqueue(task)
            log.warning("job %s (%s) interrupted by the shutdown: queued again", task.id, task.name)
        except Exception:  # noqa: BLE001 - the queue is gone too: the outbox's sweep will find the row
            log.exception("job %s (%s) interrupted and not queued again", task.id, task.name)

    huey.create_consumer(
        workers=threads,
        worker_type="thread",
        periodic=periodic,
        check_worker_health=True,
        graceful_signal="TERM",
        shutdown_timeout=grace,
    ).run()


def supervise(processes: int, threads: int, *, periodic: bool, grace: float, metrics_port: int | None) -> int:
    """Start `processes` consumer processes, start again one that dies, and stop them all gracefully on SIGTERM
    or SIGINT (forwarded as SIGTERM). Returns the exit code."""
    from jasping import metrics

    env = os.environ.copy()
    if metrics_port is not None and not metrics.multiprocess_dir():
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jasping-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = env["PROMETHEUS_MULTIPROC_DIR"]

    def start(i: int) -> subprocess.Popen:
        args = [sys.executable, "-m", "jasping.cli", "worker", "--workers", str(threads), "--grace", str(grace)]
        args += ["--exit-with-parent"] + ([] if periodic and i == 0 else ["--no-periodic"])
        return subprocess.Popen(args, env=env)  # noqa: S603 - our own command line

    children = [start(i) for i in range(processes)]
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if metrics_port is not None:
        metrics.serve(metrics_port)
    print(f"worker: {processes} processes × {threads} threads, pids {[c.pid for c in children]}", file=sys.stderr)
    while not stopping:
        for i, child in enumerate(children):
            if child.poll() is not None and not stopping:
                log.warning("worker process %s exited with %s: starting another", child.pid, child.returncode)
                _forget(child.pid)
                time.sleep(RESPAWN_PAUSE)
                children[i] = start(i)
        time.sleep(0.2)
    deadline = time.monotonic() + grace + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
        _forget(child.pid)
    return 0


def _forget(pid: int) -> None:
    """Drop a dead process's live gauges (jobs running) from the shared metrics."""
    from jasping import metrics

    if metrics.multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
