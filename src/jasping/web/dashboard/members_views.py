"""Dashboard pages of the organization's members: the list, the invitation form (admins; refused with the plan's
words when its seats are taken), and the page behind an invitation link, where the invited person joins."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import update

from jasping.errors import DomainError, Forbidden
from jasping.security import sessions
from jasping.security.audit import Actor
from jasping.tenancy import invitations
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Organization, Role
from jasping.web.dashboard.render import render
from jasping.web.dashboard.views import Csrf, Member, _page, _redirect, check_csrf
from jasping.web.deps import DbSession, client_ip, login_from_cookie
from jasping.web.errors import LoginRequired

router = APIRouter(include_in_schema=False)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _members_page(request: Request, db: DbSession, principal: Member, status_code: int = 200, **ctx) -> Response:
    rows = invitations.members(db, principal.org_id)
    return _page(request, "members.html", principal, db, status_code, members=rows, roles=invitations.ROLES, **ctx)


@router.get("/members")
def members_page(request: Request, db: DbSession, principal: Member) -> Response:
    return _members_page(request, db, principal)


@router.post("/members/invite")
def members_invite(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=16)] = "agent",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    try:
        invitations.invite(
            db, org_id=principal.org_id, email=email, role=role, inviter=principal.role, actor=principal.actor
        )
    except DomainError as exc:
        db.rollback()
        return _members_page(
            request, db, principal, exc.status, error=_sentence(exc.message), plan_full=exc.code == "plan_limit"
        )
    return _members_page(request, db, principal, 202, sent_to=tenancy.normalize_email(email))


def _invitation_page(request: Request, db: DbSession, token: str, status_code: int = 200, **ctx) -> Response:
    found = login_from_cookie(request, db)
    if found is None:
        raise LoginRequired(f"{invitations.PATH}/{token}")
    login, user = found
    orgs = [o for _, o in tenancy.memberships(db, user.id)]
    current = next((o for o in orgs if o.id == login.org_id), orgs[0] if orgs else None)
    invited = None
    if "error" not in ctx:
        try:
            invitation = invitations.verify(token)
            invited = db.get(Organization, invitation.org_id)
            ctx["role_invited"] = invitation.role
            if invited is None:
                raise invitations.InvitationInvalid("the organization of this invitation no longer exists")
        except DomainError as exc:
            status_code, ctx["error"] = exc.status, _sentence(exc.message)
    return render(
        request,
        "invitation.html",
        status_code,
        user_locale=user.locale,
        user=user,
        org=current,
        orgs=orgs,
        csrf=login.csrf_token,
        invited=invited,
        token=token,
        **ctx,
    )


@router.get(invitations.PATH + "/{token}")
def invitation_page(token: str, request: Request, db: DbSession) -> Response:
    return _invitation_page(request, db, token)


@router.post(invitations.PATH + "/{token}")
def invitation_accept(token: str, request: Request, db: DbSession, csrf: Csrf) -> Response:
    found = login_from_cookie(request, db)
    if found is None:
        raise LoginRequired(f"{invitations.PATH}/{token}")
    login, user = found
    if not hmac.compare_digest(login.csrf_token, csrf or ""):
        raise Forbidden("the form expired; please try again", code="csrf")
    try:
        member, _ = invitations.accept(db, token=token, user=user, actor=Actor("user", user.id, client_ip(request)))
    except DomainError as exc:
        db.rollback()
        return _invitation_page(request, db, token, exc.status, error=_sentence(exc.message))
    db.execute(  # the person now works in the organization they joined
        update(sessions.LoginSession)
        .where(sessions.LoginSession.token_hash == login.token_hash)
        .values(org_id=member.org_id)
    )
    return _redirect("/")
