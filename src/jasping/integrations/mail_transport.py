"""How a rendered email leaves: one small interface (`Mailer.send`), an SMTP client, and a file outbox for machines
without a mail server (`<data_dir>/outbox/*.eml`). `JASPING_SMTP_URL` chooses between them:

    smtp://user:pass@host:587?starttls=1      plain SMTP, upgraded with STARTTLS
    smtps://user:pass@host:465                TLS from the first byte
    smtp://localhost:1025                     no authentication (a local relay or a test server)

Optional query parameters: `from` (the platform's sender address, default noreply@<JASPING_BASE_URL host>) and
`timeout` (seconds, default 30). Passwords with special characters are percent-encoded (`p%40ss`).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from jasping.config import Settings, get_settings

SECURITY = ("none", "starttls", "ssl")


class MailError(Exception):
    """A message was not sent. `retry`: a later try may work (server down, 4xx); else it never will (5xx)."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


class Mailer(Protocol):
    """Sends one message: envelope sender and recipients, and the message's bytes. Returns where it went."""

    def send(self, *, sender: str, recipients: list[str], message: bytes, name: str) -> str: ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    security: str = "none"  # none | starttls | ssl
    sender: str | None = None
    timeout: float = 30.0


def parse_smtp_url(url: str) -> SmtpConfig:
    """`SmtpConfig` from `smtp[s]://[user[:password]@]host[:port][?starttls=1&from=…&timeout=…]`, or ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("JASPING_SMTP_URL must start with smtp:// or smtps:// (e.g. smtp://user:pass@host:587)")
    if not parts.hostname:
        raise ValueError("JASPING_SMTP_URL has no host (e.g. smtp://user:pass@host:587)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    starttls = query.get("starttls", "0").lower() in ("1", "true", "yes", "on")
    security = "ssl" if parts.scheme == "smtps" else ("starttls" if starttls else "none")
    try:
        port = parts.port or (465 if security == "ssl" else 587 if starttls else 25)
        timeout = float(query.get("timeout", 30))
    except ValueError as exc:
        raise ValueError(f"JASPING_SMTP_URL: {exc}") from None
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
        sender=query.get("from") or None,
        timeout=timeout,
    )


class SmtpMailer:
    """Sends through an SMTP server, one connection per message (a worker sends few mails; nothing to pool)."""

    def __init__(self, config: SmtpConfig):
        self.config = config

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "ssl":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
        client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, *, sender: str, recipients: list[str], message: bytes, name: str) -> str:
        c = self.config
        try:
            with self._connect() as client:
                if c.username:
                    client.login(c.username, c.password or "")
                refused = client.sendmail(sender, recipients, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailError(f"recipient refused: {_reply(exc.recipients)}", retry=min(codes) < 500) from None
        except smtplib.SMTPDataError as exc:
            reason = f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise MailError(reason, retry=exc.smtp_code < 500) from None
        except smtplib.SMTPResponseException as exc:  # authentication, sender refused, …: settings to fix, retried
            raise MailError(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise MailError(f"cannot reach {c.host}:{c.port}: {exc or type(exc).__name__}") from None
        if refused:
            raise MailError(f"recipient refused: {_reply(refused)}", retry=False)
        return f"smtp://{c.host}:{c.port}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _reply(refused: dict) -> str:
    return "; ".join(f"{code} {_text(msg)}" for code, msg in refused.values())[:300]


class FileMailer:
    """Writes each message as `<directory>/<name>.eml` (atomically; sending again rewrites the same file)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, *, sender: str, recipients: list[str], message: bytes, name: str) -> str:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{name}.eml"
            tmp = path.with_suffix(".eml.tmp")
            tmp.write_bytes(message)
            os.replace(tmp, path)
        except OSError as exc:
            raise MailError(f"cannot write the outbox: {exc}") from None
        return str(path)


def outbox_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "outbox"


def platform_mailer(settings: Settings | None = None) -> Mailer:
    """SMTP when `JASPING_SMTP_URL` is set, else the file outbox in the data directory."""
    settings = settings or get_settings()
    if settings.smtp_url:
        return SmtpMailer(parse_smtp_url(settings.smtp_url))
    return FileMailer(outbox_dir(settings))


def platform_sender(settings: Settings | None = None) -> str:
    """The address platform mail comes from: the SMTP URL's `from`, else noreply@ the base URL's host."""
    settings = settings or get_settings()
    if settings.smtp_url:
        sender = parse_smtp_url(settings.smtp_url).sender
        if sender:
            return sender
    host = urlsplit(settings.base_url).hostname or "localhost"
    if host.replace(".", "").isdigit() or ":" in host:  # an IP address is no mail domain
        host = "localhost"
    return f"noreply@{host}"
