"""Rendering dashboard pages: one Jinja environment, language, flash messages, error pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from jasping.agents.models import LANGUAGES as AGENT_LANGUAGES
from jasping.web.dashboard import TEMPLATE_DIR
from jasping.web.dashboard.i18n import pick_language, translator

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
LANG_COOKIE = "jasping_lang"
FLASH = {
    "saved": "Saved.",
    "review_decided": "Decision recorded.",
    "agent_created": "Agent created.",
    "agent_deleted": "Agent deleted.",
    "key_revoked": "Key revoked.",
    "source_added": "Source added; it is being read.",
    "source_deleted": "Source deleted.",
    "source_refreshing": "Re-crawl started.",
    "mfa_required": "Your organization requires two-step verification: set it up to continue.",
    "session_revoked": "Session logged out.",
    "sessions_revoked": "Logged out everywhere else.",
    "password_changed": "Password changed. Log in with your new password.",
    "sync_queued": "Queued to be sent again.",
    "appointment_cancelled": "Appointment cancelled; the customer is told by email.",
    "appointment_moved": "Appointment moved; the customer gets the new time by email.",
}


def language(request: Request, user_locale: str | None = None) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE), user_locale, request.headers.get("accept-language"))


def render(
    request: Request, template: str, status_code: int = 200, *, user_locale: str | None = None, **context: Any
) -> HTMLResponse:
    lang = language(request, user_locale)
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        _=translator(lang),
        agent_languages=AGENT_LANGUAGES,
        flash=FLASH.get(request.query_params.get("flash", "")),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    title = "Page not found" if status == 404 else "Something went wrong"
    return render(request, "error.html", status_code=status, status=status, title=title, message=message)
