"""The retention rules of the data map's tables: which rows have outlived their period (see `privacy.retention`).

Order matters: files before the conversations that hold them (their stored files go first), conversations, leads,
appointments and consent records before the contacts they refer to.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from jasping.channels.models import Delivery, InboundEvent
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.integrations.mail_models import Email
from jasping.leads.models import Lead
from jasping.privacy import consent
from jasping.privacy.models import ConsentRecord
from jasping.privacy.retention import (
    APPOINTMENT,
    COOKIE_CONSENT,
    LEAD,
    MARKETING_CONSENT,
    TRANSPORT,
    Context,
    Rule,
    register,
    remove_stored_files,
)
from jasping.scheduling.models import Appointment
from jasping.security.mfa_models import AuthChallenge
from jasping.security.sessions import LoginSession

# Tables of the data map without a rule of their own, and why.
NO_RULE = {
    "account_deletions": "deleted with the account (foreign key cascade); a restored one stays as its history",
    "organizations": "kept while the account is active",
    "memberships": "kept while the account is active",
    "api_keys": "kept until revoked or the organization is deleted",
    "integrations": "kept until disconnected",
    "file_copies": "deleted with its file (foreign key cascade)",
    "lead_syncs": "deleted with its lead (foreign key cascade)",
    "csat_ratings": "deleted with its conversation (foreign key cascade)",
    "billing_accounts": "kept while the account is active; dropped when the organization is erased",
    "audit_events": "dropped from the start of the chain with a checkpoint (retention._audit_retention)",
    "mfa_factors": "kept while two-step verification is on; deleted when turned off, or with the account (cascade)",
    "mfa_recovery_codes": "replaced when regenerated; deleted when two-step verification is off, or with the account",
    "platform_operators": "kept while the person operates the platform; deleted with the account (cascade)",
    "legal_pages": "every version of a public page is kept as proof of what was shown; the publisher's id is cleared "
    "with the account",
}


def _files_expired(ctx: Context) -> ColumnElement[bool]:
    return ctx.conversation_expired(ConversationFile.org_id, ConversationFile.created_at)


def _remove_files(session: Session, keys: list) -> list:
    refs = dict(
        session.execute(
            select(ConversationFile.id, ConversationFile.stored_file).where(ConversationFile.id.in_(keys))
        ).all()
    )
    return remove_stored_files(session, refs)


def _remove_conversation_files(session: Session, keys: list) -> list:
    """The conversations whose stored files are all gone (their file rows go with them by cascade)."""
    files = session.execute(
        select(ConversationFile.conversation_id, ConversationFile.id, ConversationFile.stored_file).where(
            ConversationFile.conversation_id.in_(keys)
        )
    ).all()
    removed = set(remove_stored_files(session, {f.id: f.stored_file for f in files}))
    blocked = {f.conversation_id for f in files if f.id not in removed}
    return [k for k in keys if k not in blocked]


def _transport_expired(ctx: Context, model, done: ColumnElement[bool], since: ColumnElement) -> ColumnElement[bool]:  # noqa: ANN001
    """Handled for TRANSPORT, or older than the conversation period whatever its state."""
    return or_(and_(done, since < TRANSPORT.before(ctx.now)), ctx.conversation_expired(model.org_id, model.created_at))


def _emails_expired(ctx: Context) -> ColumnElement[bool]:
    cutoff = TRANSPORT.before(ctx.now)
    finished = or_(
        and_(Email.state == "sent", Email.sent_at < cutoff), and_(Email.state == "dead", Email.created_at < cutoff)
    )
    upcoming = exists().where(Appointment.id == Email.ref, Appointment.end > ctx.now)
    return and_(finished, ~upcoming)


def _cookie_consent_expired(ctx: Context) -> ColumnElement[bool]:
    return and_(ConsentRecord.purpose == consent.CHAT_NOTICE, ConsentRecord.created_at < COOKIE_CONSENT.before(ctx.now))


def _marketing_consent_expired(ctx: Context) -> ColumnElement[bool]:
    """Being contacted and marketing: 3 years after the contact's last record for the purpose; a grant at once when a
    withdrawal follows it (the withdrawal itself is kept, so that nobody writes to the person by mistake)."""
    cutoff = MARKETING_CONSENT.before(ctx.now)
    other = aliased(ConsentRecord)
    same = and_(other.contact_id == ConsentRecord.contact_id, other.purpose == ConsentRecord.purpose)
    recent = exists().where(same, other.created_at >= cutoff)
    withdrawn_later = exists().where(same, other.granted.is_(False), other.created_at > ConsentRecord.created_at)
    return and_(
        ConsentRecord.purpose.in_(consent.MARKETING_PURPOSES),
        or_(
            and_(ConsentRecord.contact_id.is_(None), ConsentRecord.created_at < cutoff),
            and_(ConsentRecord.contact_id.is_not(None), ~recent),
            and_(ConsentRecord.granted.is_(True), withdrawn_later),
        ),
    )


def _signup_notice_orphaned(ctx: Context) -> ColumnElement[bool]:
    """A sign-up's record is kept while the account is and goes with it (cascade); one left without its account."""
    return and_(ConsentRecord.purpose == consent.SIGNUP, ConsentRecord.user_id.is_(None))


