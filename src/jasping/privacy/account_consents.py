"""A user's marketing consent: granted and withdrawn with its history (GDPR art. 7).

Every decision is a new `AccountConsent` row — the notice version shown, the time, the method (API, dashboard) and
a keyed hash of the IP address; rows are never updated. The current state is the latest row. Retention (DESIGN):
3 years from the last decision, and the grants erased once a later withdrawal exists (the withdrawal itself is kept,
so that nobody writes to the person again by mistake). See `privacy.account_rules`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from jasping import clock
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id
from jasping.errors import Invalid
from jasping.privacy.account_models import AccountConsent
from jasping.privacy.retention import MARKETING_CONSENT, Context
from jasping.security import audit
from jasping.security.audit import Actor

MARKETING = "marketing_email"
PURPOSES = (MARKETING,)
METHODS = ("api", "dashboard", "registration")
NOTICE_VERSION = "2026-11"  # the wording of the marketing notice currently shown (docs/privacy.md)
NOTICE = {
    "en": "Send me news about JasPing products and offers by email. I can withdraw at any time.",
    "fr": "Envoyez-moi par email des nouvelles des produits et offres JasPing. "
    "Je peux retirer mon accord à tout moment.",
}


def record(
    session: Session,
    *,
    user_id: str,
    granted: bool,
    method: str,
    notice_version: str = NOTICE_VERSION,
    purpose: str = MARKETING,
    ip: str | None = None,
) -> AccountConsent:
    """Append a decision of the user (granted or withdrawn)."""
    if purpose not in PURPOSES:
        raise Invalid(f"purpose: one of {', '.join(PURPOSES)}", code="invalid_purpose")
    if method not in METHODS:
        raise Invalid(f"method: one of {', '.join(METHODS)}", code="invalid_method")
    notice_version = (notice_version or "").strip()
    if not 1 <= len(notice_version) <= 40:
        raise Invalid("notice_version: the version of the notice shown (1 to 40 characters)", code="invalid")
    row = AccountConsent(
        id=new_id("acn"),
        user_id=user_id,
        purpose=purpose,
        granted=granted,
        notice_version=notice_version,
        method=method,
        ip_hash=get_keyring().blind_index(PLATFORM, ip) if ip else None,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=Actor("user", user_id, ip),
        action="account.consent_granted" if granted else "account.consent_withdrawn",
        object_type="user",
        object_id=user_id,
        detail={"purpose": purpose, "notice_version": notice_version, "method": method},
    )
    return row


def history(session: Session, user_id: str) -> list[AccountConsent]:
    """Every decision kept for the user, oldest first."""
    query = select(AccountConsent).where(AccountConsent.user_id == user_id)
    return list(session.execute(query.order_by(AccountConsent.created_at, AccountConsent.id)).scalars())


def current(session: Session, user_id: str) -> dict[str, bool]:
    """Whether each purpose is granted now (the latest decision kept; none means not granted)."""
    state = dict.fromkeys(PURPOSES, False)
    for row in history(session, user_id):
        state[row.purpose] = row.granted
    return state


def expired(ctx: Context) -> ColumnElement[bool]:
    """Rows of users whose last decision is 3 years old, and grants followed by a withdrawal."""
    cutoff = MARKETING_CONSENT.before(ctx.now)
    other = aliased(AccountConsent)
    same = and_(other.user_id == AccountConsent.user_id, other.purpose == AccountConsent.purpose)
    recent = exists().where(same, other.created_at >= cutoff)
    withdrawn_later = exists().where(same, other.granted.is_(False), other.created_at > AccountConsent.created_at)
    return or_(~recent, and_(AccountConsent.granted.is_(True), withdrawn_later))
