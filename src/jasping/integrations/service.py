"""Connecting, listing and disconnecting integrations, for every type through one registry.

A type registers a `Kind`: the pydantic model its settings are checked against, which of its fields are secrets
(stored encrypted, never shown again), whether it belongs to an agent, and hooks to prepare what is stored (for
example a signing secret made here and shown once) and to run on disconnect (revoke tokens, stop syncing).
`KIND_MODULES` lists the modules that register a kind; they are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents import service as agents
from jasping.db import new_id
from jasping.errors import Invalid, NotFound
from jasping.integrations.models import Integration
from jasping.security import audit
from jasping.security.audit import Actor

# Modules that call `register()` when imported; one line per type (and the providers, sinks and mailers over them).
KIND_MODULES: tuple[str, ...] = (
    "jasping.integrations.google_oauth",
    "jasping.integrations.calendars_google",
    "jasping.integrations.lead_sink_sheets",
    "jasping.integrations.mail_gmail",
    "jasping.integrations.calendars_caldav",
    "jasping.integrations.webhook_out",
    "jasping.integrations.mail_smtp",
)

MAX_ERROR = 500


@dataclass(frozen=True)
class Prepared:
    """What `connect` stores of a validated body: shown settings, encrypted secrets, and values to show once."""

    settings: dict
    secrets: dict
    shown_once: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    type: str
    model: type[BaseModel]  # the body without "type", "agent_id" and "name"
    secrets: tuple[str, ...] = ()
    needs_agent: bool = True
    prepare: Callable[[Session, BaseModel], Prepared] | None = None  # default: split the fields by `secrets`
    on_disconnect: Callable[[Session, Integration], None] | None = None
    description: str = ""


_KINDS: dict[str, Kind] = {}
_loaded = False


def register(kind: Kind) -> Kind:
    _KINDS[kind.type] = kind
    return kind


def kinds() -> dict[str, Kind]:
    """Every registered type, the modules of `KIND_MODULES` imported first."""
    global _loaded
    if not _loaded:
        for name in KIND_MODULES:
            importlib.import_module(name)
        _loaded = True
    return dict(_KINDS)


def kind_of(type_: object) -> Kind:
    known = kinds()
    if not isinstance(type_, str) or type_ not in known:
        names = ", ".join(sorted(known)) or "none"
        raise Invalid(f"type: give one of the integration types ({names})", code="invalid")
    return known[type_]


class BodyInvalid(Exception):
    """The body did not pass a kind's model; `errors` are pydantic's, located under "body"."""

    def __init__(self, errors: list[dict]):
        super().__init__("invalid integration settings")
        self.errors = errors


def _split(kind: Kind, data: BaseModel) -> Prepared:
    values = data.model_dump(mode="json")
    secrets = {k: values.pop(k) for k in kind.secrets if values.get(k) is not None}
    for k in kind.secrets:
        values.pop(k, None)
    return Prepared(values, secrets)


def connect(session: Session, *, body: dict[str, Any], actor: Actor, org_id: str) -> tuple[Integration, dict]:
    """Check `body` against its type and store the integration; (the integration, values shown only now)."""
    body = dict(body)
    kind = kind_of(body.pop("type", None))
    agent_id, name = body.pop("agent_id", None), body.pop("name", None)
    if agent_id is not None and not isinstance(agent_id, str):
        raise Invalid("agent_id: give the id of one of your agents")
    if kind.needs_agent and not agent_id:
        raise Invalid(f"agent_id: a {kind.type} integration belongs to an agent; give its id")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise Invalid("name: give a short text (200 characters at most)")
    if agent_id:
        agents.get_agent(session, agent_id)  # 404 for another organization's agent
    try:
        data = kind.model.model_validate(body)
    except ValidationError as exc:
        raise BodyInvalid([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
    prepared = (kind.prepare or (lambda _s, d: _split(kind, d)))(session, data)
    integration = Integration(
        id=new_id("int"),
        org_id=org_id,
        agent_id=agent_id,
        type=kind.type,
        name=(name or "").strip() or kind.type,
        settings=prepared.settings,
    )
    integration.secrets = prepared.secrets
    session.add(integration)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="integration.connect",
        org_id=org_id,
        object_type="integration",
        object_id=integration.id,
        detail={"type": kind.type, "agent_id": agent_id},
    )
    return integration, prepared.shown_once


def list_integrations(session: Session, *, agent_id: str | None = None, type_: str | None = None) -> list[Integration]:
    query = select(Integration).order_by(Integration.id)
    if agent_id:
        query = query.where(Integration.agent_id == agent_id)
    if type_:
        query = query.where(Integration.type == type_)
    return list(session.execute(query).scalars())


def active(session: Session, *, agent_id: str | None, types: tuple[str, ...]) -> list[Integration]:
    """The agent's integrations of these types, oldest first; with `agent_id=None`, the organization-wide ones."""
    query = select(Integration).where(Integration.type.in_(types))
    query = query.where(Integration.agent_id == agent_id) if agent_id else query.where(Integration.agent_id.is_(None))
    return list(session.execute(query.order_by(Integration.created_at, Integration.id)).scalars())


def get_integration(session: Session, integration_id: str) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound("no such integration", code="integration_not_found")
    return integration


def disconnect(session: Session, *, integration_id: str, actor: Actor) -> None:
    """Run the type's disconnect hook (revoke tokens, stop syncing), then delete the integration and its secrets."""
    integration = get_integration(session, integration_id)
    kind = kinds().get(integration.type)
    if kind is not None and kind.on_disconnect is not None:
        kind.on_disconnect(session, integration)
    audit.record(
        session,
        actor=actor,
        action="integration.disconnect",
        org_id=integration.org_id,
        object_type="integration",
        object_id=integration.id,
        detail={"type": integration.type, "agent_id": integration.agent_id},
    )
    session.delete(integration)
    session.flush()


def record_use(integration: Integration, error: str | None = None) -> None:
    """Note that the integration was used: `active` again on success, `error` with the reason on failure."""
    integration.last_used_at = clock.now()
    integration.status = "error" if error else "active"
    integration.last_error = error[:MAX_ERROR] if error else None


def describe(integration: Integration) -> dict:
    """What the API shows: never a secret's value, only its name."""
    return {
        "id": integration.id,
        "agent_id": integration.agent_id,
        "type": integration.type,
        "name": integration.name,
        "settings": {k: v for k, v in (integration.settings or {}).items() if v is not None},
        "secrets": sorted(integration.secrets),
        "status": integration.status,
        "last_error": integration.last_error,
        "last_used_at": integration.last_used_at,
        "created_at": integration.created_at,
    }
