"""Dashboard: `/inbox` — every conversation across channels with filters and live updates (server-sent events), and
a conversation's page (messages with citations, tool actions and files; the contact) where a team member takes over,
replies, hands back, notes, assigns and closes. The same services as `/api/v1/conversations/{id}/…`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from jasping import clock
from jasping.agents.models import Agent
from jasping.conversations import canned, csat, inbox, service
from jasping.conversations.models import Contact, Conversation
from jasping.errors import DomainError
from jasping.tenancy.models import Membership, Role, User
from jasping.web.api.inbox import SSE_HEADERS, STREAM_SECONDS, _cursor, feed
from jasping.web.dashboard.i18n import translator
from jasping.web.dashboard.render import language
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession, Principal

router = APIRouter(include_in_schema=False)
CHANNELS = ("web", "whatsapp", "sms", "voice")
LABELS = {
    "state:bot": "Agent answering",
    "state:needs_human": "Needs a person",
    "state:human": "Person in charge",
    "state:closed": "Closed",
    "role:user": "Customer",
    "role:assistant": "Agent",
    "role:human": "Team member",
    "role:system": "System",
    "resolution:resolved": "Resolved",
    "resolution:unresolved": "Unresolved",
    "resolution:spam": "Spam",
    "resolution:duplicate": "Duplicate",
    "resolution:no_reply": "No reply",
}


def label(key: str) -> str:
    """The English words of a state, role or resolution (translated in the template)."""
    return LABELS.get(key, key)


DONE = {
    "taken_over": "You hold the conversation: the agent is paused.",
    "sent": "Reply sent.",
    "noted": "Note added.",
    "handed_back": "The agent answers again.",
    "assigned": "Assignment saved.",
    "closed": "Conversation closed.",
}


def _day(value: str) -> datetime | None:
    try:
        return datetime.combine(datetime.strptime(value[:10], "%Y-%m-%d").date(), time(), tzinfo=UTC)
    except ValueError:
        return None


def _agents(db: DbSession) -> dict[str, str]:
    return dict(db.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all())


@router.get("/inbox")
def inbox_page(request: Request, db: DbSession, principal: Member) -> Response:
    q = request.query_params
    form = {k: (q.get(k) or "")[:40] for k in ("channel", "state", "agent_id", "from", "to")}
    since, until = _day(form["from"]), _day(form["to"])
    rows = inbox.inbox(
        db,
        channel=form["channel"] if form["channel"] in CHANNELS else None,
        state=form["state"] if form["state"] in inbox.STATES else None,
        agent_id=form["agent_id"] or None,
        since=since,
        until=until + timedelta(days=1) if until else None,
        limit=100,
    )
    items = [{"c": c, "state": inbox.state_of(c)} for c in rows]
    agents = _agents(db)
    gettext = translator(language(request, principal.user.locale))
    live_labels = {f"state:{s}": gettext(label(f"state:{s}")) for s in inbox.STATES}
    live_labels |= {f"channel:{c}": gettext(c) for c in CHANNELS} | {f"agent:{i}": n for i, n in agents.items()}
    return _page(
        request,
        "inbox.html",
        principal,
        db,
        items=items,
        agents=agents,
        live_labels=live_labels,
        channels=CHANNELS,
        states=inbox.STATES,
        form=form,
        since=clock.now().isoformat(),
        label=label,
    )


def _members(db: DbSession, org_id: str) -> list[tuple[str, str]]:
    rows = db.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role != Role.viewer.value)
    ).all()
    return [(r.id, r.name or r.email) for r in rows]


def _conversation_page(
    request: Request, db: DbSession, principal: Principal, conversation_id: str, status_code: int = 200, **ctx
) -> Response:
    conversation = service.get_conversation(db, conversation_id)
    can_act = principal.role.allows(Role.agent)
    contact = db.get(Contact, conversation.contact_id) if can_act else None  # identifiers: agents and above
    members = _members(db, principal.org_id)
    return _page(
        request,
        "inbox_conversation.html",
        principal,
        db,
        status_code,
        conversation=conversation,
        state=inbox.state_of(conversation),
        messages=service.history(db, conversation.id, limit=500),
        agent_name=_agents(db).get(conversation.agent_id, ""),
        contact=contact,
        members=members,
        assignee=dict(members).get(conversation.assignee_id or ""),
        resolutions=inbox.RESOLUTIONS,
        can_act=can_act,
        canned=canned.list_replies(db) if can_act else [],
        rating=csat.of(db, conversation.id),
        csat_state=csat.state(db, conversation),
        since=clock.now().isoformat(),
        label=label,
        done=DONE.get(request.query_params.get("done", "")),
        **ctx,
    )


@router.get("/inbox/events")
def inbox_events(
    request: Request, principal: Member, since: Annotated[str | None, Query(max_length=64)] = None
) -> StreamingResponse:
    """The live feed of the inbox pages (`static/inbox.js`): the same events as `GET /api/v1/inbox/events`."""
    cursor = _cursor(request.headers.get("last-event-id") or since)
    wait = STREAM_SECONDS if "text/event-stream" in request.headers.get("accept", "") else 0
    return StreamingResponse(feed(principal.org_id, cursor, wait), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/inbox/{conversation_id}")
def conversation_page(conversation_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _conversation_page(request, db, principal, conversation_id)


def _act(request: Request, db: DbSession, principal: Principal, conversation_id: str, action, flash: str) -> Response:  # noqa: ANN001
    """Run `action(conversation)`; a refusal (closed, empty text…) shows the page again with the reason."""
    conversation: Conversation = service.get_conversation(db, conversation_id)
    try:
        action(conversation)
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.rollback()
        return _conversation_page(request, db, principal, conversation_id, exc.status, error=exc.message)
    return RedirectResponse(f"/inbox/{conversation_id}?done={flash}", status_code=303)


def _user(principal: Principal) -> str | None:
    return principal.user.id if principal.user else None


@router.post("/inbox/{conversation_id}/takeover")
def takeover(conversation_id: str, request: Request, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    act = lambda c: inbox.takeover(db, c, user_id=_user(principal))  # noqa: E731
    return _act(request, db, principal, conversation_id, act, "taken_over")


@router.post("/inbox/{conversation_id}/reply")
def reply(
    conversation_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    text: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    check_csrf(principal, csrf)
    act = lambda c: inbox.reply(db, c, text=text, user_id=_user(principal))  # noqa: E731
    return _act(request, db, principal, conversation_id, act, "sent")


@router.post("/inbox/{conversation_id}/note")
def note(
    conversation_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    text: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    check_csrf(principal, csrf)
    act = lambda c: inbox.note(db, c, text=text, user_id=_user(principal))  # noqa: E731
    return _act(request, db, principal, conversation_id, act, "noted")


@router.post("/inbox/{conversation_id}/handback")
def handback(conversation_id: str, request: Request, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    check_csrf(principal, csrf)
    return _act(request, db, principal, conversation_id, lambda c: inbox.handback(db, c), "handed_back")


@router.post("/inbox/{conversation_id}/assign")
def assign(
    conversation_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    assignee_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    check_csrf(principal, csrf)
    act = lambda c: inbox.assign(db, c, assignee_id=assignee_id or None)  # noqa: E731
    return _act(request, db, principal, conversation_id, act, "assigned")


@router.post("/inbox/{conversation_id}/close")
def close(
    conversation_id: str,
    request: Request,
    db: DbSession,
    principal: Member,
    csrf: Csrf,
    resolution: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    check_csrf(principal, csrf)
    act = lambda c: inbox.close(db, c, resolution=resolution or None)  # noqa: E731
    return _act(request, db, principal, conversation_id, act, "closed")
