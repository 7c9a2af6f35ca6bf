"""Dashboard: the phone check of a risky sign-up (`/verify-phone`: why, in plain sentences; the SMS code; a human
review on request) and the operator's queue of reviews (`/operator/registration-reviews`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from jasping.errors import DomainError
from jasping.registration import explain, service
from jasping.security.audit import Actor
from jasping.web.dashboard.legal_views import Operator
from jasping.web.dashboard.render import language
from jasping.web.dashboard.security_views import _account, _check, _page
from jasping.web.dashboard.views import Csrf, _redirect
from jasping.web.dashboard.views import _page as member_page
from jasping.web.deps import DbSession, Principal, client_ip

router = APIRouter(include_in_schema=False)


def _verify_page(request: Request, db: DbSession, status_code: int = 200, **ctx) -> Response:
    login, user = _account(request, db)
    row = service.for_user(db, user.id)
    if row is None:
        return _redirect("/")
    lang = language(request, user.locale)
    return _page(
        request,
        db,
        "verify_phone.html",
        status_code,
        risk=row,
        summary=explain.summary(row.level, lang),
        reasons=explain.explain(row.reasons, lang),
        **ctx,
    )


@router.get("/verify-phone")
def verify_phone_page(request: Request, db: DbSession) -> Response:
    return _verify_page(request, db)


def _act(request: Request, db: DbSession, csrf: str, action, done: str) -> Response:  # noqa: ANN001
    login, user = _account(request, db)
    _check(login, csrf)
    try:
        result = action(user.id, Actor("user", user.id, client_ip(request)))
    except DomainError as exc:
        db.commit()  # a counted wrong code and its audit record stay
        response = _verify_page(request, db, exc.status, error=exc.message)
        response.headers.update(getattr(exc, "headers", {}))
        return response
    if done == "verified":
        return _redirect("/agents/new")
    return _verify_page(request, db, notice=done, sent_to=result if isinstance(result, str) else None)


@router.post("/verify-phone/send")
def verify_phone_send(
    request: Request, db: DbSession, csrf: Csrf, phone: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    return _act(
        request, db, csrf, lambda uid, actor: service.send_code(db, user_id=uid, phone=phone, actor=actor), "sent"
    )


@router.post("/verify-phone/confirm")
def verify_phone_confirm(
    request: Request, db: DbSession, csrf: Csrf, code: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    return _act(
        request, db, csrf, lambda uid, actor: service.verify_code(db, user_id=uid, code=code, actor=actor), "verified"
    )


@router.post("/verify-phone/review")
def verify_phone_review(
    request: Request, db: DbSession, csrf: Csrf, comment: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    return _act(
        request,
        db,
        csrf,
        lambda uid, actor: service.request_review(db, user_id=uid, comment=comment, actor=actor),
        "review_requested",
    )


# ---- the operator ------------------------------------------------------------------------------------------------
def _queue(request: Request, db: DbSession, principal: Principal, status: int = 200, **ctx) -> Response:
    lang = language(request, principal.user.locale)
    items = [
        {"row": row, "user": user, "reasons": explain.explain(row.reasons, lang)}
        for row, user in service.pending_reviews(db)
    ]
    return member_page(request, "operator_registration_reviews.html", principal, db, status, items=items, **ctx)


@router.get("/operator/registration-reviews")
def review_queue_page(request: Request, db: DbSession, principal: Operator) -> Response:
    return _queue(request, db, principal)


@router.post("/operator/registration-reviews/{user_id}")
def review_decide(
    user_id: str,
    request: Request,
    db: DbSession,
    principal: Operator,
    csrf: Csrf,
    decision: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from jasping.web.dashboard.views import check_csrf

    check_csrf(principal, csrf)
    if decision not in ("approve", "reject"):
        return _queue(request, db, principal, 422, error="choose approve or reject")
    try:
        service.decide(db, user_id=user_id[:40], approve=decision == "approve", note=note, actor=principal.actor)
    except DomainError as exc:
        return _queue(request, db, principal, exc.status, error=exc.message)
    return _redirect("/operator/registration-reviews?flash=review_decided")
