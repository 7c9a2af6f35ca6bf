"""Rebuild freedict_en_fr.tsv from Debian's FreeDict packages (run by hand, never at run time):

    apt-get install dict-freedict-eng-fra dict-freedict-fra-eng
    python src/jasping/knowledge/data/build_freedict.py > src/jasping/knowledge/data/freedict_en_fr.tsv
    apt-get install dict-freedict-eng-ara
    python src/jasping/knowledge/data/build_freedict.py --arabic > src/jasping/knowledge/data/freedict_en_ar.tsv
    python src/jasping/knowledge/data/build_freedict.py --stems > src/jasping/knowledge/data/freedict_stems.tsv

The first is one line per English word or phrase: `english<TAB>french|french|…`, from both directions of the
dictionary. The second is the same for Arabic, from the English–Arabic dictionary only (its Arabic–English side
gives rare English words: "Aduncous"), for the English words of the first, without the Arabic diacritics. The
third is both tables by stem, as `jasping.knowledge.analysis` stems today, with Arabic <-> French through English:
`source<TAB>target<TAB>stem<TAB>stem|stem|…` (run it again whenever the analysis changes; a test checks they agree).
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import defaultdict

DICTD = "/usr/share/dictd/freedict-{}.dict.dz"
_HEAD = re.compile(r"^(.+?)\s+/[^/]*/")


def entries(name: str):  # noqa: ANN201 - yields (headword, translations)
    text = gzip.open(DICTD.format(name), "rt", encoding="utf-8").read()
    for block in re.split(r"\n(?=\S[^\n]*/[^\n]*/)", text):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        head = _HEAD.match(lines[0]) if lines else None
        if head:
            words = [re.sub(r"^\d+\.\s*", "", line) for line in lines[1:]]
            yield head.group(1).strip(), [t.strip() for line in words for t in re.split(r"[,;]", line) if t.strip()]


def stems() -> None:
    from jasping.knowledge.dictionary import DATA, DATA_AR, stem_table

    tables = stem_table(DATA.read_text(encoding="utf-8").splitlines(), DATA_AR.read_text(encoding="utf-8").splitlines())
    for (source, target), table in sorted(tables.items()):
        for stem in sorted(table):
            sys.stdout.write(f"{source}\t{target}\t{stem}\t{'|'.join(sorted(table[stem]))}\n")


_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")  # tashkeel, superscript alef, tatweel


def arabic() -> None:
    from jasping.knowledge.dictionary import DATA

    common = {line.partition("\t")[0] for line in DATA.read_text(encoding="utf-8").splitlines()}
    pairs: dict[str, set[str]] = defaultdict(set)
    for head, words in entries("eng-ara"):
        for word in words:
            word = _DIACRITICS.sub("", word).strip()
            if re.fullmatch(r"[\u0621-\u064a ]{2,30}", word):
                pairs[head.lower()].add(word)
    for english in sorted(k for k in pairs if k in common):  # the English words of the French table: common ones
        sys.stdout.write(f"{english}\t{'|'.join(sorted(pairs[english]))}\n")


def main() -> None:
    if "--stems" in sys.argv:
        return stems()
    if "--arabic" in sys.argv:
        return arabic()
    pairs: dict[str, set[str]] = defaultdict(set)
    for head, words in entries("eng-fra"):
        pairs[head.lower()].update(w.lower() for w in words)
    reverse: dict[str, set[str]] = defaultdict(set)
    for head, words in entries("fra-eng"):
        for word in words:
            reverse[word.lower()].add(head.lower())
    for english, french in reverse.items():  # the French-English side only where the English-French has nothing
        if english not in pairs:
            pairs[english] = french
    for english in sorted(k for k in pairs if re.fullmatch(r"[a-z][a-z' -]*", k) and len(k) < 30):
        french = sorted(w for w in pairs[english] if len(w) < 30 and not w.startswith("("))
        if french:
            sys.stdout.write(f"{english}\t{'|'.join(french)}\n")


if __name__ == "__main__":
    main()
