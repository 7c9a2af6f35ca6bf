"""Input and output shapes of agents (validated at the edge, used by API and dashboard alike)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=len(LANGUAGES))
    instructions: str = Field(default="", max_length=20_000)
    greeting: str = Field(default="", max_length=1_000)

    _langs = field_validator("languages")(classmethod(lambda cls, v: _clean_languages(v)))

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

    _langs = field_validator("languages")(classmethod(lambda cls, v: _clean_languages(v)))


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    languages: list[str]
    instructions: str
    greeting: str
    public_key: str
    created_at: datetime
    updated_at: datetime
