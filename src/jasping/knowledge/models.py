"""Tables of the knowledge base: sources, the documents parsed from them, and their chunks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.db import Base, TenantScoped, UtcDateTime

SOURCE_KINDS = ("file", "url", "website", "text", "qa")
STATES = ("queued", "processing", "ready", "failed")


class Source(TenantScoped, Base):
    """Something a business gave its agent to know: a file, a page, a website, a text, a Q&A pair."""

    __tablename__ = "kb_sources"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(120))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)  # typed-in text / Q&A
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    progress_note: Mapped[str | None] = mapped_column(String(300))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    stored_file: Mapped[str | None] = mapped_column(String(300))
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    recrawl_days: Mapped[int | None] = mapped_column(Integer)
    next_crawl_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    ingested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)


class Document(TenantScoped, Base):
    """One parsed file or web page of a source."""

    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(40), ForeignKey("kb_sources.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    pages: Mapped[int | None] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer, default=0)


class Chunk(TenantScoped, Base):
    """A retrievable passage, with where it came from (heading path, page)."""

    __tablename__ = "kb_chunks"
    __table_args__ = (Index("ix_kb_chunks_agent_ordinal", "agent_id", "source_id", "ordinal"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(40), ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(40), ForeignKey("kb_sources.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    heading_path: Mapped[list[str]] = mapped_column(JSON, default=list)
    page: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    text_hash: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32 vector, see knowledge.dense
    embedding_model: Mapped[str | None] = mapped_column(String(64))
