"""The `smtp` integration type: an organization sends its customers' mail through its own SMTP server, from its
own address (the password is encrypted and never shown again). Without one, the platform's `JASPING_SMTP_URL` (or
the file outbox) is used. The server must be on a public address unless `JASPING_ALLOW_PRIVATE_URLS` is set."""

from __future__ import annotations

from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from jasping.config import get_settings
from jasping.integrations import service as integrations
from jasping.integrations.mail_transport import MailError, SmtpConfig, SmtpMailer
from jasping.integrations.models import Integration
from jasping.integrations.service import Kind, register


class SmtpIn(BaseModel):
    """An SMTP server and the address mail comes from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587), ssl (implicit TLS, port 465) or none"
    )
    username: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=500, description="Stored encrypted, never shown again")
    from_address: str = Field(max_length=320, description="The sender address, e.g. bookings@your-business.com")
    from_name: str | None = Field(
        default=None, max_length=120, description="Shown as the sender; default: the business"
    )

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return validate_email(value, check_deliverability=False, allow_smtputf8=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not an email address: {exc}") from None


KIND = register(
    Kind(
        "smtp",
        SmtpIn,
        secrets=("password",),
        needs_agent=False,
        description="Your own SMTP server: booking confirmations, reminders and codes are sent from your address.",
    )
)


def org_smtp(session: Session) -> Integration | None:
    """The organization's SMTP integration (the oldest, if several), or None."""
    found = integrations.active(session, agent_id=None, types=("smtp",))
    return found[0] if found else None


class CheckedSmtpMailer(SmtpMailer):
    """An organization's server: its host is checked to be public before each connection."""

    def _connect(self):  # noqa: ANN202
        from jasping.knowledge.ingest.fetch import check_host
        from jasping.knowledge.types import IngestError

        try:
            check_host(self.config.host, self.config.port, get_settings().allow_private_urls)
        except IngestError as exc:  # a private address never becomes public; a name that did not resolve may
            raise MailError(exc.message, retry=exc.code != "blocked_address") from None
        return super()._connect()


def mailer_of(integration: Integration) -> SmtpMailer:
    settings, secrets = integration.settings or {}, integration.secrets
    return CheckedSmtpMailer(
        SmtpConfig(
            host=settings["host"],
            port=int(settings.get("port") or 587),
            username=settings.get("username"),
            password=secrets.get("password"),
            security=settings.get("security") or "starttls",
            sender=settings.get("from_address"),
        )
    )


def sender_of(integration: Integration, default_name: str) -> tuple[str, str]:
    settings = integration.settings or {}
    return settings.get("from_name") or default_name, settings["from_address"]
