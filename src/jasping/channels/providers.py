"""The adapter that speaks a connection's provider."""

from __future__ import annotations

from jasping.channels.models import ChannelConnection


def adapter_for(connection: ChannelConnection):  # noqa: ANN201 - WhatsAppAdapter | TwilioSmsAdapter
    if connection.type == "whatsapp":
        from jasping.channels.whatsapp import WhatsAppAdapter

        return WhatsAppAdapter()
    if connection.type == "twilio":
        from jasping.channels.twilio_sms import TwilioSmsAdapter

        return TwilioSmsAdapter()
    raise ValueError(f"no adapter for channel type {connection.type!r}")
