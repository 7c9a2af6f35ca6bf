"""Input and output shapes of agents (validated at the edge, used by API and dashboard alike)."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jasping.agents.booking import clean_booking as _clean_booking
from jasping.agents.models import LANGUAGES


def _clean_languages(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    out: list[str] = []
    for code in value:
        code = str(code).strip().lower()
        if code not in LANGUAGES:
            raise ValueError(f"unsupported language {code!r}; choose from {', '.join(LANGUAGES)}")
        if code not in out:
            out.append(code)
    if not out:
        raise ValueError("an agent speaks at least one language")
    return out


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _clean_color(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not _COLOR.match(value):
        raise ValueError("the colour must look like #0b6bcb")
    return value.lower()


def _clean_origins(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    out: list[str] = []
    for raw in value:
        raw = str(raw).strip().rstrip("/")
        if not raw:
            continue
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValueError(f"{raw!r} is not a website origin such as https://www.example.com")
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        if origin not in out:
            out.append(origin)
    return out


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=len(LANGUAGES))
    instructions: str = Field(default="", max_length=20_000)
    greeting: str = Field(default="", max_length=1_000)
    widget_color: str | None = Field(default=None, max_length=7)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)

    _langs = field_validator("languages")(classmethod(lambda cls, v: _clean_languages(v)))
    _color = field_validator("widget_color")(classmethod(lambda cls, v: _clean_color(v)))
    _origins = field_validator("allowed_origins")(classmethod(lambda cls, v: _clean_origins(v)))

    @field_validator("name")
    @classmethod
    def _strip_name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("the name cannot be blank")
        return v


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    languages: list[str] | None = Field(default=None, max_length=len(LANGUAGES))
    instructions: str | None = Field(default=None, max_length=20_000)
    greeting: str | None = Field(default=None, max_length=1_000)
    widget_color: str | None = Field(default=None, max_length=7)
    allowed_origins: list[str] | None = Field(default=None, max_length=20)
    booking: dict | None = None

    _langs = field_validator("languages")(classmethod(lambda cls, v: _clean_languages(v)))
    _color = field_validator("widget_color")(classmethod(lambda cls, v: _clean_color(v)))
    _origins = field_validator("allowed_origins")(classmethod(lambda cls, v: _clean_origins(v)))
    _booking = field_validator("booking")(classmethod(lambda cls, v: _clean_booking(v)))


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    languages: list[str]
    instructions: str
    greeting: str
    public_key: str
    widget_color: str | None = None
    allowed_origins: list[str] = []
    booking: dict | None = None
    created_at: datetime
    updated_at: datetime
