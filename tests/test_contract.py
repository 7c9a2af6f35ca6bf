"""The product contract, checked from outside: a real `jasping serve` process, the shared smoke tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from browser import free_port, wait_healthy
from conftest import IN_CI, JASPING, ROOT, cli_env

SMOKE = ROOT.parent / "shared" / "tools" / "contract_smoke.py"


@pytest.fixture
def server(db_url: str):  # noqa: ANN201
    port = free_port()
    env = cli_env(db_url, JASPING_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen(
        [JASPING, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, env, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_shared_contract_smoke_passes_against_a_live_server(server) -> None:
    if not SMOKE.exists():
        if IN_CI:
            pytest.fail(f"{SMOKE} missing in CI")
        pytest.skip("shared/tools/contract_smoke.py not beside the repository")
    url, env, _ = server
    out = subprocess.run(
        [sys.executable, str(SMOKE), "--url", url, "--cli", JASPING],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert ", 0 failed" in out.stdout


def test_serve_starts_a_worker_and_prints_the_dashboard_url(server) -> None:
    url, env, proc = server
    ping = subprocess.run(
        [JASPING, "jobs", "ping", "--timeout", "60"], env=env, capture_output=True, text=True, timeout=120
    )
    assert ping.returncode == 0, ping.stderr
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    assert f"JasPing dashboard: {url}/" in out


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    for name in (
        "JASPING_DATA_DIR",
        "JASPING_DATABASE_URL",
        "JASPING_REDIS_URL",
        "JASPING_MASTER_KEY",
        "JASPING_BASE_URL",
    ):
        assert name in readme, f"README does not document {name}"
    assert Path(ROOT / "docs").is_dir()
