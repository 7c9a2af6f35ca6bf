"""Rate limits and locks: fixed windows counted in Redis when it is configured (shared by every process), else in
this process's memory. Windows and locks follow `clock.now()`, so tests (and `jobs run-due --now`) move through them
without sleeping; Redis keys also expire on their own after the window (real time) so nothing piles up.

A limiter outage (Redis down) never takes a page down: counting then answers 0 and nothing is locked."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

from jasping import clock
from jasping.config import get_settings
from jasping.errors import DomainError

log = logging.getLogger(__name__)
PREFIX = "jasping:rl:"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per fixed window of `window` seconds (0 or less: no limit)."""

    name: str
    count: int
    window: int = 60


class _Memory:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], list] = {}  # (key, window number) -> [count, the window's end]
        self._locks: dict[str, float] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, window: int, ttl: int) -> int:
        with self._lock:
            if len(self._counts) > 50_000:  # drop finished windows
                now = clock.now().timestamp()
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            entry = self._counts.setdefault((key, window), [0, (window + 1) * ttl])
            entry[0] += 1
            return entry[0]

    def forget(self, key: str, window: int) -> None:
        with self._lock:
            self._counts.pop((key, window), None)

    def lock(self, key: str, until: float) -> None:
        with self._lock:
            if len(self._locks) > 50_000:
                now = clock.now().timestamp()
                self._locks = {k: v for k, v in self._locks.items() if v > now}
            self._locks[key] = max(until, self._locks.get(key, 0))

    def unlock(self, key: str) -> None:
        with self._lock:
            self._locks.pop(key, None)

    def locked_until(self, key: str) -> float | None:
        with self._lock:
            return self._locks.get(key)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._locks.clear()


class _Redis:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def incr(self, key: str, window: int, ttl: int) -> int:
        name = f"{PREFIX}{key}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(name)
        pipe.expire(name, ttl + 60)
        return int(pipe.execute()[0])

    def forget(self, key: str, window: int) -> None:
        self._client.delete(f"{PREFIX}{key}:{window}")

    def lock(self, key: str, until: float) -> None:
        """The lock's end as the value (compared with `clock.now()`), kept at least as long in real time."""
        name = f"{PREFIX}lock:{key}"
        seconds = max(1, math.ceil(until - clock.now().timestamp())) + 60
        current = self.locked_until(key)
        if current is None or until > current:
            self._client.set(name, repr(until), ex=seconds)

    def unlock(self, key: str) -> None:
        self._client.delete(f"{PREFIX}lock:{key}")

    def locked_until(self, key: str) -> float | None:
        value = self._client.get(f"{PREFIX}lock:{key}")
        return float(value) if value is not None else None

    def clear(self) -> None:
        """Delete every key of the limiter (tests); other keys of the database are left alone."""
        names = list(self._client.scan_iter(match=f"{PREFIX}*", count=1000))
        if names:
            self._client.delete(*names)


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
    """Forget this process's counters and locks, and the backend (tests; the next use reads the settings again)."""
    global _backend
    with _backend_lock:
        if isinstance(_backend, _Memory):
            _backend.clear()
        _backend = None


def clear() -> None:
    """Delete every counter and lock, in Redis too (tests)."""
    _store().clear()
    reset()


def _window(limit: Limit) -> tuple[int, float]:
    """The current window's number and the seconds left in it."""
    now = clock.now().timestamp()
    index = int(now // limit.window)
    return index, (index + 1) * limit.window - now


def hit(limit: Limit, key: str) -> int:
    """Count one hit for `key` in the current window; the count so far (0 when the limit is off or the store down)."""
    if limit.count <= 0:
        return 0
    index, _ = _window(limit)
    try:
        return _store().incr(f"{limit.name}:{key}", index, limit.window)
    except Exception:  # noqa: BLE001 - a limiter outage must not take the service down
        log.warning("rate limiter unavailable; %s not counted", limit.name)
        return 0


def forget(limit: Limit, key: str) -> None:
    """Start the current window of `key` from zero again (a successful log-in clears its failures)."""
    if limit.count <= 0:
        return
    try:
        _store().forget(f"{limit.name}:{key}", _window(limit)[0])
    except Exception:  # noqa: BLE001
        log.warning("rate limiter unavailable; %s not cleared", limit.name)


def retry_after(limit: Limit) -> int:
    """Seconds until the current window of `limit` ends (at least 1)."""
    return max(1, math.ceil(_window(limit)[1]))


def check(limit: Limit, key: str) -> None:
    """Count one request for `key`; RateLimited (429, Retry-After) past `limit.count` in this window."""
    if hit(limit, key) > limit.count:
        wait = retry_after(limit)
        raise RateLimited(f"too many requests; try again in {wait} seconds", wait)


def lock(name: str, key: str, seconds: int) -> float:
    """Lock `key` for `seconds` from now (a longer lock already held stays); the lock's end (a timestamp)."""
    until = clock.now().timestamp() + seconds
    try:
        _store().lock(f"{name}:{key}", until)
    except Exception:  # noqa: BLE001
        log.warning("rate limiter unavailable; %s not locked", name)
    return until


def unlock(name: str, key: str) -> None:
    try:
        _store().unlock(f"{name}:{key}")
    except Exception:  # noqa: BLE001
        log.warning("rate limiter unavailable; %s not unlocked", name)


def locked_for(name: str, key: str) -> int:
    """Seconds left on `key`'s lock (0: not locked)."""
    try:
        until = _store().locked_until(f"{name}:{key}")
    except Exception:  # noqa: BLE001
        log.warning("rate limiter unavailable; %s not checked", name)
        return 0
    if until is None:
        return 0
    left = until - clock.now().timestamp()
    return math.ceil(left) if left > 0 else 0
