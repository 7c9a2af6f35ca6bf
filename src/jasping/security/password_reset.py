"""Password reset by email link: single use, expiring (`password_reset_minutes`), its token kept as a hash.

Asking for a link answers the same whatever the address (no account enumeration). Setting the new password ends
every session of the account and every other pending link; two-step verification stays on.
"""

from __future__ import annotations

import email.policy
import hashlib
import html
import secrets
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jasping import clock
from jasping.config import get_settings
from jasping.db import after_commit, new_id
from jasping.errors import Invalid
from jasping.security import audit, lockout, passwords, ratelimit, sessions
from jasping.security.audit import Actor
from jasping.security.mfa_models import AuthChallenge
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import User

KIND = "password_reset"
PER_ACCOUNT = ratelimit.Limit("password_reset_account", 3)


def per_ip() -> ratelimit.Limit:
    return ratelimit.Limit("password_reset_ip", get_settings().password_resets_per_ip)


_TEXT = {
    "en": (
        "Reset your JasPing password",
        "Someone (hopefully you) asked to reset the password of your JasPing account.\n\n"
        "Choose a new password here (the link works once, for {minutes} minutes):\n{link}\n\n"
        "If you did not ask for it, ignore this message: your password stays as it is.",
    ),
    "fr": (
        "Réinitialiser votre mot de passe JasPing",
        "Quelqu'un (vous, espérons-le) a demandé à réinitialiser le mot de passe de votre compte JasPing.\n\n"
        "Choisissez un nouveau mot de passe ici (le lien fonctionne une fois, pendant {minutes} minutes) :\n{link}\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe ne change pas.",
    ),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _message(user: User, link: str, sender: str) -> EmailMessage:
    lang = user.locale if user.locale in _TEXT else "en"
    subject, body = _TEXT[lang]
    text = body.format(minutes=get_settings().password_reset_minutes, link=link)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = Address("JasPing", addr_spec=sender)
    msg["To"] = Address(addr_spec=user.email)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Content-Language"] = lang
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    anchor = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    paragraphs = "".join(f"<p>{html.escape(p).replace(html.escape(link), anchor)}</p>" for p in text.split("\n\n"))
    page = f'<!doctype html><html lang="{lang}"><body>{paragraphs}</body></html>'
    msg.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def request_reset(session: Session, *, email: str, ip: str | None) -> None:
    """Email a reset link when the address belongs to an active account; silently nothing otherwise."""
    from jasping.integrations.mail_outbox import queue
    from jasping.integrations.mail_transport import platform_sender

    ratelimit.check(per_ip(), ip or "-")
    try:
        user = tenancy.find_user_by_email(session, email)
    except Invalid:
        user = None
    if user is None or not user.is_active:
        return
    try:
        ratelimit.check(PER_ACCOUNT, user.id)
    except ratelimit.RateLimited:
        return  # the same answer as for an unknown address: a 429 here would tell the account exists
    orgs = tenancy.memberships(session, user.id)
    if not orgs:  # mail is queued per organization; an account without one cannot be reset by email
        return
    now = clock.now()
    session.execute(
        update(AuthChallenge)
        .where(AuthChallenge.user_id == user.id, AuthChallenge.kind == KIND, AuthChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    minutes = get_settings().password_reset_minutes
    session.add(
        AuthChallenge(
            id=new_id("chl"),
            user_id=user.id,
            kind=KIND,
            token_hash=_hash(token),
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    link = f"{get_settings().base_url.rstrip('/')}/password-reset/confirm?token={token}"
    queue(session, org_id=orgs[0][1].id, kind="code", to=user.email, message=_message(user, link, platform_sender()))
    audit.record(
        session,
        actor=Actor("anonymous", None, ip),
        action="auth.password_reset_requested",
        object_type="user",
        object_id=user.id,
    )


def _valid(session: Session, token: str) -> AuthChallenge:
    challenge = None
    if token and len(token) <= 200:
        challenge = session.execute(
            select(AuthChallenge).where(AuthChallenge.token_hash == _hash(token), AuthChallenge.kind == KIND)
        ).scalar()
    if challenge is None or challenge.used_at is not None:
        raise Invalid("this reset link is not valid or was used already; ask for a new one", code="invalid_reset_link")
    if challenge.expires_at <= clock.now():
        raise Invalid("this reset link has expired; ask for a new one", code="invalid_reset_link")
    return challenge


def check_link(session: Session, token: str) -> None:
    """`Invalid` when the link cannot be used (the page says so before asking for a password)."""
    _valid(session, token)


def confirm_reset(session: Session, *, token: str, password: str, ip: str | None) -> User:
    """Set the new password from a valid link (once); every session of the account ends."""
    challenge = _valid(session, token)
    user = session.get(User, challenge.user_id)
    if user is None or not user.is_active:
        raise Invalid("this reset link is not valid or was used already; ask for a new one", code="invalid_reset_link")
    try:
        passwords.check_strength(password, email=user.email)
    except passwords.WeakPassword as exc:
        raise Invalid(str(exc), code="weak_password") from exc
    taken = session.execute(
        update(AuthChallenge)
        .where(AuthChallenge.id == challenge.id, AuthChallenge.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Invalid("this reset link was used already; ask for a new one", code="invalid_reset_link")
    user.password_hash = passwords.hash_password(password)
    ended = sessions.end_all_for_user(session, user.id)
    audit.record(
        session,
        actor=Actor("user", user.id, ip),
        action="auth.password_reset",
        object_type="user",
        object_id=user.id,
        detail={"sessions_ended": ended},
    )
    email = user.email
    after_commit(session, lambda: lockout.unlock_account(email))  # control of the address proven: the lock goes
    return user
