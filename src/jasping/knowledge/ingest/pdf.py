"""PDF parsing with pypdf: text per page, headings from font sizes (or numbering and capitals); tables found by
pdfplumber (pdf_tables) take the place of their text, one "Header: value; Header: value" line a row."""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

from jasping.knowledge.types import Block, IngestError, ParsedDocument

from .pdf_tables import PageTable, TableFinder, worth_a_look
from .tables import table_blocks
from .text import clean_text, collapse_spaces, join_lines

log = logging.getLogger(__name__)

MAX_PAGES = 5000
NO_TEXT = "This PDF has no extractable text (is it a scanned image? OCR is not supported)."
_PAGE_NUMBER = re.compile(r"^(page|p\.|seite|página|pagina|صفحة)?\s*\d{1,4}(\s*(/|of|sur|de|von|من)\s*\d{1,4})?$", re.I)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.*)$")
_LOCKED = "This PDF is protected by a password. Remove the password (or print it to a new PDF) and upload it again."
_DAMAGED = "This PDF is damaged and cannot be read. Try saving or exporting it again."

Line = tuple[str, float]  # text and font size in points (0 when unknown)
Piece = tuple[str, float, float, float]  # a text run: text, font size, x and y from the page's top-left corner
Item = Line | PageTable  # a page is lines of text and tables, in reading order


def _scale(matrix: list[float] | None) -> float:
    if not matrix or len(matrix) < 4:
        return 1.0
    return math.hypot(matrix[2], matrix[3]) or 1.0


def _page_pieces(page) -> tuple[list[Piece], str, int]:
    """pypdf's text runs with font size and position (points from the top-left corner), and the drawn paths."""
    pieces: list[Piece] = []
    paths = [0]
    box = page.mediabox
    left, top = float(box.left), float(box.top)

    def visit(text: str, cm: list[float], tm: list[float], font_dict: object, font_size: float) -> None:
        if text:
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            pieces.append((text, float(font_size or 0) * _scale(tm) * _scale(cm), x - left, top - y))

    def count_paths(operator: bytes, operands: list, cm: list[float], tm: list[float]) -> None:
        if operator in (b"re", b"l"):
            paths[0] += 1

    raw = page.extract_text(visitor_text=visit, visitor_operand_before=count_paths) or ""
    return pieces, raw, paths[0]


def _page_lines(pieces: list[Piece], raw: str, tables: Sequence[PageTable] = ()) -> list[Item]:
    """Lines of text in reading order; a table replaces the runs inside it, where its first run was."""
    lines: list[Item] = []
    current: Counter[float] = Counter()
    text = ""
    placed: set[int] = set()

    def end_line() -> None:
        nonlocal text, current
        if text.strip():
            lines.append((text, current.most_common(1)[0][0] if current else 0.0))
        text, current = "", Counter()

    for piece, size, x, y in [*pieces, ("\n", 0.0, 0.0, 0.0)]:
        inside = next((i for i, t in enumerate(tables) if piece.strip() and t.holds(x, y)), None)
        if inside is not None:
            end_line()
            if inside not in placed:
                placed.add(inside)
                lines.append(tables[inside])
            continue
        for i, part in enumerate(piece.split("\n")):
            if i:
                end_line()
            text += part
            if part.strip():
                current[round(size * 2) / 2] += len(part.strip())
    if not lines and raw.strip():
        lines = [(line, 0.0) for line in raw.split("\n") if line.strip()]
    out: list[Item] = []
    for item in lines:
        if isinstance(item, PageTable):
            out.append(item)
        elif text := collapse_spaces(clean_text(item[0])):
            out.append((text, item[1]))
    return out


def _read_page(page, index: int, finder: TableFinder) -> list[Item]:
    pieces, raw, paths = _page_pieces(page)
    if not page.rotation % 360 and worth_a_look([(x, y) for t, _, x, y in pieces if t.strip()], paths):
        if tables := finder.tables(index):
            try:
                return _page_lines(pieces, raw, tables)
            except Exception:  # a failed table step must not lose the page's text: the plain lines below
                log.info("tables dropped on page %d", index + 1, exc_info=True)
    return _page_lines(pieces, raw)


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


def _body_size(pages: list[list[Item]]) -> float:
    chars: Counter[float] = Counter()
    for items in pages:
        for item in items:
            if isinstance(item, PageTable):
                chars.update(item.sizes)
            else:
                chars[item[1]] += len(item[0])
    return chars.most_common(1)[0][0] if chars else 0.0


