"""`/api/v1/organization`: the caller's organization profile."""

from __future__ import annotations

from zoneinfo import available_timezones

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jasping.privacy.retention import MAX_CONVERSATION_DAYS, check_conversation_days
from jasping.security.audit import record
from jasping.tenancy.models import Organization
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/organization", tags=["organization"])


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    country: str | None
    timezone: str
    default_language: str
    contact_email: str | None
    contact_phone: str | None
    conversation_retention_days: int | None = Field(
        description="days conversations are kept when shorter than the default 12 months; null: the default"
    )


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    timezone: str | None = None
    default_language: str | None = Field(default=None, pattern="^[a-z]{2}$")
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    conversation_retention_days: int | None = Field(
        default=None,
        description=f"shorten how long conversations are kept: 1 to {MAX_CONVERSATION_DAYS} days; null: 12 months",
    )

    @field_validator("conversation_retention_days")
    @classmethod
    def _retention(cls, v: int | None) -> int | None:
        return check_conversation_days(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None and v not in available_timezones():
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Africa/Casablanca)")
        return v


@router.get("", response_model=OrganizationRead)
def read(principal: CurrentPrincipal, db: DbSession) -> OrganizationRead:
    return OrganizationRead.model_validate(db.get(Organization, principal.org_id))


@router.patch("", response_model=OrganizationRead)
def update(body: OrganizationUpdate, principal: AdminPrincipal, db: DbSession) -> OrganizationRead:
    org = db.get(Organization, principal.org_id)
    nullable = {"country", "contact_email", "contact_phone", "conversation_retention_days"}
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k in nullable}
    for field, value in changes.items():
        setattr(org, field, value)
    record(
        db,
        actor=principal.actor,
        action="organization.update",
        org_id=org.id,
        object_type="organization",
        object_id=org.id,
        detail={"fields": sorted(changes)},
    )
    return OrganizationRead.model_validate(org)
