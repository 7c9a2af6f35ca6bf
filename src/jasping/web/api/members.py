"""The organization's members: `GET /api/v1/members`, `POST /api/v1/members/invitations` (admins; within the plan's
seats, else 402 `plan_limit`), and `POST /api/v1/auth/invitations/accept` (the invited person, logged in)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from jasping.tenancy import invitations
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentAccount, CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/members", tags=["members"])
account_router = APIRouter(prefix=f"{API}/auth/invitations", tags=["members"])


class MemberRead(BaseModel):
    id: str
    user_id: str
    email: str
    name: str | None
    role: str
    joined_at: datetime | None


class MembersRead(BaseModel):
    members: list[MemberRead]


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    role: Literal["admin", "agent", "viewer"] = "agent"


class InvitationRead(BaseModel):
    email: str
    role: str
    expires_at: datetime
    url: str = Field(description="the link emailed to the person; it works only for their address")


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=400)


class Joined(BaseModel):
    organization_id: str
    role: str
    joined: bool = Field(description="false when the person was a member already")


@router.get("", response_model=MembersRead)
def list_members(principal: CurrentPrincipal, db: DbSession) -> MembersRead:
    rows = invitations.members(db, principal.org_id)
    return MembersRead(
        members=[
            MemberRead(id=m.id, user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=m.created_at)
            for m, u in rows
        ]
    )


@router.post("/invitations", status_code=202, response_model=InvitationRead)
def invite(body: InvitationCreate, principal: AdminPrincipal, db: DbSession) -> InvitationRead:
    """Email a link to join this organization; 402 `plan_limit` when the plan has no seat left."""
    sent = invitations.invite(
        db, org_id=principal.org_id, email=body.email, role=body.role, inviter=principal.role, actor=principal.actor
    )
    return InvitationRead(
        email=invitations.normalize_email(body.email), role=sent.role, expires_at=sent.expires_at, url=sent.url
    )


@account_router.post("/accept", response_model=Joined)
def accept(body: InvitationAccept, account: CurrentAccount, db: DbSession) -> Joined:
    """Join the organization of an invitation sent to the logged-in person's address."""
    member, new = invitations.accept(db, token=body.token, user=account.user, actor=account.actor)
    return Joined(organization_id=member.org_id, role=member.role, joined=new)
