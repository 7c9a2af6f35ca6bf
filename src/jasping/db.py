"""Database engines and sessions (SQLite WAL by default, PostgreSQL by URL) and the tenant scope.

Tenant isolation lives here, in one place: a session opened with `org_id` adds
`org_id = :org` to every ORM query of a `TenantScoped` model and refuses to write a row of another
organization. Routes and services never filter by organization themselves.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, ForeignKey, String, create_engine, event
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from jasping import clock
from jasping.config import Settings, get_settings


def new_id(prefix: str) -> str:
    """A readable random id such as `agt_4k2v…` (prefix says the kind of object)."""
    return f"{prefix}_{secrets.token_hex(10)}"


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use jasping.clock.now()")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return clock.as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class TenantScoped(Timestamped):
    """A row owned by one organization; every query on it is scoped by the session."""

    @declared_attr
    def org_id(cls) -> Mapped[str]:  # noqa: N805
        return mapped_column(String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True)

    @property
    def crypto_scope(self) -> str:
        return self.org_id


class TenantMismatch(Exception):
    """A write would put a row into another organization than the session's."""


# ---- engines ---------------------------------------------------------------------------------
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages (erasure)
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front, so a read-then-write transaction never fails with
        # SQLITE_BUSY_SNAPSHOT; readers begin deferred and do not block one another.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """A new engine for `url`, tuned for its backend."""
    settings = settings or get_settings()
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 15}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            path = url.split("///", 1)[-1]
            if path:
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = settings.db_pool_size
            kwargs["max_overflow"] = settings.web_threads
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=settings.db_pool_size, max_overflow=20, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for the configured database (created once)."""
    url = url or get_settings().effective_database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _makers.clear()


# ---- sessions --------------------------------------------------------------------------------
class ScopedSession(Session):
    """A session that knows its organization (`info["org_id"]`; None for platform work)."""

    @property
    def org_id(self) -> str | None:
        return self.info.get("org_id")


@event.listens_for(ScopedSession, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    org_id = state.session.info.get("org_id")
    if org_id is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantScoped, lambda cls: cls.org_id == org_id, include_aliases=True)
        )


@event.listens_for(ScopedSession, "before_flush")
def _scope_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    org_id = session.info.get("org_id")
    if org_id is None:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped):
            if obj.org_id is None:
                obj.org_id = org_id
            elif obj.org_id != org_id:
                raise TenantMismatch(f"{type(obj).__name__} belongs to another organization")


def after_commit(session: Session, fn: Callable[[], object]) -> None:
    """Call `fn` once the session's current transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(fn)


def after_rollback(session: Session, fn: Callable[[], object]) -> None:
    """Call `fn` if the session's current transaction rolls back (undo a side effect outside the database)."""
    session.info.setdefault("after_rollback", []).append(fn)


@event.listens_for(ScopedSession, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop("after_rollback", None)
    for fn in session.info.pop("after_commit", []):
        fn()


@event.listens_for(ScopedSession, "after_soft_rollback")
def _run_after_rollback(session: Session, previous: Any) -> None:
    if not getattr(previous, "nested", False):
        session.info.pop("after_commit", None)
        for fn in session.info.pop("after_rollback", []):
            fn()


@contextlib.contextmanager
def unscoped(session: Session) -> Iterator[Session]:
    """Lift the tenant scope for platform-level reads (a user's memberships in every organization).
    Rows of other organizations loaded meanwhile are evicted afterwards, so nothing leaks later."""
    org_id = session.info.get("org_id")
    session.info["org_id"] = None
    try:
        yield session
    finally:
        session.info["org_id"] = org_id
        if org_id is not None:
            for obj in list(session.identity_map.values()):
                if isinstance(obj, TenantScoped) and obj.org_id != org_id:
                    session.expunge(obj)


_makers: dict[tuple[int, bool], sessionmaker] = {}


def _maker(engine: Engine, write: bool) -> sessionmaker:
    key = (id(engine), write)
    if key not in _makers:
        bind = engine
        if engine.dialect.name == "sqlite" and write:
            bind = engine.execution_options(sqlite_begin="IMMEDIATE")
        _makers[key] = sessionmaker(bind=bind, class_=ScopedSession, expire_on_commit=False)
    return _makers[key]


def open_session(org_id: str | None = None, *, write: bool = True, engine: Engine | None = None) -> ScopedSession:
    """A new session, scoped to `org_id` when given. `write=False` begins SQLite reads deferred."""
    session = _maker(engine or get_engine(), write)()
    session.info["org_id"] = org_id
    return session


@contextlib.contextmanager
def session_scope(org_id: str | None = None, *, write: bool = True) -> Iterator[ScopedSession]:
    """A unit of work: commit on success, roll back on error."""
    session = open_session(org_id, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
