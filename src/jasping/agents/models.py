"""The agent table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.db import Base, TenantScoped, UtcDateTime

LANGUAGES = {
    "en": "English",
    "fr": "Français",
    "ar": "العربية",
    "es": "Español",
    "de": "Deutsch",
    "it": "Italiano",
    "pt": "Português",
    "nl": "Nederlands",
}


class Agent(TenantScoped, Base):
    """An AI customer-service agent of one organization."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en"])
    instructions: Mapped[str] = mapped_column(Text, default="")
    greeting: Mapped[str] = mapped_column(Text, default="")
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    kb_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every knowledge change
    widget_color: Mapped[str | None] = mapped_column(String(7))  # "#0b6bcb"
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any website may embed it
    booking: Mapped[dict | None] = mapped_column(JSON)  # services and weekly hours (scheduling); None: no booking
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)
