"""`/api/v1/canned-replies`: the organization's saved replies for the inbox (read by every member; created, edited
and deleted by agents and above, who answer the customers)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from jasping.conversations import canned
from jasping.web.api import API
from jasping.web.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix=f"{API}/canned-replies", tags=["inbox"])


class CannedReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=canned.MAX_TITLE)
    text: str = Field(min_length=1, max_length=canned.MAX_TEXT)
    language: str | None = Field(default=None, max_length=8)


class CannedReplyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=canned.MAX_TITLE)
    text: str | None = Field(default=None, min_length=1, max_length=canned.MAX_TEXT)
    language: str | None = Field(default=None, max_length=8)  # "" or null with the key present: any language


class CannedReplyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    title: str
    text: str
    language: str | None
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=dict[str, list[CannedReplyRead]])
def list_canned(principal: CurrentPrincipal, db: DbSession, language: str | None = Query(None, max_length=8)) -> dict:
    """Every saved reply by title; `language` keeps those in that language and those for any language."""
    return {"canned_replies": [CannedReplyRead.model_validate(r) for r in canned.list_replies(db, language=language)]}


@router.post("", status_code=201, response_model=CannedReplyRead)
def create_canned(body: CannedReplyCreate, principal: CurrentPrincipal, db: DbSession) -> CannedReplyRead:
    row = canned.create(db, org_id=principal.org_id, title=body.title, text=body.text, language=body.language)
    return CannedReplyRead.model_validate(row)


@router.get("/{reply_id}", response_model=CannedReplyRead)
def get_canned(reply_id: str, principal: CurrentPrincipal, db: DbSession) -> CannedReplyRead:
    return CannedReplyRead.model_validate(canned.get(db, reply_id))


@router.patch("/{reply_id}", response_model=CannedReplyRead)
def update_canned(
    reply_id: str, body: CannedReplyUpdate, principal: CurrentPrincipal, db: DbSession
) -> CannedReplyRead:
    """Change the title, text or language (fields left out keep their value)."""
    row = canned.get(db, reply_id)
    given = body.model_fields_set
    row = canned.update(
        db,
        row,
        title=body.title if "title" in given else row.title,
        text=body.text if "text" in given else row.text,
        language=body.language if "language" in given else row.language,
    )
    return CannedReplyRead.model_validate(row)


@router.delete("/{reply_id}", status_code=204)
def delete_canned(reply_id: str, principal: CurrentPrincipal, db: DbSession) -> Response:
    canned.delete(db, canned.get(db, reply_id))
    return Response(status_code=204)
