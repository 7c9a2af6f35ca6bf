"""Members join an organization by invitation: an emailed link, signed and bound to the invited address.

A token is `<organization id>.<role>.<address hash>.<expiry (Unix seconds)>.<signature>` (`jasping.signing`,
purpose "invitations"; the address appears only as its keyed hash): no table, nothing to clean up. Only the person
logged in with the invited address can use it, within 7 days; using it twice changes nothing. The plan's seats
(billing) are checked when inviting and again when joining: members already in are never removed, so after a
downgrade only new members are refused.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock, signing
from jasping.billing import usage
from jasping.config import get_settings
from jasping.db import new_id
from jasping.errors import Conflict, DomainError, Forbidden, Invalid
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.tenancy.models import Membership, Organization, Role, User
from jasping.tenancy.service import email_hash, membership, normalize_email

PATH = "/invitations"
PURPOSE = "invitations"
VALID = timedelta(days=7)
ROLES = (Role.admin.value, Role.agent.value, Role.viewer.value)  # ownership is not given by invitation
_TOKEN = re.compile(
    r"^([a-z]{2,5}_[0-9a-f]{1,40})\.(admin|agent|viewer)\.([0-9a-f]{64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$"
)


class InvitationInvalid(DomainError):
    status, code = 400, "invalid_invitation"


class InvitationExpired(DomainError):
    status, code = 410, "invitation_expired"


class InvitationForAnotherAddress(Forbidden):
    code = "invitation_for_another_address"


class AlreadyMember(Conflict):
    code = "already_a_member"


@dataclass(frozen=True)
class Invitation:
    org_id: str
    role: str
    address_hash: str
    expires_at: datetime
    token: str

    @property
    def url(self) -> str:
        return f"{get_settings().base_url.rstrip('/')}{PATH}/{self.token}"


def invite(session: Session, *, org_id: str, email: str, role: str, inviter: Role, actor: Actor) -> Invitation:
    """Email `email` a link to join `org_id` as `role` (at most the inviter's own role), within the plan's seats."""
    address = normalize_email(email)
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    if not inviter.allows(Role(role)):
        raise Forbidden(f"you cannot invite someone with more rights than yours ({inviter.value})")
    hashed = email_hash(address)
    user = session.execute(select(User).where(User.email_hash == hashed)).scalar()
    if user is not None and membership(session, user_id=user.id, org_id=org_id) is not None:
        raise AlreadyMember("this person is already a member of the organization")
    usage.require_room(session, org_id, "seats")
    expires = int((clock.now() + VALID).timestamp())
    invitation = Invitation(
        org_id,
        role,
        hashed,
        datetime.fromtimestamp(expires, UTC),
        signing.sign(PURPOSE, f"{org_id}.{role}.{hashed}.{expires}"),
    )
    _send(session, invitation, address)
    audit.record(
        session,
        actor=actor,
        action="member.invite",
        org_id=org_id,
        object_type="organization",
        object_id=org_id,
        detail={"role": role},
    )
    return invitation


def verify(token: str) -> Invitation:
    """The invitation a token stands for; 400 when it was changed or cut, 410 when its 7 days are over."""
    match = _TOKEN.match(token or "")
    if not match or not signing.verify(PURPOSE, token.rsplit(".", 1)[0], match.group(5)):
        raise InvitationInvalid("this invitation link is incomplete or was changed: use the link from the email")
    org_id, role, hashed, expires, _ = match.groups()
    invitation = Invitation(org_id, role, hashed, datetime.fromtimestamp(int(expires), UTC), token)
    if clock.now() >= invitation.expires_at:
        raise InvitationExpired("this invitation has expired: ask for a new one")
    return invitation


def accept(session: Session, *, token: str, user: User, actor: Actor) -> tuple[Membership, bool]:
    """Make `user` a member as the invitation says; (membership, whether it is new). Refused past the plan's seats."""
    invitation = verify(token)
    if user.email_hash != invitation.address_hash:
        raise InvitationForAnotherAddress(
            "this invitation was sent to another address: log in with the address it was sent to"
        )
    if session.get(Organization, invitation.org_id) is None:
        raise InvitationInvalid("the organization of this invitation no longer exists")
    existing = membership(session, user_id=user.id, org_id=invitation.org_id)
    if existing is not None:
        return existing, False
    usage.require_room(session, invitation.org_id, "seats")
    member = Membership(id=new_id("mem"), org_id=invitation.org_id, user_id=user.id, role=invitation.role)
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="member.join",
        org_id=invitation.org_id,
        object_type="membership",
        object_id=member.id,
        detail={"role": invitation.role},
    )
    return member, True


def members(session: Session, org_id: str) -> list[tuple[Membership, User]]:
    """The organization's members and their accounts, owners first."""
    rows = session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.org_id == org_id)
    ).all()
    return sorted(((m, u) for m, u in rows), key=lambda r: (-Role(r[0].role).rank, r[0].created_at or clock.now()))


_TEXT = {
    "en": (
        "You are invited to join {org} on JasPing",
        "You are invited to join {org} on JasPing, as {role}.\n\n"
        "Open this link while logged in to JasPing with this address ({address}); if you have no account yet, "
        "create one with this address first. The link works for 7 days:\n{link}",
    ),
    "fr": (
        "Vous êtes invité à rejoindre {org} sur JasPing",
        "Vous êtes invité à rejoindre {org} sur JasPing, avec le rôle {role}.\n\n"
        "Ouvrez ce lien en étant connecté à JasPing avec cette adresse ({address}) ; si vous n'avez pas encore de "
        "compte, créez-en un avec cette adresse. Le lien fonctionne pendant 7 jours :\n{link}",
    ),
}


def _send(session: Session, invitation: Invitation, address: str) -> None:
    from jasping.integrations.mail_outbox import queue
    from jasping.integrations.mail_transport import platform_sender

    org = session.get(Organization, invitation.org_id)
    lang = "fr" if org.default_language == "fr" else "en"
    subject, body = _TEXT[lang]
    fields = {"org": org.name, "role": invitation.role, "address": address, "link": invitation.url}
    sender = platform_sender()
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject.format(**fields)
    msg["From"] = Address("JasPing", addr_spec=sender)
    msg["To"] = Address(addr_spec=address)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Content-Language"] = lang
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body.format(**fields), subtype="plain", charset="utf-8", cte="quoted-printable")
    queue(session, org_id=invitation.org_id, kind="code", to=address, message=msg)
