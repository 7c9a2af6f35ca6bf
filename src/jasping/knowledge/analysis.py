"""Language-aware text analysis for lexical retrieval (English, French, Arabic, and a neutral fallback).

`analyze(text, lang)` turns text into index terms:

- all languages: Unicode NFKC, case folding, Arabic-Indic digits -> ASCII, tokens are runs of letters
  and digits (emoji, punctuation and symbols separate tokens), typographic apostrophes -> "'";
- "en": possessive "'s" dropped, stop words, Snowball (Porter2) stemming, then accent folding;
- "fr": elision stripped (l', d', qu', jusqu', lorsqu', ...), stop words, Snowball French stemming on the
  accented word (the stemmer needs the accents), then accent folding of the stem, so "l'hôpital",
  "hopital" and "Hôpitaux" all give "hopital";
- "ar": tatweel and harakat removed, alef forms أ إ آ ٱ -> ا, ى -> ي, ة -> ه, stop words, then a light
  stemmer (the article ال and its compounds وال/بال/كال/فال/لل, a leading و, and common suffixes, as in
  Larkey's light10) - as good as the Snowball Arabic stemmer on ARCD, and more conservative (see lexical.py);
- None or another language: the neutral analysis (folding, French elision, Arabic normalisation; no
  stemming, no stop words), which works for any script. The index analyses a query with the analysers of
  its documents' languages too, so unknown-language text still meets stemmed documents.

`detect_script_language(text)` is a cheap guess: "ar" for Arabic script, "en"/"fr" from stop-word counts
for Latin script, None when unsure. `word_ngrams(term)` gives the character n-grams used by the index.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable

import snowballstemmer

__all__ = [
    "LANGUAGES",
    "STOP_WORDS",
    "analyze",
    "analyze_forms",
    "detect_script_language",
    "fold",
    "light_stem_arabic",
    "normalize_arabic",
    "token_forms",
    "tokenize",
    "word_ngrams",
]

LANGUAGES = ("en", "fr", "ar")

_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")} | {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "\u00b4", "`")
_NON_ASCII_DIGIT = re.compile("[\u0660-\u0669\u06f0-\u06f9]")
# Runs of letters/digits (no underscore), inner apostrophes kept (l'avion, don't) and split later per language.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_ARABIC_CHAR = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_WORD = re.compile(r"[a-zà-öø-ÿœæ]+")
_AR_MARKS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")  # harakat, Quranic marks, tatweel
_AR_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})

_ELISIONS = frozenset("l d j c n s t m qu jusqu lorsqu puisqu quoiqu presqu".split())

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """
a about above after again against all am an and any are aren't as at be because been before being below between
both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from
further had hadn't has hasn't have haven't having he her here hers herself him himself his how i i'm i've i'd if in
into is isn't it it's its itself just let's me more most my myself no nor not of off on once only or other our ours
ourselves out over own same she should so some such than that that's the their theirs them themselves then there
these they this those through to too under until up very was wasn't we were weren't what when where which while who
whom why will with won't would wouldn't you your yours yourself yourselves also etc via would've""".split()
    ),
    "fr": frozenset(
        """
a à ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions aurons auront aux avaient
avais avait avec avez aviez avions avoir avons ayant ayez ayons c ce ceci cela celà ces cet cette d dans de des du
elle elles en es est et étaient étais était étant été êtes étiez étions être eu eue eues eûmes eurent eus eusse
eussent eusses eussiez eussions eut eût eûtes eux fûmes furent fus fusse fussent fusses fussiez fussions fut fût
fûtes il ils j je l la le les leur leurs lui m ma mais me même mes moi mon n ne nos notre nous on ont ou où par pas
pour qu que quel quelle quelles quels qui s sa sans se sera serai seraient serais serait seras serez seriez serions
serons seront ses si soi soient sois soit sommes son sont soyez soyons suis sur t ta te tes toi ton tu un une vos
votre vous y ça donc or ni car cet ceux celle celles celui dont lors""".split()
    ),
    "ar": frozenset(
        word.translate(_AR_LETTERS)
        for word in """
في من إلى الى على عن مع هذا هذه ذلك تلك هؤلاء التي الذي الذين اللذين اللتين اللاتي هو هي هم هما هن أنا نحن أنت
أنتم انت أن إن كان كانت يكون تكون كانوا ما لا لم لن قد و ف ب ك ل أو او ثم كل بعض غير بين حتى إذا اذا أي اي متى
كيف أين اين ماذا لماذا هل كم عند عندما منذ لدى إلا الا أيضا ايضا بل لكن لقد وقد كما به بها له لها فيه فيها منه منها
عليه عليها ذات ال وهو وهي هناك هنا ضد خلال حول يا التى الذى""".split()
    ),
}

_STEMMERS = threading.local()  # a snowball stemmer keeps the word it works on in itself: one per thread


def _snowball(name: str) -> Callable[[str], str]:
    """The stemmer `name` of the calling thread. Shared across threads, concurrent turns and a background index
    build stemmed into each other's words (wrong stems, or an IndexError from inside the stemmer)."""
    stemmers = getattr(_STEMMERS, "by_name", None)
    if stemmers is None:
        stemmers = _STEMMERS.by_name = {}
    stem = stemmers.get(name)
    if stem is None:
        stem = stemmers[name] = snowballstemmer.stemmer(name).stemWord
    return stem


