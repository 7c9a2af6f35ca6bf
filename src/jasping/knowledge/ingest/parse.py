"""Entry points: a file, a crawled page or typed-in text to a ParsedDocument, or a clear IngestError."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePath

from jasping.knowledge.types import Block, IngestError, ParsedDocument

from .html import parse_html
from .language import SAMPLE_CHARS, detect_language
from .office import parse_docx, parse_xlsx
from .pdf import NO_TEXT, parse_pdf
from .sniff import sniff
from .tables import parse_csv
from .text import clean_text, collapse_spaces, decode_bytes, parse_markdown, parse_plain

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
CORRUPT = "We could not read this file; it may be damaged. Try opening it and saving it again, or export it as PDF."
_PARSERS: dict[str, Callable[[bytes, str | None, str | None], ParsedDocument]] = {
    "pdf": lambda data, title, ctype: parse_pdf(data),
    "docx": lambda data, title, ctype: parse_docx(data),
    "xlsx": lambda data, title, ctype: parse_xlsx(data),
    "html": lambda data, title, ctype: parse_html(data, content_type=ctype),
    "csv": lambda data, title, ctype: parse_csv(clean_text(decode_bytes(data)), title),
    "markdown": lambda data, title, ctype: parse_markdown(decode_bytes(data), title),
    "text": lambda data, title, ctype: parse_plain(decode_bytes(data), title),
}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _sample(blocks: list[Block]) -> str:
    parts, size = [], 0
    for block in blocks:
        if block.kind != "heading":
            parts.append(block.text)
            size += len(block.text)
            if size >= SAMPLE_CHARS:
                break
    return "\n".join(parts)[:SAMPLE_CHARS]


def _finish(doc: ParsedDocument, fallback_title: str | None, no_text: IngestError) -> ParsedDocument:
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise no_text
    doc.title = collapse_spaces(doc.title or "")[:300] or fallback_title
    doc.language = detect_language(_sample(doc.blocks)) or doc.meta.get("html_lang") or None
    return doc


def _no_text(kind: str) -> IngestError:
    if kind in ("text", "markdown", "csv"):
        return IngestError("empty_file", "This file is empty.")
    if kind == "pdf":
        return IngestError("no_extractable_text", NO_TEXT)
    return IngestError("no_extractable_text", "We found no text in this file.")


def parse_file(
    data: bytes, filename: str, content_type: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedDocument:
    """Parse an uploaded file (PDF, DOCX, XLSX, HTML, CSV, Markdown, text) sniffed from its bytes and name."""
    if len(data) > max_bytes:
        raise IngestError(
            "too_large", f"This file is {_megabytes(len(data))} MB; the limit is {_megabytes(max_bytes)} MB."
        )
    if not data.strip(b" \t\r\n\x00\x0b\x0c"):
        raise IngestError("empty_file", "This file is empty.")
    stem = PurePath(filename or "").stem or None
    try:
        kind = sniff(data, filename, content_type)
        doc = _PARSERS[kind](data, stem, content_type)
        doc = _finish(doc, stem, _no_text(kind))
    except IngestError:
        raise
    except Exception as exc:  # library failures on hostile or broken files become one clear error
        log.info("ingest: %s parser failed: %s", filename.rsplit(".", 1)[-1] if filename else "?", type(exc).__name__)
        raise IngestError("corrupt_file", CORRUPT) from exc
    doc.meta.setdefault("format", kind)
    return doc


def parse_html_page(
    html: bytes | str, url: str, *, content_type: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedDocument:
    """Parse a crawled web page: main content with its headings and tables, without navigation or banners."""
    size = len(html) if isinstance(html, bytes) else len(html.encode("utf-8", "replace"))
    if size > max_bytes:
        raise IngestError("too_large", f"This page is {_megabytes(size)} MB; the limit is {_megabytes(max_bytes)} MB.")
    try:
        no_text = IngestError("no_extractable_text", "This page has no readable text.")
        doc = _finish(parse_html(html, url=url, content_type=content_type), url, no_text)
    except IngestError:
        raise
    except Exception as exc:  # see parse_file
        log.info("ingest: html parser failed: %s", type(exc).__name__)
        raise IngestError("corrupt_file", "We could not read this page.") from exc
    doc.url = url
    doc.meta.setdefault("format", "html")
    return doc


def parse_text(title: str, text: str) -> ParsedDocument:
    """A typed-in text source (Markdown headings are understood)."""
    doc = _finish(parse_markdown(text or "", None), None, IngestError("empty_text", "Please write some text."))
    doc.title = collapse_spaces(clean_text(title or "")) or doc.title
    doc.meta.setdefault("format", "text")
    return doc


def parse_qa(question: str, answer: str) -> ParsedDocument:
    """A typed-in question and its answer, as one Q&A block."""
    question = collapse_spaces(clean_text(question or ""))
    answer = clean_text(answer or "").strip()
    if not question or not answer:
        raise IngestError("empty_text", "Please write both the question and the answer.")
    doc = ParsedDocument(title=question, blocks=[Block(text=f"Q: {question}\nA: {answer}", kind="qa")])
    doc.language = detect_language(f"{question}\n{answer}")
    doc.meta["format"] = "qa"
    return doc
