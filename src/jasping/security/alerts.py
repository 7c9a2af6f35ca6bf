"""Security alerts: when failures spike (issue 11, point 6).

When `security_alert_failures` log-ins of one account fail or are refused (a lockout) within `login_lockout_minutes`,
or that many log-ins of one organization's members fail, each organization concerned gets, once per window:
a `security.alert` event in the audit log, an email to each of its owners (the mail outbox, in the transaction of
the attempt that crossed the line), and a signed POST to each of its organization-wide outgoing webhooks
(`X-JasPing-Event: security.alert`; the lead webhook's signature, SSRF guard and redirects), sent by a job with retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.db import after_commit, session_scope, unscoped
from jasping.security import audit, ratelimit

log = logging.getLogger(__name__)
EVENT = "security.alert"

_TEXT = {
    "en": (
        "JasPing security alert: failed log-ins in {org}",
        "{count} log-in attempts {whom} failed or were refused in the last {minutes} minutes.\n\n"
        "If this was not your team, someone may be trying to guess a password. Locked accounts open again on their "
        "own; members can reset their password and turn on two-step verification.\n\n"
        "The organization's security events: {link}",
    ),
    "fr": (
        "Alerte de sécurité JasPing : connexions échouées dans {org}",
        "{count} tentatives de connexion {whom} ont échoué ou ont été refusées ces {minutes} dernières minutes.\n\n"
        "Si ce n'est pas votre équipe, quelqu'un essaie peut-être de deviner un mot de passe. Les comptes bloqués se "
        "débloquent d'eux-mêmes ; les membres peuvent réinitialiser leur mot de passe et activer la vérification en "
        "deux étapes.\n\n"
        "Les événements de sécurité de l'organisation : {link}",
    ),
}
_WHOM = {
    "account": {"en": "to the account {email}", "fr": "au compte {email}"},
    "organization": {"en": "to your members' accounts", "fr": "aux comptes de vos membres"},
}


def _limit(scope: str) -> ratelimit.Limit:
    from jasping.security.lockout import window_seconds

    return ratelimit.Limit(f"alert-{scope}", get_settings().security_alert_failures, window_seconds())


def _organizations(session: Session, user_id: str) -> list[str]:
    from jasping.tenancy.models import Membership

    with unscoped(session):
        return list(session.execute(select(Membership.org_id).where(Membership.user_id == user_id)).scalars())


def count_failure(session: Session, *, account: str, user_id: str | None) -> None:
    """Count a failed attempt for the account (and, when it is a member's, for each of its organizations)."""
    by_account, by_org = _limit("account"), _limit("organization")
    if by_account.count <= 0:
        return
    alerted = set()
    if ratelimit.hit(by_account, account) == by_account.count and user_id:
        for org_id in _organizations(session, user_id):
            raise_alert(session, org_id=org_id, scope="account", failures=by_account.count, user_id=user_id)
            alerted.add(org_id)
    for org_id in _organizations(session, user_id) if user_id else []:
        if ratelimit.hit(by_org, org_id) == by_org.count and org_id not in alerted:
            raise_alert(session, org_id=org_id, scope="organization", failures=by_org.count)


def count_refused(session: Session, *, account: str, email: str) -> None:
    """Count an attempt refused by a lockout (the account is looked up only when the count reaches the alert)."""
    from jasping.errors import Invalid
    from jasping.tenancy.service import find_user_by_email

    limit = _limit("account")
    if limit.count <= 0 or ratelimit.hit(limit, account) != limit.count:
        return
    try:
        user = find_user_by_email(session, email)
    except Invalid:
        user = None
    if user is not None:
        for org_id in _organizations(session, user.id):
            raise_alert(session, org_id=org_id, scope="account", failures=limit.count, user_id=user.id)


def raise_alert(
    session: Session, *, org_id: str, scope: str, failures: int, user_id: str | None = None
) -> audit.AuditEvent:
    """Record the alert, email the owners, and queue the organization's webhooks (after the commit)."""
    minutes = _limit(scope).window // 60
    detail = {"reason": "login_failures", "scope": scope, "failures": failures, "window_minutes": minutes}
    event = audit.record(
        session,
        actor=audit.SYSTEM,
        action=EVENT,
        org_id=org_id,
        object_type="user" if user_id else "organization",
        object_id=user_id or org_id,
        detail=detail,
    )
    _mail_owners(session, org_id=org_id, scope=scope, failures=failures, user_id=user_id)
    payload = {
        "id": f"evt_alert_{event.seq}",
        "type": EVENT,
        "created_at": clock.now().isoformat(),
        "alert": {**detail, "organization_id": org_id, "user_id": user_id, "audit_seq": event.seq},
    }
    for integration_id in _webhooks(session, org_id):
        after_commit(session, lambda i=integration_id: _enqueue(org_id, i, payload))
    log.warning("security alert for organization %s: %s failed log-ins (%s)", org_id, failures, scope)
    return event


def _mail_owners(session: Session, *, org_id: str, scope: str, failures: int, user_id: str | None) -> None:
    from jasping.integrations.mail_outbox import queue
    from jasping.integrations.mail_transport import platform_sender
    from jasping.tenancy.models import Membership, Organization, Role, User

    with unscoped(session):
        org = session.get(Organization, org_id)
        owners = session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id, Membership.role == Role.owner.value, User.is_active.is_(True))
        ).scalars()
        target = session.get(User, user_id) if user_id else None
        sender = platform_sender()
        for owner in owners:
            queue(
                session,
                org_id=org_id,
                kind="security_alert",
                to=owner.email,
                message=_message(owner, org.name if org else org_id, scope, failures, target, sender),
            )


