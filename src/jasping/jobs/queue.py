"""The huey instance of this process, chosen from the settings."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from jasping.config import Settings, get_settings
from jasping.metrics import watch_jobs


def make_huey(settings: Settings) -> Huey:
    """RedisHuey when a Redis URL is configured (many workers), else SqliteHuey in the data dir."""
    if settings.redis_url:
        return RedisHuey("jasping", url=settings.redis_url, results=True, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("jasping", filename=str(settings.data_dir / "jobs.db"), results=True, utc=True, timeout=15)


huey = make_huey(get_settings())
watch_jobs(huey)


def backend_name() -> str:
    return "redis" if isinstance(huey, RedisHuey) else "sqlite"


def queue_reachable() -> bool:
    """True when the queue's storage answers (for /readyz)."""
    try:
        if isinstance(huey, RedisHuey):
            return bool(huey.storage.conn.ping())
        huey.pending_count()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
