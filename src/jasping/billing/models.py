"""Tables of billing: each organization's subscription state, Stripe events seen, monthly usage, invoices.

Invoices are billing records kept 10 years (DESIGN's retention table), so they outlive the organization: their
`org_id` is set to NULL when the organization is erased (`billing.service.detach_organization`), never cascaded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jasping import clock
from jasping.crypto import PLATFORM, EncryptedText
from jasping.db import Base, TenantScoped, Timestamped, UtcDateTime


class BillingAccount(TenantScoped, Base):
    """An organization's place in billing: its Stripe customer and subscription, and the state the webhooks built.

    `state_at` is the Stripe time (the event's `created`) of the snapshot applied last: an older event never
    overwrites a newer one, whatever order they arrive in."""

    __tablename__ = "billing_accounts"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subscription_created: Mapped[int | None] = mapped_column(BigInteger)  # the subscription's own `created`
    plan: Mapped[str] = mapped_column(String(16), default="free")  # the plan paid for (see plans.py)
    status: Mapped[str] = mapped_column(String(24), default="none")  # Stripe's subscription status, or none
    currency: Mapped[str | None] = mapped_column(String(3))
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    state_at: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # dunning: first failure not yet paid
    grace_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    downgraded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the grace ended: Free, owners told
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)


class StripeEvent(Timestamped, Base):
    """A Stripe event received once (its id is the key): what it was about and what it did, never its payload."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    created: Mapped[int] = mapped_column(BigInteger)
    object_id: Mapped[str | None] = mapped_column(String(80))
    org_id: Mapped[str | None] = mapped_column(String(40), index=True)  # no foreign key: outlives the organization
    outcome: Mapped[str] = mapped_column(String(40), default="received")


class UsageCounter(TenantScoped, Base):
    """Messages of an organization's customers in one calendar month (UTC), counted by one atomic upsert each; the
    80 % and 100 % warnings are sent once a month, claimed by a conditional UPDATE of their column."""

    __tablename__ = "usage_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-12
    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    messages: Mapped[int] = mapped_column(Integer, default=0)
    warned_80_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warned_100_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Invoice(Timestamped, Base):
    """A Stripe invoice as a billing record (10 years). Amounts in the currency's minor unit (cents, santimat)."""

    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # Stripe's invoice id
    org_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))  # draft, open, paid, void, uncollectible
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    invoice_pdf: Mapped[str | None] = mapped_column(Text)
    customer_name: Mapped[str | None] = mapped_column(EncryptedText)  # who was billed, as on the invoice
    customer_email: Mapped[str | None] = mapped_column(EncryptedText)
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)  # Stripe's `created`
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state_at: Mapped[int] = mapped_column(BigInteger, default=0)  # `created` of the event applied last
    receipt_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    crypto_scope = PLATFORM  # readable after the organization (and its data key) is erased
