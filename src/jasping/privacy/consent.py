"""Consent records (GDPR art. 7): the chat's privacy notice accepted by a visitor, the agreement to be contacted about
a request, marketing, and the platform's privacy notice accepted by a user signing up. Each record keeps the wording
shown, the version of the notice in force (`privacy.pages`), how consent was expressed (`METHODS`), the channel, the
time and a keyed hash of the address it came from — what a business needs to show that consent was given.

A withdrawal is a new record (`granted` false) and stops the related processing at once (`withdraw`): a chat notice
withdrawn ends the conversation (its session token no longer works), marketing withdrawn stops the lead syncs to
marketing sinks (integrations whose settings say `"purpose": "marketing"`), being contacted withdrawn clears the
lead's consent.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.conversations.models import Contact, Conversation
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import new_id
from jasping.errors import Invalid
from jasping.privacy.models import ConsentRecord
from jasping.security import audit
from jasping.security.audit import Actor

CHAT_NOTICE = "chat_privacy_notice"  # cookie/chat consent: 6 months
CONTACT = "contact_about_request"  # marketing_consent category: 3 years from the last consent, or until withdrawn
MARKETING = "marketing"  # news and offers from the business: 3 years from the last consent, or until withdrawn
SIGNUP = "account_privacy_notice"  # a user signing up accepts the platform's privacy notice: kept with the account
CONTACT_PURPOSES = (CHAT_NOTICE, CONTACT, MARKETING)
PURPOSES = (*CONTACT_PURPOSES, SIGNUP)
MARKETING_PURPOSES = (CONTACT, MARKETING)  # retention: 3 years from the last consent, grants go once withdrawn
METHODS = (
    "checkbox",  # ticked a box
    "button",  # pressed a button next to the notice (the sign-up form)
    "implied_by_message",  # sent a message under the notice (the chat widget)
    "dialogue",  # answered the agent's question in the conversation
    "verbal_phone",  # said yes on a call
    "written",  # a signed form or an email kept by the business
    "api",  # recorded by the business's system through the API
    "dashboard",  # recorded by a member in the dashboard
    "widget_link",  # the visitor's own withdrawal from the widget
)
MARKETING_TEXT = {
    "en": "I agree to receive news and offers from this business. I can withdraw at any time.",
    "fr": "J'accepte de recevoir des nouvelles et offres de cette entreprise. "
    "Je peux retirer mon accord à tout moment.",
}
WITHDRAWAL_TEXT = "Consent withdrawn"
IP_PURPOSE = "consent ip"


def ip_hash(scope: str, ip: str | None) -> str | None:
    """A keyed hash of the address (never the address): the same address gives the same hash within `scope`."""
    return get_keyring().mac(scope, ip, IP_PURPOSE) if ip else None


def _checked(purpose: str, method: str | None, purposes: tuple[str, ...] = PURPOSES) -> None:
    if purpose not in purposes:
        raise Invalid(f"purpose: one of {', '.join(purposes)}", code="invalid_purpose")
    if method is not None and method not in METHODS:
        raise Invalid(f"method: one of {', '.join(METHODS)}", code="invalid_method")


def record(
    session: Session,
    conversation: Conversation,
    *,
    purpose: str,
    wording: str,
    granted: bool = True,
    policy_url: str | None = None,
    language: str | None = None,
    notice_version: str | None = None,
    method: str | None = None,
    ip: str | None = None,
) -> ConsentRecord:
    """Append a consent record for the conversation's contact (method: an answer in the dialogue unless said)."""
    method = method or ("verbal_phone" if conversation.channel == "voice" else "dialogue")
    _checked(purpose, method, CONTACT_PURPOSES)
    row = ConsentRecord(
        id=new_id("cns"),
        org_id=conversation.org_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        purpose=purpose,
        granted=granted,
        channel=conversation.channel,
        wording=wording,
        policy_url=policy_url,
        language=language,
        notice_version=notice_version,
        method=method,
        ip_hash=ip_hash(conversation.org_id, ip),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def record_once(
    session: Session, conversation: Conversation, *, purpose: str, **fields: object
) -> tuple[ConsentRecord, bool]:
    """The conversation's granted record for `purpose`, created if there is none; True when created now."""
    existing = session.execute(
        select(ConsentRecord)
        .where(
            ConsentRecord.conversation_id == conversation.id,
            ConsentRecord.purpose == purpose,
        )
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    ).scalar()
    if existing is not None and existing.granted:
        return existing, False
    if existing is not None:  # withdrawn in this conversation: the conversation is over, nothing to accept again
        raise Invalid("consent was withdrawn in this conversation; start a new one", code="consent_withdrawn")
    return record(session, conversation, purpose=purpose, **fields), True  # type: ignore[arg-type]


def record_for_contact(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    granted: bool,
    wording: str,
    method: str,
    actor: Actor,
    channel: str = "api",
    notice_version: str | None = None,
    policy_url: str | None = None,
    language: str | None = None,
    conversation_id: str | None = None,
) -> ConsentRecord:
    """A consent the business obtained (a form, a call, a signed paper) or a decision of the contact, recorded
    through the API or the dashboard; a withdrawal goes through `withdraw` for its effects."""
    _checked(purpose, method, CONTACT_PURPOSES)
    if not granted:
        return withdraw(session, contact, purpose=purpose, method=method, actor=actor, conversation_id=conversation_id)
    row = ConsentRecord(
        id=new_id("cns"),
        org_id=contact.org_id,
        contact_id=contact.id,
        conversation_id=conversation_id,
        purpose=purpose,
        granted=True,
        channel=channel[:16],
        wording=wording,
        policy_url=policy_url,
        language=language,
        notice_version=notice_version,
        method=method,
        ip_hash=ip_hash(contact.org_id, actor.ip),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="consent.granted",
        org_id=contact.org_id,
        object_type="contact",
        object_id=contact.id,
        detail={"purpose": purpose, "method": method, "notice_version": notice_version},
    )
    return row


def record_signup(
    session: Session,
    *,
    user_id: str,
    org_id: str,
    wording: str,
    notice_version: str,
    policy_url: str,
    ip: str | None,
    channel: str = "dashboard",
    method: str = "button",
    language: str | None = None,
) -> ConsentRecord:
    """A user signing up accepted the platform's privacy notice (shown next to the form's button, or by an API
    client that sent `accept_privacy_notice`)."""
    row = ConsentRecord(
        id=new_id("cns"),
        org_id=org_id,
        user_id=user_id,
        purpose=SIGNUP,
        granted=True,
        channel=channel,
        wording=wording,
        policy_url=policy_url,
        notice_version=notice_version,
        language=language,
        method=method,
        ip_hash=ip_hash(PLATFORM, ip),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def marketing_answer(
    session: Session, conversation: Conversation, granted: bool, wording: str | None, language: str | None
) -> ConsentRecord:
    """The marketing opt-in given with a lead: a grant, a refusal, or (after a grant) a withdrawal with its effects."""
    if not granted and granted_now(session, conversation.contact_id, MARKETING):
        contact = session.get(Contact, conversation.contact_id)
        actor = Actor("visitor", conversation.id)
        return withdraw(
            session,
            contact,
            purpose=MARKETING,
            method="dialogue",
            actor=actor,
            conversation_id=conversation.id,
            channel=conversation.channel,
        )
    lang = (language or "en")[:2]
    text = (wording or "").strip() or MARKETING_TEXT.get(lang, MARKETING_TEXT["en"])
    return record(session, conversation, purpose=MARKETING, granted=granted, wording=text, language=language)


SIGNUP_NOTICE = {
    "en": "By creating an account you accept the privacy policy.",
    "fr": "En créant un compte, vous acceptez la politique de confidentialité.",
}


def signup_notice_in_force(session: Session, *, accepted: bool | None, version: str | None, lang: str) -> str:
    """The privacy policy's version an API sign-up accepts (`privacy/vN`): refused (422) unless the client says the
    person accepted it, and when it names the version it showed, unless that is the one in force."""
    from jasping.privacy import pages

    in_force = pages.in_force(session, "privacy", lang=lang if lang in SIGNUP_NOTICE else "en").label
    if accepted is not True:
        raise Invalid(
            "signing up needs the person's acceptance of the privacy policy (/privacy, version "
            f'{in_force} in force): show it and send "accept_privacy_notice": true',
            code="consent_required",
        )
    if version is not None and version.strip() != in_force:
        raise Invalid(
            f"privacy_notice_version: {version.strip()[:60]!r} is not the privacy policy in force; {in_force} is — "
            "show that version and send its label",
            code="notice_not_in_force",
        )
    return in_force


def record_signup_notice(
    session: Session,
    *,
    user_id: str,
    org_id: str,
    lang: str,
    ip: str | None,
    channel: str = "dashboard",
    method: str = "button",
) -> ConsentRecord:
    """The sign-up's notice (next to the form's button, or accepted through the API), with the privacy policy's
    version in force."""
    from jasping.privacy import pages

    lang = lang if lang in SIGNUP_NOTICE else "en"
    policy = pages.in_force(session, "privacy", lang=lang)
    return record_signup(
        session,
        user_id=user_id,
        org_id=org_id,
        wording=SIGNUP_NOTICE[lang],
        notice_version=policy.label,
        policy_url=pages.platform_url("privacy"),
        ip=ip,
        channel=channel,
        method=method,
        language=lang,
    )


def latest(session: Session, contact_id: str, purpose: str) -> ConsentRecord | None:
    """The contact's latest decision for `purpose` (None: never asked)."""
    return session.execute(
        select(ConsentRecord)
        .where(ConsentRecord.contact_id == contact_id, ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    ).scalar()


def granted_now(session: Session, contact_id: str | None, purpose: str) -> bool:
    """Whether the contact's latest decision for `purpose` is a grant."""
    row = latest(session, contact_id, purpose) if contact_id else None
    return row is not None and row.granted


def withdraw(
    session: Session,
    contact: Contact,
    *,
    purpose: str,
    method: str,
    actor: Actor,
    conversation_id: str | None = None,
    channel: str | None = None,
) -> ConsentRecord:
    """Record the withdrawal and stop what the consent allowed, in the same transaction."""
    _checked(purpose, method, CONTACT_PURPOSES)
    before = latest(session, contact.id, purpose)
    row = ConsentRecord(
        id=new_id("cns"),
        org_id=contact.org_id,
        contact_id=contact.id,
        conversation_id=conversation_id,
        purpose=purpose,
        granted=False,
        channel=channel or ("web" if method == "widget_link" else "api"),
        wording=WITHDRAWAL_TEXT,
        notice_version=before.notice_version if before else None,
        method=method,
        ip_hash=ip_hash(contact.org_id, actor.ip),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    stopped = _stop(session, contact, purpose, conversation_id)
    audit.record(
        session,
        actor=actor,
        action="consent.withdrawn",
        org_id=contact.org_id,
        object_type="contact",
        object_id=contact.id,
        detail={"purpose": purpose, "method": method, "stopped": stopped},
    )
    return row


def withdraw_all(
    session: Session, contact: Contact, *, method: str, actor: Actor, conversation_id: str | None = None
) -> list[ConsentRecord]:
    """Withdraw every consent the contact has granted, and the chat notice last (it ends the conversation), in the
    caller's transaction: the widget's "withdraw my consent"."""
    rows = [
        withdraw(session, contact, purpose=p, method=method, actor=actor, conversation_id=conversation_id)
        for p in MARKETING_PURPOSES
        if granted_now(session, contact.id, p)
    ]
    rows.append(
        withdraw(session, contact, purpose=CHAT_NOTICE, method=method, actor=actor, conversation_id=conversation_id)
    )
    return rows


def _stop(session: Session, contact: Contact, purpose: str, conversation_id: str | None) -> dict[str, int]:
    """The processing the withdrawn consent allowed, stopped now; counts of what was stopped."""
    from jasping.leads.models import Lead, LeadSync

    if purpose == CHAT_NOTICE:
        query = select(Conversation).where(Conversation.contact_id == contact.id, Conversation.channel == "web")
        if conversation_id:
            query = query.where(Conversation.id == conversation_id)
        ended = 0
        for conversation in session.execute(query).scalars():
            if conversation.session_token_hash is not None or conversation.status != "closed":
                conversation.status, conversation.flow, conversation.session_token_hash = "closed", None, None
                ended += 1
        return {"conversations_ended": ended}
    leads = select(Lead.id).where(Lead.contact_id == contact.id)
    if purpose == CONTACT:
        result = session.execute(
            update(Lead)
            .where(Lead.contact_id == contact.id, Lead.consent.is_(True))
            .values(consent=False, consent_at=None, consent_text=None)
            .execution_options(synchronize_session=False)
        )
        return {"leads": result.rowcount or 0}
    stopped = 0
    syncs = session.execute(
        select(LeadSync).where(LeadSync.lead_id.in_(leads), LeadSync.state.in_(("queued", "failed", "dead")))
    ).scalars()
    for sync in syncs:
        if is_marketing_sink(session, sync.integration_id):
            sync.state, sync.last_error = "withdrawn", "marketing consent withdrawn"
            stopped += 1
    return {"lead_syncs_stopped": stopped}


def is_marketing_sink(session: Session, integration_id: str) -> bool:
    from jasping.integrations.models import Integration

    integration = session.get(Integration, integration_id)
    return integration is not None and (integration.settings or {}).get("purpose") == MARKETING


def sink_allowed(session: Session, contact_id: str | None, integration) -> bool:  # noqa: ANN001
    """Whether a lead may go to this sink: a marketing sink only receives contacts whose marketing consent holds."""
    if (integration.settings or {}).get("purpose") != MARKETING:
        return True
    return granted_now(session, contact_id, MARKETING)


def for_conversation(session: Session, conversation_id: str) -> list[ConsentRecord]:
    return list(
        session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.conversation_id == conversation_id)
            .order_by(ConsentRecord.created_at, ConsentRecord.id)
        ).scalars()
    )


def for_contact(session: Session, contact_id: str) -> list[ConsentRecord]:
    """Every decision of the contact, oldest first."""
    return list(
        session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.contact_id == contact_id)
            .order_by(ConsentRecord.created_at, ConsentRecord.id)
        ).scalars()
    )
