"""Canned replies: an organization's saved answers (a title, the text, optionally its language) that a team member
inserts in the inbox's reply box, edits if needed, and sends."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jasping.conversations.inbox_models import CannedReply
from jasping.db import new_id
from jasping.errors import Conflict, Invalid, NotFound

MAX_TITLE, MAX_TEXT, MAX_REPLIES = 120, 4000, 500
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2})?")


def _clean(title: str | None, text: str | None, language: str | None) -> tuple[str, str, str | None]:
    title, text, language = (title or "").strip(), (text or "").strip(), (language or "").strip() or None
    if not title or len(title) > MAX_TITLE:
        raise Invalid(f"the title must have 1 to {MAX_TITLE} characters", code="invalid_title")
    if not text or len(text) > MAX_TEXT:
        raise Invalid(f"the text must have 1 to {MAX_TEXT} characters", code="invalid_text")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise Invalid("the language must be a code such as en, fr or ar", code="invalid_language")
    return title, text, language


def list_replies(session: Session, *, language: str | None = None) -> list[CannedReply]:
    """The organization's replies by title; with `language`, those in it and those for any language."""
    query = select(CannedReply).order_by(func.lower(CannedReply.title), CannedReply.id)
    if language:
        query = query.where((CannedReply.language == language) | CannedReply.language.is_(None))
    return list(session.execute(query).scalars())


def get(session: Session, reply_id: str) -> CannedReply:
    row = session.get(CannedReply, reply_id)  # another organization's: not found (the session is scoped)
    if row is None:
        raise NotFound("no such canned reply", code="canned_reply_not_found")
    return row


def create(session: Session, *, org_id: str, title: str, text: str, language: str | None = None) -> CannedReply:
    title, text, language = _clean(title, text, language)
    if session.execute(select(func.count()).select_from(CannedReply)).scalar_one() >= MAX_REPLIES:
        raise Conflict(f"an organization keeps at most {MAX_REPLIES} canned replies", code="too_many_canned_replies")
    row = CannedReply(id=new_id("cnr"), org_id=org_id, title=title, text=text, language=language)
    session.add(row)
    session.flush()
    return row


def update(session: Session, row: CannedReply, *, title: str, text: str, language: str | None) -> CannedReply:
    row.title, row.text, row.language = _clean(title, text, language)
    session.flush()
    return row


def delete(session: Session, row: CannedReply) -> None:
    session.delete(row)
    session.flush()
