"""`/api/v1/agents`: list, create, read, update, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from jasping.agents import service
from jasping.agents.schemas import AgentCreate, AgentRead, AgentUpdate
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/agents", tags=["agents"])


@router.get("", response_model=dict[str, list[AgentRead]])
def list_agents(principal: CurrentPrincipal, db: DbSession) -> dict:
    """The organization's agents: `{"agents": [...]}`."""
    return {"agents": [AgentRead.model_validate(a) for a in service.list_agents(db)]}


@router.post("", status_code=201, response_model=AgentRead)
def create_agent(body: AgentCreate, principal: AdminPrincipal, db: DbSession) -> AgentRead:
    return AgentRead.model_validate(service.create_agent(db, agent_in=body, actor=principal.actor))


@router.get("/{agent_id}", response_model=AgentRead)
def get_agent(agent_id: str, principal: CurrentPrincipal, db: DbSession) -> AgentRead:
    return AgentRead.model_validate(service.get_agent(db, agent_id))


@router.patch("/{agent_id}", response_model=AgentRead)
def update_agent(agent_id: str, body: AgentUpdate, principal: AdminPrincipal, db: DbSession) -> AgentRead:
    return AgentRead.model_validate(service.update_agent(db, agent_id=agent_id, agent_in=body, actor=principal.actor))


@router.delete("/{agent_id}", status_code=204)
def delete_agent(agent_id: str, principal: AdminPrincipal, db: DbSession) -> Response:
    service.delete_agent(db, agent_id=agent_id, actor=principal.actor)
    return Response(status_code=204)
