"""WhatsApp channel: webhook acknowledgement, inbound webhook → outbound Graph API request, and sustained
messages/s, against a real `jasping serve` WITH its job worker, on SQLite and on PostgreSQL, with the local model.

Run from the repository root:

    .venv/bin/python bench/channels_bench.py [--backend sqlite|postgres|all] [--json]

Each backend runs in a subprocess of this script with a fresh `JASPING_DATA_DIR` (a temporary directory) and,
for PostgreSQL, `JASPING_DATABASE_URL` set before jasping is imported. The subprocess starts a stand-in for Meta's
Graph API (a threaded HTTP server in this process that records the arrival time of every
`POST /v21.0/{phone_number_id}/messages` and answers as Graph does), migrates, creates an organization with
`jasping org create --json`, and starts `jasping serve --demo-port 0` with `JASPING_WHATSAPP_GRAPH_URL` pointing at
the stand-in: one uvicorn process and the job worker it starts (`jasping worker`, 4 threads, SqliteHuey in the
data directory). Through the API it creates an agent (en/fr/ar), adds three text sources (FAQ corpora of
/work/shared/data/retrieval, ingested by the worker) and connects a WhatsApp number. Messages are questions from
the same data sets' queries.jsonl (en/fr/ar, shuffled), posted to `POST /webhooks/whatsapp` as Meta posts them
(a `whatsapp_business_account` notification with one text message, a unique `wamid`, signed with
`X-Hub-Signature-256`, HMAC-SHA256 of the body with the app secret). A reply is matched to its message by the
customer's number: every customer waits for the reply to a message before sending the next one (or sends one).

1. first message: the worker builds the agent's index (timed apart); then 20 warm-up messages;
2. sequential: 200 messages, one at a time, 20 customers × 10: webhook ack p50/p95/p99 (POST → 200) and end to
   end (POST → the reply's request arriving at the Graph stand-in) p50/p95/p99, server and worker CPU per message;
3. after idle: a few messages, each after N seconds without traffic (the worker's queue polling backs off when
   it is idle: huey's consumer sleeps 0.1 s × 1.15ⁿ, up to 10 s, between empty polls);
4. sustained: 20 concurrent customers (distinct numbers, each its own connection), each sending its next message
   as soon as the reply to the previous one arrived, for 15 s after a 3 s warm-up: replies/s (arrived within the
   window), ack and end-to-end latency, errors (non-200 acks, exceptions, replies not arriving within 60 s);
5. burst: 400 messages from 400 new customers posted by 20 concurrent senders without waiting for replies: the
   ack rate and latency while the worker falls behind, and the time the worker takes to answer them all.

Each window records the CPU of the web server, of the worker, of this process (load generator + Graph stand-in)
and of the rest of the machine (PostgreSQL included). At the end the database is checked: every event handled,
every delivery sent, one contact per customer number.

PostgreSQL is `JASPING_BENCH_CHANNELS_DATABASE_URL` (default
postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_channels, created if it does not exist). Its public
schema is WIPED. It is skipped with a note when it does not answer.

Results are printed as a Markdown table (or JSON with --json) and written to bench/results/channels-<date>.json
(channels-<date>-<label>.json with --label). `--what-if-shared-tls` measures a proposed fix without changing the
product: a `sitecustomize` on the server's and the worker's PYTHONPATH makes every `httpx.post` reuse one TLS
context instead of building one per call. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    base_env,
    free_port,
    jasping_bin,
    machine_busy_seconds,
    own_cpu_seconds,
    pg_libpq_url,
    process_cpu_seconds,
)
from knowledge_bench import ensure_postgres, latency_stats, load_corpora, load_queries, proc_status  # noqa: E402

RESULTS_DIR = BENCH / "results"
log = make_log("channels-bench")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_channels"
GRAPH_VERSION = "v21.0"
NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
APP_SECRET = "bench-app-secret-7f3a9c"
ACCESS_TOKEN = "EAAG-bench-access-token-0123456789"
VERIFY_TOKEN = "bench-verify-token"
REPLY_TIMEOUT_S = 60.0
CHILD_TIMEOUT = 900
HEALTH_TIMEOUT = 90.0
DOCS_PER_SOURCE = 250


# ---- the Graph API stand-in ----------------------------------------------------------------------------------
class GraphStub:
    """`POST /{version}/{phone_number_id}/messages` answered as Graph does; each arrival is timed (perf_counter,
    taken first thing in the handler thread) and handed to the asyncio loop, per customer number (`to`)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queues: dict[str, asyncio.Queue] = {}
        self.arrivals: list[float] = []
        self.bad: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                t = time.perf_counter()
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw)
                    to = str(body["to"])
                except (ValueError, KeyError, TypeError):
                    body, to = {}, ""
                ok = (
                    self.path == f"/{GRAPH_VERSION}/{NUMBER_ID}/messages"
                    and self.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"
                    and to
                )
                with stub._lock:
                    n = next(stub._ids)
                    stub.arrivals.append(t)
                    if not ok and len(stub.bad) < 5:
                        stub.bad.append(f"{self.path} {raw[:200]!r}")
                reply = {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": f"wamid.bench.{n}"}],
                }
                data = json.dumps(reply).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                loop = stub.loop
                if ok and loop is not None:
                    try:
                        loop.call_soon_threadsafe(stub._arrived, to, t, body)
                    except RuntimeError:  # a phase's loop already closed: a late reply, counted in `arrivals`
                        pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="graph-stub", daemon=True)
        self._thread.start()

    def attach(self) -> None:
        """Hand arrivals to the running loop (each phase runs its own `asyncio.run`)."""
        self.queues = {}
        self.loop = asyncio.get_running_loop()

    def _arrived(self, to: str, t: float, body: dict) -> None:  # in the loop
        self.queue(to).put_nowait((t, body))

    def queue(self, to: str) -> asyncio.Queue:
        q = self.queues.get(to)
        if q is None:
            q = self.queues[to] = asyncio.Queue()
        return q

    def received(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the server with its worker ------------------------------------------------------------------------------
def children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


class ServeWithWorker:
    """`jasping serve` (uvicorn + the `jasping worker` child it starts) in its own process group."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, extra_workers: int = 0) -> None:
        self.env, self.extra_workers, self.extras = env, extra_workers, []
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [jasping_bin(), "serve", "--host", "127.0.0.1", "--port", str(port), "--demo-port", "0"],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        self.worker_pid: int | None = None
        self.worker_killed = False

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} before answering:\n{self.tail()}")
            try:
                healthy = httpx.get(self.base + "/healthz", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                healthy = False
            kids = children_of(self.proc.pid)
            if healthy and kids:
                self.worker_pid = kids[0]
                for _ in range(self.extra_workers):  # more consumers of the same queue (what-if)
                    self.extras.append(
                        subprocess.Popen(
                            [jasping_bin(), "worker", "--no-periodic"],
                            env=self.env,
                            cwd=REPO,
                            stdout=self._log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
                return
            time.sleep(0.2)
        raise RuntimeError(f"server (and its worker) not up within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        return [p for p in (self.worker_pid, *(x.pid for x in self.extras)) if p]

    def stop(self) -> int | None:
        """SIGTERM (serve stops its worker), then SIGKILL to the process group after 20 s."""
        for extra in self.extras:
            extra.send_signal(signal.SIGINT)  # huey's graceful shutdown
        for extra in self.extras:
            try:
                extra.wait(timeout=20)
            except subprocess.TimeoutExpired:
                extra.kill()
                extra.wait(timeout=10)
                self.worker_killed = True
        code: int | None = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("server did not stop within 20 s of SIGTERM; killing its process group")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                code = None
        # the worker follows its parent on its own (`--exit-with-parent` polls every second, then shuts down
        # gracefully); only one still there after 20 s is killed
        deadline = time.monotonic() + 20
        while self.worker_pid and Path(f"/proc/{self.worker_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.worker_pid and Path(f"/proc/{self.worker_pid}").exists():
            log(f"worker {self.worker_pid} still running 20 s after the server stopped; killing it")
            os.kill(self.worker_pid, signal.SIGKILL)
            self.worker_killed = True
        self._log.close()
        return code


class CpuWindow:
    """CPU of the web server, the worker, this process and the rest of the machine over a window."""

    def __init__(self, server: ServeWithWorker) -> None:
        self.pids = {"server": [server.proc.pid], "worker": server.worker_pids()}
        self.t0 = time.perf_counter()
        self.p0 = {k: self._cpu(p) for k, p in self.pids.items()}
        self.c0, self.m0 = own_cpu_seconds(), machine_busy_seconds()

    @staticmethod
    def _cpu(pids: list[int]) -> float | None:
        seconds = [process_cpu_seconds(p) for p in pids]
        return None if not seconds or None in seconds else sum(seconds)

    def close(self, count: int, wall: float | None = None) -> dict:
        wall = wall or (time.perf_counter() - self.t0)
        out: dict = {"wall_s": rounded(wall)}
        used = 0.0
        for key, pids in self.pids.items():
            now = self._cpu(pids)
            cpu = now - self.p0[key] if now is not None and self.p0[key] is not None else None
            used += cpu or 0.0
            out[f"{key}_cores"] = rounded(cpu / wall) if cpu is not None and wall else None
            out[f"{key}_cpu_ms_per_msg"] = rounded(cpu * 1000 / count, 1) if cpu is not None and count else None
        client = own_cpu_seconds() - self.c0
        used += client
        out["loadgen_cores"] = rounded(client / wall) if wall else None
        m1 = machine_busy_seconds()
        if m1 is not None and self.m0 is not None and wall:
            out["other_cores"] = rounded(max(0.0, (m1 - self.m0) - used) / wall)
        return out


# ---- Meta's side of the webhook ------------------------------------------------------------------------------
_customers = itertools.count(1)
USED: set[str] = set()  # the customer numbers whose message was acknowledged


def whatsapp_channel() -> dict:
    """The WhatsApp channel the Graph stand-in answers for (POST /api/v1/agents/{id}/channels)."""
    return {
        "type": "whatsapp",
        "phone_number_id": NUMBER_ID,
        "waba_id": WABA_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
    }


def new_customer() -> str:
    """A Moroccan mobile number as WhatsApp gives it (`wa_id`: E.164 without the "+")."""
    return f"2126{next(_customers):08d}"


def notification(wa_id: str, text: str) -> bytes:
    """One inbound text message, as Meta posts it (the shape of tests/data/whatsapp/text.json)."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "212522000000", "phone_number_id": NUMBER_ID},
                            "contacts": [{"profile": {"name": f"Customer {wa_id[-4:]}"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": "wamid.HBgM" + uuid.uuid4().hex.upper(),
                                    "timestamp": str(int(time.time())),
                                    "text": {"body": text},
                                    "type": "text",
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


class Stats:
    def __init__(self) -> None:
        self.ack: list[float] = []
        self.e2e: list[float] = []
        self.counts: dict[str, int] = {}
        self.no_reply = 0
        self.samples: list[str] = []

    def count(self, key: str, detail: str = "") -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if detail and len(self.samples) < 5 and detail not in self.samples:
            self.samples.append(detail)

    def errors(self) -> int:
        return sum(n for k, n in self.counts.items() if k != "200") + self.no_reply

    def summary(self) -> dict:
        return {
            "acks": latency_stats(self.ack),
            "end_to_end": latency_stats(self.e2e),
            "status_counts": self.counts,
            "no_reply_within_s": {str(REPLY_TIMEOUT_S): self.no_reply},
            "errors": self.errors(),
            "error_samples": self.samples,
        }


async def post(client: httpx.AsyncClient, wa_id: str, text: str, stats: Stats) -> tuple[bool, float]:
    """Post one message; (acknowledged with 200, perf_counter when the POST started)."""
    body = notification(wa_id, text)
    t0 = time.perf_counter()
    try:
        r = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
        key, detail = str(r.status_code), ("" if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:200]}")
    except Exception as exc:  # noqa: BLE001 - every failure is counted
        key, detail = type(exc).__name__, f"{type(exc).__name__}: {exc!r}"[:300]
    t1 = time.perf_counter()
    stats.count(key, detail)
    if key == "200":
        stats.ack.append((t1 - t0) * 1000)
        USED.add(wa_id)
    return key == "200", t0


async def reply_to(stub: GraphStub, wa_id: str, t0: float, stats: Stats | None) -> float | None:
    """Wait for the next reply to `wa_id`; its arrival time (perf_counter), or None after the timeout."""
    try:
        arrived, _ = await asyncio.wait_for(stub.queue(wa_id).get(), REPLY_TIMEOUT_S)
    except TimeoutError:
        if stats is not None:
            stats.no_reply += 1
        return None
    if stats is not None:
        stats.e2e.append((arrived - t0) * 1000)
    return arrived


def client_for(base: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60.0), limits=limits)


async def conversation_turns(base: str, stub: GraphStub, texts: list[str], customers: int, stats: Stats) -> None:
    """One message at a time, customers in turn (each conversation grows by one message per round)."""
    stub.attach()
    numbers = [new_customer() for _ in range(customers)]
    async with client_for(base) as client:
        for i, text in enumerate(texts):
            wa_id = numbers[i % customers]
            ok, t0 = await post(client, wa_id, text, stats)
            if ok and await reply_to(stub, wa_id, t0, stats) is None:
                numbers[i % customers] = new_customer()  # a late reply must not be taken for the next one's


async def idle_probes(base: str, stub: GraphStub, texts: list[str], idle_s: float, stats: Stats) -> None:
    stub.attach()
    async with client_for(base) as client:
        for text in texts:
            await asyncio.sleep(idle_s)
            wa_id = new_customer()
            ok, t0 = await post(client, wa_id, text, stats)
            if ok:
                await reply_to(stub, wa_id, t0, stats)


async def probe_health(base: str, stop: asyncio.Event, out: list[float]) -> None:
    """`GET /healthz` every 100 ms on a connection of its own: whether the web server's event loop stays free
    while webhooks are being acknowledged."""
    async with client_for(base) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                await client.get("/healthz")
                out.append((time.perf_counter() - t0) * 1000)
            except httpx.HTTPError:
                out.append(float("inf"))
            await asyncio.sleep(0.1)


async def replying_customer(
    base: str,
    stub: GraphStub,
    texts: Iterator[str],
    stats: Stats,
    measure_from: float,
    stop_at: float,
    counted: Callable[[], None],
) -> None:
    """One customer sending its next message once the reply to the previous one has arrived, until `stop_at`;
    `counted()` for each reply that arrives inside the measured window (a lost reply: a new customer goes on)."""
    wa_id = new_customer()
    async with client_for(base) as client:
        while time.perf_counter() < stop_at:
            recorded = time.perf_counter() >= measure_from
            ok, t0 = await post(client, wa_id, next(texts), stats if recorded else Stats())
            if not ok:
                await asyncio.sleep(0.5)
                continue
            arrived = await reply_to(stub, wa_id, t0, stats if recorded else None)
            if arrived is None:
                wa_id = new_customer()
            elif measure_from <= arrived < stop_at:
                counted()


async def sustained(
    base: str,
    stub: GraphStub,
    texts: list[str],
    server: ServeWithWorker,
    *,
    senders: int,
    seconds: float,
    warmup: float,
) -> dict:
    """`senders` customers, each sending its next message once the reply to the previous one has arrived."""
    stub.attach()
    it = itertools.cycle(texts)
    stats = Stats()
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    replies_in_window = 0
    window: dict = {}

    def counted() -> None:
        nonlocal replies_in_window
        replies_in_window += 1

    async def customer() -> None:
        await replying_customer(base, stub, it, stats, measure_from, stop_at, counted)

    async def mark() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        window["cpu"] = CpuWindow(server)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        window["closed"] = window["cpu"].close(max(1, replies_in_window), seconds)

    stop, health = asyncio.Event(), []
    marker, prober = asyncio.ensure_future(mark()), asyncio.ensure_future(probe_health(base, stop, health))
    await asyncio.gather(*(customer() for _ in range(senders)))
    await marker
    stop.set()
    await prober
    return {
        "senders": senders,
        "healthz_meanwhile": latency_stats(health),
        "seconds": seconds,
        "warmup_seconds": warmup,
        "replies_in_window": replies_in_window,
        "msg_per_s": rounded(replies_in_window / seconds, 1),
        **stats.summary(),
        **window["closed"],
    }


async def burst(base: str, stub: GraphStub, texts: list[str], server: ServeWithWorker, *, senders: int, n: int) -> dict:
    """`n` messages of `n` new customers, posted by `senders` concurrent clients as fast as they are acknowledged;
    then the wait until every reply has reached the Graph stand-in."""
    stub.attach()
    stats = Stats()
    todo = list(enumerate(texts[:n]))
    sent: list[tuple[str, float]] = []
    received_before = stub.received()
    cpu = CpuWindow(server)
    t_start = time.perf_counter()

    async def sender() -> None:
        async with client_for(base) as client:
            while todo:
                _, text = todo.pop()
                wa_id = new_customer()
                ok, t0 = await post(client, wa_id, text, stats)
                if ok:
                    sent.append((wa_id, t0))

    stop, health = asyncio.Event(), []
    prober = asyncio.ensure_future(probe_health(base, stop, health))
    await asyncio.gather(*(sender() for _ in range(senders)))
    t_posted = time.perf_counter()
    stop.set()
    await prober
    backlog_at_posted = len(sent) - (stub.received() - received_before)
    deadline = t_posted + max(120.0, len(sent) * 0.5)
    while stub.received() - received_before < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    t_drained = time.perf_counter()
    replies = stub.received() - received_before
    for wa_id, t0 in sent:  # end to end of each message whose reply came
        q = stub.queue(wa_id)
        if not q.empty():
            arrived, _ = q.get_nowait()
            stats.e2e.append((arrived - t0) * 1000)
        else:
            stats.no_reply += 1
    posting_s = t_posted - t_start
    return {
        "senders": senders,
        "messages": n,
        "acknowledged": len(sent),
        "posting_s": rounded(posting_s),
        "acks_per_s": rounded(len(sent) / posting_s, 1) if posting_s else None,
        "healthz_while_posting": latency_stats(health),
        "backlog_when_posted": backlog_at_posted,
        "replies": replies,
        "all_answered_s": rounded(t_drained - t_start),
        "answered_per_s": rounded(replies / (t_drained - t_start), 1) if t_drained > t_start else None,
        **stats.summary(),
        **cpu.close(max(1, replies)),
    }


# ---- the child: one backend ----------------------------------------------------------------------------------


def knowledge_sources() -> list[dict]:
    """Three text sources: the first documents of the English, French and Arabic FAQ corpora."""
    corpora = load_corpora()
    titles = {"stackfaq_en": "Help centre (en)", "covid19faq_fr": "FAQ (fr)", "arcd_ar": "معلومات (ar)"}
    return [
        {"type": "text", "title": titles[name], "text": "\n\n".join(d["text"] for d in docs[:DOCS_PER_SOURCE])}
        for name, docs in corpora.items()
    ]


def db_check(customers: int) -> dict:
    """What the runs left in the database: events handled, deliveries sent, one contact per customer number."""
    from sqlalchemy import func, select

    from jasping.channels.models import Delivery, InboundEvent
    from jasping.conversations.models import Contact, Conversation
    from jasping.db import session_scope, unscoped

    with session_scope(write=False) as s, unscoped(s):

        def by_state(model) -> dict:  # noqa: ANN001
            rows = s.execute(select(model.state, func.count()).group_by(model.state)).all()
            return {state: n for state, n in rows}

        return {
            "inbound_events": by_state(InboundEvent),
            "deliveries": by_state(Delivery),
            "deliveries_retried": s.execute(select(func.count()).where(Delivery.attempts > 1)).scalar_one(),
            "contacts": s.execute(select(func.count()).select_from(Contact)).scalar_one(),
            "conversations": s.execute(select(func.count()).select_from(Conversation)).scalar_one(),
            "customer_numbers_used": customers,
        }


def child(backend: str, out_path: Path, args: argparse.Namespace) -> None:
    """Runs with the JASPING_* environment already set by the parent."""
    result: dict = {"backend": backend, "problems": [], "setup": {}}
    tmp = Path(os.environ["JASPING_DATA_DIR"]).parent
    server: ServeWithWorker | None = None
    stub = GraphStub()
    os.environ["JASPING_WHATSAPP_GRAPH_URL"] = f"{stub.url}/{GRAPH_VERSION}"
    marks = {"wall": time.monotonic(), "machine": machine_busy_seconds(), "self": own_cpu_seconds()}

    def save() -> None:
        out_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    try:
        from jasping import migrate
        from jasping.config import get_settings

        settings = get_settings()
        result["database"] = "PostgreSQL" if not settings.is_sqlite else "SQLite (fresh temporary JASPING_DATA_DIR)"
        result["llm"], result["embeddings"] = settings.llm, settings.embeddings
        log(f"{backend}: migrate")
        migrate.upgrade()
        proc = subprocess.run(
            [jasping_bin(), "org", "create", "--name", "Channels Bench", "--owner-email", "ch@example.org", "--json"],
            env=dict(os.environ),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"jasping org create exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        created = json.loads(proc.stdout.strip().splitlines()[-1])
        auth = {"Authorization": f"Bearer {created['api_key']}"}

        port = free_port()
        log(f"{backend}: jasping serve (with its worker) on 127.0.0.1:{port}")
        server = ServeWithWorker(dict(os.environ), port, tmp / "server.log", args.extra_workers)
        server.wait_healthy()
        result["setup"]["worker_pid_found"] = bool(server.worker_pid)
        with httpx.Client(base_url=server.base, headers=auth, timeout=60.0) as admin:
            agent_id = api(
                admin, "POST", "/api/v1/agents", 201, json={"name": "Amal", "languages": ["en", "fr", "ar"]}
            )["id"]
            t0 = time.perf_counter()
            sources = knowledge_sources()
            for source in sources:
                api(admin, "POST", f"/api/v1/agents/{agent_id}/sources", 202, json=source)
            while True:
                rows = api(admin, "GET", f"/api/v1/agents/{agent_id}/sources", 200)["sources"]
                if all(s["state"] in ("ready", "failed") for s in rows):
                    break
                if time.perf_counter() - t0 > 300:
                    raise RuntimeError(f"sources not ingested within 300 s: {[s['state'] for s in rows]}")
                time.sleep(0.25)
            if any(s["state"] != "ready" for s in rows):
                raise RuntimeError(f"ingestion failed: {rows}")
            result["setup"]["sources"] = len(rows)
            result["setup"]["source_chars"] = sum(len(s["text"]) for s in sources)
            result["setup"]["chunks"] = sum(s.get("chunk_count") or 0 for s in rows)
            result["setup"]["ingestion_s"] = rounded(time.perf_counter() - t0)
            api(admin, "POST", f"/api/v1/agents/{agent_id}/channels", 201, json=whatsapp_channel())

        queries = [q["text"] for q in load_queries() if len(q["text"]) <= 300]
        cursor = itertools.count()

        def take(n: int) -> list[str]:
            return [queries[next(cursor) % len(queries)] for _ in range(n)]

        # 1. first message (the worker builds the agent's index), then the warm-up
        log(f"{backend}: first message and {args.warmup_messages} warm-up messages")
        first = Stats()
        asyncio.run(conversation_turns(server.base, stub, take(1), 1, first))
        result["setup"]["first_message"] = {"ack_ms": rounded(first.ack[0] if first.ack else None, 1)}
        result["setup"]["first_message"]["end_to_end_s"] = rounded(first.e2e[0] / 1000 if first.e2e else None)
        warm = Stats()
        asyncio.run(conversation_turns(server.base, stub, take(args.warmup_messages), 5, warm))
        if first.errors() or warm.errors():
            result["problems"].append(f"warm-up: errors {first.summary()} {warm.summary()}")
        save()

        # 2. sequential
        n = args.customers * args.messages_per_customer
        log(f"{backend}: {n} sequential messages ({args.customers} customers)")
        seq = Stats()
        cpu = CpuWindow(server)
        asyncio.run(conversation_turns(server.base, stub, take(n), args.customers, seq))
        result["sequential"] = {"messages": n, "customers": args.customers, **seq.summary(), **cpu.close(n)}
        if seq.errors():
            result["problems"].append(f"sequential: {seq.errors()} errors, e.g. {seq.samples}")
        save()

        # 3. after idle
        if args.idle_probes:
            log(f"{backend}: {args.idle_probes} messages, each after {args.idle_seconds:.0f} s without traffic")
            idle = Stats()
            asyncio.run(idle_probes(server.base, stub, take(args.idle_probes), args.idle_seconds, idle))
            result["after_idle"] = {
                "idle_s": args.idle_seconds,
                "messages": args.idle_probes,
                "end_to_end_ms": [rounded(x, 1) for x in idle.e2e],
                "ack_ms": [rounded(x, 1) for x in idle.ack],
                "errors": idle.errors(),
            }
            save()

        # 4. sustained
        log(f"{backend}: {args.senders} concurrent customers, {args.warmup:.0f} s warm-up + {args.seconds:.0f} s")
        result["sustained"] = tp = asyncio.run(
            sustained(
                server.base,
                stub,
                take(5000),
                server,
                senders=args.senders,
                seconds=args.seconds,
                warmup=args.warmup,
            )
        )
        if tp["errors"]:
            result["problems"].append(f"sustained: {tp['errors']} errors, e.g. {tp['error_samples']}")
        save()

        # 5. burst
        if args.burst:
            log(f"{backend}: burst of {args.burst} messages from {args.burst} customers, {args.senders} senders")
            result["burst"] = b = asyncio.run(
                burst(server.base, stub, take(args.burst), server, senders=args.senders, n=args.burst)
            )
            if b["errors"]:
                result["problems"].append(f"burst: {b['errors']} errors, e.g. {b['error_samples']}")
            save()

        time.sleep(1.0)
        result["database_check"] = check = db_check(len(USED))
        unhandled = {k: v for k, v in check["inbound_events"].items() if k != "done"}
        unsent = {k: v for k, v in check["deliveries"].items() if k != "sent"}
        if unhandled or unsent or check["contacts"] != check["customer_numbers_used"]:
            result["problems"].append(f"database check: {check}")
        if stub.bad:
            result["problems"].append(f"unexpected Graph requests: {stub.bad}")
        result["worker_processes"] = len(server.worker_pids())
        result["server_memory"] = {
            k: proc_status(p)["hwm_mb"] for k, p in (("server", server.proc.pid), ("worker", server.worker_pid)) if p
        }
        save()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        import traceback

        result["problems"].append(f"{type(exc).__name__}: {exc}")
        result["traceback"] = traceback.format_exc()
        log(f"{backend}: FAILED: {exc}")
    finally:
        wall = time.monotonic() - marks["wall"]
        busy = machine_busy_seconds()
        if busy is not None and marks["machine"] is not None and wall > 0:
            result["machine_busy_cores"] = rounded((busy - marks["machine"]) / wall)
        result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        if server is not None:
            code = server.stop()
            whole = server.tail(10**6)
            result["server_exit_code"] = code
            result["worker_killed"] = server.worker_killed
            result["server_log_counts"] = {
                "tracebacks": whole.count("Traceback (most recent call last)"),
                "database_is_locked": len(re.findall(r"database is locked", whole)),
                "error_lines": len(re.findall(r"\bERROR\b", whole)),
                "warning_lines": len(re.findall(r"\bWARNING\b", whole)),
            }
            summary = [
                ln for ln in whole.splitlines() if re.search(r"\bERROR\b|\bWARNING\b|^[\w.]+(Error|Exception)\b", ln)
            ]
            result["server_log_errors"] = summary[:30]
            if re.search(r"Traceback|\bERROR\b", whole):
                result["problems"].append(f"server log shows errors: {result['server_log_counts']}")
        stub.close()
        save()


# ---- the parent ----------------------------------------------------------------------------------------------
OPTIONS = (
    "customers",
    "messages_per_customer",
    "warmup_messages",
    "idle_probes",
    "idle_seconds",
    "senders",
    "seconds",
    "warmup",
    "burst",
    "extra_workers",
)


SHARED_TLS = """# written by bench/channels_bench.py --what-if-shared-tls: a what-if, not the product
import functools

import httpx

_context = functools.cache(httpx.create_ssl_context)
_post = httpx.post


def _post_with_one_context(*args, **kw):
    kw.setdefault("verify", _context())
    return _post(*args, **kw)


httpx.post = _post_with_one_context
"""


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"jasping-channels-bench-{backend}-"))
    out_path = tmp / "result.json"
    try:
        env = base_env(tmp / "data")
        if args.what_if_shared_tls:  # every process of the run (server, worker) gets the patch at start-up
            (tmp / "site").mkdir()
            (tmp / "site" / "sitecustomize.py").write_text(SHARED_TLS)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp / "site"), env.get("PYTHONPATH")) if p)
        if backend == "postgres":
            url = os.environ.get("JASPING_BENCH_CHANNELS_DATABASE_URL", DEFAULT_PG_URL)
            reason = ensure_postgres(url)
            if reason:
                note = f"PostgreSQL at {pg_libpq_url(url)} does not answer: {reason}"
                print(f"note: skipping PostgreSQL: {note}", file=sys.stderr)
                return {"backend": backend, "skipped": note, "problems": []}
            env["JASPING_DATABASE_URL"] = url
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", backend, "--out", str(out_path)]
        for opt in OPTIONS:
            cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
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