def _drop_furniture(pages: list[list[Item]]) -> list[list[Item]]:
    """Remove running headers/footers (body-size or smaller, repeated on most pages) and bare page numbers."""
    body = _body_size(pages)

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.casefold())

    def edges(items: list[Item]) -> set[int]:
        return {0, 1, len(items) - 2, len(items) - 1} & set(range(len(items)))

    def furniture(item: Item, edge: bool) -> bool:
        if isinstance(item, PageTable) or not edge:
            return False
        text, size = item
        return bool(_PAGE_NUMBER.match(text)) or (key(text) in repeated and size <= body)

    counts = Counter(
        k for items in pages for k in {key(items[i][0]) for i in edges(items) if not isinstance(items[i], PageTable)}
    )
    repeated = {k for k, n in counts.items() if len(pages) >= 3 and n >= max(3, len(pages) / 2)}
    return [[item for i, item in enumerate(items) if not furniture(item, i in edges(items))] for items in pages]


def _heading_shape(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 16
        and len(text) <= 120
        and any(c.isalpha() for c in text)
        and not text.endswith((",", ";"))
        and not (text.endswith(".") and len(words) > 6)
    )


def _font_levels(pages: list[list[Item]]) -> dict[float, int]:
    body = _body_size(pages)
    sizes = {
        item[1]
        for items in pages
        for item in items
        if not isinstance(item, PageTable) and body and item[1] >= body * 1.15 and _heading_shape(item[0])
    }
    return {size: min(rank, 6) for rank, size in enumerate(sorted(sizes, reverse=True), 1)}


def _text_level(text: str, next_text: str | None) -> int | None:
    if not next_text or len(text) > 80 or not _heading_shape(text) or text.endswith((".", ":")):
        return None
    if (m := _NUMBERED.match(text)) and m.group(2)[0].isupper() and not re.search(r"\d", m.group(2)):
        return min(m.group(1).count(".") + 1, 6)
    letters = [c for c in text if c.isalpha()]
    capitals = len(letters) >= 3 and all(c.isupper() for c in letters)
    return 1 if capitals and not re.search(r"\d", text) and len(text.split()) <= 8 else None


def _continue_tables(pages: list[list[Item]]) -> list[list[Item]]:
    """A table that ends a page and one that starts the next with as many columns are one table: the header
    of the first is given to the rows of the second (and a repeated header dropped)."""
    out = [list(items) for items in pages]
    for previous, items in zip(out, out[1:], strict=False):
        if not (previous and items and isinstance(previous[-1], PageTable) and isinstance(items[0], PageTable)):
            continue
        before, after = previous[-1], items[0]
        if len(before.rows[0]) != len(after.rows[0]) or (after.header and after.rows[0] != before.rows[0]):
            continue
        body = after.rows[1:] if after.header else after.rows
        rows = [before.rows[0], *body] if before.header else body
        items[0] = PageTable(after.bbox, rows, before.header, after.sizes)
    return out


def _item_text(item: Item) -> str:
    return " ".join(c for c in item.rows[0] if c) if isinstance(item, PageTable) else item[0]


def _blocks(pages: list[list[Item]]) -> list[Block]:
    levels = _font_levels(pages)
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    flat = [(number, item) for number, items in enumerate(pages, 1) for item in items]
    widths = {
        number: max((len(item[0]) for item in items if not isinstance(item, PageTable)), default=0)
        for number, items in enumerate(pages, 1)
    }
    buffer: list[str] = []
    previous_level: int | None = None
    for i, (number, item) in enumerate(flat):
        path = tuple(t for _, t in stack)
        if isinstance(item, PageTable):
            blocks.extend(table_blocks(item.rows, path, header=item.header, page=number))
            previous_level = None
            continue
        text, size = item
        after = flat[i + 1] if i + 1 < len(flat) else None
        level = levels.get(size) if levels else _text_level(text, _item_text(after[1]) if after else None)
        if level is None:
            buffer.append(text)
        if buffer and (level is not None or after is None or after[0] != number or isinstance(after[1], PageTable)):
            blocks.append(Block(text=join_lines(buffer, widths[number]), heading_path=path, page=number))
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
    pages: list[list[Item]] = []
    failed = 0
    finder = TableFinder(data, count)
    try:
        for index, page in enumerate(reader.pages):
            try:
                pages.append(_read_page(page, index, finder))
            except Exception:  # one broken page must not lose the others
                pages.append([])
                failed += 1
    finally:
        finder.close()
    if failed == count:
        raise IngestError("corrupt_file", _DAMAGED)
    blocks = _blocks(_continue_tables(_drop_furniture(pages)))
    if not any(b.text.strip() for b in blocks):
        raise IngestError("no_extractable_text", NO_TEXT)
    first_heading = next((b.text for b in blocks if b.kind == "heading"), None)
    meta = {"unreadable_pages": str(failed)} if failed else {}
    return ParsedDocument(title=_metadata_title(reader) or first_heading, blocks=blocks, pages=count, meta=meta)
