"""Periodic jobs: one registry for huey's scheduler and for `jasping jobs run-due --now`.

A job is due when its interval has passed since the last due time it ran for. Each run is
claimed with a conditional UPDATE of its `job_runs` row (the cluster-wide lock: every worker's
scheduler enqueues its own copy, the first to claim the period runs it, the others skip), and runs
with the clock set to the due time, so time travel in tests and operations is exact.

A scheduled run is claimed for its *slot* (the minute huey's crontab fired, `slot_of`), not for the
instant a worker happened to pick it up: with the instant, a copy picked up 0.3 s past the minute
after one picked up 0.5 s past the previous minute found the job "not due" and the period was
skipped (about one period in two for a per-minute job on a busy queue).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jasping import clock
from jasping.db import session_scope
from jasping.jobs.models import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    cron: dict[str, str]  # huey crontab() arguments for the live schedule
    func: Callable[[], object]
    doc: str = ""


REGISTRY: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every: timedelta, cron: dict[str, str]) -> Callable:
    """Register `func` as a periodic job (decorator)."""

    def wrap(func: Callable[[], object]) -> Callable[[], object]:
        REGISTRY[name] = PeriodicJob(name, every, cron, func, (func.__doc__ or "").strip().splitlines()[0])
        return func

    return wrap


def slot_of(instant: datetime) -> datetime:
    """The minute `instant` falls in: the slot of a run scheduled by huey's crontab (which fires per minute)."""
    return instant.replace(second=0, microsecond=0)


def _claim(job: PeriodicJob, now: datetime, force: bool) -> bool:
    """Take the run of `job` for `now`; False if it is not due or another process has it."""
    with session_scope() as s:
        if s.get(JobRun, job.name) is None:
            try:
                with s.begin_nested():
                    s.add(JobRun(name=job.name, last_due_at=now, runs=0))
                return True
            except IntegrityError:
                pass
        cond = [JobRun.name == job.name]
        if not force:
            cond.append(JobRun.last_due_at <= now - job.every)
        res = s.execute(update(JobRun).where(*cond).values(last_due_at=now))
        return res.rowcount == 1


def run_job(job: PeriodicJob, now: datetime, *, force: bool = False, due: datetime | None = None) -> dict | None:
    """Run `job` as of `now` if it is due (for the period starting at `due`, default `now`); returns its result, or
    None if it was not run (not due, or another process claimed the period)."""
    if not _claim(job, due or now, force):
        return None
    result, error = None, None
    with clock.frozen_at(now):
        try:
            result = job.func()
        except Exception as exc:  # noqa: BLE001 - recorded, then re-raised
            error = f"{type(exc).__name__}: {exc}"
            log.exception("periodic job %s failed", job.name)
        with session_scope() as s:
            row = s.get(JobRun, job.name)
            row.finished_at, row.runs = clock.now(), row.runs + 1
            row.last_result, row.last_error = (None if result is None else str(result)[:2000]), error
    if error:
        raise RuntimeError(f"{job.name}: {error}")
    return {"job": job.name, "result": result}


def run_due(now: datetime | None = None, *, force: bool = False, only: tuple[str, ...] = ()) -> list[dict]:
    """Run every periodic job (those named in `only`, if any) that is due as of `now` (all of them with `force`)."""
    now = now or clock.now()
    out = []
    for job in REGISTRY.values():
        if only and job.name not in only:
            continue
        try:
            ran = run_job(job, now, force=force)
        except RuntimeError as exc:
            out.append({"job": job.name, "error": str(exc)})
            continue
        out.append(ran or {"job": job.name, "skipped": "not due"})
    return out


def status() -> list[dict]:
    with session_scope(write=False) as s:
        rows = {r.name: r for r in s.execute(select(JobRun)).scalars()}
    return [
        {
            "job": j.name,
            "every": str(j.every),
            "doc": j.doc,
            "last_due_at": rows[j.name].last_due_at.isoformat() if j.name in rows else None,
            "runs": rows[j.name].runs if j.name in rows else 0,
        }
        for j in REGISTRY.values()
    ]
