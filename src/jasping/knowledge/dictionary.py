"""English <-> French <-> Arabic word translations from the FreeDict dictionaries (GPL-2.0-or-later), by stem.

`translated_stems(token, source, target)` gives the target language's stems of the token's translations: "tent" ->
{"tent"} (tente), "stairs" -> {"escali"} (escalier), "الموعد" -> {"appoint"} / {"rendez", "vous", …}. It is general
vocabulary (about 9,500 English headwords, 7,300 of them with Arabic words) and complements the customer-service
lexicon (lexicon.py), which has phrases and Darija. Arabic and French meet through English. An Arabic word the
table does not know is tried again without a leading conjunction or preposition ("فرمضان", "وبالسعر") and without
the prefix of a present-tense verb ("يتكلم", Darija "كيتكلم").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .analysis import token_forms, tokenize

__all__ = ["stem_table", "translated_stems"]

DATA = Path(__file__).parent / "data" / "freedict_en_fr.tsv"  # the words, as the dictionary has them
DATA_AR = Path(__file__).parent / "data" / "freedict_en_ar.tsv"
STEMS = Path(__file__).parent / "data" / "freedict_stems.tsv"  # the same by stem: `build_freedict.py --stems`


def _stems(text: str, lang: str) -> frozenset[str]:
    return frozenset(stem for token in tokenize(text) for stem, _ in token_forms(token, lang))


def _pairs(lines: list[str], other: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """English stem -> the other language's stems, and back (single-word sides only)."""
    forward: dict[str, set[str]] = {}
    back: dict[str, set[str]] = {}
    for line in lines:
        english, _, words = line.partition("\t")
        en = _stems(english, "en")
        for word in words.split("|"):
            theirs = _stems(word, other)
            if len(en) == 1 and theirs:
                forward.setdefault(next(iter(en)), set()).update(theirs)
            if len(theirs) == 1 and en:
                back.setdefault(next(iter(theirs)), set()).update(en)
    return forward, back


def _through(first: dict[str, set[str]], second: dict[str, set[str]]) -> dict[str, set[str]]:
    """`first` then `second` (Arabic -> English -> French)."""
    out: dict[str, set[str]] = {}
    for stem, middles in first.items():
        targets = set().union(*(second.get(m, ()) for m in middles))
        if targets:
            out[stem] = targets
    return out


def stem_table(lines: list[str], arabic: list[str] = ()) -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    """(source, target) -> source stem -> target stems, from the word lists' lines (English–French, English–Arabic)."""
    en_fr, fr_en = _pairs(lines, "fr")
    en_ar, ar_en = _pairs(list(arabic), "ar")
    tables = {("en", "fr"): en_fr, ("fr", "en"): fr_en}
    if arabic:
        tables |= {("en", "ar"): en_ar, ("ar", "en"): ar_en}
        tables |= {("ar", "fr"): _through(ar_en, en_fr), ("fr", "ar"): _through(fr_en, en_ar)}
    return {pair: {k: frozenset(v) for k, v in table.items()} for pair, table in tables.items()}


@lru_cache(maxsize=1)
def _tables() -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    """The stem tables, read from `freedict_stems.tsv` (stemming the whole dictionary here takes seconds)."""
    tables: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
    for line in STEMS.read_text(encoding="utf-8").splitlines():
        source, target, stem, targets = line.split("\t")
        tables.setdefault((source, target), {})[stem] = frozenset(targets.split("|"))
    return tables


_AR_CLITICS = ("و", "ف", "ب", "ل", "ك")  # and, so, with, for, like: "وبالسعر", "فرمضان"
_AR_VERB = ("كي", "كت", "كن", "ي", "ت", "ن")  # the present tense's prefixes: "يتكلم", Darija "كيتكلم"


def _arabic_variants(token: str) -> list[str]:
    """The token without a leading clitic (then without a verb prefix): forms to look up when it is unknown."""
    out = []
    rest = token
    while rest[:1] in _AR_CLITICS and len(rest) > 3:
        rest = rest[1:]
        out.append(rest)
    for prefix in _AR_VERB:
        if rest.startswith(prefix) and len(rest) - len(prefix) >= 3:
            out.append(rest[len(prefix) :])
            break
    return out


def translated_stems(token: str, source: str | None, target: str) -> frozenset[str]:
    """Stems in `target` of the dictionary's translations of `token` read as `source` (empty when unknown)."""
    table = _tables().get((source or "", target))
    if not table:
        return frozenset()
    out: set[str] = set()
    for stem, _ in token_forms(token, source):
        out.update(table.get(stem, ()))
    if not out and source == "ar":
        for variant in _arabic_variants(token):
            for stem, _ in token_forms(variant, source):
                out.update(table.get(stem, ()))
            if out:
                break
    return frozenset(out)
