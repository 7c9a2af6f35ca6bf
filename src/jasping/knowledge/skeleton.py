"""Consonant skeletons: the same word written in Arabic and in Latin letters, matched by its consonants.

Moroccan customers write French loanwords and names in Arabic letters ("الكورونة" for couronne, "طوموبيل" for
automobile, "زرقطوني" for Zerktouni, "رمضان" for Ramadan), and French or English documents write Arabic names in
Latin letters. Both sides reduce to a string of consonant classes — vowels, silent letters and doubled letters
dropped, letters that spell one sound in either script merged (k/c/q/g and ك ق ڭ; s/z/ç and س ص ز; f/v/ph and ف ڤ;
t and ت ط ث; d and د ض ذ) — and a word of three consonants or more meets its counterpart in the other script when the
skeletons are equal. `skeleton(word)` gives it as terms (`§krn`; an Arabic word also without a leading clitic:
و ف ب ال لا), none for a short or unknown word.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["MARK", "skeleton"]

MARK = "§"  # skeleton terms never collide with stems
MIN_CONSONANTS = 3

_ARABIC = {
    "ب": "b", "پ": "b", "ت": "t", "ط": "t", "ث": "t", "د": "d", "ض": "d", "ذ": "d", "ج": "j", "ك": "k", "ق": "k",
    "ڭ": "k", "گ": "k", "ݣ": "k", "خ": "k", "غ": "r", "ر": "r", "ز": "s", "س": "s", "ص": "s", "ش": "x", "ف": "f",
    "ڤ": "f", "ل": "l", "م": "m", "ن": "n",
}  # fmt: skip  # vowels and glides (ا و ي ى ة ء ع ه ح) carry no consonant here
_CLITICS = ("وال", "فال", "بال", "كال", "لل", "ال", "لا", "لو", "و", "ف", "ب")  # and French "la", "le"
_LATIN = [
    (re.compile(r"ti(?=[aeiou])"), "s"),  # distribution -> "distribusion"
    (re.compile(r"(?:ch|sh|sch)"), "x"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"th"), "t"),
    (re.compile(r"qu|ck"), "k"),
    (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"g(?=[eiy])"), "j"),
    (re.compile(r"(?<=[aeiouy])s(?=[aeiouy])"), "s"),
    (re.compile(r"(?:e|es|s|x|t|d|z)$"), ""),  # French silent endings: couronne, rendez, franc(s)
]
_LATIN_CLASSES = str.maketrans({"c": "k", "q": "k", "g": "k", "z": "s", "ç": "s", "v": "f", "p": "b", "w": "", "h": ""})


def _latin(word: str) -> str:
    word = "".join(c for c in unicodedata.normalize("NFD", word.casefold()) if not unicodedata.combining(c))
    if not word.isascii() or not word.isalpha():
        return ""
    for pattern, repl in _LATIN:
        word = pattern.sub(repl, word)
    word = word.translate(_LATIN_CLASSES)
    return re.sub(r"[aeiouy]", "", word)


def _arabic(word: str) -> list[str]:
    """The word's consonants, and those of the word without a leading clitic (it may be part of a name)."""
    forms = [word]
    for clitic in _CLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= 3:
            forms.append(word[len(clitic) :])
    return ["".join(_ARABIC.get(c, "") for c in form) for form in forms]


@lru_cache(maxsize=65536)
def skeleton(word: str) -> frozenset[str]:
    """The word's consonant skeletons as terms (`§krn` for couronne and الكورونة); empty for a short word."""
    if not word:
        return frozenset()
    forms = _arabic(word) if "\u0600" <= word[0] <= "\u06ff" else [_latin(word)]
    forms = [re.sub(r"(.)\1+", r"\1", consonants) for consonants in forms]
    return frozenset(MARK + consonants for consonants in forms if len(consonants) >= MIN_CONSONANTS)
