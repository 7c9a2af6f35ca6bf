"""Billing mail to an organization's owners, from the platform's mailer (JasPing writes as the seller): receipts of
paid invoices, dunning notices when a payment fails, the downgrade when the grace period ends, and the usage
warnings at 80 % and 100 % of the month's messages. Jobs, retried while the mail server is down."""

from __future__ import annotations

import functools
import logging

from sqlalchemy import select

from jasping.billing.models import BillingAccount, Invoice
from jasping.billing.plans import PLANS
from jasping.config import get_settings
from jasping.db import session_scope, unscoped
from jasping.integrations import mail_templates
from jasping.integrations.mail import checked_address, compose
from jasping.integrations.mail_templates import language, render
from jasping.integrations.mail_transport import MailError, platform_mailer, platform_sender
from jasping.jobs.queue import huey
from jasping.tenancy.models import Membership, Organization, Role, User

log = logging.getLogger(__name__)

# Subject lines of the billing notices (one template, `billing_notice`, fills in the text below).
mail_templates.SUBJECTS.update(
    {
        "billing_notice": {"en": "{heading}", "fr": "{heading}"},
    }
)

TEXT = {
    "receipt": {
        "en": ("Receipt for invoice {number}", "Thank you: we received your payment of {amount}.", "View the invoice"),
        "fr": (
            "Reçu de la facture {number}",
            "Merci : nous avons bien reçu votre paiement de {amount}.",
            "Voir la facture",
        ),
    },
    "payment_failed": {
        "en": (
            "Your payment of {amount} failed",
            "We could not take the payment for your JasPing subscription. Please update your card: your plan stays "
            "as it is until {grace}, then your organization moves to the Free plan.",
            "Pay the invoice",
        ),
        "fr": (
            "Votre paiement de {amount} a échoué",
            "Nous n'avons pas pu prélever votre abonnement JasPing. Mettez à jour votre carte : votre offre reste "
            "la même jusqu'au {grace}, puis votre organisation passe à l'offre Free.",
            "Payer la facture",
        ),
    },
    "downgraded": {
        "en": (
            "{org} is now on the Free plan",
            "The payment of your subscription is still missing, so {org} moved to the Free plan and its limits. "
            "Pay the open invoice or choose a plan to get your features back.",
            "Open billing",
        ),
        "fr": (
            "{org} est passée à l'offre Free",
            "Le paiement de votre abonnement manque toujours : {org} est passée à l'offre Free et à ses limites. "
            "Payez la facture en attente ou choisissez une offre pour retrouver vos fonctions.",
            "Ouvrir la facturation",
        ),
    },
    "quota_80": {
        "en": (
            "{org} has used 80 % of this month's messages",
            "Your agents have answered {used} of the {limit} customer messages of your {plan} plan this month. "
            "At {limit} they stop answering with AI and offer customers a call back instead.",
            "Change plan",
        ),
        "fr": (
            "{org} a utilisé 80 % des messages du mois",
            "Vos agents ont répondu à {used} des {limit} messages clients de votre offre {plan} ce mois-ci. "
            "À {limit}, ils ne répondent plus par l'IA et proposent aux clients d'être rappelés.",
            "Changer d'offre",
        ),
    },
    "quota_100": {
        "en": (
            "{org} has used all of this month's messages",
            "Your customers sent the {limit} messages of your {plan} plan this month. Your agents now answer them "
            "politely, pass the conversation to your team (see the inbox) and offer a call back, until next month "
            "or until you change plan.",
            "Change plan",
        ),
        "fr": (
            "{org} a utilisé tous les messages du mois",
            "Vos clients ont envoyé les {limit} messages de votre offre {plan} ce mois-ci. Vos agents leur répondent "
            "poliment, transmettent la conversation à votre équipe (voir la boîte de réception) et proposent de les "
            "rappeler, jusqu'au mois prochain ou jusqu'à un changement d'offre.",
            "Changer d'offre",
        ),
    },
}


def money(amount: int, currency: str) -> str:
    """`1900, "eur"` → `19.00 EUR` (EUR and MAD have two decimals in Stripe)."""
    return f"{amount / 100:.2f} {currency.upper()}"


