"""Test set-up: real databases (SQLite always, PostgreSQL when JASPING_TEST_DATABASE_URL is set),
a fresh data directory, and helpers to create organizations and call the API as a user would.

Database tests take the `db_url` fixture, parametrized over both backends. In CI (CI=true) a
missing PostgreSQL or Redis URL fails the run instead of skipping silently.

Under pytest-xdist (`make test` runs `-n auto`) each worker process has its own data directory (and
so its own SQLite file), its own PostgreSQL database (`<database>_gw0`, `<database>_gw1`…, created
through the configured database when absent) and its own Redis database index.
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
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from jasping import db as dbmod  # noqa: E402
from jasping import migrate  # noqa: E402
from jasping.config import get_settings  # noqa: E402
from jasping.crypto import PLATFORM, get_keyring, reset_keyrings  # noqa: E402
from jasping.models import Base  # noqa: E402
from jasping.security import passwords  # noqa: E402

# Cheap argon2id parameters for the tests' own process only (production keeps argon2-cffi's RFC 9106 profile,
# 64 MiB and 3 passes, ~0.1 s a hash): every test registers owners and logs in, and the hashing cost was
# a measurable share of the suite. Processes the tests start (`jasping serve`…) keep the real parameters.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords.DUMMY_HASH = passwords._hasher.hash("jasping-timing-equaliser")

# "gw0", "gw1"… in a pytest-xdist worker (set before this file is imported); None in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_database_url(url: str | None) -> str | None:
    """This worker's own PostgreSQL database: the configured one's name + `_gw<n>` (it is created on first use)."""
    if not url or not WORKER:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


def _worker_redis_url(url: str | None) -> str | None:
    """This worker's own Redis database index: workers spread over the 16 indexes from the configured one
    (2 workers on /0: /0 and /8), so that a job one worker enqueues is never taken by another's consumer."""
    if not url or not WORKER:
        return url
    from urllib.parse import urlsplit, urlunsplit

    n, count = int(WORKER.removeprefix("gw")), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = (base + n * max(1, 16 // count)) % 16 if count <= 16 else base + n
    return urlunsplit(parts._replace(path=f"/{index}"))


CONFIGURED_PG_URL = os.environ.get("JASPING_TEST_DATABASE_URL")
PG_URL = _worker_database_url(CONFIGURED_PG_URL)
REDIS_URL = _worker_redis_url(os.environ.get("JASPING_TEST_REDIS_URL"))
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


def _ensure_database(url: str) -> None:
    """Create this worker's PostgreSQL database when absent, connecting through the configured database."""
    if url == CONFIGURED_PG_URL:
        return
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = dbmod.make_engine(CONFIGURED_PG_URL)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # One creator at a time: two CREATE DATABASE from template1 at once can fail on a busy template.
            conn.execute(text("SELECT pg_advisory_lock(7310042)"))
            try:
                if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(7310042)"))
    finally:
        engine.dispose()


def _use_database(url: str) -> None:
    os.environ["JASPING_DATABASE_URL"] = url
    get_settings.cache_clear()
    dbmod.dispose_engines()
    reset_keyrings()


def _wipe(url: str) -> None:
    engine = dbmod.get_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]  # children before the rows they reference
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # DELETE rather than TRUNCATE: on a test's few rows it is ~10 ms against ~80 ms, in one round trip.
            conn.execute(text("; ".join(f"DELETE FROM {name}" for name in tables)))  # noqa: S608 - from metadata
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from metadata
    reset_keyrings()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database on each backend; the process-wide settings point at it."""
    url = SQLITE_URL if request.param == "sqlite" else require_service(PG_URL, "database")
    if url.startswith("postgresql") and url not in _migrated:
        _ensure_database(url)
        with dbmod.make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    _use_database(url)
    if url not in _migrated:
        migrate.upgrade()
        _migrated.add(url)
    _wipe(url)
    get_keyring().ensure_data_key(PLATFORM)
    yield url


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Every test starts with no rate-limit counter or lock (the in-process store would carry them over)."""
    from jasping.security import ratelimit

    ratelimit.reset()
    yield
    ratelimit.reset()


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
        body = {"email": email, "password": password, "organization_name": name, "accept_privacy_notice": True}
        r = own.post("/api/v1/auth/register", json=body)
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
    """Say how many tests ran on each backend, so a CI log shows PostgreSQL and Redis were not skipped.

    Under pytest-xdist this runs in the controller, whose stats hold every worker's reports: the counts are the
    whole run's. A fixture that fails (an error: e.g. PostgreSQL not configured in CI) counts as failed."""
    counts: dict[str, dict[str, int]] = {}
    for kind in ("passed", "failed", "skipped", "error"):
        outcome = "failed" if kind == "error" else kind
        for report in terminalreporter.stats.get(kind, []):
            when = getattr(report, "when", "call")
            if when not in ("call", "setup", "teardown") or (kind in ("passed", "failed") and when != "call"):
                continue
            if kind == "skipped" and when == "teardown":
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
