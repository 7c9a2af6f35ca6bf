"""Ingestion front end: files, pages and typed-in sources to ParsedDocuments, then to chunks."""

from jasping.knowledge.types import Block, ChunkDraft, IngestError, ParsedDocument

from .chunker import chunk_document, chunk_search_text, normalized_hash, split_sentences
from .language import detect_language
from .parse import parse_file, parse_html_page, parse_qa, parse_text
from .safezip import ZipLimits, check_archive
from .sniff import sniff

__all__ = [
    "Block",
    "ChunkDraft",
    "IngestError",
    "ParsedDocument",
    "ZipLimits",
    "check_archive",
    "chunk_document",
    "chunk_search_text",
    "detect_language",
    "normalized_hash",
    "parse_file",
    "parse_html_page",
    "parse_qa",
    "parse_text",
    "sniff",
    "split_sentences",
]
