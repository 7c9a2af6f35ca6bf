"""Platform mail of account rights: the restore link of a deleted account, and the reminders of data-subject
requests nearing their deadline. Sent through the platform's mailer (`JASPING_SMTP_URL`, else the file outbox), not an
organization's: JasPing writes as the controller of accounts, and to businesses as the tracker of their requests.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope
from jasping.integrations.mail import business_address, checked_address, compose
from jasping.integrations.mail_templates import language, render
from jasping.integrations.mail_transport import MailError, platform_mailer, platform_sender
from jasping.jobs.queue import huey
from jasping.privacy import requests
from jasping.privacy.account_deletion import restore_url
from jasping.privacy.account_models import AccountDeletion
from jasping.tenancy.models import Organization, User

log = logging.getLogger(__name__)


def _lang(code: str | None) -> str:
    return "fr" if language(code) == "fr" else "en"


def _send(to: str, name: str | None, kind: str, lang: str, context: dict, message_name: str) -> None:
    rendered = render(kind, lang, {"business": "JasPing", **context})
    message = compose(sender=("JasPing", platform_sender()), to=(name, to), rendered=rendered)
    platform_mailer().send(sender=platform_sender(), recipients=[to], message=message.as_bytes(), name=message_name)


@huey.task(retries=5, retry_delay=120)
def send_restore_link(deletion_id: str) -> str:
    """Email the restore link of a deleted account to its address (retried while the mail server is down)."""
    with session_scope(write=False) as s:
        deletion = s.get(AccountDeletion, deletion_id)
        user = s.get(User, deletion.user_id) if deletion else None
        if deletion is None or user is None or deletion.restored_at is not None:
            return "not needed"
        to, name, lang = checked_address(user.email), user.name, _lang(user.locale)
        context = {"name": name or "", "url": restore_url(deletion), "until": deletion.erase_after.date().isoformat()}
    if to is None:
        log.warning("deleted account %s has no address mail can reach; no restore link", deletion.user_id)
        return "no address"
    try:
        _send(to, name, "account_restore", lang, context, f"restore-{deletion_id}")
    except MailError as exc:
        if exc.retry:
            raise
        log.warning("the restore link of %s was refused for good: %s", deletion.user_id, exc)
        return "refused"
    return "sent"


def _recipient(session: Session, request: requests.DataRequest) -> tuple[str | None, str]:
    """Who answers the request, and in which language: the business for a contact's, the operator for a user's."""
    if request.org_id:
        org = session.get(Organization, request.org_id)
        return (business_address(session, org) if org else None), _lang(org.default_language if org else None)
    return checked_address(get_settings().privacy_email), "en"


def send_request_reminders(session: Session) -> dict:
    """Remind whoever answers each open request 7 days and 1 day before its deadline; flag the overdue ones. A
    reminder that cannot be sent now is tried again at the next run."""
    now = clock.now()
    counts = {"reminded": 0, "overdue": 0, "unsent": 0}
    base = get_settings().base_url.rstrip("/")
    for request, owed in requests.due_for_reminder(session, now):
        counts["overdue"] += requests.flag_overdue(session, request, now)
        if owed is None:
            continue
        to, lang = _recipient(session, request)
        context = {
            "right": request.right.replace("_", " "),
            "received": request.received_at.date().isoformat(),
            "deadline": request.deadline.date().isoformat(),
            "days": max(request.days_left(now), 1),
            "overdue": request.deadline <= now,
            "url": f"{base}/privacy/requests" if request.org_id else base,
        }
        if to is None:
            log.warning("data request %s: nobody to remind (set JASPING_PRIVACY_EMAIL)", request.id)
            counts["unsent"] += 1
            requests.mark_reminded(request, owed, now)  # nothing a later run could do better
            continue
        try:
            _send(to, None, "request_reminder", lang, context, f"reminder-{request.id}-{owed}")
        except MailError as exc:
            log.warning("data request %s: reminder not sent (%s)", request.id, exc)
            counts["unsent"] += 1
            if exc.retry:
                continue  # tried again at the next run
        else:
            counts["reminded"] += 1
        requests.mark_reminded(request, owed, now)
    return counts
