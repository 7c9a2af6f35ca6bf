"""Top questions and unanswered questions: the customers' messages the agent answered, and those whose reply was a
decline (the local model marks one with `meta.intent == "unknown"`), grouped by similarity.

Only a sample is read — the most recent `sample` questions of each kind, decrypted through the ORM — and grouped
greedily: a question joins the first group of the same agent whose stems (the knowledge base's analysis, in the
reply's language) overlap its own with a Jaccard index of at least `SIMILAR`. Totals are counted in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from jasping.conversations.models import Conversation, Message
from jasping.knowledge.analysis import analyze, fold, tokenize

SIMILAR = 0.5
GROUPS = 10
DECLINED = "unknown"
ANSWERED = "answer"


@dataclass
class Group:
    agent_id: str
    stems: frozenset[str]
    example: str  # the most recent question of the group
    count: int = 1
    languages: set[str] = field(default_factory=set)


@dataclass
class Found:
    top: list[dict[str, Any]]
    unanswered: dict[str, Any]


def stems(text: str, lang: str | None) -> frozenset[str]:
    """The question's stems; its folded words when they are all stop words ("hello?")."""
    found = frozenset(analyze(text, lang if lang in ("en", "fr", "ar") else None))
    return found or frozenset(fold(t) for t in tokenize(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def group(questions: list[tuple[str, str, str | None]], limit: int = GROUPS) -> list[Group]:
    """Greedy grouping of (agent_id, text, language), most recent first; the largest groups first."""
    groups: list[Group] = []
    for agent_id, text, lang in questions:
        words = stems(text, lang)
        for g in groups:
            if g.agent_id == agent_id and jaccard(g.stems, words) >= SIMILAR:
                g.count += 1
                g.languages.add(lang or "")
                break
        else:
            groups.append(Group(agent_id, words, text, languages={lang or ""}))
    groups.sort(key=lambda g: -g.count)  # stable: among equals, the most recently asked first
    return groups[:limit]


def add_answer_url(agent_id: str, question: str) -> str:
    """The knowledge base's "question and its answer" form of the agent, the question filled in."""
    return f"/agents/{agent_id}/knowledge?{urlencode({'question': question[:2000]})}#qa-q"


def _recent(org_id: str, period: Any, filters: Any, k: int) -> Any:
    """The ids of the `k` conversations most recently active in the period (their org/last-message index)."""
    q = select(Conversation.id).where(Conversation.org_id == org_id, Conversation.last_message_at >= period.start)
    if filters.agent_id:
        q = q.where(Conversation.agent_id == filters.agent_id)
    if filters.channel:
        q = q.where(Conversation.channel == filters.channel)
    return q.order_by(Conversation.last_message_at.desc()).limit(k)


def _sample(session: Session, org_id: str, period: Any, filters: Any, intents: tuple[str, ...], sample: int) -> list:
    """The customers' questions whose reply had one of `intents`, in the period, the most recently active
    conversations first: (agent_id, text, language). Read from the `sample` most recent conversations, then 4, 16…
    times more until `sample` questions are found or none is left — so the database never sorts the whole period."""
    reply, asked = Message.__table__.alias("reply"), aliased(Message)  # only the questions are ORM rows: decrypted
    k = sample
    while True:
        recent = _recent(org_id, period, filters, k).subquery()
        q = (
            select(asked.text, reply.c.meta["language"].as_string(), Conversation.agent_id)
            .select_from(recent)
            .join(Conversation, Conversation.id == recent.c.id)
            .join(reply, reply.c.conversation_id == Conversation.id)
            .join(asked, (asked.conversation_id == Conversation.id) & (asked.seq == reply.c.seq - 1))
            .where(reply.c.role == "assistant", asked.role == "user", reply.c.meta["intent"].as_string().in_(intents))
            .where(reply.c.created_at >= period.start, reply.c.created_at < period.end)
            .order_by(Conversation.last_message_at.desc(), reply.c.seq.desc())
            .limit(sample)
        )
        rows = session.execute(q).all()
        if len(rows) >= sample or session.execute(select(func.count()).select_from(recent)).scalar_one() < k:
            break
        k *= 4
    return [(agent_id, text, lang) for text, lang, agent_id in rows if text and not text.startswith("[")]


def _read(groups: list[Group], *, with_link: bool) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        row = {"count": g.count, "example": g.example, "agent_id": g.agent_id, "languages": sorted(g.languages - {""})}
        if with_link:
            row["add_answer_url"] = add_answer_url(g.agent_id, g.example)
        out.append(row)
    return out


def find(session: Session, *, org_id: str, period: Any, filters: Any, declined: int, sample: int = 300) -> Found:
    """The unanswered questions (`declined`: the total, counted with the reply times; the groups of the most recent
    `sample`) and the top questions (answered or declined: the groups of the most recent `sample`)."""
    unanswered = _sample(session, org_id, period, filters, (DECLINED,), sample)
    asked = _sample(session, org_id, period, filters, (ANSWERED, DECLINED), sample)
    groups = _read(group(unanswered), with_link=True)
    return Found(
        top=_read(group(asked), with_link=False),
        unanswered={"total": declined, "sampled": len(unanswered), "groups": groups},
    )
