"""Dashboard: the account holder's rights (Download My Data, marketing consent, delete the account), the restore
page of the emailed link, and the organization's tracker of data requests with their countdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from jasping import clock
from jasping.errors import Conflict, Forbidden
from jasping.privacy import account_consents, account_deletion, requests
from jasping.security import sessions
from jasping.web.dashboard.render import render
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession, client_ip

router = APIRouter(include_in_schema=False)


def _account_page(request: Request, db: DbSession, principal: Member, status_code: int = 200, **ctx) -> Response:
    user = principal.user
    return _page(
        request,
        "account.html",
        principal,
        db,
        status_code,
        marketing=account_consents.current(db, user.id)[account_consents.MARKETING],
        consent_history=account_consents.history(db, user.id),
        notice=account_consents.NOTICE,
        sole_owned=account_deletion.sole_owned(db, user.id),
        my_requests=requests.for_user(db, user.id),
        now=clock.now(),
        **ctx,
    )


@router.get("/account")
def account_page(request: Request, db: DbSession, principal: Member) -> Response:
    return _account_page(request, db, principal)


@router.get("/account/export")
def account_export(principal: Member) -> Response:
    """Download My Data from the dashboard: asks for the password again first unless it was entered recently."""
    if not sessions.recently_authenticated(principal.login):
        return RedirectResponse("/security/reauth?next=/account/export", status_code=303)
    return RedirectResponse("/api/v1/me/export", status_code=303)


@router.post("/account/consents")
def account_consent(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    granted: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    check_csrf(principal, csrf)
    account_consents.record(
        db, user_id=principal.user.id, granted=granted == "yes", method="dashboard", ip=client_ip(request)
    )
    return RedirectResponse("/account?flash=saved", status_code=303)


@router.post("/account/delete")
def account_delete(
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Delete the account after the password is entered again; the person is logged out at once."""
    check_csrf(principal, csrf)
    try:
        scheduled = account_deletion.request_deletion(db, user=principal.user, password=password, ip=client_ip(request))
    except (Forbidden, Conflict) as exc:
        return _account_page(request, db, principal, exc.status, error=exc.message)
    response = render(request, "account_deleted.html", until=scheduled.deletion.erase_after.date().isoformat())
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/account/restore")
def restore_page(request: Request, db: DbSession, token: str = "") -> Response:
    """The emailed link: checks it and asks for a click (a mail scanner opening the link restores nothing)."""
    deletion = account_deletion.check_token(db, token)
    return render(request, "account_restore.html", token=token, until=deletion.erase_after.date().isoformat())


@router.post("/account/restore")
def restore_submit(request: Request, db: DbSession, token: Annotated[str, Form(max_length=300)] = "") -> Response:
    account_deletion.restore(db, token, ip=client_ip(request))
    return render(request, "account_restore.html", restored=True)


@router.get("/privacy/requests")
def requests_page(request: Request, db: DbSession, principal: Member) -> Response:
    """The organization's data requests, nearest deadline first, with the days left."""
    return _page(
        request,
        "privacy_requests.html",
        principal,
        db,
        rows=requests.for_org(db, principal.org_id),
        now=clock.now(),
    )
