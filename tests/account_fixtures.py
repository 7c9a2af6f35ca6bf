"""Helpers of the account-rights tests: a local SMTP server for the platform's mail, and the restore link it got."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from jasping.config import get_settings
from test_mail import SmtpServer, free_port

PASSWORD = "correct horse battery"


@pytest.fixture
def smtp(monkeypatch) -> Iterator[SmtpServer]:  # noqa: ANN001
    """A real SMTP server (aiosmtpd) as the platform's mailer, and jobs run inline."""
    from jasping.jobs.queue import huey

    server = SmtpServer(free_port())
    server.start()
    monkeypatch.setattr(huey, "immediate", True)
    monkeypatch.setenv("JASPING_SMTP_URL", server.url)
    monkeypatch.setenv("JASPING_PRIVACY_EMAIL", "privacy@jasping.example")
    get_settings.cache_clear()
    yield server
    server.stop()
    monkeypatch.delenv("JASPING_SMTP_URL", raising=False)
    monkeypatch.delenv("JASPING_PRIVACY_EMAIL", raising=False)
    get_settings.cache_clear()


def text_of(message) -> str:  # noqa: ANN001
    return message.get_body(("plain",)).get_content()


def restore_token(server: SmtpServer, to: str) -> str:
    """The token of the last restore link mailed to `to`."""
    mails = [m for (_, rcpt, _), m in zip(server.inbox.received, server.inbox.messages(), strict=True) if to in rcpt]
    assert mails, f"no mail to {to}"
    found = re.search(r"/account/restore\?token=([A-Za-z0-9._-]+)", text_of(mails[-1]))
    assert found, text_of(mails[-1])
    return found[1]


def delete_account(client, password: str = PASSWORD):  # noqa: ANN001, ANN201
    return client.request("DELETE", "/api/v1/me", json={"password": password})


@pytest.fixture
def travel(monkeypatch):  # noqa: ANN001, ANN201
    """Move `clock.now` (the TestClient's thread does not see `clock.frozen_at`): `travel(instant)`."""
    from jasping import clock

    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])

    def to(instant):  # noqa: ANN001, ANN202
        state["now"] = instant
        return instant

    to.start = state["now"]
    return to


def register(client, name: str, email: str, organization: str):  # noqa: ANN001, ANN201
    """A new account (and its organization) in its own logged-in client."""
    from starlette.testclient import TestClient

    own = TestClient(client.app, base_url="http://testserver")
    body = {
        "email": email,
        "password": PASSWORD,
        "organization_name": organization,
        "name": name,
        "accept_privacy_notice": True,
    }
    r = own.post("/api/v1/auth/register", json=body)
    assert r.status_code == 201, r.text
    own.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    own.me = r.json()
    return own


def log_in(client, email: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    from starlette.testclient import TestClient

    fresh = TestClient(client.app, base_url="http://testserver")
    return fresh.post("/api/v1/auth/login", json={"email": email, "password": password})