def _message(owner, org_name: str, scope: str, failures: int, target, sender: str) -> EmailMessage:  # noqa: ANN001
    lang = owner.locale if owner.locale in _TEXT else "en"
    subject, body = _TEXT[lang]
    whom = _WHOM[scope][lang].format(email=target.email if target else "")
    link = f"{get_settings().base_url.rstrip('/')}/security/events"
    minutes = _limit(scope).window // 60
    msg = EmailMessage()
    msg["Subject"] = subject.format(org=org_name)
    msg["From"] = Address("JasPing", addr_spec=sender)
    msg["To"] = Address(addr_spec=owner.email)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Content-Language"] = lang
    msg["Auto-Submitted"] = "auto-generated"
    text = body.format(count=failures, whom=whom, minutes=minutes, link=link)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return msg


def _webhooks(session: Session, org_id: str) -> list[str]:
    """The organization's outgoing webhooks that are not tied to one agent."""
    from jasping.integrations.models import Integration

    with unscoped(session):
        return list(
            session.execute(
                select(Integration.id).where(
                    Integration.org_id == org_id, Integration.type == "webhook", Integration.agent_id.is_(None)
                )
            ).scalars()
        )


def _enqueue(org_id: str, integration_id: str, payload: dict[str, Any]) -> None:
    from jasping.jobs.tasks import send_security_alert

    send_security_alert(org_id, integration_id, payload)


@dataclass(frozen=True)
class AlertEvent:
    """The shape the webhook sender expects of an event: an id (the same across retries), a type, its JSON."""

    id: str
    type: str
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.payload


def deliver(org_id: str, integration_id: str, payload: dict[str, Any]) -> str:
    """POST one alert to a webhook (the job); `SinkError` when it should be tried again."""
    from jasping.integrations.lead_sinks import SinkError
    from jasping.integrations.models import Integration
    from jasping.integrations.webhook_out import WebhookSink

    with session_scope(org_id, write=False) as s:
        integration = s.get(Integration, integration_id)
        if integration is None:
            return "gone"
        try:
            WebhookSink().send(integration, AlertEvent(payload["id"], EVENT, payload))
        except SinkError as exc:
            log.warning("security alert to webhook %s failed: %s", integration_id, exc.message)
            if exc.retry:
                raise
            return "refused"
    return "sent"
