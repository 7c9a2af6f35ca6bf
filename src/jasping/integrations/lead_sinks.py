"""Lead sinks: where a lead goes when it leaves JasPing (an outgoing webhook, a spreadsheet). One interface for all.

A sink type registers twice: as an integration `Kind` (what is connected, checked and stored) and here, with the
object that sends one lead event (`register_sink`). The outbox of `jasping.leads.syncs` calls `sink_for(type)` with a
`LeadEvent` and records the outcome; a sink raises `SinkError` (with `retry=False` when trying again cannot help).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from jasping.integrations import service
from jasping.integrations.models import Integration

# The lead's fields as every sink shows them, in this order (CSV columns, sheet columns, webhook JSON keys).
LEAD_FIELDS = (
    "id",
    "agent_id",
    "conversation_id",
    "kind",
    "status",
    "name",
    "email",
    "phone",
    "language",
    "consent",
    "consent_at",
    "consent_text",
    "created_at",
    "updated_at",
)


class SinkError(Exception):
    """A lead could not be sent; `retry` says whether trying again later may help."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.message = message
        self.retry = retry


@dataclass(frozen=True)
class LeadEvent:
    """One version of a lead to send: `id` stays the same across the retries of that version (receivers dedupe)."""

    id: str
    type: str  # lead.created | lead.updated
    occurred_at: datetime
    lead: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "created_at": _iso(self.occurred_at), "lead": self.lead}


class LeadSink(Protocol):
    """Sends lead events to one connected integration."""

    def send(self, integration: Integration, event: LeadEvent) -> str | None:
        """Deliver `event`, or raise `SinkError`; returns where the copy now is when the sink can later remove it
        (a sheet's range), for erasure."""


_SINKS: dict[str, LeadSink] = {}
_ACCEPTS: dict[str, Callable[[Integration], bool]] = {}


def register_sink(type_: str, sink: LeadSink, accepts: Callable[[Integration], bool] | None = None) -> LeadSink:
    """`accepts` tells which integrations of the type receive leads (a Google account with the `sheets` use)."""
    _SINKS[type_] = sink
    if accepts is not None:
        _ACCEPTS[type_] = accepts
    return sink


def receives(integration: Integration) -> bool:
    """Whether this integration (of a sink type) receives leads."""
    return _ACCEPTS.get(integration.type, lambda _i: True)(integration)


def sink_types() -> tuple[str, ...]:
    """The integration types that receive leads (the registry's modules imported first)."""
    service.kinds()
    return tuple(sorted(_SINKS))


def sink_for(type_: str) -> LeadSink | None:
    service.kinds()
    return _SINKS.get(type_)


def lead_record(lead: Any) -> dict[str, Any]:
    """The lead as sinks show it: `LEAD_FIELDS`, times in ISO 8601 UTC, then `custom` (the business's fields)."""
    record = {name: getattr(lead, name, None) for name in LEAD_FIELDS}
    for name in ("consent_at", "created_at", "updated_at"):
        record[name] = _iso(record[name])
    record["consent"] = bool(record["consent"])
    record["custom"] = {str(k): v for k, v in (lead.custom or {}).items()}
    return record


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
