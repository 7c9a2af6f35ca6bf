"""Cut a ParsedDocument into retrievable passages on heading and sentence boundaries."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from jasping.knowledge.types import Block, ChunkDraft, ParsedDocument

from .language import guess_language, quick_language

_END = re.compile(r"[.!?…؟۔！？。]+(?:[ \u00a0\u202f]?[»”\"’')\]])*(?=\s)")
_TITLES = {
    "m", "mm", "mme", "mmes", "mlle", "mlles", "me", "dr", "drs", "pr", "prof", "mr", "mrs", "ms", "st", "ste",
    "mgr", "jr", "sr", "sen", "gen", "col", "capt", "lt", "e.g", "i.e", "cf", "vs", "env", "approx", "ca", "av",
    "bd", "mt", "ex", "resp", "réf", "ref", "dir", "ass",
}  # fmt: skip
_BEFORE_NUMBER = {"no", "nos", "n°", "nº", "p", "pp", "vol", "fig", "art", "tel", "tél", "ch", "chap", "sec", "num"}
_OPENERS = "«\"“‘'([¿¡-–—•"
_SOFT_BREAKS = ("; ", "؛ ", "، ", ", ", ": ", " – ", " - ")
MIN_CHUNK_FRACTION = 4  # a trailing piece shorter than target/4 joins its neighbour
# A table row is a chunk of its own ("Prestation: Révision VAE; Durée: 2 h; Prix TTC: 119 €": each cell under its
# header). Packed six to a chunk, a row was one voice among six for the words and the meaning of the chunk, and a
# question about it often missed it: on the development half of the answer evaluation, the passages sent to the
# model held the fact for 61 % of the questions answered by a PDF price list, 83 % once rows stood alone
# (bench/README.md, "Answers").
TABLE_TARGET = 1
FOREIGN_MIN_LETTERS = 200
FOREIGN_MIN_PROB = 0.9
MAX_DETECTIONS = 300  # langdetect calls per document (about 4 ms each); the rest keep the document's language


@dataclass
class _Unit:
    text: str
    sep: str  # what followed it in the source: " ", "\n", or "\n\n" at the end of a block
    page: int | None


def normalized_hash(text: str) -> str:
    """sha256 of the text NFKC-normalised, casefolded and whitespace-collapsed (for de-duplication)."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def chunk_search_text(chunk: ChunkDraft) -> str:
    """The text to index for a chunk: its heading path, then its text."""
    return f"{' > '.join(chunk.heading_path)}\n{chunk.text}" if chunk.heading_path else chunk.text


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    rest = text[match.end() :].lstrip()
    if not rest:
        return True
    nxt = rest[0]
    if nxt.islower() or not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or nxt.isalpha()):
        return False
    if match.group().startswith("."):
        word = re.search(r"(\S+)$", text[: match.start()])
        token = word.group(1).lstrip("(«\"'“").casefold() if word else ""
        if token in _TITLES or (token in _BEFORE_NUMBER and nxt.isdigit()):
            return False
        if len(token) == 1 and token.isalpha() and text[match.start() - 1].isupper():
            return False  # an initial: "J. Smith", "M. Dupont"
    return True


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of a text (French, English and Arabic punctuation; abbreviations kept whole)."""
    out = []
    for line in text.split("\n"):
        start = 0
        for match in _END.finditer(line):
            if _is_boundary(line, match):
                out.append(line[start : match.end()].strip())
                start = match.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def _hard_split(text: str, limit: int) -> list[str]:
    """Cut a text longer than limit at clause marks, else spaces, else anywhere (offsets: linear time)."""
    pieces, start = [], 0
    while len(text) - start > limit:
        end = start + limit
        cut = max(text.rfind(mark, start, end) for mark in _SOFT_BREAKS)
        if cut < start + limit // 2:
            cut = text.rfind(" ", start, end)
        if cut <= start:
            cut = end - 1
        pieces.append(text[start : cut + 1].strip())
        start = cut + 1
    rest = text[start:].strip()
    return [p for p in [*pieces, rest] if p]


def _units(block: Block, max_chars: int) -> list[_Unit]:
    units = []
    for line in block.text.split("\n"):
        sentences = [line.strip()] if block.kind == "table" else split_sentences(line)
        for i, sentence in enumerate(sentences):
            for piece in _hard_split(sentence, max_chars):
                units.append(_Unit(piece, "\n" if i == len(sentences) - 1 else " ", block.page))
    if units:
        units[-1].sep = "\n" if block.kind == "table" else "\n\n"
    return units


def _join(units: list[_Unit]) -> str:
    return "".join(u.text + u.sep for u in units).strip()


def _pack(units: list[_Unit], target: int, limit: int) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        grow = len(unit.text) + len(unit.sep)
        if current and (size + grow > limit or (size + grow > target and size >= target // 2)):
            groups.append(current)
            current, size = [], 0
        current.append(unit)
        size += grow
    if current:
        groups.append(current)
    if len(groups) > 1 and len(_join(groups[-1])) < target // MIN_CHUNK_FRACTION:
        if len(_join(groups[-2] + groups[-1])) <= limit:
            groups[-2:] = [groups[-2] + groups[-1]]
    return groups


def _qa_chunks(block: Block, target: int, limit: int) -> list[ChunkDraft]:
    if len(block.text) <= limit:
        return [ChunkDraft(block.text, block.heading_path, block.page)]
    question, _, answer = block.text.partition("\n")
    if not answer or len(question) > limit // 2:
        question, answer = "", block.text
    room = limit - len(question) - 1
    units = _units(Block(answer, block.heading_path, block.page), room)
    pieces = [_join(group) for group in _pack(units, min(target, room), room)]
    return [ChunkDraft(f"{question}\n{piece}".strip(), block.heading_path, block.page) for piece in pieces]


class _Chunker:
    def __init__(self, target: int, limit: int) -> None:
        self.target, self.limit = target, limit
        self.drafts: list[ChunkDraft] = []
        self.run: list[_Unit] = []
        self.run_path: tuple[str, ...] = ()
        self.run_key: tuple | None = None
        self.pending: Block | None = None

    def flush(self) -> None:
        target = TABLE_TARGET if self.run_key and self.run_key[1] == "table" else self.target
        for group in _pack(self.run, target, self.limit):
            page = next((u.page for u in group if u.page is not None), None)
            self.drafts.append(ChunkDraft(_join(group), self.run_path, page))
        self.run, self.run_key = [], None

    def heading_without_body(self, follower: Block | None) -> None:
        heading, self.pending = self.pending, None
        if heading and (follower is None or follower.heading_path[: len(heading.heading_path)] != heading.heading_path):
            self.drafts.append(ChunkDraft(heading.text, heading.heading_path[:-1], heading.page))

    def add(self, block: Block) -> None:
        if block.kind == "heading":
            self.flush()
            self.heading_without_body(block)
            self.pending = block
            return
        self.heading_without_body(block)
        if block.kind == "qa":
            self.flush()
            self.drafts.extend(_qa_chunks(block, self.target, self.limit))
            return
        key = (block.heading_path, "table" if block.kind == "table" else "prose")
        if key != self.run_key:
            self.flush()
            self.run_key, self.run_path = key, block.heading_path
        self.run.extend(_units(block, self.limit))


class _LanguageCheck:
    """Per-chunk language, only where a chunk is clearly in another language than its document."""

    def __init__(self, default: str | None) -> None:
        self.default, self.budget = default, MAX_DETECTIONS

    def __call__(self, text: str) -> str | None:
        if not self.default or self.budget <= 0 or sum(1 for c in text if c.isalpha()) < FOREIGN_MIN_LETTERS:
            return self.default
        if quick_language(text) == self.default:
            return self.default
        self.budget -= 1
        code, prob = guess_language(text)
        return code if code and code != self.default and prob >= FOREIGN_MIN_PROB else self.default


def chunk_document(doc: ParsedDocument, *, target_chars: int = 800, max_chars: int = 1500) -> list[ChunkDraft]:
    """Chunks of about target_chars (never above max_chars), one heading path each, duplicates dropped."""
    if not 0 < target_chars <= max_chars:
        raise ValueError("need 0 < target_chars <= max_chars")
    chunker = _Chunker(target_chars, max_chars)
    for block in doc.blocks:
        if block.text.strip():
            chunker.add(block)
    chunker.flush()
    chunker.heading_without_body(None)
    seen: set[str] = set()
    language = _LanguageCheck(doc.language)
    out = []
    for draft in chunker.drafts:
        digest = normalized_hash(draft.text)
        if draft.text and digest not in seen:
            seen.add(digest)
            draft.language = language(draft.text)
            out.append(draft)
    return out
