"""English <-> French word translations from the FreeDict dictionaries (GPL-2.0-or-later), by stem.

`translated_stems(token, source, target)` gives the target language's stems of the token's translations: "tent" ->
{"tent"} (tente), "stairs" -> {"escali"} (escalier). It is general vocabulary (about 9,500 English headwords) and
complements the customer-service lexicon (lexicon.py), which has phrases, Arabic and Darija.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .analysis import token_forms, tokenize

__all__ = ["stem_table", "translated_stems"]

DATA = Path(__file__).parent / "data" / "freedict_en_fr.tsv"  # the words, as the dictionary has them
STEMS = Path(__file__).parent / "data" / "freedict_stems.tsv"  # the same by stem: `build_freedict.py --stems`


def _stems(text: str, lang: str) -> frozenset[str]:
    return frozenset(stem for token in tokenize(text) for stem, _ in token_forms(token, lang))


def stem_table(lines: list[str]) -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    """(source, target) -> source stem -> target stems, from the word list's lines (single-word source side)."""
    en_fr: dict[str, set[str]] = {}
    fr_en: dict[str, set[str]] = {}
    for line in lines:
        english, _, french = line.partition("\t")
        en = _stems(english, "en")
        for word in french.split("|"):
            fr = _stems(word, "fr")
            if len(en) == 1 and fr:
                en_fr.setdefault(next(iter(en)), set()).update(fr)
            if len(fr) == 1 and en:
                fr_en.setdefault(next(iter(fr)), set()).update(en)
    return {
        ("en", "fr"): {k: frozenset(v) for k, v in en_fr.items()},
        ("fr", "en"): {k: frozenset(v) for k, v in fr_en.items()},
    }


@lru_cache(maxsize=1)
def _tables() -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    """The stem table, read from `freedict_stems.tsv` (stemming the whole dictionary here takes seconds)."""
    tables: dict[tuple[str, str], dict[str, frozenset[str]]] = {("en", "fr"): {}, ("fr", "en"): {}}
    for line in STEMS.read_text(encoding="utf-8").splitlines():
        source, stem, targets = line.split("\t")
        tables[(source, "fr" if source == "en" else "en")][stem] = frozenset(targets.split("|"))
    return tables


def translated_stems(token: str, source: str | None, target: str) -> frozenset[str]:
    """Stems in `target` of the dictionary's translations of `token` read as `source` (empty when unknown)."""
    table = _tables().get((source or "", target))
    if not table:
        return frozenset()
    out: set[str] = set()
    for stem, _ in token_forms(token, source):
        out.update(table.get(stem, ()))
    return frozenset(out)
