"""Logging that never writes secrets or message content.

Log calls pass ids and counts, never bodies; as a second line of defence a filter masks anything
that looks like a bearer token, API key, password field, session cookie or email address.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(?i)(authorization:?\s*bearer\s+)[^\s,;\"']+"), r"\1[redacted]"),
    (re.compile(r"\bjp_[0-9a-f]{8}_[A-Za-z0-9_\-]+"), "[api-key]"),
    (
        re.compile(r"(?i)((?:password|secret|token|api_key|master_key)[\"']?\s*[:=]\s*[\"']?)[^\s,;\"'&]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)(jasping_session=)[^\s;]+"), r"\1[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
]


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets and personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not kill logging
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        return True


def setup(level: str = "INFO") -> None:
    """Root logging with the redacting filter on every handler (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("httpx", "httpx2", "httpcore", "huey.consumer", "huey"):
        logging.getLogger(name).setLevel(logging.WARNING)  # chatty at INFO; URLs may carry ids
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "huey"):
        for h in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in h.filters):
                h.addFilter(RedactingFilter())
