"""The home page's getting-started checklist (issue 13, point 1): from sign-up to an agent customers can reach, each
step done or the link to do it. Read from what exists — one small query per step, all within the organization."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.agents.models import Agent
from jasping.channels.models import ChannelConnection
from jasping.conversations.models import Conversation
from jasping.knowledge.models import Source

PLAYGROUND = "playground"  # the dashboard's test chat (web/dashboard/playground_views.py)


@dataclass(frozen=True)
class Step:
    key: str
    label: str  # English; the template translates it
    done: bool
    href: str


def _exists(db: Session, query) -> bool:  # noqa: ANN001 - a select
    return db.execute(query.limit(1)).first() is not None


def checklist(db: Session, agents: list[Agent]) -> list[Step]:
    """The steps, in order; links go to the first agent's pages once there is one."""
    first = agents[0].id if agents else None
    base = f"/agents/{first}" if first else "/agents/new"
    documents = _exists(db, select(Source.id).where(Source.state == "ready"))
    tested = _exists(db, select(Conversation.id).where(Conversation.channel == PLAYGROUND))
    live = _exists(db, select(Conversation.id).where(Conversation.channel != PLAYGROUND)) or _exists(
        db, select(ChannelConnection.id)
    )
    return [
        Step("agent", "Create your agent", bool(agents), "/agents/new" if not agents else base),
        Step("documents", "Add your documents or your website", documents, f"{base}/knowledge" if first else base),
        Step("playground", "Test it in the playground", tested, f"{base}/playground" if first else base),
        Step(
            "live",
            "Put the widget on your website, or connect WhatsApp or a phone number",
            live,
            f"{base}#embed" if first else base,
        ),
    ]
