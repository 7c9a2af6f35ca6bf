"""Public legal pages with their versions: the platform's privacy policy, sub-processor list and data processing
agreement (edited by the operator), and each agent's privacy notice (edited by the business).

A version is markdown in one or more languages, numbered 1, 2, 3… per page, with the date it takes effect; the version
in force is the highest whose date has come. Nothing is overwritten: previous versions stay readable. Until a page is
edited its version 1 is the built-in default (`pages_defaults`); it is stored as version 1 when the first edit is
published, and an agent's generated notice is stored when a visitor first accepts it, so that the version recorded with
a consent (`label`, e.g. `agent_notice/v1`) always names a text that can be shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jasping import clock
from jasping.agents.models import Agent
from jasping.config import get_settings
from jasping.db import new_id
from jasping.errors import Invalid, NotFound
from jasping.privacy import pages_defaults
from jasping.privacy.pages_models import LegalPage
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.tenancy.models import Organization

PLATFORM_KINDS = ("privacy", "subprocessors", "dpa")
AGENT_NOTICE = "agent_notice"
KINDS = (*PLATFORM_KINDS, AGENT_NOTICE)
PLATFORM = "platform"
LANGUAGES = ("en", "fr", "ar")
MAX_BODY = 100_000
PATHS = {"privacy": "/privacy", "subprocessors": "/legal/subprocessors", "dpa": "/legal/dpa"}


@dataclass(frozen=True)
class Page:
    """One version of a page in one language."""

    kind: str
    version: int
    language: str
    body: str
    effective_at: datetime
    stored: bool  # False: the built-in default, not yet stored

    @property
    def label(self) -> str:
        return f"{self.kind}/v{self.version}"


def _scope(kind: str, agent: Agent | None) -> str:
    if kind not in KINDS:
        raise NotFound(f"no page {kind!r}: one of {', '.join(KINDS)}")
    if (kind == AGENT_NOTICE) != (agent is not None):
        raise ValueError("an agent's notice needs its agent; the platform's pages none")
    return agent.id if agent is not None else PLATFORM


def _defaults(session: Session, kind: str, agent: Agent | None) -> dict[str, str]:
    if agent is None:
        return pages_defaults.PLATFORM_DEFAULTS[kind]
    org = session.get(Organization, agent.org_id)
    langs = [lang for lang in (agent.languages or ["en"]) if lang in ("en", "fr")] or ["en"]
    return {
        lang: pages_defaults.agent_notice(
            business=org.name if org else agent.name,
            agent=agent.name,
            booking=bool(agent.booking),
            contact_email=org.contact_email if org else None,
            lang=lang,
        )
        for lang in langs
    }


def _rows(session: Session, kind: str, scope: str, version: int | None = None) -> list[LegalPage]:
    query = select(LegalPage).where(LegalPage.kind == kind, LegalPage.scope == scope)
    if version is not None:
        query = query.where(LegalPage.version == version)
    return list(session.execute(query.order_by(LegalPage.version, LegalPage.language)).scalars())


def _pick(rows: list[LegalPage], lang: str) -> LegalPage:
    by_lang = {r.language: r for r in rows}
    return by_lang.get(lang) or by_lang.get("en") or rows[0]


def _default_page(session: Session, kind: str, agent: Agent | None, lang: str) -> Page:
    texts = _defaults(session, kind, agent)
    language = lang if lang in texts else "en" if "en" in texts else next(iter(texts))
    return Page(kind, 1, language, texts[language], pages_defaults.DEFAULT_EFFECTIVE, stored=False)


def in_force(
    session: Session, kind: str, *, lang: str = "en", agent: Agent | None = None, now: datetime | None = None
) -> Page:
    """The version in force now (or at `now`), in `lang` when it exists, else English."""
    scope, now = _scope(kind, agent), now or clock.now()
    rows = [r for r in _rows(session, kind, scope) if r.effective_at <= now]
    if not rows:
        return _default_page(session, kind, agent, lang)
    newest = max(r.version for r in rows)
    row = _pick([r for r in rows if r.version == newest], lang)
    return Page(kind, row.version, row.language, row.body, row.effective_at, stored=True)


def version(session: Session, kind: str, number: int, *, lang: str = "en", agent: Agent | None = None) -> Page:
    """A given version (past, in force or upcoming); 404 when there is none."""
    rows = _rows(session, kind, _scope(kind, agent), number)
    if rows:
        row = _pick(rows, lang)
        return Page(kind, row.version, row.language, row.body, row.effective_at, stored=True)
    if number == 1 and not _rows(session, kind, _scope(kind, agent)):
        return _default_page(session, kind, agent, lang)
    raise NotFound(f"no version {number} of this page")


def history(session: Session, kind: str, *, agent: Agent | None = None) -> list[dict]:
    """Every version, oldest first: number, date it takes effect, languages, and whether it is the one in force."""
    scope, now = _scope(kind, agent), clock.now()
    rows = _rows(session, kind, scope)
    if not rows:
        texts = _defaults(session, kind, agent)
        return [
            {
                "version": 1,
                "effective_at": pages_defaults.DEFAULT_EFFECTIVE,
                "languages": sorted(texts),
                "status": "in_force",
                "default": True,
            }
        ]
    versions: dict[int, list[LegalPage]] = {}
    for r in rows:
        versions.setdefault(r.version, []).append(r)
    current = max((v for v, rs in versions.items() if rs[0].effective_at <= now), default=None)
    out = []
    for number, rs in sorted(versions.items()):
        status = "in_force" if number == current else "upcoming" if rs[0].effective_at > now else "superseded"
        out.append(
            {
                "version": number,
                "effective_at": rs[0].effective_at,
                "languages": sorted(r.language for r in rs),
                "status": status,
                "default": False,
            }
        )
    return out


def _store(
    session: Session,
    kind: str,
    agent: Agent | None,
    number: int,
    bodies: dict[str, str],
    effective_at: datetime,
    user_id: str | None,
) -> None:
    for lang, body in bodies.items():
        session.add(
            LegalPage(
                id=new_id("lgp"),
                kind=kind,
                scope=_scope(kind, agent),
                org_id=agent.org_id if agent else None,
                agent_id=agent.id if agent else None,
                version=number,
                language=lang,
                body=body,
                effective_at=effective_at,
                published_by=user_id,
                created_at=clock.now(),
            )
        )
    session.flush()


def _checked_bodies(bodies: dict[str, str]) -> dict[str, str]:
    out = {}
    for lang, body in bodies.items():
        if lang not in LANGUAGES:
            raise Invalid(f"language {lang!r}: one of {', '.join(LANGUAGES)}", code="invalid_language")
        text = (body or "").replace("\x00", "").strip()
        if not text:
            continue
        if len(text) > MAX_BODY:
            raise Invalid(f"the {lang} text is longer than {MAX_BODY} characters", code="too_long")
        out[lang] = text + "\n"
    if not out:
        raise Invalid("give the page's text (markdown) in at least one language", code="empty_page")
    return out


def publish(
    session: Session,
    kind: str,
    *,
    bodies: dict[str, str],
    actor: Actor,
    effective_at: datetime | None = None,
    agent: Agent | None = None,
) -> int:
    """Store a new version (the default is stored first as version 1); returns its number."""
    scope, now = _scope(kind, agent), clock.now()
    texts = _checked_bodies(bodies)
    effective_at = clock.as_utc(effective_at) if effective_at else now
    if effective_at < now.replace(microsecond=0):
        raise Invalid("effective_at: a new version cannot take effect in the past", code="effective_in_the_past")
    if not _rows(session, kind, scope):
        default_from = pages_defaults.DEFAULT_EFFECTIVE if agent is None else now
        _store(session, kind, agent, 1, _defaults(session, kind, agent), min(default_from, effective_at), None)
    number = (
        session.execute(
            select(func.max(LegalPage.version)).where(LegalPage.kind == kind, LegalPage.scope == scope)
        ).scalar()
        or 0
    ) + 1
    _store(session, kind, agent, number, texts, effective_at, actor.id if actor.type == "user" else None)
    audit.record(
        session,
        actor=actor,
        action="legal_page.published",
        org_id=agent.org_id if agent else None,
        object_type="legal_page",
        object_id=f"{scope}/{kind}",
        detail={"kind": kind, "version": number, "languages": sorted(texts), "effective_at": effective_at.isoformat()},
    )
    return number


def agent_notice_in_force(session: Session, agent: Agent, lang: str) -> Page:
    """The agent's notice in force, stored first when it is still the generated default (a consent will name it)."""
    if not _rows(session, AGENT_NOTICE, agent.id):
        try:
            with session.begin_nested():  # another visitor may store it at the same moment: theirs is as good
                _store(session, AGENT_NOTICE, agent, 1, _defaults(session, AGENT_NOTICE, agent), clock.now(), None)
        except IntegrityError:
            pass
    return in_force(session, AGENT_NOTICE, lang=lang, agent=agent)


def agent_notice_url(agent: Agent) -> str:
    """The public address of the agent's privacy notice (the widget links to it)."""
    return f"{get_settings().base_url.rstrip('/')}/legal/agents/{agent.public_key}/privacy"


def platform_url(kind: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}{PATHS[kind]}"
