"""Tell the team, once per conversation, that a customer asked for a person: an email to the organization's owners,
admins and agents through the mail outbox (sent after the commit, retried). The email names the channel and links to
the conversation in the inbox; it never quotes the customer's messages."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.conversations.models import Conversation
from jasping.db import unscoped

KIND = "handoff_notice"
TEAM_ROLES = ("owner", "admin", "agent")
NOT_NOTIFIED = ("quota",)  # the month's messages used up: billing emails the owners about that (billing.usage)
_TEXT = {
    "en": (
        "A customer asks for a person ({channel}) — {org}",
        "A customer on {channel} asked to talk to a person ({reason}).\n\n"
        "Open the conversation to take over and reply:\n{link}\n\n"
        "You receive this email once per conversation, as a member of {org} on JasPing.\n",
    ),
    "fr": (
        "Un client demande une personne ({channel}) — {org}",
        "Un client sur {channel} a demandé à parler à une personne ({reason}).\n\n"
        "Ouvrez la conversation pour la prendre en main et répondre :\n{link}\n\n"
        "Vous recevez cet e-mail une fois par conversation, comme membre de {org} sur JasPing.\n",
    ),
}


def team_once(session: Session, conversation: Conversation, reason: str) -> int:
    """Email the team about `conversation` unless it was done before; returns the number of emails queued."""
    if conversation.human_notified_at is not None or reason in NOT_NOTIFIED:
        return 0
    from jasping.integrations.mail_outbox import queue
    from jasping.integrations.mail_transport import platform_sender
    from jasping.tenancy.models import Membership, Organization, User

    conversation.human_notified_at = clock.now()
    with unscoped(session):
        org = session.get(Organization, conversation.org_id)
        people = list(
            session.execute(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.org_id == conversation.org_id,
                    Membership.role.in_(TEAM_ROLES),
                    User.is_active.is_(True),
                )
            ).scalars()
        )
    sender = platform_sender()
    for person in people:
        message = _message(person, org.name if org else "", conversation, reason, sender)
        queue(session, org_id=conversation.org_id, kind=KIND, to=person.email, message=message, ref=conversation.id)
    return len(people)


def _message(person, org_name: str, conversation: Conversation, reason: str, sender: str) -> EmailMessage:  # noqa: ANN001
    lang = person.locale if person.locale in _TEXT else "en"
    subject, body = _TEXT[lang]
    link = f"{get_settings().base_url.rstrip('/')}/inbox/{conversation.id}"
    values = {"channel": conversation.channel, "org": org_name, "reason": reason or "handoff", "link": link}
    msg = EmailMessage()
    msg["Subject"] = subject.format(**values)
    msg["From"] = Address("JasPing", addr_spec=sender)
    msg["To"] = Address(addr_spec=person.email)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Content-Language"] = lang
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body.format(**values), subtype="plain", charset="utf-8", cte="quoted-printable")
    return msg
