"""Deleting an account: a 30-day soft delete, restorable through a signed emailed link, then erasure.

`request_deletion` (after the password was entered again) deactivates the account at once — login refused with a
clear message, every session ended, the person no longer named as the business's contact — and emails a restore
link valid 30 days (`restore_url`; signed with a key derived from the master key, see `jasping.signing`). Once the
30 days have passed, the daily retention job (`privacy.account_rules`) calls `erase_accounts`: the organizations
the user was the sole owner of are erased with everything in them (rows, stored files, their data keys), the
`ERASURE_HOOKS` run, and the user's row goes with its memberships, sessions, consents and deletion requests.

Billing keeps its records 10 years, detached from what is erased: `erase_organization` first lets
`billing.service.detach_organization` unlink the organization's invoices (the invoice's own name and address stay,
as the law requires) and drop its billing account and usage counters. Invoices name no user, so no
`ERASURE_HOOKS` entry is needed for them; the list stays for other records tied to a person.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from jasping import clock, signing, storage
from jasping.config import get_settings
from jasping.conversations.models import Contact, ConversationFile
from jasping.crypto import DataKey, contact_scope
from jasping.db import after_commit, new_id, unscoped
from jasping.errors import Conflict, DomainError, Forbidden, Unauthorized
from jasping.knowledge.models import Source
from jasping.privacy import requests
from jasping.privacy.account_models import AccountDeletion
from jasping.privacy.retention import ACCOUNT_DELETION
from jasping.security import audit, passwords, sessions
from jasping.security.audit import Actor
from jasping.tenancy.models import ApiKey, Membership, Organization, Role, User

log = logging.getLogger(__name__)

PURPOSE = "account restore links"
PATH = "/account/restore"
_TOKEN = re.compile(r"^(acd_[0-9a-f]{20})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")

# Called as hook(session, user_id) during erasure, before the user's row is deleted (billing detaches its records).
ERASURE_HOOKS: list[Callable[[Session, str], None]] = []


class RestoreLinkInvalid(DomainError):
    status, code = 400, "link_invalid"


class RestoreLinkExpired(DomainError):
    status, code = 410, "link_expired"


class RestoreLinkUsed(Conflict):
    code = "link_used"


class AccountPendingDeletion(Unauthorized):
    """The right password for an account being deleted: refused, with what to do."""

    status, code = 403, "account_deleted"


@dataclass(frozen=True)
class Scheduled:
    deletion: AccountDeletion
    organizations: list[Organization]  # erased with the account (the user is their sole owner)


def pending(session: Session, user_id: str) -> AccountDeletion | None:
    """The user's deletion that has not been restored (there is at most one)."""
    query = select(AccountDeletion).where(AccountDeletion.user_id == user_id, AccountDeletion.restored_at.is_(None))
    return session.execute(query.order_by(AccountDeletion.requested_at.desc()).limit(1)).scalar()


def check_login_allowed(session: Session, user: User) -> None:
    """Raise `AccountPendingDeletion` for an account waiting for its erasure (call once the password is right)."""
    deletion = pending(session, user.id)
    if deletion is not None:
        when = deletion.erase_after.date().isoformat()
        audit.record(
            session,
            actor=Actor("user", user.id),
            action="auth.login_refused",
            object_type="user",
            object_id=user.id,
            detail={"reason": "account_deleted"},
        )
        raise AccountPendingDeletion(
            f"this account was deleted at its owner's request and will be erased on {when}; to keep it, open the "
            "restore link we emailed to its address",
        )


def sole_owned(session: Session, user_id: str) -> list[Organization]:
    """The organizations where the user is the only owner."""
    owners = (
        select(Membership.org_id)
        .where(Membership.role == Role.owner.value)
        .group_by(Membership.org_id)
        .having(func.count() == 1)
    )
    query = (
        select(Organization)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id, Membership.role == Role.owner.value, Organization.id.in_(owners))
        .order_by(Organization.created_at, Organization.id)
    )
    with unscoped(session):  # every organization, whichever the caller acts in
        return list(session.execute(query).scalars())


def request_deletion(session: Session, *, user: User, password: str, ip: str | None = None) -> Scheduled:
    """Soft-delete the account after checking its password again; the restore link is emailed after commit."""
    actor = Actor("user", user.id, ip)
    if not passwords.verify_password(user.password_hash, password or ""):
        raise Forbidden("the password is not right: enter your current password to delete the account", code="step_up")
    if pending(session, user.id) is not None:
        raise Conflict("this account is already being deleted", code="already_deleting")
    now = clock.now()
    tracked = requests.open_request(
        session, subject_type=requests.USER, subject_id=user.id, right="erasure", channel="self_service", actor=actor
    )
    erase_after = now + timedelta(days=ACCOUNT_DELETION.days)
    deletion = AccountDeletion(
        id=new_id("acd"), user_id=user.id, requested_at=now, erase_after=erase_after, request_id=tracked.id
    )
    tracked.status, tracked.completes_at = requests.IN_PROGRESS, deletion.erase_after
    requests.add_note(tracked, f"account deactivated at once; erased on {deletion.erase_after.date()} unless restored")
    session.add(deletion)
    user.is_active = False
    sessions.end_all_for_user(session, user.id)
    orgs = sole_owned(session, user.id)
    audit.record(
        session,
        actor=actor,
        action="account.delete_requested",
        object_type="user",
        object_id=user.id,
        detail={"erase_after": deletion.erase_after.isoformat(), "organizations": [o.id for o in orgs]},
    )
    session.flush()
    deletion_id = deletion.id

    def send() -> None:
        from jasping.privacy.account_mail import send_restore_link

        send_restore_link(deletion_id)

    after_commit(session, send)
    return Scheduled(deletion, orgs)


