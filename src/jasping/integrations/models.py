"""The table of integrations: a calendar, a lead sink, a mailer or a file store connected to an organization
(and usually to one of its agents). Secrets (passwords, OAuth tokens, signing keys) are encrypted and never shown
again; `settings` holds what may be shown (a URL, a calendar name, a sheet id)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping.crypto import EncryptedText
from jasping.db import Base, TenantScoped, UtcDateTime


class Integration(TenantScoped, Base):
    """One connected outside service. `status` is `active`, or `error` when its last use failed (`last_error` says
    why). Disconnecting deletes the row and its secrets."""

    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))  # caldav | google | webhook | sheets | smtp | …
    name: Mapped[str] = mapped_column(String(200), default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secrets_json: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def secrets(self) -> dict:
        return json.loads(self.secrets_json or "{}")

    @secrets.setter
    def secrets(self, value: dict) -> None:
        self.secrets_json = json.dumps(value)
