"""Rebuild freedict_en_fr.tsv from Debian's FreeDict packages (run by hand, never at run time):

    apt-get install dict-freedict-eng-fra dict-freedict-fra-eng
    python src/jasping/knowledge/data/build_freedict.py > src/jasping/knowledge/data/freedict_en_fr.tsv
    python src/jasping/knowledge/data/build_freedict.py --stems > src/jasping/knowledge/data/freedict_stems.tsv

The first is one line per English word or phrase: `english<TAB>french|french|…`, from both directions of the
dictionary. The second is the same table by stem, as `jasping.knowledge.analysis` stems today:
`en|fr<TAB>stem<TAB>stem|stem|…` (run it again whenever the analysis changes; a test checks they agree).
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
    from jasping.knowledge.dictionary import DATA, stem_table

    tables = stem_table(DATA.read_text(encoding="utf-8").splitlines())
    for (source, _), table in sorted(tables.items()):
        for stem in sorted(table):
            sys.stdout.write(f"{source}\t{stem}\t{'|'.join(sorted(table[stem]))}\n")


def main() -> None:
    if "--stems" in sys.argv:
        return stems()
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
