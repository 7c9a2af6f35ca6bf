"""Dashboard pages of the organization's API keys: list, create (after a recent password), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from jasping.security import sessions
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Role
from jasping.web.dashboard.views import Csrf, Member, _page, _redirect, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)


@router.get("/api-keys")
def keys_page(request: Request, db: DbSession, principal: Member) -> Response:
    principal.require(Role.admin)
    return _page(request, "keys.html", principal, db, keys=tenancy.list_api_keys(db))


@router.post("/api-keys")
def key_create(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=120)] = "API key",
) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    if not sessions.recently_authenticated(principal.login):
        return _redirect("/security/reauth?next=/api-keys")
    new = tenancy.create_api_key(db, org_id=principal.org_id, name=name, actor=principal.actor)
    return _page(request, "keys.html", principal, db, 201, keys=tenancy.list_api_keys(db), new_secret=new.secret)


@router.post("/api-keys/{key_id}/revoke")
def key_revoke(key_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    principal.require(Role.admin)
    tenancy.revoke_api_key(db, key_id=key_id, actor=principal.actor)
    return _redirect("/api-keys?flash=key_revoked")
