"""Input and output shapes of the knowledge base API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator


class UrlSourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["url"]
    url: HttpUrl
    crawl: bool = False
    max_pages: int = Field(default=200, ge=1, le=2000)
    max_depth: int = Field(default=3, ge=0, le=10)
    recrawl_days: int | None = Field(default=7, ge=1, le=365)
    title: str | None = Field(default=None, max_length=300)

    @field_validator("url")
    @classmethod
    def _http(cls, v: HttpUrl) -> HttpUrl:
        if v.scheme not in ("http", "https"):
            raise ValueError("only http and https addresses can be added")
        return v


class TextSourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=2_000_000)


class QaSourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["qa"]
    question: str = Field(min_length=1, max_length=2_000)
    answer: str = Field(min_length=1, max_length=20_000)


SourceCreate = Annotated[UrlSourceCreate | TextSourceCreate | QaSourceCreate, Field(discriminator="type")]


class SourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    agent_id: str
    kind: str
    title: str
    url: str | None
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    state: str
    progress: int
    progress_note: str | None
    error_code: str | None
    error_message: str | None
    document_count: int
    chunk_count: int
    recrawl_days: int | None
    next_crawl_at: datetime | None
    ingested_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ChunkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    ordinal: int
    text: str
    heading_path: list[str]
    page: int | None
    language: str | None


class SearchResult(BaseModel):
    source_id: str
    chunk_id: str
    title: str
    url: str | None
    page: int | None
    heading_path: list[str]
    text: str
    score: float


class SearchResponse(BaseModel):
    query: str
    confidence: float
    results: list[SearchResult]
