"""Dashboard: the public legal pages (`/privacy`, `/legal/subprocessors`, `/legal/dpa`, an agent's privacy notice at
`/legal/agents/{public_key}/privacy`, each with its earlier versions), the operator's editor of the platform pages
(`/operator/legal`) and the business's editor of an agent's notice (`/agents/{agent_id}/privacy-notice`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jasping.agents.service import get_agent
from jasping.conversations import service as conversations
from jasping.errors import DomainError, Forbidden, Invalid
from jasping.privacy import pages, pages_markdown
from jasping.tenancy import operators
from jasping.tenancy.models import Role
from jasping.web.dashboard.render import language, render
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession, Principal, ReadSession

router = APIRouter(include_in_schema=False)
TITLES = {
    "privacy": "Privacy policy",
    "subprocessors": "Sub-processors",
    "dpa": "Data processing agreement",
    pages.AGENT_NOTICE: "Privacy notice",
}
Text = Annotated[str, Form(max_length=pages.MAX_BODY)]


def operator_member(principal: Member, db: DbSession) -> Principal:
    """A logged-in member who operates the platform (403 otherwise); the session is no longer scoped."""
    if not operators.is_operator(db, principal.user.id):
        raise Forbidden("only the platform's operator may do this", code="operator_only")
    db.info.pop("org_id", None)
    return principal


Operator = Annotated[Principal, Depends(operator_member)]


def parse_when(text: str) -> datetime | None:
    """A `datetime-local` field (read as UTC); empty: None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("give the date and time as YYYY-MM-DD HH:MM (UTC)", code="invalid_date") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---- public pages --------------------------------------------------------------------------------------------------
def _public(request: Request, db: ReadSession, kind: str, *, agent=None, title: str | None = None) -> Response:  # noqa: ANN001
    lang = language(request, None)
    number = request.query_params.get("version", "")
    if number and not number.isdigit():
        raise Invalid("version: a number", code="invalid")
    page = (
        pages.version(db, kind, int(number), lang=lang, agent=agent)
        if number
        else pages.in_force(db, kind, lang=lang, agent=agent)
    )
    return render(
        request,
        "legal_page.html",
        title=title or TITLES[kind],
        page=page,
        html=pages_markdown.render(page.body),
        versions=pages.history(db, kind, agent=agent),
        path=request.url.path,
    )


@router.get("/privacy")
def privacy(request: Request, db: ReadSession) -> Response:
    """The platform's privacy policy in force (public); `?version=N` for another version."""
    return _public(request, db, "privacy")


@router.get("/legal/subprocessors")
def subprocessors(request: Request, db: ReadSession) -> Response:
    return _public(request, db, "subprocessors")


@router.get("/legal/dpa")
def dpa(request: Request, db: ReadSession) -> Response:
    return _public(request, db, "dpa")


@router.get("/legal/agents/{public_key}/privacy")
def agent_notice(public_key: str, request: Request, db: ReadSession) -> Response:
    """An agent's privacy notice (public; the widget links to it)."""
    agent = conversations.agent_by_public_key(db, public_key)
    return _public(request, db, pages.AGENT_NOTICE, agent=agent, title=agent.name)


# ---- the operator edits the platform's pages -------------------------------------------------------------------------
def _bodies(db: DbSession, kind: str, agent=None) -> dict[str, str]:  # noqa: ANN001
    """The text in force per language, to start editing from (empty where the language falls back to English)."""
    out = {}
    for lang in ("en", "fr"):
        page = pages.in_force(db, kind, lang=lang, agent=agent)
        out[lang] = page.body if page.language == lang else ""
    return out


def _operator_page(request: Request, db: DbSession, principal: Principal, status: int = 200, **ctx) -> Response:
    current = {kind: pages.in_force(db, kind) for kind in pages.PLATFORM_KINDS}
    bodies = {kind: _bodies(db, kind) for kind in pages.PLATFORM_KINDS}
    history = {kind: pages.history(db, kind) for kind in pages.PLATFORM_KINDS}
    return _page(
        request,
        "operator_legal.html",
        principal,
        db,
        status,
        current=current,
        bodies=bodies,
        history=history,
        titles=TITLES,
        paths=pages.PATHS,
        **ctx,
    )


@router.get("/operator/legal")
def operator_legal(request: Request, db: DbSession, principal: Operator) -> Response:
    return _operator_page(request, db, principal)


@router.post("/operator/legal/{kind}")
def operator_publish(
    kind: str,
    request: Request,
    db: DbSession,
    principal: Operator,
    csrf: Csrf,
    body_en: Text = "",
    body_fr: Text = "",
    effective_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Publish a new version of a platform page (the previous ones stay readable)."""
    check_csrf(principal, csrf)
    if kind not in pages.PLATFORM_KINDS:
        raise Invalid(f"no page {kind!r}", code="not_found")
    try:
        pages.publish(
            db,
            kind,
            bodies={"en": body_en, "fr": body_fr},
            actor=principal.actor,
            effective_at=parse_when(effective_at),
        )
    except DomainError as exc:
        db.rollback()
        return _operator_page(request, db, principal, exc.status, error=exc.message)
    return RedirectResponse("/operator/legal?flash=saved", status_code=303)


# ---- the business edits its agent's notice ---------------------------------------------------------------------------
def _notice_page(request: Request, db: DbSession, principal: Principal, agent, status: int = 200, **ctx) -> Response:  # noqa: ANN001
    return _page(
        request,
        "agent_notice.html",
        principal,
        db,
        status,
        agent=agent,
        current=pages.in_force(db, pages.AGENT_NOTICE, agent=agent),
        bodies=_bodies(db, pages.AGENT_NOTICE, agent),
        history=pages.history(db, pages.AGENT_NOTICE, agent=agent),
        public_url=pages.agent_notice_url(agent),
        **ctx,
    )


@router.get("/agents/{agent_id}/privacy-notice")
def agent_notice_editor(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _notice_page(request, db, principal, get_agent(db, agent_id))


@router.post("/agents/{agent_id}/privacy-notice")
def agent_notice_publish(
    agent_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    body_en: Text = "",
    body_fr: Text = "",
    effective_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    agent = get_agent(db, agent_id)
    try:
        pages.publish(
            db,
            pages.AGENT_NOTICE,
            bodies={"en": body_en, "fr": body_fr},
            actor=principal.actor,
            effective_at=parse_when(effective_at),
            agent=agent,
        )
    except DomainError as exc:
        db.rollback()
        return _notice_page(request, db, principal, get_agent(db, agent_id), exc.status, error=exc.message)
    return RedirectResponse(f"/agents/{agent_id}/privacy-notice?flash=saved", status_code=303)
