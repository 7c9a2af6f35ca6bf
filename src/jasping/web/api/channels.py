"""`/api/v1/agents/{agent_id}/channels`: connect an agent to WhatsApp or a Twilio number; the dead-letter list and
sending a dead-lettered reply again."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from jasping.agents.service import get_agent
from jasping.channels import connections, deliveries
from jasping.channels.connections import ChannelIn
from jasping.channels.models import ChannelConnection, Delivery
from jasping.db import ScopedSession
from jasping.errors import NotFound
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession, RecentAuth

router = APIRouter(prefix=f"{API}/agents/{{agent_id}}", tags=["channels"])


class ChannelRead(BaseModel):
    id: str
    agent_id: str
    type: str
    address: str  # the WhatsApp phone_number_id, or the Twilio number (E.164)
    settings: dict
    secrets: list[str]  # the names of the secrets stored (never their values)
    active: bool
    created_at: datetime
    webhook_url: str


class DeliveryRead(BaseModel):
    id: str
    conversation_id: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime


def _read(connection) -> ChannelRead:  # noqa: ANN001
    from jasping.config import get_settings

    base = get_settings().base_url.rstrip("/")
    path = "/webhooks/whatsapp" if connection.type == "whatsapp" else "/webhooks/twilio/sms"
    return ChannelRead(**connections.describe(connection), webhook_url=base + path)


@router.post("/channels", status_code=201, response_model=ChannelRead)
def connect(
    agent_id: str, body: ChannelIn, principal: AdminPrincipal, db: DbSession, _recent: RecentAuth
) -> ChannelRead:
    """Connect the agent: `{"type": "whatsapp", "phone_number_id", "waba_id", "access_token", "app_secret",
    "verify_token", "template"?}` or `{"type": "twilio", "phone_number", "account_sid", "auth_token", "voice"?,
    "handoff_number"?}`. The secrets are stored encrypted and never shown again; 409 if the number is taken."""
    return _read(connections.connect(db, agent_id=agent_id, data=body, actor=principal.actor))


@router.get("/channels", response_model=dict[str, list[ChannelRead]])
def list_channels(agent_id: str, principal: CurrentPrincipal, db: DbSession) -> dict:
    return {"channels": [_read(c) for c in connections.list_connections(db, agent_id)]}


@router.delete("/channels/{channel_id}", status_code=204)
def disconnect(agent_id: str, channel_id: str, principal: AdminPrincipal, db: DbSession) -> Response:
    connections.disconnect(db, agent_id=agent_id, channel_id=channel_id, actor=principal.actor)
    return Response(status_code=204)


@router.get("/dead-letters", response_model=dict[str, list[DeliveryRead]])
def dead_letters(
    agent_id: str, principal: CurrentPrincipal, db: DbSession, limit: int = Query(100, ge=1, le=500)
) -> dict:
    """Replies that could not be delivered (the provider refused them, or failed every retry)."""
    connections.list_connections(db, agent_id)  # 404 for an agent of another organization
    rows = deliveries.dead_letters(db, agent_id=agent_id, limit=limit)
    return {"deliveries": [DeliveryRead.model_validate(d, from_attributes=True) for d in rows]}


def agent_delivery(db: ScopedSession, agent_id: str, delivery_id: str) -> Delivery:
    """A delivery sent through one of the agent's channels; 404 for another agent's or organization's."""
    get_agent(db, agent_id)  # 404 for an agent of another organization
    delivery = db.get(Delivery, delivery_id)
    connection = db.get(ChannelConnection, delivery.connection_id) if delivery is not None else None
    if connection is None or connection.agent_id != agent_id:
        raise NotFound("no such delivery", code="delivery_not_found")
    return delivery


def send_again(db: ScopedSession, *, agent_id: str, delivery_id: str, actor: Actor) -> tuple[Delivery, bool]:
    """Queue a dead-lettered reply of the agent again (the API's and the dashboard's "Send again"); (the delivery,
    whether it was dead-lettered). One that is not dead-lettered is left as it is."""
    delivery = agent_delivery(db, agent_id, delivery_id)
    was_dead, attempts = delivery.state == "dead", delivery.attempts
    deliveries.retry(db, delivery.id)
    if was_dead:
        audit.record(
            db,
            actor=actor,
            action="delivery.retry",
            org_id=delivery.org_id,
            object_type="delivery",
            object_id=delivery.id,
            detail={"agent_id": agent_id, "attempts": attempts},
        )
    return delivery, was_dead


@router.post("/dead-letters/{delivery_id}/retry", status_code=202, response_model=DeliveryRead)
def retry_dead_letter(agent_id: str, delivery_id: str, principal: AdminPrincipal, db: DbSession) -> DeliveryRead:
    """Send a dead-lettered reply again, with a fresh set of retries: it answers `state: "queued"` and leaves the
    dead-letter list. A delivery that is not dead-lettered (sent again already) is answered as it is."""
    delivery, _ = send_again(db, agent_id=agent_id, delivery_id=delivery_id, actor=principal.actor)
    return DeliveryRead.model_validate(delivery, from_attributes=True)
