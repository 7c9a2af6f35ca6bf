"""Scale-out, in one run: 2 web processes + 2 workers on PostgreSQL + Redis against 1 process (with its worker) on
SQLite — widget messages/s and WhatsApp inbound → reply messages/s, p50/p95.

Run from the repository root:

    .venv/bin/python bench/cluster_bench.py [--seconds 15] [--visitors 8] [--customers 8] [--json]

Each set-up gets a fresh data directory; the cluster one also a wiped PostgreSQL database
(`JASPING_BENCH_CLUSTER_DATABASE_URL`, default postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_cluster)
and a flushed Redis database (`JASPING_BENCH_CLUSTER_REDIS_URL`, default redis://127.0.0.1:6379/13).

- single: `jasping serve` (one uvicorn process and the job worker it starts, SQLite queue);
- cluster: two `jasping serve --no-worker` on two ports (the load generator spreads visitors and customers over
  both, as a load balancer would) and two `jasping worker --workers 4` processes, RedisHuey.

The agent (en/fr/ar) gets the three FAQ text sources of bench/channels_bench.py and a WhatsApp connection whose
Graph API is the stand-in of bench/channels_bench.py. Then, per set-up: a warm-up; `--visitors` website visitors
(bench/widget_bench.py's Visitor, each from its own loopback address) send widget messages back to back for
`--seconds` (after a 3 s warm-up): messages/s and round-trip p50/p95; then `--customers` WhatsApp customers each
send their next message as soon as the reply to the previous one reached the Graph stand-in, for `--seconds`:
replies/s and end-to-end (webhook POST → the reply's request at the stand-in) p50/p95. The local chat model.

The machine's cores are shared by everything here (load generator, PostgreSQL, Redis, every JasPing process): on
a 2-core machine the cluster measures the overhead of spreading, not the gain of more machines.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from channels_bench import (  # noqa: E402 - after the path set-up
    GraphStub,
    Stats,
    knowledge_sources,
    replying_customer,
    whatsapp_channel,
)
from common import api, machine, make_log, rounded, save_results  # noqa: E402
from http_bench import base_env, cli, free_port, jasping_bin  # noqa: E402
from knowledge_bench import ensure_postgres, latency_stats, load_queries  # noqa: E402
from widget_bench import Visitor  # noqa: E402

log = make_log("cluster-bench")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jasping_bench_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
GRAPH_VERSION = "v21.0"


class Processes:
    def __init__(self, logdir: Path) -> None:
        self.logdir, self.procs = logdir, []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        out = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([jasping_bin(), *args], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        self.procs.append(proc)
        return proc

    def web(self, name: str, env: dict[str, str], *extra: str) -> str:
        port = free_port()
        self.start(name, ["serve", "--port", str(port), "--demo-port", "0", *extra], env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"{name} did not answer: {(self.logdir / f'{name}.log').read_text()[-2000:]}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()


def set_up(bases: list[str], env: dict[str, str]) -> str:
    """An organization, an agent with its knowledge and a WhatsApp number; returns the agent's public key."""
    created = json.loads(cli(env, "org", "create", "--name", "Cluster", "--owner-email", "c@example.org", "--json"))
    with httpx.Client(base_url=bases[0], headers={"Authorization": f"Bearer {created['api_key']}"}, timeout=60) as c:
        agent = api(c, "POST", "/api/v1/agents", 201, json={"name": "Amal", "languages": ["en", "fr", "ar"]})
        for source in knowledge_sources():
            api(c, "POST", f"/api/v1/agents/{agent['id']}/sources", 202, json=source)
        deadline = time.monotonic() + 600
        while True:
            rows = api(c, "GET", f"/api/v1/agents/{agent['id']}/sources", 200)["sources"]
            if all(s["state"] == "ready" for s in rows):
                break
            if time.monotonic() > deadline or any(s["state"] == "failed" for s in rows):
                raise RuntimeError(f"ingestion: {[s['state'] for s in rows]}")
            time.sleep(0.5)
        api(c, "POST", f"/api/v1/agents/{agent['id']}/channels", 201, json=whatsapp_channel())
        return api(c, "GET", f"/api/v1/agents/{agent['id']}", 200)["public_key"]


def widget_load(bases: list[str], public_key: str, texts: list[str], visitors: int, seconds: float) -> dict:
    """`visitors` threads, each a visitor of one web process (spread in turn), sending back to back."""
    start = time.perf_counter()
    measure_from, stop_at = start + 3.0, start + 3.0 + seconds
    lock, latencies, errors = threading.Lock(), [], []
    it = itertools.cycle(texts)

    def visitor(i: int) -> None:
        v = Visitor(bases[i % len(bases)], public_key)
        try:
            while time.perf_counter() < stop_at:
                with lock:
                    text = next(it)
                r, ms = v.send(text)
                done = time.perf_counter()
                if measure_from <= done < stop_at:
                    with lock:
                        (latencies if r.status_code == 200 else errors).append(
                            ms if r.status_code == 200 else r.status_code
                        )
        finally:
            v.close()

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"msg_per_s": rounded(len(latencies) / seconds, 1), **latency_stats(latencies), "errors": len(errors)}


