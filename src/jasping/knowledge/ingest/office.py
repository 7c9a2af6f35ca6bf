"""Word (.docx, python-docx) and Excel (.xlsx, openpyxl) parsing, after the ZIP container is checked."""

from __future__ import annotations

import io
import re

import docx
import openpyxl
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from jasping.knowledge.types import Block, IngestError, ParsedDocument

from .safezip import check_archive
from .tables import MAX_ROWS, cell_text, sheet_blocks, table_blocks
from .text import clean_text, collapse_spaces

_HEADING_STYLE = re.compile(
    r"^(heading|titre|título|titulo|überschrift|kop|titolo|nagłówek|rubrik|overskrift|عنوان)\s*(\d)", re.I
)
_TITLE_STYLES = {"title", "titre", "título", "titolo", "titel", "tytuł", "العنوان"}
_BODY_CHILDREN = {qn("w:p"), qn("w:tbl")}


def _outline_level(element) -> int | None:
    ppr = element.find(qn("w:pPr")) if element is not None else None
    level = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if level is None:
        return None
    value = int(level.get(qn("w:val"), "9"))
    return value + 1 if value < 9 else None


class _Styles:
    """Heading level and list flag per paragraph style, resolved once (python-docx rescans all styles per call)."""

    def __init__(self, document) -> None:
        paragraph_styles = [s for s in document.styles if s.type == WD_STYLE_TYPE.PARAGRAPH]
        self.by_id = {s.style_id: s for s in paragraph_styles}
        self.default = next((s for s in paragraph_styles if s.element.default), None)
        self.cache: dict[str | None, tuple[int | None, bool]] = {}

    def info(self, style_id: str | None) -> tuple[int | None, bool]:
        """(0 for Title, 1-9 for a heading, None for body text; whether it is a list style)."""
        if style_id not in self.cache:
            style = self.by_id.get(style_id, self.default) if style_id else self.default
            name = (style.name or "").strip() if style is not None else ""
            level = 0 if name.lower() in _TITLE_STYLES else None
            if level is None and (match := _HEADING_STYLE.match(name)):
                level = int(match.group(2))
            depth = 0
            while level is None and style is not None and depth < 10:
                level, style, depth = _outline_level(style.element), style.base_style, depth + 1
            self.cache[style_id] = (level, "list" in name.lower() or "liste" in name.lower())
        return self.cache[style_id]


def _body_elements(container):
    """Paragraph and table elements in reading order, looking inside content controls (w:sdt)."""
    for child in container.iterchildren():
        if child.tag in _BODY_CHILDREN:
            yield child
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_elements(content)


def _table_rows(table, parent) -> list[list[str]]:
    rows = []
    for tr in table.iter(qn("w:tr")):
        if tr.getparent() is not table:
            continue  # rows of nested tables are read as their cell's text
        row = []
        for tc in tr.iterchildren(qn("w:tc")):
            text = " ".join(Paragraph(p, parent).text for p in tc.iter(qn("w:p")))
            row.append(collapse_spaces(clean_text(text)))
            span = tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}")
            row += [""] * (int(span.get(qn("w:val"), "1")) - 1 if span is not None else 0)
        rows.append(row)
    return rows


def parse_docx(data: bytes) -> ParsedDocument:
    """A Word document: heading styles give heading paths, lists are grouped, tables read as rows."""
    check_archive(data)
    document = docx.Document(io.BytesIO(data))
    styles = _Styles(document)
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    title = None  # the Title-styled paragraph the reader sees beats the often stale file property
    items: list[str] = []

    def path() -> tuple[str, ...]:
        return tuple(text for _, text in stack)

    def flush_list() -> None:
        if items:
            blocks.append(Block(text="\n".join(items), heading_path=path(), kind="list"))
            items.clear()

    for element in _body_elements(document.element.body):
        if element.tag == qn("w:tbl"):
            flush_list()
            blocks.extend(table_blocks(_table_rows(element, document), path()))
            continue
        text = collapse_spaces(clean_text(Paragraph(element, document).text))
        if not text:
            continue
        ppr = element.pPr
        style_level, list_style = styles.info(ppr.style if ppr is not None else None)
        level = _outline_level(element)
        level = style_level if level is None else level
        if level == 0:
            title = title or text
            continue
        if level is not None and len(text) <= 200:
            flush_list()
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, text)]
            blocks.append(Block(text=text, heading_path=path(), kind="heading"))
        elif list_style or (ppr is not None and ppr.numPr is not None):
            items.append(f"- {text}")
        else:
            flush_list()
            blocks.append(Block(text=text, heading_path=path()))
    flush_list()
    first_heading = next((b.text for b in blocks if b.kind == "heading"), None)
    title = title or collapse_spaces(document.core_properties.title or "") or first_heading
    return ParsedDocument(title=title, blocks=blocks)


def parse_xlsx(data: bytes) -> ParsedDocument:
    """An Excel workbook: each visible sheet as Q&A pairs or "Header: value" rows under the sheet name."""
    check_archive(data)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    blocks: list[Block] = []
    total = 0
    try:
        for sheet in workbook.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            sheet.reset_dimensions()  # some writers store wrong dimensions; read what is really there
            rows = []
            for values in sheet.iter_rows(values_only=True):
                row = [clean_text(cell_text(value)) for value in values]
                if any(row):
                    rows.append(row)
                    total += 1
                if total > MAX_ROWS:
                    raise IngestError("too_large", f"This workbook has more than {MAX_ROWS:,} rows; please split it.")
            blocks.extend(sheet_blocks(rows, (collapse_spaces(sheet.title),)))
    finally:
        workbook.close()
    title = collapse_spaces(workbook.properties.title or "") if workbook.properties else ""
    return ParsedDocument(title=title or None, blocks=blocks)
