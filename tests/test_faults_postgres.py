"""PostgreSQL restarted under a running web process (a throwaway cluster of the test's own, never the machine's
shared one): /readyz answers 503 while it is down, then 200 again, and the API works, with no manual action."""

from __future__ import annotations

import httpx
import pytest

from cluster import OwnPostgres, processes, wait_for
from conftest import CONFIGURED_PG_URL, cli_env, require_service


def _ready(url: str) -> int:
    try:
        return httpx.get(url + "/readyz", timeout=10).status_code
    except httpx.HTTPError:
        return 0


def test_postgres_restarted_readyz_says_503_then_recovers(tmp_path) -> None:
    require_service(CONFIGURED_PG_URL, "database")  # the PostgreSQL tests' switch (fails in CI when unset)
    pg = OwnPostgres()
    if not pg.available:
        pytest.skip("no PostgreSQL server binaries here")
    pg.init()
    pg.start()
    try:
        env = cli_env(pg.url, JASPING_DATA_DIR=str(tmp_path), JASPING_LOG_LEVEL="CRITICAL")
        with processes() as procs:
            _, web = procs.web(env)  # migrates the new database first
            assert _ready(web) == 200
            body = {
                "email": "owner@example.org",
                "password": "correct horse battery",
                "organization_name": "Acme",
                "accept_privacy_notice": True,
            }
            assert httpx.post(web + "/api/v1/auth/register", json=body, timeout=30).status_code == 201
            pg.stop()
            down = httpx.get(web + "/readyz", timeout=10)
            assert down.status_code == 503 and down.json()["checks"]["database"] == "unreachable"
            login = {"email": body["email"], "password": body["password"]}
            refused = httpx.post(web + "/api/v1/auth/login", json=login, timeout=30)
            assert refused.status_code == 503, refused.text  # said plainly, not a 500
            pg.start()
            wait_for(lambda: _ready(web) == 200, 60, "/readyz to recover")
            again = httpx.post(web + "/api/v1/auth/login", json=login, timeout=30)
            assert again.status_code == 200, again.text
    finally:
        pg.close()
