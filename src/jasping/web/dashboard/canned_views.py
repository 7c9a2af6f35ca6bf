"""Dashboard: `/canned-replies` — the organization's saved replies (title, text, language) that the team inserts in
the inbox's reply box; listed for every member, added, edited and deleted by agents and above."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from jasping.conversations import canned
from jasping.errors import DomainError
from jasping.tenancy.models import Role
from jasping.web.dashboard.views import Csrf, Member, _page, _redirect, check_csrf
from jasping.web.deps import DbSession, Principal

router = APIRouter(include_in_schema=False)
DONE = {"added": "Canned reply added.", "saved": "Canned reply saved.", "deleted": "Canned reply deleted."}
Title = Annotated[str, Form(max_length=canned.MAX_TITLE * 2)]
Text = Annotated[str, Form(max_length=canned.MAX_TEXT * 2)]
Language = Annotated[str, Form(max_length=16)]


def _list(request: Request, db: DbSession, principal: Principal, status_code: int = 200, **ctx) -> Response:
    return _page(
        request,
        "canned_replies.html",
        principal,
        db,
        status_code,
        replies=canned.list_replies(db),
        can_act=principal.role.allows(Role.agent),
        done=DONE.get(request.query_params.get("done", "")),
        **ctx,
    )


@router.get("/canned-replies")
def canned_page(request: Request, db: DbSession, principal: Member) -> Response:
    return _list(request, db, principal)


def _save(request: Request, db: DbSession, principal: Principal, action, done: str, form: dict) -> Response:  # noqa: ANN001
    """Run `action()`; a refusal (empty title, too long…) shows the page again with the reason and the input."""
    try:
        action()
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.rollback()
        return _list(request, db, principal, exc.status, error=exc.message, form=form)
    return _redirect(f"/canned-replies?done={done}")


@router.post("/canned-replies")
def canned_add(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    title: Title = "",
    text: Text = "",
    language: Language = "",
) -> Response:
    check_csrf(principal, csrf)
    act = lambda: canned.create(db, org_id=principal.org_id, title=title, text=text, language=language)  # noqa: E731
    return _save(request, db, principal, act, "added", {"title": title, "text": text, "language": language})


@router.post("/canned-replies/{reply_id}")
def canned_edit(
    reply_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    title: Title = "",
    text: Text = "",
    language: Language = "",
) -> Response:
    check_csrf(principal, csrf)
    row = canned.get(db, reply_id)
    act = lambda: canned.update(db, row, title=title, text=text, language=language)  # noqa: E731
    return _save(request, db, principal, act, "saved", {})


@router.post("/canned-replies/{reply_id}/delete")
def canned_delete(reply_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    canned.delete(db, canned.get(db, reply_id))
    return _redirect("/canned-replies?done=deleted")
