"""The plans, in one place: what each allows (agents, messages a month, channels, seats, knowledge), the trial,
and which Stripe price is which plan. `None` means no limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jasping.config import Settings, get_settings

LIMITS = ("agents", "messages", "channels", "seats", "knowledge_chars")


@dataclass(frozen=True)
class Plan:
    """What an organization may use. `messages` are its customers' messages a calendar month (UTC)."""

    key: str
    name: str
    agents: int | None
    messages: int | None
    channels: int | None  # WhatsApp and Twilio numbers connected (the web widget is always on)
    seats: int | None  # members of the organization
    knowledge_chars: int | None  # text of the knowledge base, all agents together

    def limit(self, name: str) -> int | None:
        return getattr(self, name)

    def as_dict(self) -> dict:
        return asdict(self)


FREE = Plan("free", "Free", agents=1, messages=100, channels=0, seats=1, knowledge_chars=200_000)
STARTER = Plan("starter", "Starter", agents=2, messages=2_000, channels=2, seats=3, knowledge_chars=2_000_000)
PRO = Plan("pro", "Pro", agents=10, messages=20_000, channels=10, seats=15, knowledge_chars=20_000_000)
UNLIMITED = Plan("unlimited", "Unlimited", None, None, None, None, None)  # billing off: self-hosted, no limits

PLANS = {p.key: p for p in (FREE, STARTER, PRO)}
PAID = ("starter", "pro")
TRIAL_PLAN = PRO


def enabled(settings: Settings | None = None) -> bool:
    """Billing is on when the Stripe secret key is set; off, every organization has every feature, no limits."""
    return bool((settings or get_settings()).stripe_secret_key)


def price_of(plan: str, settings: Settings | None = None) -> str | None:
    """The Stripe price id of a paid plan (JASPING_STRIPE_PRICE_STARTER / _PRO)."""
    settings = settings or get_settings()
    return {"starter": settings.stripe_price_starter, "pro": settings.stripe_price_pro}.get(plan)


def plan_of_price(price_id: str | None, settings: Settings | None = None) -> str | None:
    """The plan a Stripe price id stands for, or None for a price this server does not know."""
    for key in PAID:
        if price_id and price_of(key, settings) == price_id:
            return key
    return None
