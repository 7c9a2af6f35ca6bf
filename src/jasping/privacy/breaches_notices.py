"""Notices of a breach to the businesses affected (the controllers): drafted from a template in the business's
language (English or French) with the breach's facts, reviewed — and edited if need be — by the operator, then sent
through the mail outbox (`emails`, kind `breach_notice`) to the business's contact address, else its owner's. The
sending is recorded on the affected row (time, outbox row) and in the audit log."""

from __future__ import annotations

import email.policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.errors import Conflict, Invalid
from jasping.integrations.mail import business_address
from jasping.integrations.mail_outbox import queue
from jasping.integrations.mail_templates import one_line
from jasping.integrations.mail_transport import platform_sender
from jasping.privacy import pages, pages_markdown
from jasping.privacy.breaches_models import Breach, BreachOrganization
from jasping.security import audit
from jasping.security.audit import Actor
from jasping.tenancy.models import Organization

KIND = "breach_notice"
SUBJECTS = {
    "en": "Personal-data breach notice from JasPing: {title}",
    "fr": "Notification de violation de données par JasPing : {title}",
}
CATEGORY_NAMES = {
    "en": {
        "account": "account data",
        "conversation": "conversations",
        "lead": "leads (contact details)",
        "appointment": "appointments",
        "file": "uploaded files",
        "billing": "billing records",
        "security_log": "security logs",
        "marketing_consent": "marketing consent records",
        "cookie_consent": "chat consent records",
        "export": "data exports",
        "rights_request": "data requests",
    },
    "fr": {
        "account": "données de compte",
        "conversation": "conversations",
        "lead": "demandes de contact (coordonnées)",
        "appointment": "rendez-vous",
        "file": "fichiers envoyés",
        "billing": "facturation",
        "security_log": "journaux de sécurité",
        "marketing_consent": "consentements marketing",
        "cookie_consent": "consentements de discussion",
        "export": "exports de données",
        "rights_request": "demandes d'exercice de droits",
    },
}
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # noqa: S701 - plain-text templates; the HTML part is built by pages_markdown, escaped
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _lang(org: Organization | None) -> str:
    return "fr" if org is not None and (org.default_language or "").lower().startswith("fr") else "en"


def draft(session: Session, breach: Breach, row: BreachOrganization) -> None:
    """(Re)write the notice of `row` from the template and the breach's current facts (drafts only)."""
    if row.notice_status != "draft":
        raise Conflict("this notice was sent; it cannot be redrafted")
    org = session.get(Organization, row.org_id)
    lang = _lang(org)
    names = CATEGORY_NAMES[lang]
    context = {
        "business": org.name if org else "",
        "title": breach.title,
        "detected": clock.as_utc(breach.detected_at).strftime("%Y-%m-%d %H:%M UTC"),
        "description": (breach.description or "").strip(),
        "categories": ", ".join(names.get(c, c) for c in breach.data_categories or []) or "—",
        "contacts_affected": row.contacts_affected,
        "records_estimate": breach.records_estimate,
        "consequences": (breach.consequences or "").strip(),
        "measures": (breach.measures or "").strip(),
        "contact": get_settings().privacy_email or platform_sender(),
        "dpa_url": pages.platform_url("dpa"),
    }
    row.notice_language = lang
    row.notice_subject = one_line(SUBJECTS[lang].format(title=breach.title), 250)
    row.notice_body = _env.get_template(f"{KIND}.{lang}.txt").render(context).strip() + "\n"


def edit(
    session: Session, breach: Breach, row: BreachOrganization, *, subject: str | None, body: str | None, actor: Actor
) -> None:
    """The operator's review: a corrected subject or text, kept until sent."""
    if row.notice_status != "draft":
        raise Conflict("this notice was sent; send a new message instead")
    if subject is not None:
        if not subject.strip():
            raise Invalid("notice_subject: cannot be empty", code="invalid")
        row.notice_subject = one_line(subject, 250)
    if body is not None:
        if not body.strip():
            raise Invalid("notice_body: cannot be empty", code="invalid")
        row.notice_body = body.strip() + "\n"
    audit.record(
        session,
        actor=actor,
        action="breach.notice_edited",
        org_id=row.org_id,
        object_type="breach",
        object_id=breach.id,
    )


def _message(org: Organization, row: BreachOrganization, to: str) -> EmailMessage:
    sender = platform_sender()
    html = (
        f'<!doctype html><html lang="{row.notice_language}"><body>'
        f"{pages_markdown.render(row.notice_body.replace(chr(10), chr(10) * 2))}</body></html>"
    )
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = row.notice_subject
    msg["From"] = Address("JasPing", addr_spec=sender)
    msg["To"] = Address(one_line(org.name, 120), addr_spec=to)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Content-Language"] = row.notice_language
    if reply := get_settings().privacy_email:
        msg["Reply-To"] = reply
    msg.set_content(row.notice_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def send(session: Session, breach: Breach, row: BreachOrganization, *, actor: Actor) -> str:
    """Queue the reviewed notice to the business (sent once the transaction commits); returns the outbox row id."""
    if row.notice_status == "sent":
        raise Conflict("this notice was already sent")
    org = session.get(Organization, row.org_id)
    to = business_address(session, org) if org else None
    if to is None:
        raise Conflict("this organization has no contact email and no owner to write to", code="no_address")
    email_row = queue(session, org_id=org.id, kind=KIND, to=to, message=_message(org, row, to), ref=breach.id)
    row.notice_status, row.notice_sent_at, row.email_id = "sent", clock.now(), email_row.id
    audit.record(
        session,
        actor=actor,
        action="breach.notice_sent",
        org_id=org.id,
        object_type="breach",
        object_id=breach.id,
        detail={"email_id": email_row.id, "language": row.notice_language},
    )
    return email_row.id
