"""Real processes for the cluster and fault tests: `jasping serve` web processes, `jasping worker` processes, a
throwaway Redis server and a throwaway PostgreSQL cluster of the test's own (restarted by the tests without
touching the machine's shared services)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import JASPING


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 600
    except httpx.HTTPError:
        return False


class Procs:
    """Processes started by a test, stopped (killed if need be) at its end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Started with its output in a file (a pipe nobody reads would block a process that logs a lot)."""
        log = tempfile.NamedTemporaryFile(prefix="jasping-proc-", suffix=".log", delete=False)  # noqa: SIM115
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        proc.log_path = log.name
        log.close()
        self.started.append(proc)
        return proc

    @staticmethod
    def output(proc: subprocess.Popen) -> str:
        return Path(proc.log_path).read_text(errors="replace")

    def web(self, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
        """A `jasping serve --no-worker` process on a free port, answering; returns it and its base URL."""
        port = free_port()
        proc = self.start([JASPING, "serve", "--no-worker", "--port", str(port), "--demo-port", "0"], env)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: proc.poll() is not None or _answers(url + "/healthz"), 120, "the web process")
        assert proc.poll() is None, self.output(proc)[-3000:]
        return proc, url

    def worker(self, env: dict[str, str], *args: str) -> subprocess.Popen:
        return self.start([JASPING, "worker", *args], env)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            Path(proc.log_path).unlink(missing_ok=True)


@contextmanager
def processes() -> Iterator[Procs]:
    procs = Procs()
    try:
        yield procs
    finally:
        procs.stop_all()


class OwnRedis:
    """A redis-server of the test's own on a free port, persisting to an append-only file so that a restart keeps
    the queue (the setting docs/operations.md asks of a production Redis)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="jasping-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        wait_for(self._up, 20, "redis")

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # flushes the append-only file
            self.proc.wait(timeout=20)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, trust auth, a free port), so that
    stopping it breaks no one else's tests. Run as the `postgres` user when the tests run as root."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="jasping-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_postgres = os.geteuid() == 0

    @property
    def available(self) -> bool:
        return self.bin is not None and shutil.which("runuser") is not None or not self.as_postgres

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)  # noqa: S603

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
