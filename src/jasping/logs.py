"""Logging that never writes secrets or message content.

Log calls pass ids and counts, never bodies; as a second line of defence a filter masks anything
that looks like a bearer token, API key, password field, session cookie, email address or phone number.

`JASPING_LOG_FORMAT=json` writes one JSON object a line (time, level, logger, message, pid, request_id, and the
exception's type and trace), for a log collector; each HTTP request's lines carry its request id (the caller's
`X-Request-ID` when it is a plain token, else a new one), which the response echoes.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("jasping_request_id", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


def new_request_id(given: str | None) -> str:
    """The caller's request id when it is a plain token (a proxy's), else a new one."""
    return given if given and _REQUEST_ID.match(given) else secrets.token_hex(8)


_PATTERNS = [
    (re.compile(r"(?i)(authorization:?\s*bearer\s+)[^\s,;\"']+"), r"\1[redacted]"),
    (re.compile(r"\bjp_[0-9a-f]{8}_[A-Za-z0-9_\-]+"), "[api-key]"),
    (
        re.compile(r"(?i)((?:password|secret|token|api_key|master_key)[\"']?\s*[:=]\s*[\"']?)[^\s,;\"'&]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)(jasping_session=)[^\s;]+"), r"\1[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<![\w+])\+\d[\d \-]{6,16}\d\b"), "[phone]"),  # +212 6 12 34 56 78, +33612345678
    (re.compile(r"(?<![\w.:-])0\d(?:[ .\-]?\d{2}){4}\b"), "[phone]"),  # 06 12 34 56 78, 0612345678
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
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the message was already redacted by the filter."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            out["request_id"] = rid
        if record.exc_info:
            out["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            out["trace"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Root logging with the redacting filter on every handler (idempotent); `fmt` is `text` or `json`."""
    root = logging.getLogger()
    formatter = (
        JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    ours = [h for h in root.handlers if any(isinstance(f, RedactingFilter) for f in h.filters)]
    for handler in ours:
        handler.setFormatter(formatter)
    if not ours:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("httpx", "httpx2", "httpcore", "huey.consumer", "huey"):
        logging.getLogger(name).setLevel(logging.WARNING)  # chatty at INFO; URLs may carry ids
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "huey"):
        for h in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in h.filters):
                h.addFilter(RedactingFilter())
