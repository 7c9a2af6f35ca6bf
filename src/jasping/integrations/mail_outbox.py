"""The durable outbox of emails (the pattern of `channels/deliveries.py`): a message is queued in the transaction of
what it is about, then sent by a job once that commits. A failure is retried with backoff; a message the server
refuses for good, or that still fails after the last try, is dead (`state = "dead"`) until `retry()` sends it again.
A worker killed mid-send loses nothing: the email is leased while it is sent, and the periodic sweep sends again
what was left queued or whose lease ran out. The lease and sweep bookkeeping is `jobs.outbox`, shared with the other
outboxes."""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import timedelta
from email.message import EmailMessage
from email.parser import Parser
from email.utils import getaddresses

from sqlalchemy import select
from sqlalchemy.orm import Session

from jasping import clock
from jasping.db import after_commit, new_id, session_scope
from jasping.errors import NotFound
from jasping.integrations import service as integrations
from jasping.integrations.mail_models import KINDS, Email
from jasping.integrations.mail_transport import Mailer, MailError, platform_mailer
from jasping.integrations.models import Integration
from jasping.jobs import outbox

log = logging.getLogger(__name__)
BACKOFF = (30, 120, 600, 1800, 7200)  # seconds before the 2nd, 3rd… try; after the last, dead (about 2.7 hours)


def queue(session: Session, *, org_id: str, kind: str, to: str, message: EmailMessage, ref: str | None = None) -> Email:
    """Store `message` to `to` in the caller's transaction; it is sent once the transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    row = Email(
        id=new_id("eml"),
        org_id=org_id,
        kind=kind,
        ref=ref,
        to=to,
        body=message.as_string(policy=email.policy.SMTP),
        next_attempt_at=clock.now(),
    )
    session.add(row)
    session.flush()
    email_id = row.id
    after_commit(session, lambda: enqueue(org_id, email_id))
    return row


def enqueue(org_id: str, email_id: str, delay: float = 0) -> None:
    from jasping.jobs.tasks import send_email

    if delay > 0:
        send_email.schedule((org_id, email_id), delay=delay)
    else:
        send_email(org_id, email_id)


def parse(row: Email) -> EmailMessage:
    """The stored message of `row`, parsed back."""
    return email.message_from_string(row.body, policy=email.policy.default)


def mailer_for(session: Session) -> tuple[Mailer, str | None]:
    """The organization's Gmail (a `google` integration with the `gmail` use), else its own SMTP server (an `smtp`
    integration), and its id; else the platform's mailer (`JASPING_SMTP_URL`, or the file outbox) and None."""
    from jasping.integrations.mail_gmail import GmailMailer, org_gmail
    from jasping.integrations.mail_smtp import mailer_of, org_smtp

    if (gmail := org_gmail(session)) is not None:
        return GmailMailer(gmail), gmail.id
    integration = org_smtp(session)
    return (mailer_of(integration), integration.id) if integration else (platform_mailer(), None)


def _record_use(session: Session, integration_id: str | None, error: str | None) -> None:
    integration = session.get(Integration, integration_id) if integration_id else None
    if integration is not None:
        integrations.record_use(integration, error)


def send(org_id: str, email_id: str) -> str:
    """Send one email (a job). Returns its new state."""
    with session_scope(org_id) as s:
        row = s.get(Email, email_id)
        if row is None:
            return "missing"
        if (busy := outbox.claim(row, clock.now())) is not None:
            return busy  # sent, dead, leased by another worker, or not due yet
        to, raw, attempts = row.to, row.body, row.attempts
        mailer, integration_id = mailer_for(s)
    headers = Parser(policy=email.policy.SMTP).parsestr(raw, headersonly=True)
    sender = getaddresses([headers.get("Sender") or headers.get("From", "")])[0][1]
    try:
        mailer.send(sender=sender, recipients=[to], message=raw.encode("ascii", "replace"), name=email_id)
    except MailError as exc:
        return _failed(org_id, email_id, attempts, exc, integration_id)
    except Exception as exc:  # a bug or an unexpected reply: retried like a transport failure, then dead
        log.exception("email %s failed", email_id)
        return _failed(org_id, email_id, attempts, MailError(f"{type(exc).__name__}: {exc}"), integration_id)
    with session_scope(org_id) as s:
        row = s.get(Email, email_id)
        row.state, row.sent_at, row.last_error = "sent", clock.now(), None
        _record_use(s, integration_id, None)
    return "sent"


def _failed(org_id: str, email_id: str, attempts: int, exc: MailError, integration_id: str | None = None) -> str:
    with session_scope(org_id) as s:
        row = s.get(Email, email_id)
        row.last_error = str(exc)[:500]
        _record_use(s, integration_id, row.last_error)
        delay = outbox.retry_delay(attempts, BACKOFF) if exc.retry else None
        if delay is not None:
            row.state, row.next_attempt_at = "queued", clock.now() + timedelta(seconds=delay)
            after_commit(s, lambda: enqueue(org_id, email_id, delay))
            return "queued"
        row.state = "dead"
        log.warning("email %s dead after %s attempt(s): %s", email_id, attempts, exc)
        return "dead"


def sweep(session: Session) -> list[tuple[str, str]]:
    """Emails due and not in the queue (queued past their time, or leased too long): marked queued again;
    returns (org_id, email_id) to enqueue after commit."""
    return outbox.stale(session, Email)


def dead_letters(session: Session, limit: int = 100) -> list[Email]:
    """The organization's dead emails, newest first."""
    query = select(Email).where(Email.state == "dead").order_by(Email.created_at.desc(), Email.id).limit(limit)
    return list(session.execute(query).scalars())


def retry(session: Session, email_id: str) -> Email:
    """Send a dead email again (from the dashboard or the API); from the first try of the backoff."""
    row = session.get(Email, email_id)
    if row is None:
        raise NotFound("no such email", code="email_not_found")
    outbox.requeue_dead(session, row, enqueue)
    return row
