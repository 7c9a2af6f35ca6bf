"""Chat models: LocalChatModel (offline, deterministic) and any OpenAI-compatible endpoint with the local
model as its fallback (`JASPING_LLM=openai`)."""

from __future__ import annotations

import threading

from jasping.agent.llm.base import ChatModel
from jasping.config import Settings

_models: dict[tuple, ChatModel] = {}
_lock = threading.Lock()


def get_chat_model(settings: Settings) -> ChatModel:
    """The process-wide model for the settings (kept, so the HTTP pool and the fallback's cooldown persist)."""
    from jasping.agent.llm.fallback import build_chat_model

    key = (settings.llm, settings.llm_model, settings.openai_base_url, settings.openai_api_key)
    with _lock:
        if key not in _models:
            _models[key] = build_chat_model(settings)
        return _models[key]
