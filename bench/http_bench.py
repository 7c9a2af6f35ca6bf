"""HTTP throughput and latency of a real `jasping serve`, on SQLite and on PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/http_bench.py [--backend sqlite|postgres|all] [--seconds 10]
                                         [--concurrency 32] [--json] [--client per-loop|shared]

For each backend the script sets up a fresh database (a temporary data directory for SQLite; a wiped
`public` schema for PostgreSQL), creates an organization and 10 agents with the CLI and the API, starts
`jasping serve --no-worker` on a free loopback port, and drives it with N concurrent asyncio + httpx
loops (after a warm-up). It measures `GET /healthz` (the framework alone) and an authenticated
`GET /api/v1/agents` (API-key check plus a database read). The load generator runs on the same
machine as the server and competes with it for CPU: the figures are a lower bound, not a capacity.
The server's own CPU time per request (from /proc) is recorded too; it does not depend on how fast
the load generator is. PostgreSQL is `JASPING_BENCH_DATABASE_URL` (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), a scratch database whose public schema is WIPED;
it is skipped with a note when it does not answer.

Results are printed as a Markdown table (or JSON with --json) and written to
bench/results/http-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - after the path set-up
    machine,
    make_log,
    save_results,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
log = make_log("bench")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WARMUP_SECONDS = 2.0
HEALTH_TIMEOUT = 60.0
N_AGENTS = 10


def jasping_bin() -> str:
    for candidate in (REPO / ".venv" / "bin" / "jasping", Path(sys.executable).parent / "jasping"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("jasping")
    if not found:
        raise SystemExit("cannot find the `jasping` command; run `make venv` first")
    return found


# ---- results ------------------------------------------------------------------------------------
@dataclass
class Result:
    backend: str
    endpoint: str
    tool: str
    seconds: float
    concurrency: int
    requests: int
    errors: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None = None
    max_ms: float | None = None
    error_samples: list[str] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    server_cpu_cores: float | None = None  # server process CPU during the window, in cores
    server_cpu_ms_per_req: float | None = None  # the framework's own CPU cost per request
    loadgen_cpu_cores: float | None = None  # this process (the load generator) during the window
    other_cpu_cores: float | None = None  # everything else on the machine during the window (noise)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(round(q / 100.0 * len(sorted_values) + 0.5))))
    return sorted_values[rank - 1]


# ---- the load generator -------------------------------------------------------------------------
def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (all cores, not idle or iowait), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Window:
    """What the loops recorded after the warm-up."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    wall: float = 0.0
    server_cpu: float | None = None
    client_cpu: float = 0.0
    machine_cpu: float | None = None


