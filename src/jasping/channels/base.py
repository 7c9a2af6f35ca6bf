"""The channel interface: what every edge (web chat, WhatsApp, Twilio SMS and voice) turns its provider's
webhooks into, and what the agent's replies become on the way out.

- `Incoming`: one inbound event — a customer's message (text, a button or list choice, a file, a location,
  shared contacts, a reaction…) or a delivery status — with the provider's id, used to deduplicate.
- `Outgoing`: one reply — text, quick replies, a list of choices, a file, or an approved template.
- `Capabilities`: what a channel can show. `Outgoing.fit()` degrades what it cannot into text ("1. …, 2. …"),
  so that the agent's reply reaches an SMS or a phone call as well as WhatsApp.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from jasping.agent.llm.base import AgentStep


@dataclass(frozen=True)
class Incoming:
    """An inbound event, normalised. `kind` is "message" or "status"."""

    kind: str
    provider_id: str  # the provider's id of the message (or of the message a status is about)
    sender: str = ""  # the customer's address: E.164 phone number
    sender_name: str = ""  # the name the customer's app shows (WhatsApp profile name)
    type: str = "text"  # text | choice | media | location | contacts | reaction | unsupported | status
    text: str = ""  # what the agent reads: the text, the chosen button's title, a description of the rest
    choice_id: str | None = None  # the id of a button or list row the customer chose
    media: dict | None = None  # {"id", "mime_type", "filename", "caption"} to download through the provider
    status: str | None = None  # sent | delivered | read | failed (kind == "status")
    error: str | None = None  # the provider's error for a failed status
    timestamp: int = 0  # the provider's Unix time
    reply_to: str | None = None  # the provider id of the message this one answers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Incoming:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Capabilities:
    buttons: int = 0  # how many reply buttons a message may carry (0: none)
    list_rows: int = 0  # how many rows a list may hold (0: no lists)
    button_chars: int = 20  # the longest button title
    media: bool = False
    templates: bool = False
    max_chars: int = 4096


@dataclass(frozen=True)
class Outgoing:
    """A reply for a channel. `buttons` are quick replies; `choices` a longer list (slots, services)."""

    text: str
    buttons: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    media: dict | None = None  # {"file_id" | "link", "type", "caption"}
    template: dict | None = None  # {"name", "language", "parameters": [...]} (WhatsApp, outside 24 h)

    @classmethod
    def from_step(cls, step: AgentStep) -> Outgoing:
        """The agent's reply: its quick replies become buttons (a list when there are many)."""
        return cls(text=step.text, buttons=list(step.quick_replies))

    def fit(self, caps: Capabilities) -> Outgoing:
        """This reply as `caps` can show it: options a channel cannot show as buttons or a list are written
        into the text as a numbered list (a customer answers with the number or the words)."""
        options = self.buttons + self.choices
        if not options:
            return replace(self, text=self.text[: caps.max_chars])
        fits_buttons = len(options) <= caps.buttons and all(len(o) <= caps.button_chars for o in options)
        if fits_buttons:
            return replace(self, buttons=options, choices=[], text=self.text[: caps.max_chars])
        if caps.list_rows and len(options) <= caps.list_rows and all(len(o) <= 24 for o in options):
            return replace(self, buttons=[], choices=options, text=self.text[: caps.max_chars])
        listed = "\n".join(f"{n}. {o}" for n, o in enumerate(options, 1))
        return replace(self, text=f"{self.text}\n{listed}"[: caps.max_chars], buttons=[], choices=[])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Outgoing:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class ProviderError(Exception):
    """A provider refused or failed a request. `retry`: worth trying again later (5xx, 429, network);
    `window_closed`: WhatsApp's 24-hour window is over, only a template may be sent; `opted_out`: the customer
    told the provider to stop (SMS STOP), nothing more may be sent to them."""

    def __init__(
        self,
        message: str,
        *,
        retry: bool,
        window_closed: bool = False,
        code: str | None = None,
        opted_out: bool = False,
    ):
        super().__init__(message)
        self.retry, self.window_closed, self.code, self.opted_out = retry, window_closed, code, opted_out


@dataclass(frozen=True)
class Sent:
    provider_id: str  # the provider's id of the sent message (statuses refer to it)
