"""An injectable clock: all code asks `clock.now()`, tests and `jobs run-due --now` move it."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("jasping_now", default=None)


def now() -> datetime:
    """The current time, timezone-aware UTC (or the simulated time when one is set)."""
    return _frozen.get() or datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@contextlib.contextmanager
def frozen_at(instant: datetime) -> Iterator[datetime]:
    """Within the block, `now()` answers `instant`."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    token = _frozen.set(instant)
    try:
        yield instant
    finally:
        _frozen.reset(token)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
