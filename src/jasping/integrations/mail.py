"""Outgoing email (being built): the entry points other modules call. Queued in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def queue_appointment_mail(session: Session, appointment: Any, event: str) -> None:
    """Queue the customer's mail for `event` ("confirmation" | "cancellation" | "reminder") of `appointment`."""


def queue_lead_notice(session: Session, lead: Any) -> None:
    """Queue the new-lead notice to the organization's contact email."""


def queue_code(session: Session, *, org_id: str, to: str, code: str, language: str) -> None:
    """Queue a verification code to `to`."""