async def _load(
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    concurrency: int,
    warmup: float,
    client_mode: str = "per-loop",
    server_pid: int | None = None,
) -> Window:
    """N loops, each issuing one request after the other, for warmup + seconds.

    Only requests started after the warm-up are recorded. In "shared" mode every loop uses one
    AsyncClient limited to `concurrency` connections; in "per-loop" mode (the default) each loop has its
    own AsyncClient limited to one connection, so the total is still `concurrency` connections but
    httpcore's pool is not scanned by 32 waiters on every request (see README: at 32 connections the
    shared pool costs the load generator ~4x more CPU per request, which on 2 cores is what gets measured).
    """
    w = Window()
    timeout = httpx.Timeout(30.0)
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    last_done = measure_from
    marks: dict[str, float | None] = {}

    def client(n: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n), timeout=timeout, headers=headers
        )

    async def loop(c: httpx.AsyncClient) -> None:
        nonlocal last_done
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            recorded = t0 >= measure_from
            try:
                response = await c.get(url)
                ok = 200 <= response.status_code < 300
                key = str(response.status_code)
                detail = "" if ok else f"HTTP {response.status_code}: {response.text[:300]}"
            except Exception as exc:  # noqa: BLE001 - every failure is counted, not raised
                ok, key, detail = False, type(exc).__name__, f"{type(exc).__name__}: {exc!r}"[:300]
            t1 = time.perf_counter()
            if not recorded:
                continue
            last_done = max(last_done, t1)
            w.status_counts[key] = w.status_counts.get(key, 0) + 1
            if ok:
                w.latencies.append(t1 - t0)
            else:
                w.errors += 1
                if len(w.samples) < 5 and detail not in w.samples:
                    w.samples.append(detail)

    async def mark_window() -> None:
        """CPU counters of the server and of this process at the start and end of the window."""
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        marks["s0"], marks["c0"] = process_cpu_seconds(server_pid) if server_pid else None, own_cpu_seconds()
        marks["m0"] = machine_busy_seconds()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        marks["s1"], marks["c1"] = process_cpu_seconds(server_pid) if server_pid else None, own_cpu_seconds()
        marks["m1"] = machine_busy_seconds()

    marker = asyncio.ensure_future(mark_window())
    if client_mode == "shared":
        async with client(concurrency) as c:
            await asyncio.gather(*(loop(c) for _ in range(concurrency)))
    else:
        clients = [client(1) for _ in range(concurrency)]
        try:
            await asyncio.gather(*(loop(c) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
    await marker
    w.wall = max(stop_at, last_done) - measure_from
    if marks.get("s0") is not None and marks.get("s1") is not None:
        w.server_cpu = marks["s1"] - marks["s0"]  # type: ignore[operator]
    w.client_cpu = marks["c1"] - marks["c0"]  # type: ignore[operator]
    if marks.get("m0") is not None and marks.get("m1") is not None:
        w.machine_cpu = marks["m1"] - marks["m0"]  # type: ignore[operator]
    return w


def run_httpx(
    backend: str,
    name: str,
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    concurrency: int,
    client_mode: str,
    server_pid: int | None,
) -> Result:
    log(
        f"{backend}: {name} for {WARMUP_SECONDS:.0f}+{seconds:.0f}s at concurrency {concurrency} "
        f"(httpx, {client_mode} clients)"
    )
    w = asyncio.run(
        _load(
            url,
            headers,
            seconds=seconds,
            concurrency=concurrency,
            warmup=WARMUP_SECONDS,
            client_mode=client_mode,
            server_pid=server_pid,
        )
    )
    w.latencies.sort()
    ok = len(w.latencies)
    ms = [v * 1000.0 for v in w.latencies]
    window = seconds  # CPU counters cover exactly the measured window
    return Result(
        backend=backend,
        endpoint=name,
        tool=f"httpx ({client_mode})",
        seconds=round(w.wall, 2),
        concurrency=concurrency,
        requests=ok + w.errors,
        errors=w.errors,
        rps=round(ok / w.wall, 1) if w.wall > 0 else 0.0,
        p50_ms=rounded(percentile(ms, 50)),
        p99_ms=rounded(percentile(ms, 99)),
        mean_ms=rounded(statistics.fmean(ms) if ms else None),
        max_ms=rounded(ms[-1] if ms else None),
        error_samples=w.samples,
        status_counts=w.status_counts,
        server_cpu_cores=rounded(w.server_cpu / window) if w.server_cpu is not None else None,
        server_cpu_ms_per_req=rounded(w.server_cpu * 1000.0 / (ok + w.errors))
        if w.server_cpu is not None and ok + w.errors
        else None,
        loadgen_cpu_cores=rounded(w.client_cpu / window),
        other_cpu_cores=rounded(max(0.0, w.machine_cpu - w.client_cpu - (w.server_cpu or 0.0)) / window)
        if w.machine_cpu is not None
        else None,
    )


def rounded(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


# ---- optional: wrk ------------------------------------------------------------------------------
WRK = "/usr/bin/wrk"


def _wrk_ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000.0 if unit == "us" else value * 1000.0 if unit == "s" else value


def run_wrk(
    backend: str, name: str, url: str, headers: dict[str, str], *, seconds: float, concurrency: int
) -> Result | None:
    """The same scenario with wrk, when it is installed (it is not required)."""
    if not os.access(WRK, os.X_OK):
        return None
    log(f"{backend}: {name} for {seconds:.0f}s at concurrency {concurrency} (wrk)")
    cmd = [WRK, "-t2", f"-c{concurrency}", f"-d{int(seconds)}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    try:
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        log(f"wrk failed: {exc}")
        return None
    p = {m.group(1): _wrk_ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    reqs = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return Result(
        backend=backend,
        endpoint=name,
        tool="wrk",
        seconds=seconds,
        concurrency=concurrency,
        requests=int(reqs.group(1)) if reqs else 0,
        errors=errors,
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=rounded(p.get("50")),
        p99_ms=rounded(p.get("99")),
    )


# ---- backends -----------------------------------------------------------------------------------
def base_env(data_dir: Path) -> dict[str, str]:
    """The inherited environment minus any JASPING_* setting, plus a fresh data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JASPING_")}
    for k in ("HOST", "PORT"):
        env.pop(k, None)
    env["JASPING_DATA_DIR"] = str(data_dir)
    env["JASPING_LOG_LEVEL"] = "WARNING"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pg_libpq_url(url: str) -> str:
    """SQLAlchemy's `postgresql+psycopg://` to the libpq form psycopg accepts."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def reset_postgres(url: str) -> str | None:
    """Wipe the scratch database's public schema; the reason it is unusable, or None."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(pg_libpq_url(url), connect_timeout=3, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except Exception as exc:  # noqa: BLE001 - reported as a skip
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([jasping_bin(), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`jasping {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr.strip()}\n{proc.stdout.strip()}"
        )
    return proc.stdout


class Server:
    """`jasping serve --no-worker` in a subprocess, its output in a log file."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [jasping_bin(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        self.stop_seconds: float | None = None

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} before answering:\n{self.tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s. The exit code (None if it had to be killed).

        uvicorn shuts down gracefully on SIGTERM and then re-raises the signal, so a clean stop
        shows as -15."""
        code: int | None
        began = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log("server did not stop within 10 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait(timeout=10)
                code = None
        else:
            code = self.proc.returncode
        self.stop_seconds = round(time.monotonic() - began, 2)
        self._log.close()
        return code


def bench_backend(backend: str, *, seconds: float, concurrency: int, client_mode: str) -> dict:
    """Set up, serve, measure, tear down. A dict with results, skip reason and server problems."""
    out: dict = {
        "backend": backend,
        "results": [],
        "skipped": None,
        "server_log_tail": None,
        "server_exit_code": None,
        "problems": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix=f"jasping-bench-{backend}-"))
    server: Server | None = None
    try:
        env = base_env(tmp / "data")
        if backend == "postgres":
            url = os.environ.get("JASPING_BENCH_DATABASE_URL", DEFAULT_PG_URL)
            reason = reset_postgres(url)
            if reason:
                out["skipped"] = f"PostgreSQL at {pg_libpq_url(url)} does not answer: {reason}"
                print(f"note: skipping PostgreSQL: {out['skipped']}", file=sys.stderr)
                return out
            env["JASPING_DATABASE_URL"] = url
            out["database"] = re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)
        else:
            out["database"] = "SQLite (fresh temporary JASPING_DATA_DIR)"

        log(f"{backend}: migrate")
        cli(env, "migrate")
        log(f"{backend}: org create")
        created = json.loads(
            cli(env, "org", "create", "--name", "Bench", "--owner-email", "bench@example.org", "--json")
            .strip()
            .splitlines()[-1]
        )
        auth = {"Authorization": f"Bearer {created['api_key']}"}

        port = free_port()
        log(f"{backend}: serve on 127.0.0.1:{port}")
        server = Server(env, port, tmp / "server.log")
        started = time.monotonic()
        server.wait_healthy()
        out["startup_seconds"] = round(time.monotonic() - started, 2)

        with httpx.Client(base_url=server.base, headers=auth, timeout=30.0) as c:
            for i in range(1, N_AGENTS + 1):
                r = c.post("/api/v1/agents", json={"name": f"Agent {i}", "languages": ["en", "fr"]})
                if r.status_code != 201:
                    raise RuntimeError(f"POST /api/v1/agents answered {r.status_code}: {r.text[:500]}")
            r = c.get("/api/v1/agents")
            listed = len(r.json().get("agents", [])) if r.status_code == 200 else None
            if listed != N_AGENTS:
                raise RuntimeError(f"GET /api/v1/agents answered {r.status_code} with {listed} agents: {r.text[:500]}")

        scenarios = [
            ("GET /healthz", server.base + "/healthz", {}),
            ("GET /api/v1/agents", server.base + "/api/v1/agents", auth),
        ]
        for name, url, headers in scenarios:
            res = run_httpx(
                backend,
                name,
                url,
                headers,
                seconds=seconds,
                concurrency=concurrency,
                client_mode=client_mode,
                server_pid=server.proc.pid,
            )
            out["results"].append(asdict(res))
            if res.errors:
                out["problems"].append(f"{name}: {res.errors} errors, e.g. {res.error_samples}")
            if server.proc.poll() is not None:
                out["problems"].append(f"server exited with {server.proc.returncode} during {name}")
                break
            wrk = run_wrk(backend, name, url, headers, seconds=seconds, concurrency=concurrency)
            if wrk:
                out["results"].append(asdict(wrk))
    except Exception as exc:  # noqa: BLE001 - one backend's failure must not hide the other's figures
        out["problems"].append(f"{type(exc).__name__}: {exc}")
        log(f"{backend}: FAILED: {exc}")
    finally:
        if server is not None:
            out["server_exit_code"] = server.stop()
            out["server_stop_seconds"] = server.stop_seconds
            if out["server_exit_code"] not in (0, -signal.SIGTERM):
                out["problems"].append(f"server did not stop cleanly (exit code {out['server_exit_code']})")
            tail = server.tail()
            out["server_log_tail"] = tail or None
            if re.search(r"Traceback|ERROR|Exception", tail or ""):
                out["problems"].append("server log shows errors (see server_log_tail)")
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# ---- reporting ----------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def markdown(runs: list[dict]) -> str:
    rows = ["| backend | endpoint | req/s | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|"]
    for run in runs:
        if run["skipped"]:
            rows.append(f"| {run['backend']} | (skipped) | – | – | – | – |")
            continue
        for r in run["results"]:
            endpoint = r["endpoint"] + (" (wrk)" if r["tool"] == "wrk" else "")
            rows.append(
                f"| {run['backend']} | {endpoint} | {r['rps']:.0f} | {_fmt(r['p50_ms'])} | "
                f"{_fmt(r['p99_ms'])} | {r['errors']} |"
            )
    return "\n".join(rows)


def cpu_markdown(runs: list[dict]) -> str:
    rows = [
        "| backend | endpoint | server CPU ms/req | server cores | load-generator cores | other processes, cores |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        for r in run["results"]:
            if r["tool"] == "wrk":
                continue
            two = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
            rows.append(
                f"| {run['backend']} | {r['endpoint']} | {two(r['server_cpu_ms_per_req'])} | "
                f"{two(r['server_cpu_cores'])} | "
                f"{two(r['loadgen_cpu_cores'])} | {two(r['other_cpu_cores'])} |"
            )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of a table")
    parser.add_argument(
        "--client",
        choices=["per-loop", "shared"],
        default="per-loop",
        help="one AsyncClient per loop (default) or one shared AsyncClient; both open --concurrency connections",
    )
    args = parser.parse_args()
    if args.seconds <= 0 or args.concurrency <= 0:
        parser.error("--seconds and --concurrency must be positive")

    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    began = time.monotonic()
    runs = [
        bench_backend(b, seconds=args.seconds, concurrency=args.concurrency, client_mode=args.client) for b in backends
    ]
    now = dt.datetime.now(dt.UTC)
    doc = {
        "benchmark": "http",
        "date": now.date().isoformat(),
        "timestamp": now.isoformat(timespec="seconds"),
        "settings": {
            "seconds": args.seconds,
            "warmup_seconds": WARMUP_SECONDS,
            "concurrency": args.concurrency,
            "agents": N_AGENTS,
            "server": "jasping serve --no-worker (1 uvicorn process)",
            "client": args.client,
            "load_generator": f"asyncio + httpx ({args.client} AsyncClient) on the same machine"
            + (", and wrk" if os.access(WRK, os.X_OK) else ""),
        },
        "machine": machine(),
        "runs": runs,
        "total_seconds": round(time.monotonic() - began, 1),
    }
    path = save_results(doc, f"http-{doc['date']}")

    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(markdown(runs))
        print()
        print(cpu_markdown(runs))
        for run in runs:
            if run["skipped"]:
                print(f"\nnote: {run['backend']} skipped: {run['skipped']}")
            for p in run["problems"]:
                print(f"\n{run['backend']}: {p}")
        print(
            f"\n{doc['machine']['nproc']} CPUs ({doc['machine']['cpu']}); load generator on the same "
            f"machine; results in {path.relative_to(REPO)} ({doc['total_seconds']} s)"
        )
    failed = any(run["problems"] for run in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