def restore_token(deletion: AccountDeletion) -> str:
    return signing.sign(PURPOSE, f"{deletion.id}.{int(deletion.erase_after.timestamp())}")


def restore_url(deletion: AccountDeletion) -> str:
    return f"{get_settings().base_url.rstrip('/')}{PATH}?token={restore_token(deletion)}"


def check_token(session: Session, token: str) -> AccountDeletion:
    """The deletion a restore link names, if it can still be restored: 400 changed, 410 expired, 409 used."""
    match = _TOKEN.match(token or "")
    if not match or not signing.verify(PURPOSE, f"{match[1]}.{match[2]}", match[3]):
        raise RestoreLinkInvalid("this restore link is incomplete or was changed; open the link from the email as is")
    deletion = session.get(AccountDeletion, match[1])
    if clock.now() >= datetime.fromtimestamp(int(match[2]), UTC) or deletion is None:
        raise RestoreLinkExpired("this restore link has expired: the 30 days are over and the account was erased")
    if deletion.restored_at is not None:
        raise RestoreLinkUsed("this account was already restored with this link; log in as usual")
    return deletion


def restore(session: Session, token: str, *, ip: str | None = None) -> User:
    """Bring the account back (the link is then used up)."""
    deletion = check_token(session, token)
    user = session.get(User, deletion.user_id)
    deletion.restored_at = clock.now()
    user.is_active = True
    if deletion.request_id and (tracked := session.get(requests.DataRequest, deletion.request_id)) is not None:
        if tracked.is_open:
            tracked.completes_at = None
            requests.close_request(
                session, request_id=tracked.id, status="withdrawn", note="account restored through the emailed link"
            )
    audit.record(
        session, actor=Actor("user", user.id, ip), action="account.restored", object_type="user", object_id=user.id
    )
    return user


def _forget_indexes_after_commit(session: Session, org_id: str) -> None:
    """The agents' search indexes stored on disk (knowledge.persist) go with the organization, once erased."""
    from jasping.agents.models import Agent
    from jasping.db import after_commit
    from jasping.knowledge import persist

    agent_ids = list(session.execute(select(Agent.id).where(Agent.org_id == org_id)).scalars())
    after_commit(session, lambda: [persist.forget_agent(a) for a in agent_ids])


def erase_organization(session: Session, org_id: str) -> None:
    """Erase an organization with everything in it: stored files first (`StorageUnavailable` when the store is down:
    nothing is deleted and the caller tries again later), then its rows (foreign keys cascade) and its data keys, so
    that any copy left in a backup cannot be decrypted."""
    refs = [
        *session.execute(select(Source.stored_file).where(Source.org_id == org_id, Source.stored_file.is_not(None))),
        *session.execute(
            select(ConversationFile.stored_file).where(
                ConversationFile.org_id == org_id, ConversationFile.stored_file.is_not(None)
            )
        ),
    ]
    for (ref,) in refs:
        storage.delete(ref, strict=True)
    contacts = [contact_scope(c) for c in session.execute(select(Contact.id).where(Contact.org_id == org_id)).scalars()]
    from jasping.billing.service import detach_organization  # billing imports the account models: import late

    detach_organization(session, org_id)  # invoices are kept 10 years, without the link to the organization
    _forget_indexes_after_commit(session, org_id)
    session.execute(delete(Organization).where(Organization.id == org_id))
    session.execute(delete(DataKey).where(DataKey.scope.in_([org_id, *contacts])))  # per-contact keys too
    audit.record(
        session,
        actor=audit.SYSTEM,
        action="organization.erase",
        org_id=org_id,
        object_type="organization",
        object_id=org_id,
    )


def erase_accounts(session: Session, user_ids: list) -> list:
    """Before the retention job deletes these users' rows: erase what goes with each account. Answers the users
    ready to go (a file store that is down keeps a user, and their organizations, for the next run)."""
    ready = []
    for user_id in user_ids:
        try:
            with session.begin_nested():
                organizations = [o.id for o in sole_owned(session, user_id)]
                for org_id in organizations:
                    erase_organization(session, org_id)
                session.execute(update(ApiKey).where(ApiKey.created_by == user_id).values(created_by=None))
                for hook in ERASURE_HOOKS:
                    hook(session, user_id)
                deletion = pending(session, user_id)
                tracked = session.get(requests.DataRequest, deletion.request_id) if deletion else None
                if tracked is not None and tracked.is_open:
                    tracked.completes_at = None
                    requests.close_request(
                        session, request_id=tracked.id, note=f"account erased on {clock.now().date()}"
                    )
                audit.record(
                    session,
                    actor=audit.SYSTEM,
                    action="account.erased",
                    object_type="user",
                    object_id=user_id,
                    detail={"organizations": organizations},
                )
        except storage.StorageUnavailable:
            log.warning("account erasure: the file store is unavailable; user %s kept for the next run", user_id)
            continue
        ready.append(user_id)
    return ready