def fold(word: str) -> str:
    """Accent folding: strip combining marks after canonical decomposition (é -> e), and œ -> oe, æ -> ae."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("œ", "oe").replace("æ", "ae")


def normalize_arabic(word: str) -> str:
    """Remove harakat and tatweel, unify alef forms, alef maqsura -> ya, ta marbuta -> ha."""
    return _AR_MARKS.sub("", word).translate(_AR_LETTERS)


def tokenize(text: str) -> list[str]:
    """NFKC, case folding, ASCII digits and apostrophes, then runs of letters/digits (inner apostrophes kept)."""
    if not text:
        return []
    return _TOKEN.findall(_prepare(text))


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    for apostrophe in _APOSTROPHES:
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    if text and max(text) >= "\u0600" and _ARABIC_CHAR.search(text):
        text = _AR_MARKS.sub("", text)
        if _NON_ASCII_DIGIT.search(text):
            text = text.translate(_DIGITS)
    return text


_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def light_stem_arabic(word: str) -> str:
    """Larkey-style light10 stemmer on a normalised word (keeps at least 2 letters, prefixes at least 3)."""
    if len(word) >= 4 and word[0] == "و":
        word = word[1:]
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix) :]
            break
    for suffix in _AR_SUFFIXES:
        if len(word) - len(suffix) >= 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


class _Analyzer:
    """One language's token pipeline with a per-token cache (stemming dominates the cost otherwise)."""

    _CACHE_LIMIT = 200_000  # distinct tokens (~60 MB at worst); cleared when full

    def __init__(self, lang: str | None):
        self.lang = lang
        self.stop = STOP_WORDS.get(lang or "", frozenset())
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}

    def pairs(self, text: str) -> list[tuple[str, str]]:
        """(stem, surface) per kept token: the surface form is folded and normalised but not stemmed."""
        cache = self._cache
        out: list[tuple[str, str]] = []
        for token in tokenize(text):
            forms = cache.get(token)
            out.extend(forms if forms is not None else self.forms(token))
        return out

    def forms(self, token: str) -> tuple[tuple[str, str], ...]:
        forms = self._cache.get(token)
        if forms is None:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            forms = self._cache[token] = self._token(token)
        return forms

    def _token(self, token: str) -> tuple[tuple[str, str], ...]:
        lang = self.lang
        if _ARABIC_CHAR.search(token):
            word = normalize_arabic(token)
            if not word or (lang == "ar" and word in STOP_WORDS["ar"]):
                return ()
            return ((light_stem_arabic(word) if lang == "ar" else word, word),)
        if "'" in token:
            head, _, tail = token.partition("'")
            if lang == "en" and token in self.stop:
                return ()
            if lang == "en" and tail == "s":
                token = head
            elif lang in ("fr", None) and head in _ELISIONS:
                return self._token(tail)
            else:
                return tuple(pair for part in token.split("'") if part for pair in self._token(part))
        surface = fold(token)
        if not surface or token in self.stop or surface in self.stop:
            return ()
        if lang in ("en", "fr"):
            return ((fold(_snowball("english" if lang == "en" else "french")(token)), surface),)
        return ((surface, surface),)


_ANALYZERS: dict[str | None, _Analyzer] = {}


def _analyzer(lang: str | None) -> _Analyzer:
    key = lang if lang in LANGUAGES else None
    analyzer = _ANALYZERS.get(key)
    if analyzer is None:
        analyzer = _ANALYZERS[key] = _Analyzer(key)
    return analyzer


def _lang(lang: str | None) -> str | None:
    return lang.lower().replace("_", "-").split("-")[0] if lang else None


def token_forms(token: str, lang: str | None = None) -> tuple[tuple[str, str], ...]:
    """(stem, surface) pairs of one token from `tokenize` (none for a stop word, several for "o'reilly")."""
    return _analyzer(_lang(lang)).forms(token)


def analyze(text: str, lang: str | None = None) -> list[str]:
    """Index terms of `text` for language `lang` ("en", "fr", "ar"; anything else -> neutral analysis)."""
    return [stem for stem, _ in _analyzer(_lang(lang)).pairs(text or "")]


def analyze_forms(text: str, lang: str | None = None) -> tuple[list[str], list[str]]:
    """Aligned (stems, surface words) of `text`: what `analyze` gives, and the same tokens unstemmed."""
    pairs = _analyzer(_lang(lang)).pairs(text or "")
    return [stem for stem, _ in pairs], [surface for _, surface in pairs]


def detect_script_language(text: str) -> str | None:
    """Cheap guess: "ar" for mostly Arabic script, "en"/"fr" from stop-word hits, else None."""
    if not text:
        return None
    sample = text[:2000]
    arabic = len(_ARABIC_CHAR.findall(sample))
    words = _LATIN_WORD.findall(_prepare(sample))
    if arabic and arabic >= sum(map(len, words)):
        return "ar"
    en = sum(w in STOP_WORDS["en"] for w in words)
    fr = sum(w in STOP_WORDS["fr"] for w in words) + sum(1 for w in words if not w.isascii())
    if en == fr:
        return None
    return "en" if en > fr else "fr"


def word_ngrams(term: str, sizes: tuple[int, ...] = (4,)) -> list[str]:
    """Character n-grams of a term with boundary marks ("#hopital#" -> "#hop", "hopi", ...); short terms whole."""
    padded = f"#{term}#"
    grams: list[str] = []
    for n in sizes:
        if len(padded) <= n:
            grams.append(padded)
        else:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams
