"""Retention rules of account rights (registered by `privacy.retention_rules`): accounts erased 30 days after their
deletion was requested, users' marketing consent, and closed data-subject requests."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists

from jasping.privacy import account_consents
from jasping.privacy.account_deletion import erase_accounts
from jasping.privacy.account_models import AccountConsent, AccountDeletion
from jasping.privacy.requests import CLOSED, DataRequest
from jasping.privacy.retention import Context, Period, Rule, register
from jasping.tenancy.models import User

REQUEST_RECORDS = Period(months=36)  # a closed request is kept as proof the right was honoured (GDPR art. 5(2))


def accounts_expired(ctx: Context) -> ColumnElement[bool]:
    """Deactivated accounts whose deletion, never restored, is older than its 30 days."""
    due = exists().where(
        AccountDeletion.user_id == User.id,
        AccountDeletion.restored_at.is_(None),
        AccountDeletion.erase_after <= ctx.now,
    )
    return and_(User.is_active.is_(False), due)


def requests_expired(ctx: Context) -> ColumnElement[bool]:
    return and_(DataRequest.status.in_(CLOSED), DataRequest.closed_at < REQUEST_RECORDS.before(ctx.now))


for _rule in (
    Rule("users", "account", User, accounts_expired, erase_accounts),
    Rule("account_consents", "marketing_consent", AccountConsent, account_consents.expired),
    Rule("data_requests", "rights_request", DataRequest, requests_expired),
):
    register(_rule)
