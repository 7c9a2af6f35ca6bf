"""Rate limits for the public endpoints: fixed windows counted in Redis when it is configured (shared by
every process), else in this process's memory."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from jasping.config import get_settings
from jasping.errors import DomainError


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Limit:
    name: str
    per_minute: int


class _Memory:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 50_000:  # drop finished windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
            return self._counts[(key, window)]


class _Redis:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def incr(self, key: str, window: int) -> int:
        name = f"jasping:rl:{key}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        return int(pipe.execute()[0])


_backend: _Memory | _Redis | None = None
_backend_lock = threading.Lock()


def _store() -> _Memory | _Redis:
    global _backend
    with _backend_lock:
        if _backend is None:
            url = get_settings().redis_url
            _backend = _Redis(url) if url else _Memory()
        return _backend


def reset() -> None:
    """Forget all counters (tests)."""
    global _backend
    with _backend_lock:
        _backend = None


def check(limit: Limit, key: str) -> None:
    """Count one request for `key`; RateLimited (429, Retry-After) past `limit.per_minute` in this minute."""
    if limit.per_minute <= 0:
        return
    now = time.time()
    window = int(now // 60)
    try:
        count = _store().incr(f"{limit.name}:{key}", window)
    except Exception:  # noqa: BLE001 - a limiter outage must not take the chat down
        return
    if count > limit.per_minute:
        raise RateLimited(f"too many requests; try again in {60 - int(now % 60)} seconds", 60 - int(now % 60))
