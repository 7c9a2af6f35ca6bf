"""Plain data passed between ingestion, chunking and retrieval (no database, no web)."""

from __future__ import annotations

from dataclasses import dataclass, field


class IngestError(Exception):
    """A source cannot be ingested; `message` is for the person who added it, `code` is stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Block:
    """A piece of a parsed document in reading order: a paragraph, a table, a list, a Q&A pair."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    kind: str = "paragraph"  # paragraph | heading | table | list | qa


@dataclass
class ParsedDocument:
    """What a parser makes of one file or page."""

    title: str | None
    blocks: list[Block]
    language: str | None = None
    url: str | None = None
    pages: int | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)


@dataclass
class ChunkDraft:
    """A retrievable passage before it is stored."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    language: str | None = None


@dataclass
class Hit:
    """A retrieval result: which chunk, how well it matched."""

    chunk_id: str
    score: float
