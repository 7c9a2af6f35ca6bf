"""The analytics roll-up: per organization, local day (of its time zone), agent and channel, the conversations that
started and how many were handed off, and the agent's reply times as a histogram of whole milliseconds. Counts only,
no personal data; kept current by `rollup.refresh` (docs/analytics.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from jasping.conversations.models import Conversation, Message
from jasping.db import Base, TenantScoped, UtcDateTime


class DayAgentChannel(TenantScoped):
    """A roll-up row's key: the organization, the local day (`day`: days since 1970-01-01), the agent, the channel."""

    day: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))

    @declared_attr
    def agent_id(cls) -> Mapped[str]:  # noqa: N805
        return mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805
        return (PrimaryKeyConstraint("org_id", "day", "agent_id", "channel"),)


class AnalyticsDay(DayAgentChannel, Base):
    """Conversations that started on a local day, by agent and channel, and how many were handed off."""

    __tablename__ = "analytics_days"

    conversations: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsReplyTime(DayAgentChannel, Base):
    """The agent's replies stored on a local day, by agent and channel of their conversation: how many, how many were
    declines, and the reply times as a histogram of whole milliseconds (`{"148": 3, …}`: one JSON value a row, so a
    day costs a row to write whatever the number of distinct times)."""

    __tablename__ = "analytics_reply_times"

    replies: Mapped[int] = mapped_column(Integer, default=0)
    declines: Mapped[int] = mapped_column(Integer, default=0)
    histogram: Mapped[dict] = mapped_column(JSON, default=dict)  # whole ms -> replies (those with a reply time)


class AnalyticsRollup(TenantScoped, Base):
    """One row per organization: the time zone its days were cut in, and the application clock of its last refresh."""

    __tablename__ = "analytics_rollups"
    __table_args__ = (PrimaryKeyConstraint("org_id"),)

    timezone: Mapped[str] = mapped_column(String(64))
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime)


# What a refresh reads a day at a time: the conversations that started on it, the replies stored on it.
Index("ix_conversations_org_created", Conversation.org_id, Conversation.created_at)
# What a report reads live: the labels given on closing (only the conversations that have one).
Index("ix_conversations_org_resolution", Conversation.org_id, Conversation.resolution, Conversation.created_at)
Index("ix_messages_org_role_created", Message.org_id, Message.role, Message.created_at)
