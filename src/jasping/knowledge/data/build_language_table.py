"""Rebuild language_ngrams.tsv from langdetect's bundled profiles (run by hand, never at run time):

    python src/jasping/knowledge/data/build_language_table.py > src/jasping/knowledge/data/language_ngrams.tsv

langdetect (MIT; profiles from Wikipedia by Nakatani Shuyo) ships, per language, the counts of its most frequent
character 1-, 2- and 3-grams. This keeps the Latin-script languages a customer message is mistaken for most
often, lower-cases the n-grams (merging counts), and writes one line per n-gram: `ngram<TAB>lang:ppm,lang:ppm,…`,
where ppm is the n-gram's share of all n-grams of its length in that language, in millionths (≥ 1). The first
line lists the languages. The shared retrieval corpora were not used: their licences keep them out of product code.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import langdetect

LANGS = "en fr es it pt de nl ca ro da no sv af id tl so sw cy et fi pl tr".split()


def main() -> None:
    profiles = Path(langdetect.__file__).parent / "profiles"
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for lang in LANGS:
        profile = json.loads((profiles / lang).read_text(encoding="utf-8"))
        totals = profile["n_words"]
        merged: dict[str, int] = defaultdict(int)
        for gram, count in profile["freq"].items():
            merged[gram.lower()] += count
        for gram, count in merged.items():
            if gram.strip() and all(c.isalpha() or c == " " for c in gram):
                ppm = round(1e6 * count / totals[len(gram) - 1])
                if ppm >= 1:
                    table[gram][lang] = ppm
    out = sys.stdout
    out.write("#" + "\t".join(LANGS) + "\n")
    for gram in sorted(table):
        out.write(gram + "\t" + ",".join(f"{lang}:{ppm}" for lang, ppm in table[gram].items()) + "\n")


if __name__ == "__main__":
    main()
