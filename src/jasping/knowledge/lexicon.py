"""A lexicon of customer-service words (English, French, Arabic and Darija) for questions asked in
another language than the documents: "How much is an oil change?" over a French price list ("vidange", "prix").

The concepts are in `data/lexicon.txt` (its header gives the format): general vocabulary of many trades (money,
time and holidays, place and access, booking, retail, repair, health and dental and veterinary care, hospitality,
education, real estate, beauty and sport, documents, people), not any business's words; one sense a line, so a
word with several senses is on several lines and gets all of them. `translations(tokens, lang)` gives the words of
the other languages for a question's tokens: retrieval adds them to the query for the documents' other languages,
and the local model counts them as the question's words. Phrases ("how much", "oil change") match before words.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .analysis import token_forms, tokenize

__all__ = ["translations"]

DATA = Path(__file__).parent / "data" / "lexicon.txt"  # the concepts; its header says the format

_LANGS = ("en", "fr", "ar")


def _stems(tokens: list[str], lang: str) -> tuple[str, ...]:
    return tuple(stem for token in tokens for stem, _ in token_forms(token, lang))


def concept_lines(text: str) -> list[str]:
    """The concept lines of the lexicon file: "#" comments and blank lines left out, an indented line joined to
    the line above."""
    lines: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0].isspace() and lines:
            lines[-1] += " " + stripped
        else:
            lines.append(stripped)
    return lines


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, dict[tuple[str, ...], list[int]]], list[dict[str, list[str]]], int]:
    """Per language, phrase (its stems) -> concept ids; per concept, its tokens per language; the longest phrase."""
    phrases: dict[str, dict[tuple[str, ...], list[int]]] = {lang: {} for lang in _LANGS}
    concepts: list[dict[str, list[str]]] = []
    longest = 1
    for line in concept_lines(DATA.read_text(encoding="utf-8")):
        forms: dict[str, list[str]] = {}
        for lang, cell in zip(_LANGS, line.split("|"), strict=True):
            words: list[str] = []
            for entry in cell.split(","):
                tokens = tokenize(entry)
                if stems := _stems(tokens, lang):
                    phrases[lang].setdefault(stems, []).append(len(concepts))
                    longest = max(longest, len(stems))
                words.extend(t for t in dict.fromkeys(tokens) if t not in words)
            forms[lang] = words
        concepts.append(forms)
    return phrases, concepts, longest


def concept_spans(tokens: list[str], lang: str | None) -> list[tuple[int, int, int]]:
    """(first token, last token + 1, concept id) of the lexicon's phrases in `tokens` read as `lang` (every
    language when None), longest phrase first, left to right; stop words inside a phrase are skipped."""
    return list(_concept_spans(tuple(tokens), lang))


@lru_cache(maxsize=4096)
def _concept_spans(tokens: tuple[str, ...], lang: str | None) -> tuple[tuple[int, int, int], ...]:
    phrases, _, longest = _tables()
    found: list[tuple[int, int, int]] = []
    for source in (lang,) if lang in _LANGS else _LANGS:
        table = phrases[source]
        keyed = [(i, stem) for i, token in enumerate(tokens) for stem, _ in token_forms(token, source)]
        keys = tuple(stem for _, stem in keyed)
        i = 0
        while i < len(keys):
            for size in range(min(longest, len(keys) - i), 0, -1):
                ids = table.get(keys[i : i + size])
                if ids:
                    start, end = keyed[i][0], keyed[i + size - 1][0] + 1
                    found.extend((start, end, c) for c in ids if (start, end, c) not in found)
                    i += size
                    break
            else:
                i += 1
    return tuple(found)


def concepts_of(tokens: list[str], lang: str | None) -> list[int]:
    """Concept ids of the lexicon's phrases in `tokens`, read as `lang` (every language when None)."""
    return list(dict.fromkeys(c for _, _, c in concept_spans(tokens, lang)))


def words_of(concept: int, lang: str) -> list[str]:
    """The tokens of a concept in one language."""
    return _tables()[1][concept].get(lang, [])


def translations(tokens: list[str], lang: str, source: str | None = None) -> list[str]:
    """Tokens in `lang` for the lexicon's phrases found in `tokens` read as `source` (none when it is `lang`)."""
    if source == lang or lang not in _LANGS:
        return []
    out: list[str] = []
    for concept in concepts_of(tokens, source):
        out.extend(w for w in words_of(concept, lang) if w not in out)
    return out
