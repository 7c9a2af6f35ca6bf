"""What kind of document a file really is, from its bytes first and its name second."""

from __future__ import annotations

import re
from pathlib import PurePath

from jasping.knowledge.types import IngestError

from .safezip import member_names
from .text import utf16_without_bom

KINDS = ("pdf", "docx", "xlsx", "html", "csv", "markdown", "text")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAVE_AS = "Open it and save or export it as PDF, Word (.docx), Excel (.xlsx), CSV or plain text, then upload that."
_ACCEPTED = "We accept PDF, Word (.docx), Excel (.xlsx), CSV, Markdown, plain text and web pages (HTML)."
_PROGRAM = f"a program, not a document. {_ACCEPTED}"
_PICTURE = "we cannot read text in pictures (OCR is not supported); upload the document as PDF or Word instead."
_ARCHIVE = "Extract it and upload the documents inside one by one."
_MAGIC = (
    (b"\x7fELF", _PROGRAM),
    (b"MZ", f"a Windows program (.exe), not a document. {_ACCEPTED}"),
    (b"\xca\xfe\xba\xbe", _PROGRAM),
    (b"\xcf\xfa\xed\xfe", _PROGRAM),
    (b"\x89PNG", f"an image (PNG): {_PICTURE}"),
    (b"\xff\xd8\xff", f"an image (JPEG): {_PICTURE}"),
    (b"GIF8", f"an image (GIF): {_PICTURE}"),
    (b"II*\x00", f"an image (TIFF): {_PICTURE}"),
    (b"MM\x00*", f"an image (TIFF): {_PICTURE}"),
    (b"BM", f"an image (BMP): {_PICTURE}"),
    (b"\x1f\x8b", f"a compressed archive (gzip). {_ARCHIVE}"),
    (b"7z\xbc\xaf\x27\x1c", f"a compressed archive (7z). {_ARCHIVE}"),
    (b"Rar!\x1a\x07", f"a compressed archive (RAR). {_ARCHIVE}"),
    (b"BZh", f"a compressed archive (bzip2). {_ARCHIVE}"),
    (b"\xfd7zXZ\x00", f"a compressed archive (xz). {_ARCHIVE}"),
    (b"ID3", f"an audio file, not a document. {_ACCEPTED}"),
    (b"OggS", f"an audio or video file, not a document. {_ACCEPTED}"),
    (b"fLaC", f"an audio file, not a document. {_ACCEPTED}"),
    (b"SQLite format 3\x00", f"a database, not a document. {_ACCEPTED}"),
    (b"{\\rtf", f"a Rich Text (RTF) document, which we do not read. {_SAVE_AS}"),
)
_BINARY_EXTENSIONS = {"pdf", "docx", "docm", "xlsx", "xlsm", "doc", "xls", "ppt", "pptx", "odt", "ods", "odp"}
_TEXT_EXTENSIONS = {
    "html": "html", "htm": "html", "xhtml": "html", "csv": "csv", "tsv": "csv", "md": "markdown",
    "markdown": "markdown", "txt": "text", "text": "text", "": "text",
}  # fmt: skip
_CONTENT_TYPES = {"text/html": "html", "application/xhtml+xml": "html", "text/csv": "csv", "text/markdown": "markdown"}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S)


def _unsupported(message: str) -> IngestError:
    return IngestError("unsupported_type", message)


def extension(filename: str) -> str:
    """The lower-case extension of a file name, without the dot ('' when there is none)."""
    return PurePath(filename or "").suffix.lower().lstrip(".")


def is_binary(data: bytes, *, tolerance: float = 0.01) -> bool:
    """True when the bytes are not text: too many NULs or control bytes (UTF-16 is text)."""
    sample = data[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")) or utf16_without_bom(sample):
        return False
    controls = sum(1 for b in sample if b < 9 or 13 < b < 27 or 27 < b < 32)
    return controls > max(tolerance, 0.05) * len(sample) or sample.count(0) > tolerance * len(sample)


def _zip_kind(data: bytes, ext: str) -> str:
    names = member_names(data)
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return "docx"
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "xlsx"
    if "[Content_Types].xml" in names and any(n.startswith("ppt/") for n in names):
        raise _unsupported("PowerPoint presentations are not supported. Export it as PDF and upload that.")
    if "mimetype" in names and any(n == "content.xml" for n in names):
        raise _unsupported(f"OpenDocument files (.odt, .ods) are not supported. {_SAVE_AS}")
    if ext in ("docx", "xlsx"):
        raise IngestError("corrupt_file", f"This .{ext} file is damaged: parts of the document are missing.")
    raise _unsupported("ZIP archives are not supported. Unzip it and upload the documents inside one by one.")


def _ole2_kind(data: bytes, ext: str) -> str:
    if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000] or ext in ("docx", "xlsx"):
        raise IngestError(
            "encrypted_file", "This document is password-protected. Remove the password in Office and upload it again."
        )
    old = {"doc": "Word 97-2003 (.doc)", "xls": "Excel 97-2003 (.xls)", "ppt": "PowerPoint 97-2003 (.ppt)"}
    raise _unsupported(f"This is an old {old.get(ext, 'Office 97-2003')} file, which we cannot read. {_SAVE_AS}")


def sniff(data: bytes, filename: str, content_type: str | None = None) -> str:
    """The document kind (one of KINDS) from the content and the name; IngestError('unsupported_type') if none fits."""
    ext = extension(filename)
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, ext)
    if data.startswith(_OLE2):
        return _ole2_kind(data, ext)
    for magic, what in _MAGIC:
        if data.startswith(magic) and (len(magic) > 2 or is_binary(data, tolerance=0.1)):
            named = f"named .{ext}, but it is {what}" if ext else what
            raise _unsupported(f"This file is {named}")
    if data[4:8] == b"ftyp" or data[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        raise _unsupported(f"This file is a picture, audio or video file, not a document. {_ACCEPTED}")
    if ext in _BINARY_EXTENSIONS:
        raise _unsupported(
            f"This file is named .{ext}, but it is not really a .{ext} document (was it renamed?). {_SAVE_AS}"
        )
    # A text-named file may carry a few stray NULs (a sloppy export); a renamed program has many.
    if is_binary(data, tolerance=0.1 if ext in _TEXT_EXTENSIONS else 0.01):
        raise _unsupported(f"This file is not a document we can read (it contains binary data). {_ACCEPTED}")
    kind = _TEXT_EXTENSIONS.get(ext, "text")
    if kind != "text":
        return kind
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    return "html" if _HTML_START.match(head.removeprefix(b"\xef\xbb\xbf")) else "text"
