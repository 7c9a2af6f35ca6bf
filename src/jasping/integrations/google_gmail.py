"""Gmail for a connected integration: a finished RFC 822 message sent as the account (users.messages.send,
`gmail.send` scope). Gmail delivers to the message's To, Cc and Bcc headers; its From should be the integration's
`send_as` address (the account's own, or an alias configured in Gmail), or Gmail puts the account's there.
"""

from __future__ import annotations

import base64

from jasping.integrations.google_api import call
from jasping.integrations.models import Integration


def sender(integration: Integration) -> str | None:
    """The From address chosen when connecting."""
    return (integration.settings or {}).get("send_as")


def send_message(integration: Integration, message: bytes) -> str:
    """Send the message (bytes of an RFC 822 message, headers included); returns Gmail's message id."""
    raw = base64.urlsafe_b64encode(message).decode("ascii")
    return call(integration, "POST", "gmail", "gmail/v1/users/me/messages/send", json={"raw": raw}).json()["id"]
