"""Test set-up: real databases (SQLite always, PostgreSQL when JASPING_TEST_DATABASE_URL is set),
a fresh data directory, and helpers to create organizations and call the API as a user would.

Database tests take the `db_url` fixture, parametrized over both backends. In CI (CI=true) a
missing PostgreSQL or Redis URL fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# One time-zone data source: the `tzdata` package, never the system's zone files (they disagree on
# Africa/Casablanca in 2026). Set here, before anything builds a zone, and for the processes tests start.
os.environ["PYTHONTZPATH"] = ""  # an empty search path: zoneinfo reads the tzdata package
zoneinfo.reset_tzpath(to=[])
zoneinfo.ZoneInfo.clear_cache()

_DATA = Path(tempfile.mkdtemp(prefix="jasping-test-"))
os.environ["JASPING_DATA_DIR"] = str(_DATA)
os.environ["JASPING_BASE_URL"] = "http://testserver"
os.environ["JASPING_BLOCK_MODEL_REQUESTS"] = "1"  # no test may reach a real model provider
for _name in ("JASPING_DATABASE_URL", "JASPING_REDIS_URL", "JASPING_MASTER_KEY", "JASPING_OLD_MASTER_KEYS"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from jasping import db as dbmod  # noqa: E402
from jasping import migrate  # noqa: E402
from jasping.config import get_settings  # noqa: E402
from jasping.crypto import PLATFORM, get_keyring, reset_keyrings  # noqa: E402
from jasping.models import Base  # noqa: E402

PG_URL = os.environ.get("JASPING_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("JASPING_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[1]
SQLITE_URL = f"sqlite:///{_DATA / 'jasping.db'}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_DATA, ignore_errors=True)


def require_service(url: str | None, name: str) -> str:
    """The service URL, or a skip (locally) / failure (in CI) when it is not configured."""
    if url:
        return url
    if IN_CI:
        pytest.fail(f"{name} is not configured in CI; set its JASPING_TEST_* variable")
    pytest.skip(f"{name} not configured (set JASPING_TEST_{name.upper()}_URL)")


_migrated: set[str] = set()


def _use_database(url: str) -> None:
    os.environ["JASPING_DATABASE_URL"] = url
    get_settings.cache_clear()
    dbmod.dispose_engines()
    reset_keyrings()


def _wipe(url: str) -> None:
    engine = dbmod.get_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata
    reset_keyrings()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database on each backend; the process-wide settings point at it."""
    url = SQLITE_URL if request.param == "sqlite" else require_service(PG_URL, "database")
    if url.startswith("postgresql") and url not in _migrated:
        with dbmod.make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    _use_database(url)
    if url not in _migrated:
        migrate.upgrade()
        _migrated.add(url)
    _wipe(url)
    get_keyring().ensure_data_key(PLATFORM)
    yield url


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    from jasping.app import create_app
    from jasping.jobs.queue import huey
    from jasping.knowledge import retrieval
    from jasping.security import ratelimit

    huey.immediate = True  # jobs enqueued by requests run right after the request's commit
    retrieval.forget()
    ratelimit.reset()

    with TestClient(create_app(), base_url="http://testserver") as c:
        yield c


@dataclass
class Org:
    id: str
    api_key: str
    email: str
    password: str
    client: TestClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def get(self, path: str, **kw):  # noqa: ANN201
        return self.client.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, **kw):  # noqa: ANN201
        return self.client.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)


@pytest.fixture
def make_org(client: TestClient):  # noqa: ANN201
    """Register an organization through the API (as a person would) and give it an API key."""
    from jasping.app import create_app

    counter = iter(range(1000))

    def make(name: str = "Acme") -> Org:
        n = next(counter)
        email, password = f"owner{n}-{name.lower()}@example.org", "correct horse battery"
        own = TestClient(create_app(), base_url="http://testserver")
        r = own.post("/api/v1/auth/register", json={"email": email, "password": password, "organization_name": name})
        assert r.status_code == 201, r.text
        own.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        key = own.post("/api/v1/api-keys", json={"name": "tests"})
        assert key.status_code == 201, key.text
        return Org(r.json()["organization_id"], key.json()["secret"], email, password, own)

    return make


def cli_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment for a `jasping` subprocess that shares this test's database and keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JASPING_")}
    env.update(
        {
            "JASPING_DATA_DIR": str(_DATA),
            "JASPING_DATABASE_URL": db_url,
            "JASPING_LOG_LEVEL": "WARNING",
            "JASPING_BLOCK_MODEL_REQUESTS": "1",
        }
    )
    env.update(extra)
    return env


JASPING = str(Path(os.sys.executable).with_name("jasping"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    """Say how many tests ran on each backend, so a CI log shows PostgreSQL and Redis were not skipped."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup") or (
                outcome != "skipped" and report.when != "call"
            ):
                continue
            node = report.nodeid
            for label, present in (
                ("postgres", "[postgres" in node),
                ("sqlite", "[sqlite" in node),
                ("redis", "redis" in node),
            ):
                if present:
                    counts.setdefault(label, {}).setdefault(outcome, 0)
                    counts[label][outcome] += 1
    terminalreporter.write_sep("-", "tests by backend")
    for label in ("sqlite", "postgres", "redis"):
        c = counts.get(label, {})
        terminalreporter.write_line(
            f"{label}: {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped"
        )
