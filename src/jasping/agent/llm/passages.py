"""How the offline model reads a retrieved passage: its answer sentences, each with its words and the words of the
question or heading it sits under; read once per process for a passage that comes back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from jasping.agent.intents import is_instruction_probe, normalize
from jasping.agent.llm.base import RetrievedPassage
from jasping.knowledge.analysis import LANGUAGES, detect_script_language, token_forms, tokenize, word_ngrams
from jasping.knowledge.ingest.chunker import split_sentences
from jasping.knowledge.ingest.language import guess_language
from jasping.knowledge.skeleton import skeleton

__all__ = ["Sentence", "fuzzy", "passage_language", "skeleton_terms", "split_passage", "terms_of"]

_Q_PREFIX = re.compile(r"^(?:q|question|س|سؤال)\s*[:：]\s*", re.IGNORECASE)
_A_PREFIX = re.compile(r"^(?:a|r|answer|réponse|reponse|ج|جواب|الجواب)\s*[:：]\s*", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-•*·▪–]|\d{1,2}[.)])\s+")
_TERMINAL = re.compile(r"[.!?؟:;…]$")


@dataclass
class Sentence:
    """An answer sentence of a passage, with what the turn finds in it (its matched question words, its score)."""

    passage: RetrievedPassage
    rank: int  # the passage's position among the candidates
    index: int  # position within the passage
    block: int  # sentences under the same question / heading / paragraph share a block
    answer: bool  # under a FAQ question: the sentences after it belong to its answer
    text: str
    terms: frozenset[str]
    context: frozenset[str]  # terms of the question or heading the sentence answers, and of the passage's headings
    lang: str | None = None  # the passage's language
    normalized: str = ""  # the text as `normalize` gives it (to spot the business's instructions quoted back)
    score: float = 0.0
    own: set[int] = field(default_factory=set)  # the question words the sentence has
    matched: set[int] = field(default_factory=set)  # ...with those of the question or heading it answers
    plain: float = 0.0  # the score from shared words alone (before the fact and language adjustments)


@lru_cache(maxsize=4096)
def _text_language(text: str) -> str | None:
    code, prob = guess_language(text)
    return code if code in LANGUAGES and prob >= 0.8 else detect_script_language(text)


def passage_language(p: RetrievedPassage) -> str | None:
    """The language detected at ingestion; detecting it here (~4 ms a passage) only for passages without one."""
    return p.language if p.language in LANGUAGES else _text_language(p.text)


def terms_of(text: str, lang: str | None) -> frozenset[str]:
    return frozenset(stem for token in tokenize(text) for stem, _ in token_forms(token, lang))


@lru_cache(maxsize=4096)
def skeleton_terms(text: str) -> frozenset[str]:
    """The consonant skeletons of the text's words (met by a word written in the other script); computed only for
    a question that has such a word, since they cost more than the stems."""
    return frozenset().union(*map(skeleton, tokenize(text)))


def _is_context_line(line: str, lines: int) -> bool:
    if line.endswith(("?", "؟")):
        return True
    words = line.split()
    return lines > 1 and len(words) <= 5 and not _TERMINAL.search(line) and not any(c.isdigit() for c in line)


def split_passage(p: RetrievedPassage, rank: int, lang: str | None) -> list[Sentence]:
    """Answer sentences of a passage, each with the terms of the question/heading it sits under."""
    return [
        Sentence(p, rank, index, block, answer, text, terms, context, lang, normalized=norm)
        for index, (block, answer, text, terms, context, norm) in enumerate(_read_passage(p.text, p.heading_path, lang))
    ]


@lru_cache(maxsize=2048)  # the most asked passages; a few MB at most
def _read_passage(text: str, heading_path: tuple[str, ...], lang: str | None) -> tuple[tuple, ...]:
    """A passage's answer sentences as (block, answer, text, terms, context terms, normalized text) — read once per
    process for a passage that comes back (the most asked ones do)."""
    heading = terms_of(" ".join(heading_path), lang)
    lines = [_BULLET.sub("", line.strip()) for line in text.split("\n") if line.strip()]
    out: list[tuple] = []
    context, block, answer, under = heading, 0, False, False
    for line in lines:
        if _Q_PREFIX.match(line) or (not _A_PREFIX.match(line) and _is_context_line(line, len(lines))):
            question = _Q_PREFIX.sub("", line)
            context, block, under = heading | terms_of(question, lang), block + 1, True
            answer = bool(_Q_PREFIX.match(line)) or question.endswith(("?", "؟"))
            continue
        line = _A_PREFIX.sub("", line)
        block += 0 if under else 1  # without a question or heading, each line is its own paragraph
        for sentence in split_sentences(line):
            if sentence.endswith(("?", "؟")):  # a question asked in the prose: what follows answers it
                context, answer = heading | terms_of(sentence, lang), True
                continue
            norm = normalize(sentence)
            if not is_instruction_probe(sentence, passage=True, normalized=norm):
                out.append((block, answer, sentence, terms_of(sentence, lang), context, norm))
    return tuple(out)


@lru_cache(maxsize=65536)
def _grams(term: str) -> frozenset[str]:
    return frozenset(word_ngrams(term))


def fuzzy(term: str, terms: frozenset[str]) -> bool:
    if len(term) < 5:
        return False
    grams = _grams(term)
    for other in terms:
        if len(other) >= 5 and abs(len(other) - len(term)) <= 2:
            theirs = _grams(other)
            if 2 * len(grams & theirs) >= 0.6 * (len(grams) + len(theirs)):  # Dice >= 0.6
                return True
    return False
