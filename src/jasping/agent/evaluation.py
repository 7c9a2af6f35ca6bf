"""Answer-level evaluation: ask an agent a file of questions and score the replies, not the retrieval.

A reply to an answerable question is correct when it contains every expected fact (any accepted form of each)
and cites the expected document; a reply to a question the documents do not answer is correct when it is an
honest decline (no answer, no citation, and the offer of a person or a callback). Nothing is stored: the
context is built as a real turn builds it (`turn.context_for`) and the configured chat model answers it.
Question files: `jasping.agent.evaluation_files`.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.agent.evaluation_files import Question, QuestionFileError, load_questions, parse_questions
from jasping.agent.llm.base import AgentStep, ChatModel
from jasping.agent.phrases import quick_replies
from jasping.agents.models import Agent

__all__ = [
    "Question",
    "QuestionFileError",
    "Result",
    "ask",
    "contains",
    "declined",
    "evaluate_agent",
    "load_questions",
    "normalize",
    "parse_questions",
    "report",
    "run",
    "score",
]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SPACES = str.maketrans({c: " " for c in "\u00a0\u202f\u2007\u2009\u200a\u2002\u2003"})
_GROUP = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")  # "1 200" → "1200"
_OFFER_TOOLS = {"handoff_to_human", "request_callback"}
_OFFERS = {label for lang in ("en", "fr", "ar") for label in quick_replies(["human", "callback"], lang)}


def normalize(text: str) -> str:
    """Casefolded, accents stripped (NFKD), Arabic-Indic digits as ASCII, spaces collapsed, "1 200" as "1200"."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_SPACES))
    text = "".join(c for c in text if not unicodedata.combining(c) and c not in "\u0640\u200c\u200d\u200e\u200f")
    text = " ".join(text.translate(_DIGITS).casefold().split())
    return _GROUP.sub("", text)


def _latin_or_digit(c: str) -> bool:
    return c.isascii() and c.isalnum()


def contains(reply: str, fact: str) -> bool:
    """Whether `reply` contains `fact` or one of its `|`-separated forms, compared normalized; a form that starts
    or ends with a Latin letter or digit must do so at a word boundary ("3" is not found in "13")."""
    text = normalize(reply)
    for form in (normalize(f) for f in fact.split("|")):
        if not form:
            continue
        before = r"(?<![^\W_])" if _latin_or_digit(form[0]) else ""
        after = r"(?![^\W_])" if _latin_or_digit(form[-1]) else ""
        if re.search(before + re.escape(form) + after, text):
            return True
    return False


def declined(step: AgentStep) -> bool:
    """An honest decline: the agent says it does not know, cites nothing and offers a person or a callback."""
    offered = any(c.name in _OFFER_TOOLS for c in step.tool_calls) or any(r in _OFFERS for r in step.quick_replies)
    return step.intent == "unknown" and not step.citations and offered


@dataclass
class Result:
    """One question, the reply and its score."""

    question: Question
    reply: str
    cited: list[str]  # the cited documents' names (titles or file names)
    fact_found: bool
    cited_right: bool
    declined: bool
    correct: bool
    why: str = ""  # why a miss missed
    cpu_ms: float = 0.0
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["question"] = self.question.as_dict()
        return out


def _same_document(name: str, expected: str) -> bool:
    a, b = name.strip().casefold(), expected.strip().casefold()
    return bool(a) and (a == b or a.rsplit("/", 1)[-1] == b or a.rsplit(".", 1)[0] == b.rsplit(".", 1)[0])


def score(question: Question, step: AgentStep, names: Mapping[str, Iterable[str]] | None = None) -> Result:
    """Score one reply. `names` maps a source id to the names a citation of it answers to (title, file, URL)."""
    names = names or {}
    cited_names = [list(names.get(c.source_id or "", ())) or [c.title or c.url or ""] for c in step.citations]
    cited = [ns[0] for ns in cited_names]
    was_declined = declined(step)
    missing = [fact for fact in question.expected if not contains(step.text, fact)]
    fact_found = not missing
    cited_right = bool(question.document) and any(
        _same_document(n, question.document) for ns in cited_names for n in ns
    )
    if question.answerable:
        correct = fact_found and (cited_right or not question.document)
        why = ""
        if was_declined:
            why = "declined an answerable question"
        elif missing:
            why = "fact missing: " + "; ".join(missing)
        if not correct and not was_declined and question.document and not cited_right:
            where = ", ".join(filter(None, cited)) or "nothing"
            why = "; ".join(filter(None, [why, f"cited {where} instead of {question.document}"]))
    else:
        correct = was_declined
        why = ""
        if not correct:
            why = "answered instead of declining" if step.intent != "unknown" else "declined without offering a person"
    return Result(question, step.text, cited, fact_found, cited_right, was_declined, correct, why, missing=missing)