def _contacts_expired(ctx: Context) -> ColumnElement[bool]:
    """Contacts seen last before the conversation period, with nothing left that refers to them."""
    referring = (Conversation, Lead, Appointment, ConsentRecord, ConversationFile)
    return and_(
        ctx.conversation_expired(Contact.org_id, Contact.last_seen_at),
        *(~exists().where(m.contact_id == Contact.id) for m in referring),
    )


for _rule in (
    Rule("conversation_files", "file", ConversationFile, _files_expired, _remove_files),
    Rule(
        "conversations",
        "conversation",
        Conversation,
        lambda ctx: ctx.conversation_expired(Conversation.org_id, Conversation.last_message_at),
        _remove_conversation_files,
    ),
    Rule("messages", "conversation", Message, lambda ctx: ctx.conversation_expired(Message.org_id, Message.created_at)),
    Rule(
        "inbound_events",
        "conversation",
        InboundEvent,
        lambda ctx: _transport_expired(
            ctx, InboundEvent, InboundEvent.state.in_(("done", "failed")), InboundEvent.created_at
        ),
    ),
    Rule(
        "deliveries",
        "conversation",
        Delivery,
        lambda ctx: _transport_expired(
            ctx, Delivery, Delivery.state.in_(("sent", "delivered", "read", "failed", "dead")), Delivery.created_at
        ),
    ),
    Rule("emails", "conversation", Email, _emails_expired),
    Rule("leads", "lead", Lead, lambda ctx: func.coalesce(Lead.updated_at, Lead.created_at) < LEAD.before(ctx.now)),
    Rule("appointments", "appointment", Appointment, lambda ctx: Appointment.end < APPOINTMENT.before(ctx.now)),
    Rule("consent_records", "cookie_consent", ConsentRecord, _cookie_consent_expired),
    Rule("consent_records", "marketing_consent", ConsentRecord, _marketing_consent_expired),
    Rule("consent_records", "account", ConsentRecord, _signup_notice_orphaned),
    Rule("contacts", "conversation", Contact, _contacts_expired),
    Rule("login_sessions", "security_log", LoginSession, lambda ctx: LoginSession.expires_at <= ctx.now),
    Rule("auth_challenges", "security_log", AuthChallenge, lambda ctx: AuthChallenge.expires_at <= ctx.now),
):
    register(_rule)

from jasping.billing import jobs as _billing_jobs  # noqa: E402, F401 - invoices: 10 years
from jasping.privacy import account_rules  # noqa: E402, F401 - accounts, users' consents, data requests
from jasping.registration import rules as _registration_rules  # noqa: E402, F401 - registration risk: 12 months