async def whatsapp_load(bases: list[str], stub: GraphStub, texts: list[str], customers: int, seconds: float) -> dict:
    stub.attach()
    it = itertools.cycle(texts)
    stats = Stats()
    start = time.perf_counter()
    measure_from, stop_at = start + 3.0, start + 3.0 + seconds
    replies = 0

    def counted() -> None:
        nonlocal replies
        replies += 1

    async def customer(i: int) -> None:
        await replying_customer(bases[i % len(bases)], stub, it, stats, measure_from, stop_at, counted)

    await asyncio.gather(*(customer(i) for i in range(customers)))
    return {
        "msg_per_s": rounded(replies / seconds, 1),
        **latency_stats(stats.e2e),
        "acks": latency_stats(stats.ack),
        "errors": stats.errors(),
    }


def run(kind: str, args: argparse.Namespace, texts: list[str]) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"jasping-cluster-bench-{kind}-"))
    env = base_env(tmp / "data")
    stub = GraphStub()
    env["JASPING_WHATSAPP_GRAPH_URL"] = f"{stub.url}/{GRAPH_VERSION}"
    env["JASPING_WIDGET_MESSAGES_PER_AGENT"] = "0"  # the load is one agent's: its per-agent limit would cap it
    procs = Processes(tmp)
    try:
        if kind == "cluster":
            problem = ensure_postgres(args.database_url)
            if problem:
                return {"setup": kind, "skipped": problem}
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
            env |= {"JASPING_DATABASE_URL": args.database_url, "JASPING_REDIS_URL": args.redis_url}
            cli(env, "migrate")
            bases = [procs.web(f"web{i}", env, "--no-worker") for i in range(2)]
            for i in range(2):
                procs.start(f"worker{i}", ["worker", "--workers", "4"] + (["--no-periodic"] if i else []), env)
        else:
            cli(env, "migrate")
            bases = [procs.web("single", env)]
        log(f"{kind}: set up (ingestion by the worker)")
        public_key = set_up(bases, env)
        log(f"{kind}: warm-up")
        widget_load(bases, public_key, texts[:40], 2 * len(bases), 3.0)
        asyncio.run(whatsapp_load(bases, stub, texts[40:80], 2 * len(bases), 3.0))
        log(f"{kind}: widget, {args.visitors} visitors for {args.seconds} s")
        widget = widget_load(bases, public_key, texts, args.visitors, args.seconds)
        log(f"{kind}: WhatsApp, {args.customers} customers for {args.seconds} s")
        whatsapp = asyncio.run(whatsapp_load(bases, stub, texts[::-1], args.customers, args.seconds))
        return {"setup": kind, "web_processes": len(bases), "widget": widget, "whatsapp": whatsapp}
    finally:
        procs.stop()
        stub.close()


def markdown(runs: list[dict]) -> str:
    label = {
        "single": "1 process + its worker, SQLite",
        "cluster": "2 web + 2 workers, PostgreSQL + Redis",
    }
    lines = [
        "| set-up | widget msg/s | widget p50 / p95 ms | WhatsApp replies/s | WhatsApp end to end p50 / p95 ms "
        "| errors |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "skipped" in r:
            lines.append(f"| {label[r['setup']]} | skipped: {r['skipped']} | | | | |")
            continue
        w, a = r["widget"], r["whatsapp"]
        lines.append(
            f"| {label[r['setup']]} | {w['msg_per_s']} | {w['p50_ms']:.0f} / {w['p95_ms']:.0f} | {a['msg_per_s']} | "
            f"{a['p50_ms']:.0f} / {a['p95_ms']:.0f} | {w['errors'] + a['errors']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("JASPING_BENCH_CLUSTER_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--redis-url", default=os.environ.get("JASPING_BENCH_CLUSTER_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    texts = [q["text"] for q in load_queries() if len(q["text"]) <= 300]
    runs = [run(kind, args, texts) for kind in ("single", "cluster")]
    doc = {"bench": "cluster", "machine": machine(), "args": vars(args), "runs": runs}
    path = save_results(doc, f"cluster-{time.strftime('%Y-%m-%d')}")
    print(json.dumps(doc, indent=2) if args.json else markdown(runs))
    log(f"results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
