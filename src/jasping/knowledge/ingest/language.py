"""Language detection (langdetect, seeded) on a bounded sample, with a fast path for Arabic script."""

from __future__ import annotations

import re
import threading

from langdetect import DetectorFactory, detect_langs, detector_factory
from langdetect.lang_detect_exception import LangDetectException

SAMPLE_CHARS = 5000
MIN_LETTERS = 20
DetectorFactory.seed = 0  # langdetect is random without a seed: same text, different answers
_LOCK = threading.Lock()
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_PERSIAN_URDU = re.compile(r"[پچژگکیۀےٹڈڑںھ]")
_NOISE = re.compile(r"https?://\S+|\S+@\S+|[\d_]+")
_WORD = re.compile(r"[^\W\d_]+")
_STOPWORDS = {
    "en": set("the and of to is in for you we are with on this that your our be at from it".split()),
    "fr": set("le la les et des est pour vous nous une du dans que qui sur avec pas au aux".split()),
    "es": set("el los las y que en para con por una es del se su al lo".split()),
    "de": set("der die das und ist nicht mit sie wir ein eine zu den von für auf".split()),
    "it": set("il gli e di che per con una è della del sono non alla le".split()),
    "pt": set("o os as e que em para com uma não do da é por dos".split()),
    "nl": set("het een en van is dat op te met voor niet zijn ook".split()),
}


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def guess_language(text: str) -> tuple[str | None, float]:
    """The most likely ISO 639-1 code and its probability (None, 0.0 when there is too little text)."""
    sample = _NOISE.sub(" ", text[:SAMPLE_CHARS])
    letters = _letters(sample)
    if letters < MIN_LETTERS:
        return None, 0.0
    arabic = len(_ARABIC.findall(sample))
    if arabic > 0.6 * letters and not _PERSIAN_URDU.search(sample):
        return "ar", 1.0
    with _LOCK:  # langdetect loads its shared profiles lazily, and that is not thread-safe
        detector_factory.init_factory()
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return None, 0.0
    return best.lang.split("-")[0], best.prob


def quick_language(text: str) -> str | None:
    """A cheap guess from function words (Latin-script languages only); None when unsure."""
    hits = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text[:2000].casefold()):
        for code, words in _STOPWORDS.items():
            hits[code] += word in words
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top >= 5 and top >= 2 * second else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language ("en", "fr", "ar", ...), or None when there is too little text."""
    return guess_language(text)[0]
