"""One HTTP client per process for the providers' APIs: its connection pool and TLS context are reused (a new
`httpx.post` per message builds a TLS context, ~25 ms of CPU, more than the rest of a delivery)."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_client: httpx.Client | None = None
_lock = threading.Lock()
_idempotency_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("jasping_idempotency", default=None)


@contextlib.contextmanager
def idempotency(key: str) -> Iterator[None]:
    """Within the block, each POST to a provider carries `key` (`Idempotency-Key`, and Twilio's
    `I-Twilio-Idempotency-Token`): a message sent again after its worker died mid-send, or after its answer was
    lost, is the same request to a provider that deduplicates on the key."""
    token = _idempotency_key.set(key)
    try:
        yield
    finally:
        _idempotency_key.reset(token)


def _add_key(request: httpx.Request) -> None:
    key = _idempotency_key.get()
    if key and request.method == "POST":
        request.headers["Idempotency-Key"] = key
        request.headers["I-Twilio-Idempotency-Token"] = key


def client() -> httpx.Client:
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(
                timeout=TIMEOUT,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                event_hooks={"request": [_add_key]},
            )
        return _client
