"""An agent's settings as a turn reads them, cached per process and keyed by the agent's `updated_at`.

A turn already reads the agent's `updated_at` with its conversation (`conversations.service.turn_row`), so the
settings are read again only after a change — in any process: `updated_at` moves with every update of the row
(`onupdate`), and this process also drops its copy when it updates the agent itself (so a clock held still in tests
cannot hide a change). The snapshot is immutable and shared between threads; it carries what the turn uses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from jasping.agents.models import Agent
from jasping.db import after_commit
from jasping.errors import NotFound

MAX_AGENTS = 1024


@dataclass(frozen=True)
class AgentSettings:
    """What a turn reads of an agent (the fields of `Agent` of the same names)."""

    id: str
    org_id: str
    name: str
    languages: tuple[str, ...]
    instructions: str
    greeting: str
    public_key: str
    widget_color: str | None
    allowed_origins: tuple[str, ...]
    booking: Any  # a dict, or None (scheduling)
    updated_at: datetime

    @classmethod
    def of(cls, agent: Agent) -> AgentSettings:
        return cls(
            id=agent.id,
            org_id=agent.org_id,
            name=agent.name,
            languages=tuple(agent.languages or ["en"]),
            instructions=agent.instructions or "",
            greeting=agent.greeting or "",
            public_key=agent.public_key,
            widget_color=agent.widget_color,
            allowed_origins=tuple(agent.allowed_origins or ()),
            booking=agent.booking,
            updated_at=agent.updated_at,
        )


_cache: OrderedDict[str, AgentSettings] = OrderedDict()
_lock = threading.Lock()


def settings(session: Session, agent_id: str, updated_at: datetime | None) -> AgentSettings:
    """The agent's settings as of `updated_at` (read from the database when this process has an older copy)."""
    with _lock:
        cached = _cache.get(agent_id)
        if cached is not None and updated_at is not None and cached.updated_at == updated_at:
            _cache.move_to_end(agent_id)
            return cached
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    fresh = AgentSettings.of(agent)
    with _lock:
        _cache[agent_id] = fresh
        _cache.move_to_end(agent_id)
        while len(_cache) > MAX_AGENTS:
            _cache.popitem(last=False)
    return fresh


def forget(agent_id: str | None = None) -> None:
    with _lock:
        if agent_id is None:
            _cache.clear()
        else:
            _cache.pop(agent_id, None)


@event.listens_for(Agent, "after_update")
def _changed(_mapper: Any, _connection: Any, target: Agent) -> None:
    forget(target.id)


@event.listens_for(Agent, "after_delete")
def _deleted(_mapper: Any, _connection: Any, target: Agent) -> None:
    """A deleted agent: its cached settings go now, its search indexes stored on disk once the deletion commits."""
    from jasping.knowledge import persist

    forget(target.id)
    session, agent_id = object_session(target), target.id
    if session is not None:
        after_commit(session, lambda: persist.forget_agent(agent_id))
