"""No cold first message: at start-up, in threads the server waits for (at most `WAIT_S`) before answering, what a
first turn would otherwise load while a customer waits — the search indexes of the agents that spoke last
(`knowledge.retrieval.warm_in_background`: those stored on disk, then one search per document language, which loads
the analysers and the lexicon; indexes to build from the database go on in the background), and the turn's own code:
the chat model's modules (the OpenAI client is imported even for the local model, as its fallback), the language and
intent detection tables, and one answer of the local reader.

Measured on the 20,000-chunk agent (bench/widget_bench.py `--restarts`): a first turn paid ~1.5 s of CPU of imports
and tables on top of the index when these ran beside it.
"""

from __future__ import annotations

import logging
import threading
import time

from jasping.knowledge import retrieval

log = logging.getLogger(__name__)
WAIT_S = 15.0  # start-up waits at most this long for the stored indexes and the turn's code


def _warm_turn(done: threading.Event) -> None:
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
    finally:
        done.set()


def start() -> list[threading.Event]:
    """Start the warm-ups; each event is set when its fast part is done: the stored indexes are loaded (the
    indexes still to build from the database go on in the background), the turn's code is loaded."""
    indexes, turn = threading.Event(), threading.Event()
    retrieval.warm_in_background(loaded=indexes)
    threading.Thread(target=_warm_turn, args=(turn,), name="turn-warm", daemon=True).start()
    return [indexes, turn]


def wait(events: list[threading.Event], seconds: float = WAIT_S) -> bool:
    """Wait, at most `seconds` in all, for the warm-ups' fast parts (the server starts answering after them, so a
    first message does not share the process with them); whether they all finished."""
    deadline = time.monotonic() + seconds
    return all(e.wait(max(0.0, deadline - time.monotonic())) for e in events)
