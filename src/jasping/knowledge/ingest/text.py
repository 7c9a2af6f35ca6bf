"""Text decoding and cleaning, and the plain-text and Markdown parsers."""

from __future__ import annotations

import codecs
import re
import unicodedata

from jasping.knowledge.types import Block, ParsedDocument

from .tables import table_blocks

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0/C1 controls (except tab and newline), BOMs inside the text, and the line/paragraph separators.
_CONTROL = {c: None for c in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0), 0xFEFF]}
_CONTROL.update({0x0C: "\n", 0x2028: "\n", 0x2029: "\n\n"})
_SENTENCE_END = (".", "!", "?", "…", "؟", "۔", "！", "？", "。")
_BULLET = re.compile(r"^\s*(?:[-*+•·▪◦–]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")


def utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the bytes look like BOM-less UTF-16 (ASCII with NUL halves)."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0 : pairs * 2 : 2].count(0)
    odd = sample[1 : pairs * 2 : 2].count(0)
    if odd > 0.4 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.4 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode bytes as text: BOM, BOM-less UTF-16, a declared charset, UTF-8, cp1252, Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    utf16 = utf16_without_bom(data)
    if utf16:
        return data.decode(utf16, "replace")
    candidates = []
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            name = ""
        # A declared UTF-16/32 without a BOM is a lie in practice (the HTML standard ignores it too).
        if name and not name.startswith(("utf-16", "utf-32")):
            candidates.append(name)
    candidates += ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Normalise newlines and Unicode (NFC) and drop NULs and other control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)
    return unicodedata.normalize("NFC", text)


def collapse_spaces(text: str) -> str:
    """Collapse runs of spaces and tabs inside lines and trim every line."""
    return "\n".join(re.sub(r"[ \t\u00a0]{2,}", " ", line).strip() for line in text.split("\n")).strip()


def _looks_tabular(line: str) -> bool:
    return "\t" in line or len(re.findall(r"\S {3,}\S", line)) >= 2


def join_lines(lines: list[str], width: int | None = None) -> str:
    """Re-join hard-wrapped prose lines with spaces; keep list items, table rows and short lines apart."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return ""
    width = width or max(len(line) for line in lines)
    out = [lines[0]]
    for prev, line in zip(lines, lines[1:], strict=False):
        wrapped = (
            len(prev) >= max(40, 0.6 * width)
            and (prev[-1].isalpha() or prev[-1] in ",;-–(\"'«" or prev.endswith(_SENTENCE_END))
            and not _BULLET.match(line)
            and not _looks_tabular(prev)
            and not _looks_tabular(line)
        )
        if not wrapped:
            out += ["\n", line]
        elif prev.endswith("-") and prev[-2:-1].isalpha() and line[:1].islower():
            out[-1] = out[-1][:-1]  # "deli-" + "very" -> "delivery"
            out.append(line)
        else:
            out += [" ", line]
    return "".join(out)


def parse_plain(text: str, title: str | None) -> ParsedDocument:
    """Plain text: one paragraph Block per blank-line-separated paragraph."""
    blocks = []
    for para in re.split(r"\n\s*\n", clean_text(text)):
        joined = join_lines(para.split("\n"))
        if joined:
            blocks.append(Block(text=collapse_spaces(joined), kind="list" if _BULLET.match(joined) else "paragraph"))
    return ParsedDocument(title=title, blocks=blocks)


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def inline_markdown(text: str) -> str:
    """Strip inline Markdown: images to alt text, links to their text, emphasis and code marks."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>", "", text)
    return text


def _split_row(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") else line
    return [inline_markdown(cell.strip()) for cell in line.split("|")]


class _MarkdownBuilder:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.stack: list[tuple[int, str]] = []
        self.buffer: list[str] = []
        self.title: str | None = None

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.stack)

    def heading(self, level: int, title: str) -> None:
        self.flush()
        title = collapse_spaces(inline_markdown(title))
        if not title:
            return
        self.stack = [(lvl, t) for lvl, t in self.stack if lvl < level] + [(level, title)]
        self.title = self.title or (title if level == 1 else None)
        self.blocks.append(Block(text=title, heading_path=self.path, kind="heading"))

    def flush(self, *, code: bool = False) -> None:
        lines, self.buffer = self.buffer, []
        if code:
            if any(line.strip() for line in lines):
                self.blocks.append(Block(text="\n".join(lines).strip("\n"), heading_path=self.path))
            return
        if len(lines) >= 2 and "|" in lines[0] and _TABLE_SEP.match(lines[1]):
            rows = [_split_row(line) for line in lines if not _TABLE_SEP.match(line)]
            self.blocks.extend(table_blocks(rows, self.path, header=True))
            return
        text = collapse_spaces(inline_markdown(join_lines([re.sub(r"^\s*>\s?", "", x) for x in lines])))
        if text:
            kind = "list" if _BULLET.match(lines[0]) else "paragraph"
            self.blocks.append(Block(text=text, heading_path=self.path, kind=kind))


def parse_markdown(text: str, title: str | None) -> ParsedDocument:
    """Markdown: ATX and setext headings become heading paths; lists, tables and code kept readable."""
    md = _MarkdownBuilder()
    fence: str | None = None
    for line in clean_text(text).split("\n"):
        if fence:
            if line.strip().startswith(fence):
                fence = None
                md.flush(code=True)
            else:
                md.buffer.append(line)
            continue
        if match := _FENCE.match(line):
            md.flush()
            fence = match.group(1)
        elif match := _ATX.match(line):
            md.heading(len(match.group(1)), match.group(2) or "")
        elif (match := _SETEXT.match(line)) and len(md.buffer) == 1 and not _BULLET.match(md.buffer[0]):
            md.heading(1 if match.group(1).startswith("=") else 2, md.buffer.pop())
        elif not line.strip() or _HR.match(line):
            md.flush()
        else:
            if md.buffer and _BULLET.match(line) and not _BULLET.match(md.buffer[0]):
                md.flush()
            md.buffer.append(line)
    md.flush()
    return ParsedDocument(title=md.title or title, blocks=md.blocks)
