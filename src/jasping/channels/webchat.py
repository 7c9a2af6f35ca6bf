"""Web chat (the widget) on the channel interface: a visitor's message is an `Incoming` (its client message id
is the provider id that deduplicates retries), and a reply is an `Outgoing` fitted to what the widget shows."""

from __future__ import annotations

from jasping.agent.llm.base import AgentStep
from jasping.channels.base import Capabilities, Incoming, Outgoing

CAPABILITIES = Capabilities(buttons=12, list_rows=0, button_chars=80, media=True, templates=False, max_chars=8000)


def incoming(text: str, client_message_id: str | None) -> Incoming:
    return Incoming(kind="message", provider_id=client_message_id or "", type="text", text=text)


def outgoing(step: AgentStep) -> Outgoing:
    """The reply as the widget shows it: text and quick-reply buttons."""
    return Outgoing.from_step(step).fit(CAPABILITIES)
