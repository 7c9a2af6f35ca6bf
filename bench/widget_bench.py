"""Widget round trip: a visitor's message through the public widget API to the agent's reply, on SQLite and on
PostgreSQL, with the local chat model and a 20,000-chunk agent.

Run from the repository root:

    .venv/bin/python bench/widget_bench.py [--backend sqlite|postgres|all] [--json] [--profile]

Each backend runs in a subprocess of this script with a fresh `JASPING_DATA_DIR` (a temporary directory) and,
for PostgreSQL, `JASPING_DATABASE_URL` set before jasping is imported. The subprocess migrates, creates an
organization with `jasping org create --json`, starts `jasping serve --no-worker` (one uvicorn process,
`JASPING_LOG_LEVEL=WARNING`), creates an agent (en/fr/ar) with `POST /api/v1/agents`, reads its `public_key`
from `GET /api/v1/agents/{id}`, and bulk-inserts 20,000 chunks for it (the corpus of bench/knowledge_bench.py).
A first message builds the agent's index in the server (timed apart), 20 more warm the code paths. Then,
with questions from /work/shared/data/retrieval/*/queries.jsonl (en/fr/ar, shuffled):

1. round trip: 300 sequential JSON messages over 30 conversations (10 each, one keep-alive client):
   p50/p95/p99, server CPU ms per message (/proc/<pid>/stat), and the server's own timing of each turn
   from the stored replies' `meta` (`retrieval_ms` = prepare_turn, `total_ms` = up to storing the reply);
2. throughput: 50 conversations, each an asyncio loop with its own httpx.AsyncClient (one connection),
   sending messages back-to-back for 15 s after a 3 s warm-up: messages/s, p50/p95/p99, and errors with
   4xx, 429 and 5xx counted apart (a 429 is waited out per `Retry-After`, at most 5 s, so that a rate limit
   would lower the rate instead of being measured);
3. streaming: 100 sequential messages with `Accept: text/event-stream` over 10 conversations: time to the
   response headers, to the first `event: token` and to `event: done`.

Each window records the server's CPU, this process's CPU (the load generator) and the rest of the machine's
busy time ("other processes", PostgreSQL included), as bench/http_bench.py does.

PostgreSQL is `JASPING_BENCH_WIDGET_DATABASE_URL` (default
postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_widget, created if it does not exist; its own
database so that a knowledge benchmark or a test suite running at the same time does not interfere). Its
public schema is WIPED. It is skipped with a note when it does not answer.

Results are printed as a Markdown table (or JSON with --json) and written to bench/results/widget-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import itertools
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
from common import (  # noqa: E402 - after the path set-up
    api,
    fixed,
    machine,
    make_log,
    rounded,
    save_results,
)
from http_bench import (  # noqa: E402 - after the path set-up
    Server,
    base_env,
    free_port,
    jasping_bin,
    machine_busy_seconds,
    own_cpu_seconds,
    pg_libpq_url,
    process_cpu_seconds,
)
from knowledge_bench import (  # noqa: E402
    ensure_postgres,
    latency_stats,
    load_corpora,
    load_queries,
    proc_status,
    scale_chunks,
)

RESULTS_DIR = BENCH / "results"
log = make_log("widget-bench")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_widget"
WIDGET = "/api/v1/widget"
WARMUP_MESSAGES = 20
CHILD_TIMEOUT = 1800
RETRY_AFTER_CAP_S = 5.0


def tree_pids(pid: int) -> list[int]:
    """`pid` and its live descendants (uvicorn's `--workers` children), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of the server and its web worker processes."""
    values = [process_cpu_seconds(p) for p in tree_pids(pid)]
    return sum(v for v in values if v is not None) if values and values[0] is not None else None


def tree_memory(pid: int) -> dict[str, float | None]:
    """RSS of the server's processes added up, and the largest peak RSS (VmHWM) of one of them, in MB."""
    stats = [proc_status(p) for p in tree_pids(pid)]
    rss = [x["rss_mb"] for x in stats if x["rss_mb"] is not None]
    hwm = [x["hwm_mb"] for x in stats if x["hwm_mb"] is not None]
    return {"rss_mb": round(sum(rss), 1) if rss else None, "hwm_mb": max(hwm) if hwm else None, "processes": len(stats)}


class WidgetServer(Server):
    """`jasping serve --no-worker`, or with `--workers N` (uvicorn's supervisor and N web processes) when N > 1."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, web_workers: int = 1) -> None:
        if web_workers <= 1:
            super().__init__(env, port, log_path)
            return
        self.port, self.log_path, self.stop_seconds = port, log_path, None
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [jasping_bin(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
            + ["--workers", str(web_workers)],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"


class CpuWindow:
    """Server CPU (all its processes), this process's CPU and the rest of the machine's busy time over a window."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.t0 = time.perf_counter()
        self.s0 = tree_cpu_seconds(server_pid)
        self.c0 = own_cpu_seconds()
        self.m0 = machine_busy_seconds()

    def close(self, count: int, wall: float | None = None) -> dict:
        s1, c1, m1 = tree_cpu_seconds(self.pid), own_cpu_seconds(), machine_busy_seconds()
        wall = wall or (time.perf_counter() - self.t0)
        server = s1 - self.s0 if s1 is not None and self.s0 is not None else None
        client = c1 - self.c0
        other = None
        if m1 is not None and self.m0 is not None:
            other = max(0.0, (m1 - self.m0) - client - (server or 0.0))
        return {
            "wall_s": rounded(wall, 2),
            "server_cpu_s": rounded(server, 3),
            "server_cpu_ms_per_msg": rounded(server * 1000 / count, 2) if server is not None and count else None,
            "server_cores": rounded(server / wall) if server is not None and wall else None,
            "loadgen_cores": rounded(client / wall) if wall else None,
            "other_cores": rounded(other / wall) if other is not None and wall else None,
        }


def status_kind(key: str) -> str:
    if key.isdigit():
        code = int(key)
        if 200 <= code < 300:
            return "ok"
        return "429" if code == 429 else ("4xx" if code < 500 else "5xx")
    return "exception"


# ---- the 20,000-chunk agent (the bulk insert of knowledge_bench.py's search-at-scale part) ----------------------
def insert_chunks(
    org_id: str, agent_id: str, texts: list[dict], n_sources: int = 20, docs_per_source: int = 50
) -> None:
    from sqlalchemy import insert

    from jasping import clock
    from jasping.db import new_id, session_scope
    from jasping.knowledge import service
    from jasping.knowledge.ingest.chunker import normalized_hash
    from jasping.knowledge.models import Chunk, Document
    from jasping.knowledge.schemas import TextSourceCreate
    from jasping.security.audit import Actor

    now = clock.now()
    per_source = -(-len(texts) // n_sources)
    with session_scope(org_id) as s:
        source_ids = []
        for i in range(n_sources):
            part = texts[i * per_source : (i + 1) * per_source]
            src = service.add_from_json(
                s,
                agent_id=agent_id,
                source_in=TextSourceCreate(type="text", title=f"Knowledge part {i + 1}", text=part[0]["text"]),
                actor=Actor("cli", None),
                enqueue=False,
            )
            src.state, src.progress, src.ingested_at = "ready", 100, now
            src.chunk_count, src.document_count = len(part), docs_per_source
            source_ids.append(src.id)
        s.flush()
        doc_rows, chunk_rows = [], []
        for i, source_id in enumerate(source_ids):
            part = texts[i * per_source : (i + 1) * per_source]
            doc_ids = [new_id("doc") for _ in range(docs_per_source)]
            for j, doc_id in enumerate(doc_ids):
                mine = part[j::docs_per_source]
                doc_rows.append(
                    {
                        "id": doc_id,
                        "org_id": org_id,
                        "source_id": source_id,
                        "agent_id": agent_id,
                        "title": f"Knowledge part {i + 1}, document {j + 1}",
                        "url": None,
                        "language": mine[0]["lang"] if mine else None,
                        "pages": None,
                        "chars": sum(len(c["text"]) for c in mine),
                        "created_at": now,
                    }
                )
            for ordinal, c in enumerate(part):
                chunk_rows.append(
                    {
                        "id": new_id("chk"),
                        "org_id": org_id,
                        "document_id": doc_ids[ordinal % docs_per_source],
                        "source_id": source_id,
                        "agent_id": agent_id,
                        "ordinal": ordinal,
                        "text": c["text"],
                        "heading_path": [c["heading"]],
                        "page": None,
                        "language": c["lang"],
                        "text_hash": normalized_hash(c["text"]),
                        "created_at": now,
                    }
                )
        s.execute(insert(Document), doc_rows)
        for start in range(0, len(chunk_rows), 5000):
            s.execute(insert(Chunk), chunk_rows[start : start + 5000])
        service.bump_version(s, agent_id)


# ---- the visitor's side ----------------------------------------------------------------------------------------
_visitors = itertools.count()


def visitor_ip() -> str:
    """A loopback source address of its own for each visitor (127.0.1.1, 127.0.1.2, …): the widget's session
    limit is per client IP, and on a real site every visitor has their own. Linux routes all of 127/8 to lo."""
    n = next(_visitors)
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def message_body(text: str) -> dict:
    """What widget.js sends: the text and a fresh client_message_id (a retry with the same id is not stored twice)."""
    return {"text": text, "client_message_id": "m" + uuid.uuid4().hex[:16]}


class Visitor:
    """One website visitor: a keep-alive client from its own source address, and its widget session."""

    def __init__(self, base: str, public_key: str, timeout: float = 120.0) -> None:
        self.ip = visitor_ip()
        transport = httpx.HTTPTransport(local_address=self.ip, limits=httpx.Limits(max_connections=1))
        self.client = httpx.Client(base_url=base, transport=transport, timeout=timeout)
        t0 = time.perf_counter()
        r = self.client.post(f"{WIDGET}/{public_key}/sessions", json={})
        self.session_ms = (time.perf_counter() - t0) * 1000
        if r.status_code != 201:
            self.client.close()
            raise RuntimeError(f"POST {WIDGET}/…/sessions from {self.ip} answered {r.status_code}: {r.text[:500]}")
        body = r.json()
        self.conv, self.token = body["conversation_id"], body["session_token"]

    def send(self, text: str) -> tuple[httpx.Response, float]:
        t0 = time.perf_counter()
        r = self.client.post(
            f"{WIDGET}/sessions/{self.conv}/messages",
            json=message_body(text),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return r, (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.client.close()


def sse_message(v: Visitor, text: str) -> dict:
    """One streamed message: ms to the headers, the first `event: token` and `event: done`, and what came."""
    headers = {"Authorization": f"Bearer {v.token}", "Accept": "text/event-stream"}
    out: dict = {"status": None, "headers_ms": None, "first_token_ms": None, "done_ms": None, "tokens": 0}
    out["events"] = events = []
    t0 = time.perf_counter()
    with v.client.stream("POST", f"{WIDGET}/sessions/{v.conv}/messages", json=message_body(text), headers=headers) as r:
        out["status"] = r.status_code
        out["headers_ms"] = (time.perf_counter() - t0) * 1000
        if r.status_code != 200 or "text/event-stream" not in r.headers.get("content-type", ""):
            out["body"] = r.read().decode(errors="replace")[:300]
            return out
        for line in r.iter_lines():
            if not line.startswith("event:"):
                continue
            name = line[6:].strip()
            ms = (time.perf_counter() - t0) * 1000
            events.append(name)
            if name == "token":
                out["tokens"] += 1
                if out["first_token_ms"] is None:
                    out["first_token_ms"] = ms
            elif name == "done":
                out["done_ms"] = ms
    return out


async def throughput(
    base: str,
    public_key: str,
    conversations: int,
    texts: list[str],
    *,
    seconds: float,
    warmup: float,
    server_pid: int,
    session_messages: int,
) -> dict:
    """One loop per conversation (visitor), each with its own AsyncClient (one connection, its own source
    address); it starts a session during the warm-up, then sends messages back-to-back."""
    lat: list[float] = []
    counts: dict[str, int] = {}
    session_counts: dict[str, int] = {}
    warm_counts: dict[str, int] = {}
    samples: list[str] = []
    retry_waits: list[float] = []
    it = itertools.cycle(texts)
    # the clients are made before the clock starts: making one builds a TLS context (~30 ms of CPU), on the event
    # loop — 50 of them on a loaded machine held the loop past the whole window (0 msg/s measured)
    clients = [
        httpx.AsyncClient(
            base_url=base,
            transport=httpx.AsyncHTTPTransport(
                local_address=visitor_ip(), limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
            ),
            timeout=httpx.Timeout(60.0),
        )
        for _ in range(conversations)
    ]
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    last_done = measure_from
    completed_in_window = 0
    window: dict = {}

    async def start_session(c: httpx.AsyncClient) -> tuple[str, str] | None:
        try:
            r = await c.post(f"{WIDGET}/{public_key}/sessions", json={})
            key = str(r.status_code)
        except Exception as exc:  # noqa: BLE001 - counted
            r, key = None, type(exc).__name__
        session_counts[key] = session_counts.get(key, 0) + 1
        if r is None or r.status_code != 201:
            if len(samples) < 5:
                samples.append(f"session: {key}: {r.text[:300] if r is not None else ''}")
            return None
        return r.json()["conversation_id"], r.json()["session_token"]

    async def loop(client: httpx.AsyncClient) -> None:
        nonlocal last_done, completed_in_window
        async with client as c:
            session = await start_session(c)
            sent = 0
            while session is not None:
                if session_messages and sent >= session_messages:
                    session, sent = await start_session(c), 0
                    if session is None:
                        return
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                recorded = t0 >= measure_from
                r = None
                try:
                    r = await c.post(
                        f"{WIDGET}/sessions/{session[0]}/messages",
                        json=message_body(next(it)),
                        headers={"Authorization": f"Bearer {session[1]}"},
                    )
                    key = str(r.status_code)
                    detail = "" if r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:300]}"
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    key, detail = type(exc).__name__, f"{type(exc).__name__}: {exc!r}"[:300]
                t1 = time.perf_counter()
                sent += 1
                if not recorded:
                    warm_counts[key] = warm_counts.get(key, 0) + 1
                if measure_from <= t1 < stop_at and status_kind(key) == "ok":
                    completed_in_window += 1
                if recorded:
                    last_done = max(last_done, t1)
                    counts[key] = counts.get(key, 0) + 1
                    if status_kind(key) == "ok":
                        lat.append((t1 - t0) * 1000)
                    elif len(samples) < 5 and detail not in samples:
                        samples.append(detail)
                if r is not None and r.status_code == 429:  # wait it out: lower this conversation's rate
                    try:
                        wait = float(r.headers.get("retry-after", "1"))
                    except ValueError:
                        wait = 1.0
                    wait = min(max(wait, 0.1), RETRY_AFTER_CAP_S)
                    retry_waits.append(wait)
                    await asyncio.sleep(wait)

    async def mark() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        window["cpu"] = CpuWindow(server_pid)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        window["closed"] = window["cpu"].close(1, seconds)

    marker = asyncio.ensure_future(mark())
    await asyncio.gather(*(loop(c) for c in clients))
    await marker
    wall = max(stop_at, last_done) - measure_from
    cpu = window["closed"]
    cpu.pop("wall_s", None)
    total = sum(counts.values())
    if cpu.get("server_cpu_s") is not None and total:
        cpu["server_cpu_ms_per_msg"] = rounded(cpu["server_cpu_s"] * 1000 / total, 2)
    kinds = {"ok": 0, "4xx": 0, "429": 0, "5xx": 0, "exception": 0}
    for key, n in counts.items():
        kinds[status_kind(key)] += n
    return {
        "conversations": conversations,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "wall_s": rounded(wall, 2),
        "messages": total,
        "ok": kinds["ok"],
        "msg_per_s": rounded(completed_in_window / seconds, 1),  # replies completed within the window
        "msg_per_s_started": rounded(kinds["ok"] / wall, 1) if wall > 0 else None,  # started in it, until the last ends
        **latency_stats(lat),
        "errors": total - kinds["ok"],
        "errors_4xx": kinds["4xx"],
        "errors_429": kinds["429"],
        "errors_5xx": kinds["5xx"],
        "exceptions": kinds["exception"],
        "status_counts": counts,
        "error_samples": samples,
        "retry_after_waits": len(retry_waits),
        "session_starts": session_counts,
        "warmup_status_counts": warm_counts,
        **cpu,
    }


async def echo_floor(base: str, connections: int, seconds: float, server_pid: int) -> dict:
    """The same client shape (`connections` loops, one connection each) on `GET /healthz` (a bare JSON answer through
    the same server, middleware included): the floor a widget turn is compared with. The clients are made and
    connected before the window (making an httpx client builds a TLS context: ~30 ms of CPU each)."""
    done, lat = 0, []
    clients = [httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30.0)) for _ in range(connections)]
    await asyncio.gather(*(c.get("/healthz") for c in clients))  # connected, keep-alive

    async def loop(c: httpx.AsyncClient) -> None:
        nonlocal done
        while (t0 := time.perf_counter()) < stop_at:
            r = await c.get("/healthz")
            if r.status_code == 200:
                done += 1
                lat.append((time.perf_counter() - t0) * 1000)

    stop_at = time.perf_counter() + seconds
    cpu = CpuWindow(server_pid)
    try:
        await asyncio.gather(*(loop(c) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    window = cpu.close(max(done, 1), seconds)
    return {"connections": connections, "req_per_s": rounded(done / seconds, 1), **latency_stats(lat), **window}


# ---- in-process profile of a turn (--profile) ---------------------------------------------------------------------
def profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def profile_turns(org_id: str, sessions: list[tuple[str, str]], texts: list[str]) -> dict:
    """The widget's message endpoint function (`send_message`: token check, rate limits, replay check, turn,
    reply) called in this process with a request scope and a write session, under cProfile. Routing, the
    thread-pool hops and the response's serialisation by FastAPI are not in it."""
    from starlette.requests import Request

    from jasping.db import open_session
    from jasping.web.widget import api as widget_api

    def turn(conv_id: str, token: str, text: str) -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": f"{WIDGET}/sessions/{conv_id}/messages",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.9.9", 50000),
        }
        db = open_session(None, write=True)
        try:
            out = widget_api.send_message(
                conversation_id=conv_id, body=widget_api.MessageIn(**message_body(text)), request=Request(scope), db=db
            )
            if hasattr(out, "model_dump_json"):
                out.model_dump_json()
            db.commit()
        finally:
            db.close()

    t0 = time.perf_counter()
    turn(*sessions[0], texts[0])  # builds the index in this process
    build_s = time.perf_counter() - t0
    half = (len(texts) - 1) // 2
    plain, profiled = texts[1 : 1 + half], texts[1 + half :]
    t0, c0 = time.perf_counter(), own_cpu_seconds()
    for i, text in enumerate(plain):  # unprofiled, for the real cost per call
        turn(*sessions[i % len(sessions)], text)
    wall, cpu = time.perf_counter() - t0, own_cpu_seconds() - c0
    # wall clock by default (cheap to read: shares unbiased, noisy on a busy machine); WIDGET_BENCH_PROFILE_TIMER=cpu
    # counts CPU time instead, at the price of a system call per function call that inflates call-heavy code
    cpu_timer = os.environ.get("WIDGET_BENCH_PROFILE_TIMER") == "cpu"
    profiler = cProfile.Profile(time.process_time) if cpu_timer else cProfile.Profile()
    profiler.enable()
    for i, text in enumerate(profiled):
        turn(*sessions[(i + half) % len(sessions)], text)
    profiler.disable()
    top = profile_text(profiler)
    if os.environ.get("WIDGET_BENCH_PROFILE_OUT"):  # the raw pstats, for a breakdown by area
        profiler.dump_stats(os.environ["WIDGET_BENCH_PROFILE_OUT"])
    log(f"profile of {len(profiled)} in-process turns:\n{top}")
    return {
        "turns_timed": len(plain),
        "turns_profiled": len(profiled),
        "first_turn_s": rounded(build_s),
        "ms_per_call_unprofiled": rounded(wall * 1000 / len(plain)),
        "cpu_ms_per_call_unprofiled": rounded(cpu * 1000 / len(plain)),
        "top": top,
    }


