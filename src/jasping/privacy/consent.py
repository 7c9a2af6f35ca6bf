"""Consent records: the chat's privacy notice accepted by a visitor, the agreement to be contacted about a
request. Each record keeps the wording shown, the policy linked, the channel and the time — what a business
needs to show that consent was given (GDPR art. 7(1))."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.conversations.models import Conversation
from jasping.db import new_id
from jasping.privacy.models import ConsentRecord

CHAT_NOTICE = "chat_privacy_notice"
CONTACT = "contact_about_request"
PURPOSES = (CHAT_NOTICE, CONTACT)


def record(
    session: Session,
    conversation: Conversation,
    *,
    purpose: str,
    wording: str,
    granted: bool = True,
    policy_url: str | None = None,
    language: str | None = None,
) -> ConsentRecord:
    """Append a consent record for the conversation's contact."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    row = ConsentRecord(
        id=new_id("cns"),
        org_id=conversation.org_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        purpose=purpose,
        granted=granted,
        channel=conversation.channel,
        wording=wording,
        policy_url=policy_url,
        language=language,
    )
    session.add(row)
    session.flush()
    return row


def record_once(
    session: Session, conversation: Conversation, *, purpose: str, **fields: object
) -> tuple[ConsentRecord, bool]:
    """The conversation's granted record for `purpose`, created if there is none; True when created now."""
    existing = session.execute(
        select(ConsentRecord)
        .where(
            ConsentRecord.conversation_id == conversation.id,
            ConsentRecord.purpose == purpose,
            ConsentRecord.granted.is_(True),
        )
        .limit(1)
    ).scalar()
    if existing is not None:
        return existing, False
    return record(session, conversation, purpose=purpose, **fields), True  # type: ignore[arg-type]


def for_conversation(session: Session, conversation_id: str) -> list[ConsentRecord]:
    return list(
        session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.conversation_id == conversation_id)
            .order_by(ConsentRecord.created_at, ConsentRecord.id)
        ).scalars()
    )
