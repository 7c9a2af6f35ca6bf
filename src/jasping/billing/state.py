"""Where an organization stands: the plan it may use now and why (subscribed, trial, grace period, Free, or
billing off), derived from its billing account, its age and the clock — never stored twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jasping import clock
from jasping.billing.models import BillingAccount
from jasping.billing.plans import FREE, PAID, PLANS, TRIAL_PLAN, UNLIMITED, Plan, enabled
from jasping.config import get_settings
from jasping.tenancy.models import Organization

LIVE = ("active", "trialing")  # Stripe statuses that give the plan paid for
DUNNING = ("past_due", "unpaid")  # a payment failed: the plan is kept until the grace period ends


@dataclass(frozen=True)
class Standing:
    """The plan in force and the status shown: off, trial, trialing, active, past_due (in grace), downgraded
    (grace over), canceled, free."""

    plan: Plan
    status: str
    account: BillingAccount | None = None
    trial_ends_at: datetime | None = None

    @property
    def grace_ends_at(self) -> datetime | None:
        return self.account.grace_ends_at if self.account is not None and self.status == "past_due" else None


def trial_end(org: Organization | None) -> datetime | None:
    if org is None or not org.created_at:
        return None
    return org.created_at + timedelta(days=get_settings().billing_trial_days)


def standing(session: Session, org_id: str, now: datetime | None = None) -> Standing:
    """The plan `org_id` may use at `now` (default: the clock's now)."""
    if not enabled():
        return Standing(UNLIMITED, "off")
    now = now or clock.now()
    account = session.get(BillingAccount, org_id)
    paid = PLANS.get(account.plan) if account is not None and account.plan in PAID else None
    if paid is not None and account.status in LIVE:
        return Standing(paid, account.status, account)
    if paid is not None and account.status in DUNNING:
        if account.grace_ends_at is not None and now < account.grace_ends_at:
            return Standing(paid, "past_due", account)
        return Standing(FREE, "downgraded", account)
    ends = trial_end(session.get(Organization, org_id))
    if ends is not None and now < ends and (account is None or account.status in ("none", "incomplete")):
        return Standing(TRIAL_PLAN, "trial", account, ends)
    status = account.status if account is not None and account.status not in ("none", "incomplete") else "free"
    return Standing(FREE, status, account, ends)
