"""Public legal pages and their versions (`privacy.pages`).

- `GET /api/v1/legal/{kind}` (public; `kind`: privacy, subprocessors, dpa; `?lang=fr`, `?version=N`): a version as
  markdown and as safe HTML; `GET /api/v1/legal/{kind}/versions`: every version with its date and status.
- `POST /api/v1/operator/legal/{kind}` (the platform's operator): publish a new version.
- `GET|POST /api/v1/agents/{agent_id}/privacy-notice` (members read, admins publish) and
  `GET /api/v1/agents/{agent_id}/privacy-notice/versions`: the agent's privacy notice, which the widget links to.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from jasping.agents.service import get_agent
from jasping.errors import NotFound
from jasping.privacy import pages, pages_markdown
from jasping.privacy.pages import Page
from jasping.web.api import API
from jasping.web.deps import AdminPrincipal, CurrentPrincipal, DbSession, OperatorPrincipal, ReadSession

router = APIRouter(prefix=API, tags=["legal pages"])
LangQuery = Query(default="en", max_length=8)
MAX_VERSION = 2**31 - 1  # a version number the databases' integer column can hold; larger ones are refused (422)


class PageRead(BaseModel):
    kind: str
    version: int
    label: str  # what a consent record names: `<kind>/v<version>`
    language: str
    effective_at: datetime
    markdown: str
    html: str
    url: str


class VersionRead(BaseModel):
    version: int
    effective_at: datetime
    languages: list[str]
    status: str  # in_force | upcoming | superseded
    default: bool  # the built-in first version, not yet stored


class PageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bodies: dict[str, str] = Field(description="markdown per language (en, fr, ar); at least one")
    effective_at: datetime | None = Field(default=None, description="when it takes effect (default: now)")


class Published(BaseModel):
    version: int
    label: str


def _read(page: Page, url: str) -> PageRead:
    return PageRead(
        kind=page.kind,
        version=page.version,
        label=page.label,
        language=page.language,
        effective_at=page.effective_at,
        markdown=page.body,
        html=str(pages_markdown.render(page.body)),
        url=url,
    )


def _platform_kind(kind: str) -> str:
    if kind not in pages.PLATFORM_KINDS:
        raise NotFound(f"no page {kind!r}: one of {', '.join(pages.PLATFORM_KINDS)}")
    return kind


@router.get("/legal/{kind}", response_model=PageRead)
def read_page(
    kind: str, db: ReadSession, lang: str = LangQuery, version: int | None = Query(default=None, ge=1, le=MAX_VERSION)
) -> PageRead:
    """The version in force (or `version`), in `lang` when it exists, else English (public)."""
    kind = _platform_kind(kind)
    page = pages.version(db, kind, version, lang=lang) if version else pages.in_force(db, kind, lang=lang)
    return _read(page, pages.platform_url(kind))


@router.get("/legal/{kind}/versions", response_model=list[VersionRead])
def page_versions(kind: str, db: ReadSession) -> list[dict]:
    """Every version of the page, oldest first (public: what was in force when is part of the record)."""
    return pages.history(db, _platform_kind(kind))


@router.post("/operator/legal/{kind}", status_code=201, response_model=Published)
def publish_page(kind: str, body: PageCreate, operator: OperatorPrincipal, db: DbSession) -> Published:
    """Publish a new version of a platform page (operator only); the previous versions stay readable."""
    number = pages.publish(
        db, _platform_kind(kind), bodies=body.bodies, actor=operator.actor, effective_at=body.effective_at
    )
    return Published(version=number, label=f"{kind}/v{number}")


@router.get("/agents/{agent_id}/privacy-notice", response_model=PageRead)
def read_agent_notice(
    agent_id: str,
    principal: CurrentPrincipal,
    db: DbSession,
    lang: str = LangQuery,
    version: int | None = Query(default=None, ge=1, le=MAX_VERSION),
) -> PageRead:
    """The agent's privacy notice in force (or `version`): the business's text, or the default generated from the
    agent's settings."""
    agent = get_agent(db, agent_id)
    notice = pages.AGENT_NOTICE
    page = (
        pages.version(db, notice, version, lang=lang, agent=agent)
        if version
        else pages.in_force(db, notice, lang=lang, agent=agent)
    )
    return _read(page, pages.agent_notice_url(agent))


@router.get("/agents/{agent_id}/privacy-notice/versions", response_model=list[VersionRead])
def agent_notice_versions(agent_id: str, principal: CurrentPrincipal, db: DbSession) -> list[dict]:
    return pages.history(db, pages.AGENT_NOTICE, agent=get_agent(db, agent_id))


@router.post("/agents/{agent_id}/privacy-notice", status_code=201, response_model=Published)
def publish_agent_notice(agent_id: str, body: PageCreate, principal: AdminPrincipal, db: DbSession) -> Published:
    """Publish a new version of the agent's privacy notice (admins); consents from then on name it."""
    agent = get_agent(db, agent_id)
    number = pages.publish(
        db, pages.AGENT_NOTICE, bodies=body.bodies, actor=principal.actor, effective_at=body.effective_at, agent=agent
    )
    return Published(version=number, label=f"{pages.AGENT_NOTICE}/v{number}")
