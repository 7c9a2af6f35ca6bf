"""The chat-model interface: a turn's context in, an `AgentStep` (text, citations, tool calls) out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RetrievedPassage:
    """A knowledge passage offered to the model for this turn."""

    ref: int  # 1-based citation number within the turn
    chunk_id: str
    source_id: str
    title: str
    url: str | None
    page: int | None
    heading_path: tuple[str, ...]
    text: str
    score: float
    language: str | None = None  # the passage's language, detected at ingestion


@dataclass(frozen=True)
class HistoryMessage:
    role: str  # "user" | "assistant"
    text: str


@dataclass
class TurnContext:
    """Everything a model may use to answer one customer message."""

    agent_name: str
    instructions: str
    languages: list[str]  # the languages the agent speaks, first = default
    user_text: str
    language: str  # the customer's language as detected for this message
    history: list[HistoryMessage] = field(default_factory=list)
    passages: list[RetrievedPassage] = field(default_factory=list)
    confidence: float = 0.0  # retrieval confidence that the best passage answers (0..1)
    semantic: bool = False  # the passages were ranked with embeddings too (matches beyond shared words)
    business_name: str = ""
    within_business_hours: bool | None = None  # None: the business has not set its hours
    reopens: str = ""  # when the team is back, in the customer's language, while it is away


@dataclass(frozen=True)
class Citation:
    title: str
    url: str | None
    snippet: str
    source_id: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class ToolCall:
    name: str  # e.g. "handoff_to_human", "request_callback", "capture_lead", "find_slots"
    arguments: dict


@dataclass
class AgentStep:
    """What the model says (and wants done) for one turn."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)
    input_hint: str = "text"  # text | name | email | phone | date | time | choice
    tool_calls: list[ToolCall] = field(default_factory=list)
    intent: str = "answer"  # answer | unknown | greeting | thanks | human | lead | booking | smalltalk
    language: str = "en"
    grounded: bool = False  # True when the text comes from the cited passages
    model: str = ""  # the model that actually answered (a fallback chain names the one used)


class ChatModel(Protocol):
    """A model that answers one turn."""

    name: str

    def respond(self, context: TurnContext) -> AgentStep: ...

    def stream(self, context: TurnContext) -> Iterator[str | AgentStep]:
        """Text pieces as they come, then the final AgentStep."""
        ...
