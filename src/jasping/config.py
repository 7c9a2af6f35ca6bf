"""Settings read from the environment (names in DESIGN.md's product contract)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the platform; each field reads `JASPING_<NAME>` unless it says otherwise."""

    model_config = SettingsConfigDict(env_prefix="JASPING_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    master_key: str | None = Field(default=None, repr=False)
    old_master_keys: str | None = Field(default=None, repr=False)  # comma-separated, during rotation
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = Field(default=None, repr=False)

    llm: str = "local"
    llm_model: str = "gpt-4o-mini"
    openai_api_key: str | None = Field(default=None, alias="OPENAI_API_KEY", repr=False)
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    # multilingual by default: customers ask across languages, and the held-out answers gain 12 points with it
    embeddings: str = "use-multilingual"
    embeddings_model: str = "text-embedding-3-small"  # for JASPING_EMBEDDINGS=openai
    smtp_url: str | None = Field(default=None, repr=False)
    privacy_email: str | None = None  # the operator's address for account holders' data requests (reminders)

    whatsapp_graph_url: str = "https://graph.facebook.com/v21.0"
    twilio_api_url: str = "https://api.twilio.com"
    stripe_api_url: str = "https://api.stripe.com"
    # Billing (docs/billing.md): off, with every feature and no limits, until the secret key is set.
    stripe_secret_key: str | None = Field(default=None, repr=False)
    stripe_webhook_secret: str | None = Field(default=None, repr=False)
    stripe_price_starter: str | None = None  # the Stripe price ids of the paid plans (currency_options for MAD)
    stripe_price_pro: str | None = None
    billing_trial_days: int = 14  # a new organization uses the Pro plan this long without paying
    billing_grace_days: int = 7  # after a failed payment, the paid plan is kept this long, then Free
    google_api_url: str = "https://www.googleapis.com"
    google_oauth_url: str = "https://oauth2.googleapis.com"  # token and revoke; consent at accounts.google.com
    google_client_id: str | None = None
    google_client_secret: str | None = Field(default=None, repr=False)

    # Login sessions (security/sessions.py): ended after this long without a request, and at the latest this long
    # after log-in; sensitive actions (MFA changes, API keys, exports, deletions, integration secrets) need the
    # password or a second-factor code entered within `step_up_minutes`.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    step_up_minutes: int = 10
    password_reset_minutes: int = 30  # how long a password-reset link works (once)
    # Rate limits and lockout (security/lockout.py, docs/security.md); 0 turns one off. Failed log-ins (and wrong
    # second-factor codes) are counted per account (the email, case-insensitive) and per IP within
    # `login_lockout_minutes`; reaching a limit locks that account or IP for `login_lockout_minutes` (429, Retry-After).
    login_failures_per_account: int = 10
    login_failures_per_ip: int = 50
    mfa_failures_per_account: int = 10
    login_lockout_minutes: int = 15
    registrations_per_ip: int = 20  # sign-ups per IP and hour
    # Registration risk (registration/, docs/security.md): sign-ups per IP an hour and per device a day beyond which a
    # sign-up is riskier (0: not counted), the least seconds a person takes to fill the form, and the MX check of the
    # email domain (`off`, offline; `dns`: look the domain's mail server up).
    registration_risk_signups_per_ip: int = 10
    registration_risk_signups_per_device: int = 3
    registration_form_min_seconds: int = 3
    registration_mx_check: Literal["off", "dns"] = "off"
    password_resets_per_ip: int = 20  # reset requests per IP and minute (and 3 per account, silently)
    webhook_requests_per_ip: int = 600  # provider webhooks per source IP and minute
    # A security alert (audit event, email to the owners, the organization's webhook) when this many log-ins of one
    # account, or of an organization's members, fail or are refused within `login_lockout_minutes`.
    security_alert_failures: int = 20
    # Two-step verification by SMS goes through the platform's own Twilio number; it is offered once all three are set.
    sms_twilio_account_sid: str | None = None
    sms_twilio_auth_token: str | None = Field(default=None, repr=False)
    sms_from: str | None = None
    max_upload_mb: int = 25
    # Public web-chat limits per minute (0 disables one): sessions per visitor IP, messages per conversation,
    # messages per agent (all visitors together).
    widget_sessions_per_ip: int = 30
    widget_messages_per_conversation: int = 60
    widget_messages_per_agent: int = 3000
    # Files customers send in the chat: the largest accepted, and how many one conversation may hold.
    widget_max_file_mb: int = 10
    # A reply being sent is leased this long; a worker that died mid-send leaves it to the sweep after that.
    delivery_lease_seconds: int = 120
    widget_files_per_conversation: int = 20
    # Where stored files (customers' files, knowledge uploads) are kept, always encrypted first: `local` (the data
    # directory) or `s3` (any S3-compatible object storage; see docs/files.md).
    files_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None  # None: AWS S3; e.g. http://127.0.0.1:9000 (MinIO), https://s3.fr-par.scw.cloud
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = Field(default=None, repr=False)
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    allow_private_urls: bool = False  # let URL sources reach private addresses (tests, intranets)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, with the request id (docs/operations.md)
    web_threads: int = 64
    db_pool_size: int = 10

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    _sqlite_url: tuple[Path, str, str] | None = PrivateAttr(None)  # (data_dir, working directory, URL)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or SQLite in the data directory (resolved once: every decryption asks)."""
        if self.database_url:
            return self.database_url
        cwd = os.getcwd()
        if self._sqlite_url is None or self._sqlite_url[:2] != (self.data_dir, cwd):
            self._sqlite_url = (self.data_dir, cwd, f"sqlite:///{(self.data_dir / 'jasping.db').resolve()}")
        return self._sqlite_url[2]

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings()
