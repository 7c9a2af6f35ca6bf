"""Chat models: LocalChatModel (offline, deterministic); OpenAI-compatible endpoints come next."""

from __future__ import annotations

import logging

from jasping.agent.llm.base import ChatModel
from jasping.config import Settings

log = logging.getLogger(__name__)


def get_chat_model(settings: Settings) -> ChatModel:
    """The model configured by `JASPING_LLM` (`local`, the offline default)."""
    from jasping.agent.llm.local import LocalChatModel

    if settings.llm != "local":
        log.warning("JASPING_LLM=%s is not available yet; answering with the local model", settings.llm)
    return LocalChatModel()