def _owners(session, org_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    """(address, language) of the organization's owners whose address mail can reach."""
    with unscoped(session):
        users = session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id, Membership.role == Role.owner.value, User.is_active.is_(True))
        ).scalars()
        out = [(checked_address(u.email), "fr" if language(u.locale) == "fr" else "en") for u in users]
    return [(to, lang) for to, lang in out if to]


def _send(org_id: str, kind: str, fields: dict, name: str, url: str | None = None, details=None) -> str:  # noqa: ANN001
    with session_scope(write=False) as s:
        org = s.get(Organization, org_id)
        recipients = _owners(s, org_id) if org is not None else []
        fields = {"org": org.name if org else "", **fields}
    if not recipients:
        return "no recipient"
    url = url or get_settings().base_url.rstrip("/") + "/billing"
    for to, lang in recipients:
        heading, body, link = (t.format(**fields) for t in TEXT[kind][lang])
        context = {"heading": heading, "paragraphs": [body], "details": details or [], "url": url, "link_label": link}
        rendered = render("billing_notice", lang, {"business": "JasPing", **context})
        message = compose(sender=("JasPing", platform_sender()), to=(None, to), rendered=rendered)
        platform_mailer().send(sender=platform_sender(), recipients=[to], message=message.as_bytes(), name=name)
    return "sent"


def _retrying(fn):  # noqa: ANN001, ANN202
    """Raise (so huey tries again) on a temporary mail failure; log and give up on a permanent one."""

    @functools.wraps(fn)
    def run(*args):  # noqa: ANN002, ANN202
        try:
            return fn(*args)
        except MailError as exc:
            if exc.retry:
                raise
            log.warning("billing mail %s%s refused for good: %s", fn.__name__, args, exc)
            return "refused"

    return run


@huey.task(retries=5, retry_delay=120, name="billing.send_receipt")
@_retrying
def send_receipt(invoice_id: str) -> str:
    """The receipt of a paid invoice, with its hosted page and PDF."""
    with session_scope(write=False) as s:
        invoice = s.get(Invoice, invoice_id)
        if invoice is None or invoice.org_id is None:
            return "no organization"
        org_id, number = invoice.org_id, invoice.number or invoice.id
        amount = money(invoice.amount_paid or invoice.total, invoice.currency)
        details = [
            ("Invoice", number),
            ("Amount", amount),
            ("Tax", money(invoice.tax, invoice.currency)),
            ("PDF", invoice.invoice_pdf or ""),
        ]
        url = invoice.hosted_invoice_url
    return _send(org_id, "receipt", {"number": number, "amount": amount}, f"receipt-{invoice_id}", url, details)


@huey.task(retries=5, retry_delay=120, name="billing.send_payment_failed")
@_retrying
def send_payment_failed(invoice_id: str, event_id: str) -> str:
    """Dunning: a payment failed; the plan is kept until the grace period ends."""
    with session_scope(write=False) as s:
        invoice = s.get(Invoice, invoice_id)
        account = s.get(BillingAccount, invoice.org_id) if invoice is not None and invoice.org_id else None
        if account is None:
            return "no organization"
        grace = account.grace_ends_at.date().isoformat() if account.grace_ends_at else ""
        fields = {"amount": money(invoice.total, invoice.currency), "grace": grace}
        org_id, url = account.org_id, invoice.hosted_invoice_url
    return _send(org_id, "payment_failed", fields, f"dunning-{event_id}", url)


@huey.task(retries=5, retry_delay=120, name="billing.send_downgraded")
@_retrying
def send_downgraded(org_id: str) -> str:
    return _send(org_id, "downgraded", {}, f"downgraded-{org_id}")


@huey.task(retries=5, retry_delay=120, name="billing.send_quota_warning")
@_retrying
def send_quota_warning(org_id: str, month: str, level: int) -> str:
    """80 % or 100 % of the month's messages used (sent once a month per level: the caller claimed it)."""
    from jasping.billing.state import standing
    from jasping.billing.usage import messages_this_month

    with session_scope(org_id, write=False) as s:
        plan = standing(s, org_id).plan
        used = messages_this_month(s, org_id, month)
    fields = {"used": used, "limit": plan.messages or 0, "plan": PLANS.get(plan.key, plan).name}
    return _send(org_id, f"quota_{level}", fields, f"quota-{org_id}-{month}-{level}")
