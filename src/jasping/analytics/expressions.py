"""SQL pieces shared by the live report (`service.py`) and the roll-up (`rollup.py`), so both count alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, case, cast, exists, func, or_

from jasping.analytics.questions import DECLINED
from jasping.conversations.models import Conversation, Message

HANDOFF_STATUSES = ("handoff", "human")
CLOSED_STATUSES = ("closed",)
NO_TIMING = -1  # the roll-up's `ms` of a reply stored without a reply time


def handed_off() -> Any:
    """A person was asked for or stepped in: `needs_human`, a handoff status, or a teammate's message."""
    # The table, not the mapped class: the session's tenant filter would add `messages.org_id = …`, and SQLite would
    # then scan the organization's messages for every conversation instead of using the conversation's index.
    messages = Message.__table__
    teammate = exists().where(messages.c.conversation_id == Conversation.id, messages.c.role == "human")
    return or_(Conversation.needs_human.is_(True), Conversation.status.in_(HANDOFF_STATUSES), teammate)


def reply_ms(messages: Any, dialect: str) -> Any:
    """A reply's time (`meta.total_ms`) in whole milliseconds, NULL when it has none."""
    total_ms = messages.c.meta["total_ms"].as_float()
    return cast(func.floor(total_ms), Integer) if dialect == "postgresql" else cast(cast(total_ms, Float), Integer)


def declined(messages: Any) -> Any:
    """1 for a decline (the agent said it did not know), 0 otherwise."""
    return case((messages.c.meta["intent"].as_string() == DECLINED, 1), else_=0)