def _lat(s: dict, nd: int = 1) -> str:
    return f"p50 {fixed(s['p50_ms'], nd)}, p95 {fixed(s['p95_ms'], nd)}, p99 {fixed(s['p99_ms'], nd)} ms"


def _cpu(w: dict) -> str:
    return (
        f"server {fixed(w.get('server_cores'), 2)} + worker {fixed(w.get('worker_cores'), 2)} cores "
        f"(load generator {fixed(w.get('loadgen_cores'), 2)}, other {fixed(w.get('other_cores'), 2)})"
    )


def markdown(runs: list[dict]) -> str:
    rows = ["| backend | measurement | result |", "|---|---|---|"]
    for run in runs:
        b = run["backend"]
        if run.get("skipped"):
            rows.append(f"| {b} | (skipped) | {run['skipped']} |")
            continue
        st = run.get("setup") or {}
        if st.get("first_message"):
            rows.append(
                f"| {b} | setup: {st.get('sources')} text sources ({st.get('chunks')} chunks) ingested by the worker; "
                f"first message end to end (index build in the worker) | {fixed(st.get('ingestion_s'), 2)} s; "
                f"{fixed(st['first_message'].get('end_to_end_s'), 2)} s |"
            )
        seq = run.get("sequential")
        if seq:
            rows.append(f"| {b} | 1. webhook ack, sequential (n={seq['acks']['n']}) | **{_lat(seq['acks'])}** |")
            rows.append(
                f"| {b} | 2. inbound POST → outbound Graph request, sequential (n={seq['end_to_end']['n']}) | "
                f"**{_lat(seq['end_to_end'], 0)}**; CPU per message: server "
                f"{fixed(seq.get('server_cpu_ms_per_msg'))} ms, worker {fixed(seq.get('worker_cpu_ms_per_msg'))} ms; "
                f"{seq['errors']} errors |"
            )
        idle = run.get("after_idle")
        if idle:
            rows.append(
                f"| {b} | 3. end to end after {idle['idle_s']:.0f} s without traffic (each) | "
                f"{', '.join(fixed(x, 0) for x in idle['end_to_end_ms'])} ms |"
            )
        tp = run.get("sustained")
        if tp:
            rows.append(
                f"| {b} | 4. sustained, {tp['senders']} concurrent customers, {tp['seconds']:.0f} s | "
                f"**{fixed(tp['msg_per_s'])} msg/s**; ack {_lat(tp['acks'])}; end to end "
                f"{_lat(tp['end_to_end'], 0)}; `/healthz` meanwhile p50 {fixed(tp['healthz_meanwhile']['p50_ms'])}, "
                f"p95 {fixed(tp['healthz_meanwhile']['p95_ms'])} ms; errors {tp['errors']} {tp['status_counts']}; "
                f"{_cpu(tp)} |"
            )
        bu = run.get("burst")
        if bu:
            rows.append(
                f"| {b} | 5. burst: {bu['messages']} new customers, {bu['senders']} senders, no waiting | "
                f"acks **{fixed(bu['acks_per_s'])}/s**, {_lat(bu['acks'])} (`/healthz` meanwhile p50 "
                f"{fixed(bu['healthz_while_posting']['p50_ms'])}, "
                f"p95 {fixed(bu['healthz_while_posting']['p95_ms'])} ms); "
                f"all answered after "
                f"{fixed(bu['all_answered_s'], 1)} s (**{fixed(bu['answered_per_s'])} replies/s**, backlog "
                f"{bu['backlog_when_posted']} when the last was acknowledged); errors {bu['errors']}; {_cpu(bu)} |"
            )
        check = run.get("database_check")
        if check:
            rows.append(
                f"| {b} | database after the run | events {check['inbound_events']}, deliveries "
                f"{check['deliveries']}, {check['contacts']} contacts for {check['customer_numbers_used']} numbers; "
                f"peak RSS {run.get('server_memory')} MB |"
            )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the table")
    parser.add_argument("--customers", type=int, default=20, help="sequential part: customers")
    parser.add_argument("--messages-per-customer", type=int, default=10, help="sequential part")
    parser.add_argument("--warmup-messages", type=int, default=20)
    parser.add_argument("--idle-probes", type=int, default=3, help="messages each sent after --idle-seconds")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=20, help="concurrent customers (sustained, burst)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds (sustained)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (sustained)")
    parser.add_argument("--burst", type=int, default=400, help="messages of the burst (0: none)")
    parser.add_argument("--extra-workers", type=int, default=0, help="what-if: start N more `jasping worker` processes")
    parser.add_argument("--label", default="", help="results in channels-<date>-<label>.json (a variant run)")
    parser.add_argument(
        "--what-if-shared-tls",
        action="store_true",
        help="what-if: make every httpx.post in the server and worker reuse one TLS context (sitecustomize); "
        "measures the proposed fix of the WhatsApp sender without changing it",
    )
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
        "benchmark": "channels",
        "date": now.date().isoformat(),
        "timestamp": now.isoformat(timespec="seconds"),
        "settings": {
            **{opt: getattr(args, opt) for opt in OPTIONS},
            "label": args.label,
            "what_if_shared_tls": args.what_if_shared_tls,
            "reply_timeout_s": REPLY_TIMEOUT_S,
            "server": "jasping serve (1 uvicorn process) + its job worker (jasping worker, 4 threads, SqliteHuey)",
            "model": "LocalChatModel (JASPING_LLM=local), embeddings none",
            "client": "asyncio + httpx, one AsyncClient (one connection) per customer; Graph stand-in in the "
            "same process (ThreadingHTTPServer)",
        },
        "machine": machine(),
        "runs": runs,
        "total_seconds": round(time.monotonic() - began, 1),
    }
    path = save_results(doc, f"channels-{doc['date']}{'-' + args.label if args.label else ''}")

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
