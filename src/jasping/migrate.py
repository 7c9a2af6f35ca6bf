"""Schema migrations with Alembic (`jasping migrate`, and at `serve` start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from jasping.crypto import PLATFORM, get_keyring
from jasping.db import get_engine

HERE = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine | None = None) -> str | None:
    with (engine or get_engine()).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine | None = None) -> str:
    """Bring the database to the newest schema and make sure the platform data key exists."""
    engine = engine or get_engine()
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # many processes starting at once (a rollout): one migrates at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(150028)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    keyring = get_keyring(engine)
    keyring.check()
    keyring.ensure_data_key(PLATFORM)
    return head()


def revision(message: str, engine: Engine | None = None) -> None:
    """Autogenerate a new migration against the database (for developers)."""
    cfg = alembic_config()
    with (engine or get_engine()).begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
