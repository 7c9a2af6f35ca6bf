"""Gmail as a mailer: when the organization has a `google` integration connected with the `gmail` use, its mail to
customers (confirmations, reminders, codes) leaves through Gmail (users.messages.send, `gmail.send` scope) from the
address chosen when connecting (`send_as`), instead of its SMTP server or the platform's. The oldest such
integration of any of its agents serves the whole organization, as an `smtp` integration does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping.integrations import google_gmail
from jasping.integrations.google_api import GoogleApiError, keep_tokens
from jasping.integrations.mail_transport import MailError
from jasping.integrations.models import Integration


def uses_gmail(integration: Integration) -> bool:
    return "gmail" in ((integration.settings or {}).get("uses") or []) and bool(google_gmail.sender(integration))


def org_gmail(session: Session) -> Integration | None:
    """The organization's Google integration that sends mail (the oldest, if several), or None."""
    query = select(Integration).where(Integration.type == "google").order_by(Integration.created_at, Integration.id)
    return next((i for i in session.execute(query).scalars() if uses_gmail(i)), None)


def sender_of(integration: Integration, default_name: str) -> tuple[str, str]:
    """(name, address) of the From header: the business's name and the integration's `send_as`."""
    return default_name, google_gmail.sender(integration) or ""


class GmailMailer:
    """Sends the finished message through the Google account (Gmail reads the recipients from its headers)."""

    def __init__(self, integration: Integration):
        self.integration = integration

    def send(self, *, sender: str, recipients: list[str], message: bytes, name: str) -> str:
        loaded = self.integration.secrets_json
        try:
            message_id = google_gmail.send_message(self.integration, message)
        except GoogleApiError as exc:
            raise MailError(exc.message, retry=exc.retry) from exc
        finally:
            keep_tokens(self.integration, loaded)
        return f"gmail:{message_id}"
