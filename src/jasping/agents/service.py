"""Service functions of agents. The session is scoped to the organization (see jasping.db)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.agents.models import Agent
from jasping.agents.schemas import AgentCreate, AgentUpdate
from jasping.billing import usage
from jasping.db import new_id
from jasping.errors import NotFound
from jasping.security import audit
from jasping.security.audit import Actor


def default_greeting(name: str) -> str:
    return f"Hello! I'm {name}. How can I help you today?"


def list_agents(session: Session) -> list[Agent]:
    return list(session.execute(select(Agent).order_by(Agent.created_at, Agent.id)).scalars())


def get_agent(session: Session, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    return agent


def create_agent(session: Session, *, agent_in: AgentCreate, actor: Actor) -> Agent:
    usage.require_room(session, session.info.get("org_id"), "agents")  # the plan's limit (billing)
    agent = Agent(
        id=new_id("agt"),
        public_key=new_id("pk"),
        name=agent_in.name,
        languages=agent_in.languages,
        instructions=agent_in.instructions,
        greeting=agent_in.greeting or default_greeting(agent_in.name),
        widget_color=agent_in.widget_color,
        allowed_origins=agent_in.allowed_origins,
    )
    session.add(agent)
    session.flush()
    audit.record(
        session, actor=actor, action="agent.create", org_id=agent.org_id, object_type="agent", object_id=agent.id
    )
    return agent


def update_agent(session: Session, *, agent_id: str, agent_in: AgentUpdate, actor: Actor) -> Agent:
    agent = get_agent(session, agent_id)
    changes = {
        k: v
        for k, v in agent_in.model_dump(exclude_unset=True).items()
        if v is not None or k in ("widget_color", "booking")
    }
    for field, value in changes.items():
        setattr(agent, field, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="agent.update",
        org_id=agent.org_id,
        object_type="agent",
        object_id=agent.id,
        detail={"fields": sorted(changes)},
    )
    return agent


def delete_agent(session: Session, *, agent_id: str, actor: Actor) -> None:
    agent = get_agent(session, agent_id)
    session.delete(agent)
    audit.record(
        session, actor=actor, action="agent.delete", org_id=agent.org_id, object_type="agent", object_id=agent.id
    )