# ---- first message after a restart (--restarts) -------------------------------------------------------------------
def after_restarts(
    tmp: Path, public_key: str, texts: list[str], count: int, wait_s: float, web_workers: int = 1
) -> dict:
    """Stop-and-start the server `count` times; each time, the first message is sent as soon as `/healthz` answers
    (and once more, after `wait_s` seconds of quiet); then 4 more messages. The server's peak RSS (VmHWM) covers
    the start-up index build."""
    runs, texts = [], itertools.cycle(texts)
    for i in range(count + (1 if wait_s > 0 else 0)):
        waited = wait_s if i == count else 0.0
        t0 = time.perf_counter()
        server = WidgetServer(dict(os.environ), free_port(), tmp / f"server-restart-{i}.log", web_workers)
        try:
            server.wait_healthy()
            healthy_s = time.perf_counter() - t0
            rss_at_health = tree_memory(server.proc.pid)["rss_mb"]
            time.sleep(waited)
            v = Visitor(server.base, public_key)
            r, first_ms = v.send(next(texts))
            later = [v.send(next(texts))[1] for _ in range(4)]
            v.close()
            mem = tree_memory(server.proc.pid)
            runs.append(
                {
                    "waited_s": waited,
                    "start_to_healthz_s": rounded(healthy_s),
                    "first_message_status": r.status_code,
                    "first_message_ms": rounded(first_ms),
                    "next_4_messages_ms": [rounded(x) for x in later],
                    "rss_at_healthz_mb": rss_at_health,
                    "rss_mb": mem["rss_mb"],
                    "hwm_mb": mem["hwm_mb"],
                    "log_tracebacks": server.tail(10**6).count("Traceback"),
                }
            )
        finally:
            server.stop()
    immediate = [x["first_message_ms"] for x in runs if not x["waited_s"]]
    return {"restarts": runs, "first_message_immediate": latency_stats(immediate)}