def document_names(session: Session, agent_id: str) -> dict[str, list[str]]:
    """For each of the agent's sources, the names a question file may give its document by."""
    from jasping.knowledge.models import Source

    rows = session.execute(
        select(Source.id, Source.filename, Source.title, Source.url).where(Source.agent_id == agent_id)
    ).all()
    return {sid: [n for n in (filename, title, url) if n] for sid, filename, title, url in rows}


def ask(session: Session, agent: Agent, text: str, model: ChatModel) -> AgentStep:
    """The agent's reply to `text` as the first message of a conversation; nothing is stored."""
    from jasping.agent.turn import context_for
    from jasping.conversations.service import clean_text

    return model.respond(context_for(session, agent, clean_text(text)))


def run(
    session: Session,
    agent: Agent,
    questions: Sequence[Question],
    model: ChatModel,
    *,
    progress: Callable[[int, int], None] | None = None,
    before: Callable[[Question], None] | None = None,
) -> list[Result]:
    """Ask every question and score every reply; `before(question)` runs before each (a test oracle's cue)."""
    names = document_names(session, agent.id)
    results = []
    for n, question in enumerate(questions, 1):
        if before:
            before(question)
        started = time.thread_time()  # this thread's: not an index build running in the background
        step = ask(session, agent, question.text, model)
        cpu_ms = (time.thread_time() - started) * 1000
        result = score(question, step, names)
        result.cpu_ms = round(cpu_ms, 2)
        results.append(result)
        if progress:
            progress(n, len(questions))
    return results


def evaluate_agent(
    org_id: str, agent_id: str, questions: Sequence[Question], *, model: ChatModel | None = None
) -> list[Result]:
    """Run `questions` on an organization's agent in a read transaction of its own (no write lock is held while
    the model answers); NotFound for an agent the organization does not have."""
    from jasping.agent.llm import get_chat_model
    from jasping.agents.service import get_agent
    from jasping.config import get_settings
    from jasping.db import session_scope

    with session_scope(org_id, write=False) as session:
        agent = get_agent(session, agent_id)
        return run(session, agent, questions, model or get_chat_model(get_settings()))


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def figures(results: Sequence[Result]) -> dict:
    """The headline figures of a set of results (None where there is nothing to count)."""
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    with_document = [r for r in answerable if r.question.document]
    crossing = [r for r in answerable if r.question.cross_lingual]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "accuracy": _share(sum(r.correct for r in answerable), len(answerable)),
        "fact_accuracy": _share(sum(r.fact_found for r in answerable), len(answerable)),
        "citation_accuracy": _share(sum(r.cited_right for r in with_document), len(with_document)),
        "cross_lingual_accuracy": _share(sum(r.correct for r in crossing), len(crossing)),
        "honest_decline_rate": _share(sum(r.declined for r in unanswerable), len(unanswerable)),
        "false_decline_rate": _share(sum(r.declined for r in answerable), len(answerable)),
        "cpu_ms_per_question": round(sum(r.cpu_ms for r in results) / len(results), 2) if results else None,
    }


def _by(results: Sequence[Result], key: Callable[[Result], str]) -> dict[str, dict]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {name: figures(group) for name, group in sorted(groups.items())}


def report(results: Sequence[Result]) -> dict:
    """Figures overall and by language, document format, cross-lingual or not, and question type; the misses."""
    answerable = [r for r in results if r.question.answerable]
    return {
        **figures(results),
        "by_language": _by(results, lambda r: r.question.language or "?"),
        "by_format": _by(answerable, lambda r: r.question.format),
        "by_crossing": _by(answerable, lambda r: "cross-lingual" if r.question.cross_lingual else "same language"),
        "by_type": _by(results, lambda r: r.question.type),
        "misses": [miss(r) for r in results if not r.correct],
    }


def miss(result: Result) -> dict:
    """A wrong reply, as a person reads it."""
    q = result.question
    return {
        "id": q.id,
        "question": q.text,
        "language": q.language,
        "expected": q.expected,
        "document": q.document,
        "reply": result.reply,
        "cited": result.cited,
        "why": result.why,
    }
