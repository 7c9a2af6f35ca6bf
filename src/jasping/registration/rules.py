"""Retention of registration risk assessments: a security record, kept 12 months from the sign-up — except while the
account still waits for a phone verification or a review (the row is what blocks it); deleted with the account."""

from __future__ import annotations

from sqlalchemy import and_, or_

from jasping.privacy.retention import SECURITY_LOG, Rule, register
from jasping.registration.models import APPROVED, PENDING, RegistrationRisk

R = RegistrationRisk
_settled = and_(
    or_(R.review_status.is_(None), R.review_status != PENDING),
    or_(
        R.verification_required.is_(False),
        R.phone_verified_at.is_not(None),
        R.review_status.in_([APPROVED, "rejected"]),
    ),
)
register(
    Rule(
        "registration_risks",
        "security_log",
        RegistrationRisk,
        lambda ctx: and_(RegistrationRisk.created_at < SECURITY_LOG.before(ctx.now), _settled),
    )
)
