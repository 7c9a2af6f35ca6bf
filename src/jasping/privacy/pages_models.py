"""The table of public legal pages: each version of the platform's privacy policy, sub-processor list and data
processing agreement, and of each agent's privacy notice, in each language. Rows are never updated: a change is a
new version, with the date it takes effect; previous versions stay readable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jasping.db import Base, Timestamped, UtcDateTime


class LegalPage(Timestamped, Base):
    """One version of one page in one language (markdown). `scope` is `platform` for the operator's pages, the
    agent's id for an agent's privacy notice (then `org_id` and `agent_id` say whose)."""

    __tablename__ = "legal_pages"
    __table_args__ = (UniqueConstraint("kind", "scope", "version", "language", name="uq_legal_pages_version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # privacy | subprocessors | dpa | agent_notice
    scope: Mapped[str] = mapped_column(String(40), index=True)
    org_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("organizations.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)  # markdown, rendered safely (privacy.pages_markdown)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str | None] = mapped_column(String(40), ForeignKey("users.id", ondelete="SET NULL"))
