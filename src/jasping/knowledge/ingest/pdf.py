"""PDF parsing with pypdf: text per page, headings from font sizes (or numbering and capitals)."""

from __future__ import annotations

import io
import math
import re
from collections import Counter

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

from jasping.knowledge.types import Block, IngestError, ParsedDocument

from .text import clean_text, collapse_spaces, join_lines

MAX_PAGES = 5000
NO_TEXT = "This PDF has no extractable text (is it a scanned image? OCR is not supported)."
_PAGE_NUMBER = re.compile(r"^(page|p\.|seite|página|pagina|صفحة)?\s*\d{1,4}(\s*(/|of|sur|de|von|من)\s*\d{1,4})?$", re.I)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.*)$")
_LOCKED = "This PDF is protected by a password. Remove the password (or print it to a new PDF) and upload it again."
_DAMAGED = "This PDF is damaged and cannot be read. Try saving or exporting it again."

Line = tuple[str, float]  # text and font size in points (0 when unknown)


def _scale(matrix: list[float] | None) -> float:
    if not matrix or len(matrix) < 4:
        return 1.0
    return math.hypot(matrix[2], matrix[3]) or 1.0


def _page_lines(page) -> list[Line]:
    pieces: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font_dict: object, font_size: float) -> None:
        if text:
            pieces.append((text, float(font_size or 0) * _scale(tm) * _scale(cm)))

    raw = page.extract_text(visitor_text=visit) or ""
    lines: list[Line] = []
    current: Counter[float] = Counter()
    text = ""
    for piece, size in [*pieces, ("\n", 0.0)]:
        for i, part in enumerate(piece.split("\n")):
            if i:
                if text.strip():
                    lines.append((text, current.most_common(1)[0][0] if current else 0.0))
                text, current = "", Counter()
            text += part
            if part.strip():
                current[round(size * 2) / 2] += len(part.strip())
    if not lines and raw.strip():
        lines = [(line, 0.0) for line in raw.split("\n") if line.strip()]
    return [(collapse_spaces(clean_text(t)), s) for t, s in lines if collapse_spaces(clean_text(t))]


def _open(data: bytes) -> PdfReader:
    if b"%%EOF" not in data[-2048:]:
        raise IngestError("corrupt_file", "This PDF is incomplete (the end of the file is missing). Upload it again.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise IngestError("encrypted_file", _LOCKED)
    except (DependencyError, FileNotDecryptedError, NotImplementedError) as exc:
        raise IngestError("encrypted_file", _LOCKED) from exc
    except PdfReadError as exc:
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise IngestError("encrypted_file", _LOCKED) from exc
        raise IngestError("corrupt_file", _DAMAGED) from exc
    return reader


def _body_size(pages: list[list[Line]]) -> float:
    chars: Counter[float] = Counter()
    for lines in pages:
        for text, size in lines:
            chars[size] += len(text)
    return chars.most_common(1)[0][0] if chars else 0.0


def _drop_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove running headers/footers (body-size or smaller, repeated on most pages) and bare page numbers."""
    body = _body_size(pages)

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.casefold())

    def edges(lines: list[Line]) -> set[int]:
        return {0, 1, len(lines) - 2, len(lines) - 1} & set(range(len(lines)))

    counts = Counter(k for lines in pages for k in {key(lines[i][0]) for i in edges(lines)})
    repeated = {k for k, n in counts.items() if len(pages) >= 3 and n >= max(3, len(pages) / 2)}
    return [
        [
            (text, size)
            for i, (text, size) in enumerate(lines)
            if not (i in edges(lines) and (_PAGE_NUMBER.match(text) or (key(text) in repeated and size <= body)))
        ]
        for lines in pages
    ]


def _heading_shape(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 16
        and len(text) <= 120
        and any(c.isalpha() for c in text)
        and not text.endswith((",", ";"))
        and not (text.endswith(".") and len(words) > 6)
    )


def _font_levels(pages: list[list[Line]]) -> dict[float, int]:
    body = _body_size(pages)
    sizes = {s for lines in pages for t, s in lines if body and s >= body * 1.15 and _heading_shape(t)}
    return {size: min(rank, 6) for rank, size in enumerate(sorted(sizes, reverse=True), 1)}


def _text_level(text: str, next_text: str | None) -> int | None:
    if not next_text or len(text) > 80 or not _heading_shape(text) or text.endswith((".", ":")):
        return None
    if (m := _NUMBERED.match(text)) and m.group(2)[0].isupper() and not re.search(r"\d", m.group(2)):
        return min(m.group(1).count(".") + 1, 6)
    letters = [c for c in text if c.isalpha()]
    capitals = len(letters) >= 3 and all(c.isupper() for c in letters)
    return 1 if capitals and not re.search(r"\d", text) and len(text.split()) <= 8 else None


def _blocks(pages: list[list[Line]]) -> list[Block]:
    levels = _font_levels(pages)
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    flat = [(number, text, size) for number, lines in enumerate(pages, 1) for text, size in lines]
    widths = {number: max((len(t) for t, _ in lines), default=0) for number, lines in enumerate(pages, 1)}
    buffer: list[str] = []
    previous_level: int | None = None
    for i, (number, text, size) in enumerate(flat):
        following = flat[i + 1][1] if i + 1 < len(flat) else None
        level = levels.get(size) if levels else _text_level(text, following)
        if level is None:
            buffer.append(text)
        if buffer and (level is not None or following is None or flat[i + 1][0] != number):
            body = join_lines(buffer, widths[number])
            blocks.append(Block(text=body, heading_path=tuple(t for _, t in stack), page=number))
            buffer = []
        if level is not None:
            title = text.rstrip(":").strip()
            if level == previous_level and blocks[-1].page == number:  # a heading wrapped over two lines
                title = f"{blocks.pop().text} {title}"
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            blocks.append(Block(text=title, heading_path=tuple(t for _, t in stack), page=number, kind="heading"))
        previous_level = level
    return blocks


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # metadata is optional; a broken info dictionary must not fail the parse
        return None
    title = collapse_spaces(clean_text(str(title or "")))
    if not title or title.lower() in ("untitled", "document", "sans titre") or title.lower().startswith("microsoft"):
        return None
    return title


def parse_pdf(data: bytes) -> ParsedDocument:
    """A PDF as Blocks with page numbers and heading paths; IngestError for encrypted, empty or image-only files."""
    reader = _open(data)
    try:
        count = len(reader.pages)
    except (PdfReadError, FileNotDecryptedError) as exc:
        raise IngestError("corrupt_file", _DAMAGED) from exc
    if count == 0:
        raise IngestError("empty_file", "This PDF has no pages.")
    if count > MAX_PAGES:
        raise IngestError("too_large", f"This PDF has {count:,} pages; the limit is {MAX_PAGES:,}. Please split it.")
    pages, failed = [], 0
    for page in reader.pages:
        try:
            pages.append(_page_lines(page))
        except Exception:  # one broken page must not lose the others
            pages.append([])
            failed += 1
    if failed == count:
        raise IngestError("corrupt_file", _DAMAGED)
    blocks = _blocks(_drop_furniture(pages))
    if not any(b.text.strip() for b in blocks):
        raise IngestError("no_extractable_text", NO_TEXT)
    first_heading = next((b.text for b in blocks if b.kind == "heading"), None)
    meta = {"unreadable_pages": str(failed)} if failed else {}
    return ParsedDocument(title=_metadata_title(reader) or first_heading, blocks=blocks, pages=count, meta=meta)
