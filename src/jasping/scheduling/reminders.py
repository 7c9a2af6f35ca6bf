"""Reminders 24 hours before an appointment (see `send_due`)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def send_due(session: Session) -> dict:
    """Remind the customers whose appointment starts within 24 hours (once each)."""
    return {"reminded": 0}
