"""FallbackChatModel: a remote model first, the local model when it fails or times out; `build_chat_model`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from jasping.agent.llm.base import AgentStep, ChatModel, Citation, TurnContext
from jasping.agent.llm.markers import citations
from jasping.agent.llm.openai_model import ModelUnavailable, OpenAIChatModel
from jasping.config import Settings

__all__ = ["SEPARATOR", "FallbackChatModel", "build_chat_model"]

log = logging.getLogger(__name__)

SEPARATOR = "…\n\n"  # between a remote reply cut short and the fallback's answer


class FallbackChatModel:
    """Answers with `primary`; on ModelUnavailable, with `fallback` (and skips `primary` for `cooldown` seconds)."""

    def __init__(
        self,
        primary: ChatModel,
        fallback: ChatModel,
        *,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = f"{primary.name}+{fallback.name}"
        self.cooldown, self._clock = cooldown, clock  # a failing endpoint is not waited on turn after turn
        self._down_until = float("-inf")
        self._last = threading.local()

    @property
    def last_used(self) -> str | None:
        """The name of the model that produced this thread's last reply."""
        return getattr(self._last, "name", None)

    def respond(self, context: TurnContext) -> AgentStep:
        """The primary's reply, or the fallback's when the primary is unavailable."""
        if self._primary_up():
            try:
                step = self.primary.respond(context)
            except ModelUnavailable as exc:
                self._failed(exc)
            else:
                self._last.name = self.primary.name
                return replace(step, model=self.primary.name)
        self._last.name = self.fallback.name
        return replace(self.fallback.respond(context), model=self.fallback.name)

    def stream(self, context: TurnContext) -> Iterator[str | AgentStep]:
        """The primary's stream; if it fails, the fallback's (after a separator when text was already sent)."""
        sent: list[str] = []
        if self._primary_up():
            try:
                for piece in self.primary.stream(context):
                    if isinstance(piece, AgentStep):
                        self._last.name = self.primary.name
                        yield replace(piece, model=self.primary.name)
                        return
                    sent.append(piece)
                    yield piece
                raise ModelUnavailable("stream ended without a reply")
            except ModelUnavailable as exc:
                self._failed(exc)
        self._last.name = self.fallback.name
        if sent:
            sent.append(SEPARATOR)
            yield SEPARATOR
        for piece in self.fallback.stream(context):
            if isinstance(piece, AgentStep):
                piece = replace(
                    self._joined(context, "".join(sent), piece) if sent else piece, model=self.fallback.name
                )
            yield piece

    def _primary_up(self) -> bool:
        return self._clock() >= self._down_until

    def _failed(self, exc: ModelUnavailable) -> None:
        """Log the failure (its short reason only: never message content) and rest the primary."""
        from jasping.metrics import LLM_FALLBACKS

        self._down_until = self._clock() + self.cooldown
        LLM_FALLBACKS.labels(str(exc).split(" (")[0][:40]).inc()  # the short reason: "timed out", "HTTP 500"…
        log.warning("chat model %s unavailable (%s); answering with %s", self.primary.name, exc, self.fallback.name)

    @staticmethod
    def _joined(context: TurnContext, partial: str, step: AgentStep) -> AgentStep:
        """The fallback's step after a partial primary reply: all the text sent, the citations of both."""
        merged: dict[tuple, Citation] = {}
        for c in [*citations(partial, context.passages), *step.citations]:
            merged.setdefault((c.title, c.url, c.source_id, c.page), c)
        return replace(step, text=partial + step.text, citations=list(merged.values()))


def build_chat_model(settings: Settings) -> ChatModel:
    """The model `JASPING_LLM` names: `local`, or `openai` (an OpenAI-compatible endpoint, local model as fallback)."""
    from jasping.agent.llm.local import LocalChatModel

    choice = (settings.llm or "").strip().lower()
    if choice == "local":
        return LocalChatModel()
    if choice == "openai":
        remote = OpenAIChatModel(
            model=settings.llm_model, api_key=settings.openai_api_key, base_url=settings.openai_base_url
        )
        return FallbackChatModel(remote, LocalChatModel())
    raise ValueError(f"unknown JASPING_LLM={settings.llm!r}: expected 'local' or 'openai'")