# ---- the child: one backend ----------------------------------------------------------------------------------


def child(backend: str, out_path: Path, args: argparse.Namespace) -> None:
    """Runs with the JASPING_* environment already set by the parent."""
    result: dict = {"backend": backend, "problems": [], "setup": {}}
    tmp = Path(os.environ["JASPING_DATA_DIR"]).parent
    server: Server | None = None
    server_cpu: float | None = None
    marks = {"wall": time.monotonic(), "machine": machine_busy_seconds(), "self": own_cpu_seconds()}

    def save() -> None:
        out_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    try:
        from sqlalchemy import select

        from jasping import migrate
        from jasping.config import get_settings
        from jasping.conversations.models import Message
        from jasping.db import session_scope

        settings = get_settings()
        result["database"] = "PostgreSQL" if not settings.is_sqlite else "SQLite (fresh temporary JASPING_DATA_DIR)"
        result["llm"] = settings.llm
        result["embeddings"] = settings.embeddings
        log(f"{backend}: migrate")
        migrate.upgrade()
        proc = subprocess.run(
            [jasping_bin(), "org", "create", "--name", "Widget Bench", "--owner-email", "widget@example.org", "--json"],
            env=dict(os.environ),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"jasping org create exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        created = json.loads(proc.stdout.strip().splitlines()[-1])
        org_id, auth = created["org_id"], {"Authorization": f"Bearer {created['api_key']}"}

        port = free_port()
        log(f"{backend}: jasping serve --no-worker on 127.0.0.1:{port}")
        server = WidgetServer(dict(os.environ), port, tmp / "server.log", args.web_workers)
        server.wait_healthy()
        pid = server.proc.pid
        with httpx.Client(base_url=server.base, headers=auth, timeout=60.0) as admin:
            agent_id = api(
                admin, "POST", "/api/v1/agents", 201, json={"name": "Widget", "languages": ["en", "fr", "ar"]}
            )["id"]
            public_key = api(admin, "GET", f"/api/v1/agents/{agent_id}", 200)["public_key"]

        log(f"{backend}: inserting {args.chunks} chunks")
        t0 = time.perf_counter()
        texts = scale_chunks(load_corpora(), args.chunks)
        insert_chunks(org_id, agent_id, texts)
        result["setup"]["chunks"] = len(texts)
        result["setup"]["bulk_insert_s"] = rounded(time.perf_counter() - t0)
        del texts
        queries = load_queries()
        pool = [q["text"] for q in queries]
        lang_of = {q["text"]: q["lang"] for q in queries}
        n1, n3 = args.conversations * args.messages_per_conversation, args.sse_messages
        part1_q, part3_q = pool[:n1], pool[n1 : n1 + n3]
        warm_q = pool[n1 + n3 : n1 + n3 + WARMUP_MESSAGES + 1]
        part2_q = pool[n1 + n3 + WARMUP_MESSAGES + 1 :]
        save()

        result["rate_limits_per_minute"] = {
            "sessions_per_ip": settings.widget_sessions_per_ip,
            "messages_per_conversation": settings.widget_messages_per_conversation,
            "messages_per_agent": settings.widget_messages_per_agent,
        }
        # no API key from here on: the public widget endpoints, each visitor from its own source address
        # first message: the server builds the agent's index; then the code paths warm up
        warm = Visitor(server.base, public_key)
        r, ms = warm.send(warm_q[0])
        if r.status_code != 200:
            raise RuntimeError(f"first message answered {r.status_code}: {r.text[:500]}")
        result["setup"]["first_message_s"] = rounded(ms / 1000)
        for text in warm_q[1:]:
            warm.send(text)
        warm.close()
        result["setup"]["server_rss_after_warmup_mb"] = tree_memory(pid)["rss_mb"]
        save()

        # 1. sequential JSON round trips
        log(f"{backend}: {n1} sequential messages over {args.conversations} conversations")
        visitors = [Visitor(server.base, public_key) for _ in range(args.conversations)]
        by_lang: dict[str, list[float]] = {}
        lat, errors, samples, grounded, hints = [], {"4xx": 0, "429": 0, "5xx": 0}, [], 0, {}
        cpu = CpuWindow(pid)
        for i, text in enumerate(part1_q):
            r, ms = visitors[i // args.messages_per_conversation].send(text)
            if r.status_code == 200:
                lat.append(ms)
                by_lang.setdefault(lang_of[text], []).append(ms)
                reply = r.json()["reply"]
                grounded += bool(reply["citations"])
                hint = reply["input_hint"]["type"]
                hints[hint] = hints.get(hint, 0) + 1
            else:
                errors[status_kind(str(r.status_code))] += 1
                if len(samples) < 5:
                    samples.append(f"HTTP {r.status_code}: {r.text[:300]}")
        window = cpu.close(len(part1_q))
        for v in visitors:
            v.close()
        # the server's own timing of each turn, stored in the reply's meta
        conv_ids = [v.conv for v in visitors]
        with session_scope(org_id, write=False) as s:
            rows = s.execute(
                select(Message.meta).where(Message.conversation_id.in_(conv_ids), Message.role == "assistant")
            ).scalars()
            metas = [m or {} for m in rows]
        intents: dict[str, int] = {}
        for m in metas:
            intents[str(m.get("intent"))] = intents.get(str(m.get("intent")), 0) + 1
        result["round_trip"] = {
            "conversations": args.conversations,
            "messages": len(part1_q),
            **latency_stats(lat),
            "by_language": {k: latency_stats(v) for k, v in sorted(by_lang.items())},
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "error_samples": samples,
            "session_start": latency_stats([v.session_ms for v in visitors]),
            "replies_with_citations": grounded,
            "input_hints": hints,
            "intents": intents,
            "server_prepare_turn": latency_stats([m["retrieval_ms"] for m in metas if "retrieval_ms" in m]),
            "server_turn_total": latency_stats([m["total_ms"] for m in metas if "total_ms" in m]),
            **window,
        }
        if sum(errors.values()):
            result["problems"].append(f"round trip: {sum(errors.values())} errors, e.g. {samples}")
        save()

        # 2. throughput
        log(
            f"{backend}: {args.concurrency} concurrent conversations, {args.warmup:.0f} s warm-up + "
            f"{args.seconds:.0f} s"
        )
        result["throughput"] = tp = asyncio.run(
            throughput(
                server.base,
                public_key,
                args.concurrency,
                part2_q,
                seconds=args.seconds,
                warmup=args.warmup,
                server_pid=pid,
                session_messages=args.session_messages,
            )
        )
        tp["echo_floor"] = asyncio.run(echo_floor(server.base, args.concurrency, args.echo_seconds, pid))
        tp["ratio_to_echo"] = rounded(tp["msg_per_s"] / tp["echo_floor"]["req_per_s"], 3) if tp["msg_per_s"] else None
        if tp["errors"] or set(tp["session_starts"]) - {"201"} or set(tp["warmup_status_counts"]) - {"200"}:
            result["problems"].append(
                f"throughput: {tp['errors']} errors (4xx {tp['errors_4xx']}, 429 {tp['errors_429']}, "
                f"5xx {tp['errors_5xx']}, exceptions {tp['exceptions']}), session starts {tp['session_starts']}, "
                f"messages during the warm-up {tp['warmup_status_counts']}, "
                f"e.g. {tp['error_samples']}"
            )
        save()

        # 3. time to first streamed byte
        log(f"{backend}: {n3} sequential streamed messages")
        n_conv3 = max(1, -(-n3 // args.messages_per_conversation))
        visitors = [Visitor(server.base, public_key) for _ in range(n_conv3)]
        sse_message(visitors[0], warm_q[1])  # the streaming path warm
        streams = []
        cpu = CpuWindow(pid)
        for i, text in enumerate(part3_q):
            streams.append(sse_message(visitors[i // args.messages_per_conversation], text))
        window = cpu.close(len(part3_q))
        for v in visitors:
            v.close()
        ok = [x for x in streams if x["status"] == 200 and x["done_ms"] is not None and x["first_token_ms"] is not None]
        bad = [x for x in streams if x not in ok]
        result["streaming"] = {
            "messages": len(streams),
            "conversations": n_conv3,
            "complete": len(ok),
            "headers": latency_stats([x["headers_ms"] for x in ok]),
            "first_token": latency_stats([x["first_token_ms"] for x in ok]),
            "done": latency_stats([x["done_ms"] for x in ok]),
            "token_events_mean": rounded(statistics.fmean(x["tokens"] for x in ok), 1) if ok else None,
            "single_token_replies": sum(1 for x in ok if x["tokens"] == 1),
            "errors": len(bad),
            "error_samples": [{k: x.get(k) for k in ("status", "events", "body")} for x in bad[:5]],
            **window,
        }
        if bad:
            result["problems"].append(f"streaming: {len(bad)} incomplete or failed streams")
        result["server_memory"] = tree_memory(pid)
        save()

        if args.profile:
            log(f"{backend}: in-process cProfile of {args.profile_turns} turns")
            visitors = [Visitor(server.base, public_key) for _ in range(10)]
            for v in visitors:
                v.close()
            sessions = [(v.conv, v.token) for v in visitors]
            result["profile"] = profile_turns(org_id, sessions, part2_q[-(args.profile_turns + 1) :])
            save()

        if args.restarts:
            log(f"{backend}: first message after {args.restarts} restarts (+1 after {args.restart_wait:.0f} s)")
            server.stop()
            result["restart"] = after_restarts(
                tmp, public_key, part1_q, args.restarts, args.restart_wait, args.web_workers
            )
            if any(x["first_message_status"] != 200 or x["log_tracebacks"] for x in result["restart"]["restarts"]):
                result["problems"].append(f"restart: {result['restart']['restarts']}")
            save()

    except Exception as exc:  # noqa: BLE001 - reported to the parent
        import traceback

        result["problems"].append(f"{type(exc).__name__}: {exc}")
        result["traceback"] = traceback.format_exc()
        log(f"{backend}: FAILED: {exc}")
    finally:
        if server is not None:
            server_cpu = tree_cpu_seconds(server.proc.pid)
        wall = time.monotonic() - marks["wall"]
        busy = machine_busy_seconds()
        if busy is not None and marks["machine"] is not None and wall > 0:
            other = busy - marks["machine"] - (own_cpu_seconds() - marks["self"]) - (server_cpu or 0.0)
            result["other_processes_cores"] = rounded(max(0.0, other) / wall)
        result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        if server is not None:
            code = server.stop()
            whole = server.tail(10**6)
            result["server_exit_code"] = code
            result["server_log_tail"] = server.tail() or None
            result["server_log_counts"] = {
                "tracebacks": whole.count("Traceback (most recent call last)"),
                "database_is_locked": len(re.findall(r"^\S*OperationalError: .*database is locked", whole, re.M)),
                "error_lines": len(re.findall(r"\bERROR\b", whole)),
            }
            summary = [ln for ln in whole.splitlines() if re.search(r"\bERROR\b|^[\w.]+(Error|Exception)\b", ln)]
            result["server_log_errors"] = summary[:30]
            if code not in (0, -signal.SIGTERM):
                result["problems"].append(f"server did not stop cleanly (exit code {code})")
            if re.search(r"Traceback|ERROR|Exception", whole):
                result["problems"].append(
                    f"server log shows errors: {result['server_log_counts']} (see server_log_tail)"
                )
        save()


# ---- the parent ----------------------------------------------------------------------------------------------
def run_backend(backend: str, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"jasping-widget-bench-{backend}-"))
    out_path = tmp / "result.json"
    try:
        env = base_env(tmp / "data")
        env["JASPING_EMBEDDINGS"] = args.embeddings
        env["JASPING_WEB_THREADS"] = str(args.web_threads)
        # A visitor of the benchmark sends far more than a person would (up to several messages a second): the
        # per-conversation and per-agent limits are raised so that they measure the turn, not the limiter
        env["JASPING_WIDGET_MESSAGES_PER_CONVERSATION"] = str(args.conversation_limit)
        env["JASPING_WIDGET_MESSAGES_PER_AGENT"] = str(args.agent_limit)
        if backend == "postgres":
            url = os.environ.get("JASPING_BENCH_WIDGET_DATABASE_URL", DEFAULT_PG_URL)
            reason = ensure_postgres(url)
            if reason:
                note = f"PostgreSQL at {pg_libpq_url(url)} does not answer: {reason}"
                print(f"note: skipping PostgreSQL: {note}", file=sys.stderr)
                return {"backend": backend, "skipped": note, "problems": []}
            env["JASPING_DATABASE_URL"] = url
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", backend, "--out", str(out_path)]
        for opt in (
            "chunks",
            "conversations",
            "messages_per_conversation",
            "concurrency",
            "seconds",
            "warmup",
            "echo_seconds",
        ):
            cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
        cmd += ["--sse-messages", str(args.sse_messages), "--session-messages", str(args.session_messages)]
        cmd += ["--profile", "--profile-turns", str(args.profile_turns)] if args.profile else []
        cmd += ["--restarts", str(args.restarts), "--restart-wait", str(args.restart_wait)]
        cmd += ["--web-workers", str(args.web_workers)]
        began = time.monotonic()
        try:
            code = subprocess.run(cmd, env=env, cwd=REPO, timeout=CHILD_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = None
        result = json.loads(out_path.read_text()) if out_path.exists() else {"backend": backend, "problems": []}
        result.setdefault("problems", [])
        if code != 0:
            result["problems"].append(f"the benchmark subprocess exited with {code}")
        result["skipped"] = None
        result["seconds"] = round(time.monotonic() - began, 1)
        if backend == "postgres":
            result["database"] = re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", env["JASPING_DATABASE_URL"])
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def markdown(runs: list[dict]) -> str:
    rows = ["| backend | measurement | result |", "|---|---|---|"]
    for run in runs:
        b = run["backend"]
        if run.get("skipped"):
            rows.append(f"| {b} | (skipped) | {run['skipped']} |")
            continue
        st, rt, tp, ss = run.get("setup") or {}, run.get("round_trip"), run.get("throughput"), run.get("streaming")
        if st.get("first_message_s") is not None:
            rows.append(
                f"| {b} | setup: {st['chunks']:,} chunks bulk insert; first message (index build in the server) | "
                f"{fixed(st['bulk_insert_s'], 2)} s; {fixed(st['first_message_s'], 2)} s |"
            )
        if rt:
            langs = ", ".join(f"{k} {fixed(v['p50_ms'])}" for k, v in rt["by_language"].items())
            rows.append(
                f"| {b} | 1. message round trip, JSON, sequential (n={rt['n']}, {rt['conversations']} conversations) | "
                f"p50 **{fixed(rt['p50_ms'])} ms**, p95 {fixed(rt['p95_ms'])} ms, p99 {fixed(rt['p99_ms'])} ms "
                f"(p50 by language: {langs}); {rt['errors']} errors |"
            )
            rows.append(
                f"| {b} | server CPU per message; server's own turn time (p50, from reply meta) | "
                f"**{fixed(rt['server_cpu_ms_per_msg'])} ms**; "
                f"prepare_turn {fixed(rt['server_prepare_turn']['p50_ms'])} ms,"
                f" up to the reply {fixed(rt['server_turn_total']['p50_ms'])} ms |"
            )
            rows.append(
                f"| {b} | replies with citations / session start p50 | {rt['replies_with_citations']}/{rt['n']}; "
                f"{fixed(rt['session_start']['p50_ms'])} ms |"
            )
        if tp:
            rows.append(
                f"| {b} | 2. throughput, {tp['conversations']} concurrent conversations, {tp['seconds']:.0f} s | "
                f"**{fixed(tp['msg_per_s'])} msg/s**, p50 {fixed(tp['p50_ms'], 0)} ms, "
                f"p95 {fixed(tp['p95_ms'], 0)} ms, "
                f"max {fixed(tp['max_ms'], 0)} ms; errors "
                f"4xx {tp['errors_4xx']}, 429 {tp['errors_429']}, 5xx {tp['errors_5xx']}, exc {tp['exceptions']}; "
                f"server {fixed(tp['server_cpu_ms_per_msg'])} ms CPU/msg, {fixed(tp['server_cores'], 2)} cores; "
                f"load generator {fixed(tp['loadgen_cores'], 2)}, other {fixed(tp['other_cores'], 2)} cores"
                + (f"; **session starts {tp['session_starts']}**" if set(tp["session_starts"]) - {"201"} else "")
                + " |"
            )
            if tp.get("echo_floor"):
                echo = tp["echo_floor"]
                rows.append(
                    f"| {b} | echo floor: `GET /healthz`, same connections, same server | {fixed(echo['req_per_s'])} "
                    f"req/s, p95 {fixed(echo['p95_ms'], 0)} ms, {fixed(echo['server_cpu_ms_per_msg'])} ms CPU/req; "
                    f"widget / echo **{fixed(tp['ratio_to_echo'], 3)}** |"
                )
        if ss:
            rows.append(
                f"| {b} | 3. streamed (SSE), sequential (n={ss['complete']}/{ss['messages']}) | first `token` p50 "
                f"**{fixed(ss['first_token']['p50_ms'])} ms**, p95 {fixed(ss['first_token']['p95_ms'])} ms; `done` p50 "
                f"{fixed(ss['done']['p50_ms'])} ms, p95 {fixed(ss['done']['p95_ms'])} ms; headers p50 "
                f"{fixed(ss['headers']['p50_ms'])} ms |"
            )
        rs = run.get("restart")
        if rs:
            firsts = ", ".join(
                f"{fixed(x['first_message_ms'], 0)}" + (f" (after {x['waited_s']:.0f} s)" if x["waited_s"] else "")
                for x in rs["restarts"]
            )
            rows.append(
                f"| {b} | 4. first message after a restart, sent when `/healthz` answers (ms) | {firsts}; "
                f"start to `/healthz` {', '.join(fixed(x['start_to_healthz_s'], 1) for x in rs['restarts'])} s; "
                f"server peak RSS {max(x['hwm_mb'] for x in rs['restarts']):.0f} MB |"
            )
        if run.get("other_processes_cores") is not None:
            rows.append(
                f"| {b} | other processes during the run (PostgreSQL included) | "
                f"{fixed(run['other_processes_cores'], 2)} cores; server peak RSS "
                f"{fixed((run.get('server_memory') or {}).get('hwm_mb'), 0)} MB |"
            )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the table")
    parser.add_argument("--chunks", type=int, default=20_000, help="chunks of the agent")
    parser.add_argument("--conversations", type=int, default=30, help="conversations of the round-trip part")
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent conversations (throughput)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds (throughput)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (throughput)")
    parser.add_argument(
        "--session-messages",
        type=int,
        default=0,
        help="throughput: start a new session after this many messages (0: one session per loop)",
    )
    parser.add_argument("--sse-messages", type=int, default=100, help="sequential streamed messages")
    parser.add_argument("--profile", action="store_true", help="cProfile turns in-process afterwards (stderr)")
    parser.add_argument("--profile-turns", type=int, default=200, help="half timed, half profiled")
    parser.add_argument("--restarts", type=int, default=3, help="restart the server: first message each time")
    parser.add_argument("--restart-wait", type=float, default=10.0, help="one more restart, quiet this long first")
    parser.add_argument("--echo-seconds", type=float, default=5.0, help="GET /healthz beside the throughput")
    parser.add_argument("--web-workers", type=int, default=1, help="jasping serve --workers N (web processes)")
    parser.add_argument("--web-threads", type=int, default=64, help="JASPING_WEB_THREADS: the thread pool's size")
    parser.add_argument(
        "--embeddings",
        default="use-multilingual",
        help="JASPING_EMBEDDINGS of the server (the product default; the bulk-inserted chunks carry no vectors, so "
        "retrieval is lexical and no query vector is computed — stated in the results)",
    )
    parser.add_argument("--conversation-limit", type=int, default=100_000, help="widget messages/min/conversation")
    parser.add_argument("--agent-limit", type=int, default=1_000_000, help="widget messages/min/agent")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args)
        return 0

    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    began = time.monotonic()
    runs = [run_backend(b, args) for b in backends]
    now = dt.datetime.now(dt.UTC)
    doc = {
        "benchmark": "widget",
        "date": now.date().isoformat(),
        "timestamp": now.isoformat(timespec="seconds"),
        "settings": {
            "chunks": args.chunks,
            "round_trip": {
                "conversations": args.conversations,
                "messages_per_conversation": args.messages_per_conversation,
            },
            "throughput": {
                "conversations": args.concurrency,
                "seconds": args.seconds,
                "warmup_seconds": args.warmup,
                "session_messages": args.session_messages,
                "client": "asyncio + httpx, one AsyncClient (one connection) per conversation",
            },
            "sse_messages": args.sse_messages,
            "server": f"jasping serve --no-worker --workers {args.web_workers}, JASPING_LOG_LEVEL=WARNING, "
            f"JASPING_WEB_THREADS={args.web_threads}",
            "model": "LocalChatModel (JASPING_LLM=local)",
            "embeddings": f"JASPING_EMBEDDINGS={args.embeddings}; the bulk-inserted chunks have no vectors, so "
            "retrieval is lexical only (no query vector per message)",
            "rate_limits_per_minute": {"conversation": args.conversation_limit, "agent": args.agent_limit},
            "profiled": args.profile,
        },
        "machine": machine(),
        "runs": runs,
        "total_seconds": round(time.monotonic() - began, 1),
    }
    path = save_results(doc, f"widget-{doc['date']}")

    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(markdown(runs))
        for run in runs:
            if run.get("loadavg_end"):
                print(f"\n{run['backend']}: {run.get('seconds')} s; load average at the end {run['loadavg_end']}")
            for p in run.get("problems", []):
                print(f"\n{run['backend']}: {p}")
        print(
            f"\n{doc['machine']['nproc']} CPUs ({doc['machine']['cpu']}); results in {path.relative_to(REPO)} "
            f"({doc['total_seconds']} s)"
        )
    return 1 if any(run.get("problems") for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
