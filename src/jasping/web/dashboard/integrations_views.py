"""Dashboard page of an agent's integrations: its calendars, lead webhooks and Google account, and the
organization-wide ones (its SMTP server, webhooks for every agent); the forms to connect them, and disconnecting.

Every form is built from the registered type's model (`integration_forms`) and saved by `integrations.service`,
as `POST /api/v1/integrations` saves it; a Google account goes through Google's consent page instead. Secrets
are never written back into a page: a value made here (a webhook's signing secret) is shown once, in the answer
to the form that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from jasping import clock
from jasping.agents.models import Agent
from jasping.agents.service import get_agent
from jasping.config import get_settings
from jasping.errors import DomainError, NotFound
from jasping.integrations import google_oauth
from jasping.integrations import service as integrations
from jasping.integrations.models import Integration
from jasping.integrations.service import Kind
from jasping.tenancy.models import Organization, Role
from jasping.web.dashboard import integration_forms as forms
from jasping.web.dashboard.i18n import translator
from jasping.web.dashboard.render import language
from jasping.web.dashboard.views import Csrf, Member, _page, check_csrf
from jasping.web.deps import DbSession

router = APIRouter(include_in_schema=False)

ORDER = ("caldav", "google", "webhook", "smtp")  # the page's order; other types follow by name
ORG_ONLY = frozenset({"smtp"})  # used for the whole organization only (the mailer looks for no agent's)
CONSENT = frozenset({"google"})  # connected through the provider's consent page, not a settings form
TITLES = {
    "caldav": "CalDAV calendar",
    "google": "Google account",
    "webhook": "Outgoing webhook",
    "smtp": "Your SMTP server",
}
INTROS = {
    "caldav": "Nextcloud, iCloud, Fastmail, Radicale…: events in this calendar block the agent's slots, and the "
    "bookings are written into it, moved and cancelled with them.",
    "google": "Calendar, Sheets, Drive and Gmail: choose what JasPing may do, then agree on Google's page. Each use "
    "asks only for the access it needs, and disconnecting revokes it.",
    "webhook": "Each new lead is sent as JSON to your URL, signed with a secret shown once (the X-JasPing-Signature "
    "header), so your system can check it comes from JasPing.",
    "smtp": "Booking confirmations, reminders and codes are sent through your own server, from your address, for "
    "every agent of the organization.",
}
NOTICES = {"connected": "Connected.", "disconnected": "Disconnected."}
MAX_NAME = 200
NAME = forms.FieldSpec("name", "text", required=False, default="", max_length=MAX_NAME)  # every form's first field


async def _form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form_data)]


def _ordered() -> list[Kind]:
    known = integrations.kinds()
    return [known[t] for t in ORDER if t in known] + [known[t] for t in sorted(known) if t not in ORDER]


def _kind(type_: str) -> Kind:
    kind = integrations.kinds().get(type_)
    if kind is None:
        raise NotFound("there is no such integration type", code="integration_type_not_found")
    return kind


def _local(when: datetime | None, tz: str) -> datetime | None:
    if when is None:
        return None
    try:
        return clock.as_utc(when).astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return clock.as_utc(when)


def _row(integration: Integration, tz: str) -> dict:
    found = integrations.describe(integration)
    type_ = found["type"]
    return {
        "id": found["id"],
        "type": type_,
        "title": TITLES.get(type_, type_),
        "name": found["name"],
        "whole_org": found["agent_id"] is None,
        "status": found["status"],
        "last_error": found["last_error"] or "",
        "last_used": _local(found["last_used_at"], tz),
        "created": _local(found["created_at"], tz),
        "settings": [(forms.label(type_, k), forms.shown_setting(v)) for k, v in found["settings"].items()],
        "secrets": [forms.label(type_, name) for name in found["secrets"]],
    }


def _form(kind: Kind, values: dict | None = None, errors: dict | None = None, alert: str = "") -> dict:
    """One connect form: its inputs (with their words), what to show in them, and its problems."""
    return {
        "type": kind.type,
        "title": TITLES.get(kind.type, kind.type),
        "intro": INTROS.get(kind.type, kind.description),
        "fields": [
            {"spec": s, "label": forms.label(kind.type, s.name), "help": forms.help_text(kind.type, s.name)}
            for s in forms.specs(kind)
        ],
        "values": values if values is not None else forms.defaults(kind),
        "errors": errors or {},
        "alert": alert,
        "has_secrets": any(s.input == "password" for s in forms.specs(kind)),
        "org_only": kind.type in ORG_ONLY,
        "may_be_org_wide": not kind.needs_agent and kind.type not in ORG_ONLY,
    }


def _integrations_page(
    request: Request,
    db: DbSession,
    principal: Member,
    agent: Agent,
    status_code: int = 200,
    failed: dict | None = None,
    shown_once: dict | None = None,
) -> Response:
    org = db.get(Organization, principal.org_id)
    tz = org.timezone if org else "UTC"
    rows = integrations.list_integrations(db)
    settings = get_settings()
    connect_forms = [failed if failed and failed["type"] == k.type else _form(k) for k in _ordered()]
    return _page(
        request,
        "integrations.html",
        principal,
        db,
        status_code,
        agent=agent,
        tz=tz,
        mine=[_row(i, tz) for i in rows if i.agent_id == agent.id],
        org_wide=[_row(i, tz) for i in rows if i.agent_id is None],
        forms=connect_forms,
        consent=CONSENT,
        name_field={"spec": NAME, "label": forms.label("", "name"), "help": forms.help_text("", "name")},
        option_words=forms.OPTIONS,
        google_ready=bool(settings.google_client_id and settings.google_client_secret),
        shown_once=shown_once,
        notice=NOTICES.get(
            request.query_params.get("notice") or ("connected" if "connected" in request.query_params else "")
        ),
    )


def _guard(principal: Member, csrf: str) -> None:
    check_csrf(principal, csrf)
    principal.require(Role.admin)


@router.get("/agents/{agent_id}/integrations")
def integrations_page(agent_id: str, request: Request, db: DbSession, principal: Member) -> Response:
    return _integrations_page(request, db, principal, get_agent(db, agent_id))


@router.post("/agents/{agent_id}/integrations/{type_}")
def connect(
    agent_id: str, type_: str, request: Request, db: DbSession, principal: Member, csrf: Csrf, data: Form
) -> Response:
    """Connect an integration of `type_` from its form; the form again, with its problems, when they are found."""
    _guard(principal, csrf)
    agent = get_agent(db, agent_id)  # 404 before anything is checked
    kind = _kind(type_)
    values = forms.submitted(kind, data)
    _ = translator(language(request, principal.user.locale))

    def again(status: int, errors: dict, alert: str) -> Response:
        alert = errors.pop("", None) or alert  # a problem of the whole form is said above it
        failed = _form(kind, forms.kept(kind, values), errors, alert)
        return _integrations_page(request, db, principal, agent, status, failed=failed)

    if len(str(values["name"])) > MAX_NAME:
        problem = _("Too long: at most {n} characters.").format(n=MAX_NAME)
        return again(422, {"name": problem}, _("Check the fields marked below."))
    if kind.type in CONSENT:
        return _start_consent(request, db, principal, agent, kind, values, again)
    whole_org = kind.type in ORG_ONLY or (not kind.needs_agent and data.get("scope") == "organization")
    body = {
        "type": kind.type,
        "agent_id": None if whole_org else agent.id,
        "name": str(values["name"]) or None,
        **forms.body_of(kind, values),
    }
    try:
        integration, shown_once = integrations.connect(db, body=body, actor=principal.actor, org_id=principal.org_id)
    except integrations.BodyInvalid as exc:
        lang = language(request, principal.user.locale)
        return again(422, forms.problems(kind, exc.errors, values, lang), _("Check the fields marked below."))
    except DomainError as exc:
        return again(exc.status, {}, _(exc.message))
    if shown_once:
        shown = {
            "title": TITLES.get(kind.type, kind.type),
            "name": integration.name,
            "values": [(forms.label(kind.type, k), v) for k, v in shown_once.items()],
        }
        return _integrations_page(request, db, principal, agent, 201, shown_once=shown)
    return RedirectResponse(
        f"/agents/{agent.id}/integrations?notice=connected#integration-{integration.id}", status_code=303
    )


def _start_consent(
    request: Request,
    db: DbSession,
    principal: Member,
    agent: Agent,
    kind: Kind,
    values: dict[str, forms.Value],
    again: Callable[[int, dict, str], Response],
) -> Response:
    """A Google account: check the choices, then send the person to Google's consent page (nothing stored yet)."""
    _ = translator(language(request, principal.user.locale))
    try:
        choices = kind.model.model_validate(forms.body_of(kind, values))
    except ValidationError as exc:
        lang = language(request, principal.user.locale)
        return again(422, forms.problems(kind, exc.errors(), values, lang), _("Check the fields marked below."))
    try:
        url = google_oauth.start(
            db,
            org_id=principal.org_id,
            actor=principal.actor,
            body=choices,
            agent_id=agent.id,
            name=str(values["name"]) or None,
        )
    except DomainError as exc:
        return again(exc.status, {}, _(exc.message))
    return RedirectResponse(url, status_code=303)


@router.post("/agents/{agent_id}/integrations/{integration_id}/disconnect")
def disconnect(agent_id: str, integration_id: str, db: DbSession, principal: Member, csrf: Csrf) -> Response:
    """Disconnect one of the agent's integrations or an organization-wide one: tokens revoked, secrets deleted."""
    _guard(principal, csrf)
    agent = get_agent(db, agent_id)
    integration = integrations.get_integration(db, integration_id)  # 404 for another organization's
    if integration.agent_id not in (None, agent.id):
        raise NotFound("no such integration", code="integration_not_found")
    integrations.disconnect(db, integration_id=integration.id, actor=principal.actor)
    return RedirectResponse(f"/agents/{agent.id}/integrations?notice=disconnected", status_code=303)
