"""`/api/v1/api-keys`: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Role
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, DbSession, RecentAuth

router = APIRouter(prefix=f"{API}/api-keys", tags=["api keys"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="API key", max_length=120)
    role: Role = Role.admin


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    secret: str


@router.get("", response_model=dict[str, list[ApiKeyRead]])
def list_keys(principal: AdminPrincipal, db: DbSession) -> dict:
    return {"api_keys": [ApiKeyRead.model_validate(k) for k in tenancy.list_api_keys(db)]}


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, principal: AdminPrincipal, db: DbSession, _recent: RecentAuth) -> ApiKeyCreated:
    """A new key; `secret` appears in this response only. From a browser session, needs a recent password or code
    (403 `reauthentication_required`: `POST /api/v1/auth/reauthenticate`, then retry)."""
    if body.role is Role.owner and principal.role is not Role.owner:
        body.role = Role.admin
    new = tenancy.create_api_key(
        db, org_id=principal.org_id, name=body.name, actor=principal.actor, role=body.role.value
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(new.key).model_dump(), secret=new.secret)


@router.delete("/{key_id}", response_model=ApiKeyRead)
def revoke_key(key_id: str, principal: AdminPrincipal, db: DbSession) -> ApiKeyRead:
    return ApiKeyRead.model_validate(tenancy.revoke_api_key(db, key_id=key_id, actor=principal.actor))
