"""One HTTP client per process for the providers' APIs: its connection pool and TLS context are reused (a new
`httpx.post` per message builds a TLS context, ~25 ms of CPU, more than the rest of a delivery)."""

from __future__ import annotations

import threading

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(
                timeout=TIMEOUT, limits=httpx.Limits(max_connections=50, max_keepalive_connections=20)
            )
        return _client
