"""Billing's periodic job (the end of grace periods) and its retention rule (invoices, 10 years)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from jasping import clock
from jasping.billing import mail
from jasping.billing.models import BillingAccount, Invoice
from jasping.billing.state import DUNNING
from jasping.db import after_commit, session_scope
from jasping.jobs.schedule import periodic
from jasping.privacy.retention import BILLING, Rule, register


@periodic("billing_grace_ends", every=timedelta(hours=1), cron={"minute": "37"})
def billing_grace_ends() -> dict:
    """Tell the owners of organizations whose grace period after a failed payment ended: they are on Free now."""
    now, told = clock.now(), 0
    with session_scope() as s:
        due = s.execute(
            select(BillingAccount.org_id).where(
                BillingAccount.status.in_(DUNNING),
                BillingAccount.grace_ends_at <= now,
                BillingAccount.downgraded_at.is_(None),
            )
        ).scalars()
        for org_id in list(due):
            claimed = s.execute(
                update(BillingAccount)
                .where(BillingAccount.org_id == org_id, BillingAccount.downgraded_at.is_(None))
                .values(downgraded_at=now)
            ).rowcount
            if claimed:
                after_commit(s, lambda o=org_id: mail.send_downgraded(o))
                told += 1
    return {"downgraded": told}


register(Rule("invoices", "billing", Invoice, lambda ctx: Invoice.issued_at < BILLING.before(ctx.now)))
