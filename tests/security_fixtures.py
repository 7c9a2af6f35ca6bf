"""Helpers of the security tests: people with their own browser (TestClient), TOTP codes, a clock the application
thread sees (tests replace `clock.now`: the TestClient's thread does not see `clock.frozen_at`), Twilio on a local
stand-in for SMS codes, and the audit log's actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from jasping import clock
from jasping.config import get_settings
from jasping.db import new_id, open_session
from jasping.security.audit import AuditEvent
from jasping.tenancy import service as tenancy
from jasping.tenancy.models import Membership
from provider_stub import ProviderStub

PASSWORD = "correct horse battery"
SMS_FROM = "+14155550100"


class Clock:
    """The application's time: starts at the real now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def app_clock(monkeypatch) -> Clock:  # noqa: ANN001
    moving = Clock()
    monkeypatch.setattr(clock, "now", lambda: moving.now)
    return moving


@dataclass
class Person:
    client: TestClient
    email: str
    password: str
    user_id: str
    org_id: str
    csrf: str

    def login(self, password: str | None = None):  # noqa: ANN201
        return self.client.post("/api/v1/auth/login", json={"email": self.email, "password": password or self.password})

    def refresh_csrf(self) -> None:
        me = self.client.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        self.csrf = me.json()["csrf_token"]
        self.client.headers["X-CSRF-Token"] = self.csrf


def browser() -> TestClient:
    from jasping.app import create_app

    return TestClient(create_app(), base_url="http://testserver")


def register(email: str = "nadia@example.org", organization: str = "Agence Lumière") -> Person:
    own = browser()
    r = own.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "organization_name": organization, "accept_privacy_notice": True},
    )
    assert r.status_code == 201, r.text
    me = r.json()
    own.headers["X-CSRF-Token"] = me["csrf_token"]
    return Person(own, email, PASSWORD, me["user_id"], me["organization_id"], me["csrf_token"])


def add_member(org_id: str, email: str, role: str = "agent") -> Person:
    """A second person in the organization (created as an operator would), logged in through the API."""
    with open_session() as s:
        user = tenancy.create_user(s, email=email, password=PASSWORD)
        s.add(Membership(id=new_id("mem"), org_id=org_id, user_id=user.id, role=role))
        s.commit()
        user_id = user.id
    own = browser()
    r = own.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    own.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return Person(own, email, PASSWORD, user_id, org_id, r.json()["csrf_token"])


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def enable_totp(person: Person) -> tuple[str, list[str]]:
    """Set up an authenticator app for `person`; returns its secret and the recovery codes."""
    r = person.client.post("/api/v1/auth/mfa/totp")
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    r = person.client.post("/api/v1/auth/mfa/totp/confirm", json={"code": code_at(secret, clock.now())})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def actions(user_id: str | None = None) -> list[str]:
    """The audit log's actions, oldest first (only those about `user_id` when given)."""
    with open_session() as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        return [e.action for e in rows if user_id is None or user_id in (e.actor_id, e.object_id)]


def audit_details(action: str) -> list[dict]:
    with open_session() as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
        return [json.loads(e.detail) for e in rows]


@pytest.fixture
def twilio(monkeypatch) -> Iterator[ProviderStub]:  # noqa: ANN001
    """The platform's Twilio number for SMS codes, Twilio's REST API on a local stand-in."""
    with ProviderStub() as stub:
        monkeypatch.setenv("JASPING_TWILIO_API_URL", stub.url)
        monkeypatch.setenv("JASPING_SMS_TWILIO_ACCOUNT_SID", "AC" + "0123456789abcdef" * 2)
        monkeypatch.setenv("JASPING_SMS_TWILIO_AUTH_TOKEN", "9f86d081884c7d659a2feaa0c55ad015")
        monkeypatch.setenv("JASPING_SMS_FROM", SMS_FROM)
        get_settings.cache_clear()
        yield stub
    get_settings.cache_clear()


def last_sms_code(stub: ProviderStub, to: str) -> str:
    sent = [r for r in stub.sent() if r.body.get("To") == to]
    assert sent, f"no SMS to {to}"
    assert sent[-1].body["From"] == SMS_FROM and "/Messages.json" in sent[-1].path
    return sent[-1].body["Body"].split()[0]
