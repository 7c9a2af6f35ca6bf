"""Citation markers in a model's reply: invalid ones removed as the text streams, the text held back until the
first valid one, and the cited passages as Citations."""

from __future__ import annotations

import re
from collections.abc import Iterable

from jasping.agent.llm.base import Citation, RetrievedPassage

__all__ = ["MARKER", "SNIPPET_CHARS", "CitationGate", "MarkerFilter", "citations", "shorten"]

SNIPPET_CHARS = 160
MARKER = re.compile(r"[ \t]*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
PENDING = re.compile(r"[ \t]*(?:\[[\d,\s]*)?$")  # a reply's end that may still become a (stripped) marker


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


class MarkerFilter:
    """Removes citation markers naming no known passage from text fed in pieces; pieces out join to the result."""

    def __init__(self, refs: set[int]) -> None:
        self.refs, self.pending, self.started = refs, "", False

    def _clean(self, text: str) -> str:
        def keep(m: re.Match) -> str:
            refs = [int(x) for x in m[1].split(",")]
            valid = [n for n in dict.fromkeys(refs) if n in self.refs]
            if len(valid) == len(refs):
                return m[0]
            return m[0][: m.start(1) - m.start(0) - 1] + f"[{', '.join(map(str, valid))}]" if valid else ""

        text = MARKER.sub(keep, text)
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        return text

    def feed(self, piece: str) -> str:
        """The part of the text so far that can no longer change."""
        self.pending += piece
        cut = PENDING.search(self.pending).start()
        if len(self.pending) - cut > 40:  # not a marker after all
            cut = len(self.pending)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return self._clean(ready)

    def flush(self) -> str:
        """The rest, at the end of the reply."""
        rest, self.pending = self.pending, ""
        return self._clean(rest).rstrip(" \t")


class CitationGate:
    """Holds back streamed text until it carries a citation marker (the text reaching it names only sent
    passages); `open_` lets everything through at once (a greeting's reply needs no passage)."""

    def __init__(self, *, open_: bool) -> None:
        self.released, self.held, self.shown = open_, "", []

    @property
    def text(self) -> str:
        """All the text fed so far, shown or held."""
        return "".join(self.shown) + self.held

    def feed(self, piece: str) -> str:
        """What may be shown now: nothing until the first marker, then the held text and each piece as it comes."""
        if not self.released:
            self.held += piece
            if not MARKER.search(self.held):
                return ""
            self.released, piece, self.held = True, self.held, ""
        if piece:
            self.shown.append(piece)
        return piece


def citations(text: str, passages: Iterable[RetrievedPassage]) -> list[Citation]:
    """A Citation per passage cited as [n] in `text`, in order of first mention; unknown refs are ignored."""
    by_ref = {p.ref: p for p in passages}
    refs = [int(x) for m in MARKER.finditer(text) for x in m[1].split(",")]
    cited = [by_ref[r] for r in dict.fromkeys(refs) if r in by_ref]
    return [Citation(p.title, p.url, shorten(p.text, SNIPPET_CHARS), p.source_id, p.page) for p in cited]
