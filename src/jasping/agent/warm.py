"""No cold first message: at start-up, in background threads, what a first turn would otherwise load while a
customer waits — the search indexes of the agents that spoke last (`knowledge.retrieval.warm_in_background`: from
disk when stored, then one search per document language, which loads the analysers and the lexicon), and the turn's
own code: the chat model's modules (the OpenAI client is imported even for the local model, as its fallback), the
language and intent detection tables, and one answer of the local reader.

Measured on the 20,000-chunk agent (bench/widget_bench.py `--restarts`): without it, the first message after a
restart paid seconds of imports and table loading on top of the index.
"""

from __future__ import annotations

import logging
import threading

from jasping.knowledge import retrieval

log = logging.getLogger(__name__)


def _warm_turn() -> None:
    try:
        from jasping.agent.intents import detect_intent, detect_message_language
        from jasping.agent.llm import get_chat_model
        from jasping.agent.llm.base import TurnContext
        from jasping.agent.llm.local import LocalChatModel
        from jasping.config import get_settings

        get_chat_model(get_settings())
        for text, lang in (("What are your opening hours?", "en"), ("Quels sont vos horaires ?", "fr")):
            detect_intent(text, detect_message_language(text, ["en", "fr", "ar"]))
            LocalChatModel().respond(TurnContext("Agent", "", ["en", "fr", "ar"], text, lang))
    except Exception:  # noqa: BLE001 - start-up goes on; the first turn loads what is missing
        log.exception("warming the turn's code failed")


def in_background() -> list[threading.Thread]:
    """Start the warm-ups (the indexes first: a first message needs them most)."""
    threads = [retrieval.warm_in_background()]
    turn = threading.Thread(target=_warm_turn, name="turn-warm", daemon=True)
    turn.start()
    return [*threads, turn]
