"""Connecting an agent to a WhatsApp Business number or a Twilio number: checked, secrets encrypted and never
shown again, one connection per provider number (webhooks are routed by it)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jasping.agents import service as agents
from jasping.billing import usage
from jasping.channels.models import ChannelConnection
from jasping.db import new_id, unscoped
from jasping.errors import Conflict, NotFound
from jasping.security import audit
from jasping.security.audit import Actor


def e164(number: str, region: str | None = None) -> str | None:
    """A phone number in E.164 (`+212612345678`), or None when it is not a possible number."""
    raw = (number or "").strip()
    if not raw:
        return None
    if raw[0].isdigit() and region is None:
        raw = "+" + raw  # WhatsApp's wa_id and Twilio's numbers without "+" are international
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Template(BaseModel):
    """An approved WhatsApp message template, sent instead of free text outside the 24-hour window. Its
    first body parameter receives the reply's text (or, when it takes none, it is sent as it is)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str = Field(default="en", min_length=2, max_length=15)
    parameters: int = Field(default=1, ge=0, le=1)


class WhatsAppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["whatsapp"]
    phone_number_id: str = Field(pattern=r"^\d{5,20}$")
    waba_id: str = Field(pattern=r"^\d{5,20}$")
    access_token: str = Field(min_length=10, max_length=1024)
    app_secret: str = Field(min_length=8, max_length=256)
    verify_token: str = Field(min_length=8, max_length=256)
    template: Template | None = None


class TwilioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["twilio"]
    phone_number: str = Field(max_length=32)
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=16, max_length=128)
    voice: str | None = Field(default=None, max_length=64)  # e.g. "Polly.Lea"; Twilio's default otherwise
    handoff_number: str | None = Field(default=None, max_length=32)  # a person answers here (<Dial>)
    record_calls: bool = False

    @field_validator("phone_number", "handoff_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        number = e164(value)
        if number is None or not value.strip().startswith("+"):
            raise ValueError("give the number in international form, e.g. +212522000000")
        return number


ChannelIn = Annotated[WhatsAppIn | TwilioIn, Field(discriminator="type")]


def _settings(data: WhatsAppIn | TwilioIn) -> tuple[str, dict, dict]:
    """(address, secrets, settings) of a connection."""
    if isinstance(data, WhatsAppIn):
        secrets = {"access_token": data.access_token, "app_secret": data.app_secret, "verify_token": data.verify_token}
        settings = {"waba_id": data.waba_id, "template": data.template.model_dump() if data.template else None}
        return data.phone_number_id, secrets, settings
    secrets = {"account_sid": data.account_sid, "auth_token": data.auth_token}
    settings = {"voice": data.voice, "handoff_number": data.handoff_number, "record_calls": data.record_calls}
    return data.phone_number, secrets, settings


def connect(session: Session, *, agent_id: str, data: WhatsAppIn | TwilioIn, actor: Actor) -> ChannelConnection:
    """Connect the agent to the provider number in `data`; 409 when that number is connected already."""
    agent = agents.get_agent(session, agent_id)
    usage.require_room(session, agent.org_id, "channels")  # the plan's limit (billing)
    address, secrets, settings = _settings(data)
    connection = ChannelConnection(
        id=new_id("chn"),
        org_id=agent.org_id,
        agent_id=agent.id,
        type=data.type,
        address=address,
        secrets_json=json.dumps(secrets),
        settings=settings,
    )
    try:
        with session.begin_nested():
            session.add(connection)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("this number is already connected to an agent", code="channel_exists") from exc
    audit.record(
        session,
        actor=actor,
        action="channel.connect",
        org_id=agent.org_id,
        object_type="channel",
        object_id=connection.id,
        detail={"type": data.type, "agent_id": agent.id},
    )
    return connection


def list_connections(session: Session, agent_id: str) -> list[ChannelConnection]:
    agents.get_agent(session, agent_id)
    query = select(ChannelConnection).where(ChannelConnection.agent_id == agent_id).order_by(ChannelConnection.id)
    return list(session.execute(query).scalars())


def get_connection(session: Session, agent_id: str, channel_id: str) -> ChannelConnection:
    connection = session.get(ChannelConnection, channel_id)
    if connection is None or connection.agent_id != agent_id:
        raise NotFound("no such channel", code="channel_not_found")
    return connection


def disconnect(session: Session, *, agent_id: str, channel_id: str, actor: Actor) -> None:
    connection = get_connection(session, agent_id, channel_id)
    audit.record(
        session,
        actor=actor,
        action="channel.disconnect",
        org_id=connection.org_id,
        object_type="channel",
        object_id=connection.id,
        detail={"type": connection.type},
    )
    session.delete(connection)


def route(session: Session, type_: str, address: str) -> ChannelConnection | None:
    """The active connection a webhook is for (platform-wide lookup, before the session is scoped)."""
    with unscoped(session):
        return session.execute(
            select(ChannelConnection).where(
                ChannelConnection.type == type_,
                ChannelConnection.address == address,
                ChannelConnection.active.is_(True),
            )
        ).scalar()


def describe(connection: ChannelConnection) -> dict:
    """What the API shows of a connection: never its secrets (only that they are set)."""
    return {
        "id": connection.id,
        "agent_id": connection.agent_id,
        "type": connection.type,
        "address": connection.address,
        "settings": {k: v for k, v in (connection.settings or {}).items() if v is not None},
        "secrets": sorted(connection.secrets),
        "active": connection.active,
        "created_at": connection.created_at,
    }
