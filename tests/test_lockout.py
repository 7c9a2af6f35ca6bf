"""Rate limits and lockout (issue 11, point 4), through the API and the dashboard as people and attackers use them:
failed log-ins per account (any case of the address) and per IP, wrong second-factor codes, registration, password
reset, the public widget and the webhooks; 429 with Retry-After; the lock holds for the right password until its
window passes (the application's clock moves, nobody sleeps). The lockout tests run on the in-process store and on
Redis (JASPING_TEST_REDIS_URL; skipped only when it is not set)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import REDIS_URL, require_service
from jasping.config import get_settings
from jasping.db import open_session
from jasping.integrations.mail_models import Email
from jasping.security import lockout, ratelimit
from jasping.security.audit import AuditEvent
from security_fixtures import (  # noqa: F401 - fixtures
    PASSWORD,
    actions,
    app_clock,
    audit_details,
    browser,
    code_at,
    enable_totp,
    register,
)


@pytest.fixture(params=["memory", "redis"])
def limiter(request, monkeypatch) -> Iterator[str]:  # noqa: ANN001
    """The limiter's store: this process's memory, or Redis as configured with JASPING_REDIS_URL."""
    if request.param == "redis":
        monkeypatch.setenv("JASPING_REDIS_URL", require_service(REDIS_URL, "redis"))
        get_settings.cache_clear()
        ratelimit.clear()
    yield request.param
    if request.param == "redis":
        ratelimit.clear()
        monkeypatch.delenv("JASPING_REDIS_URL")
        get_settings.cache_clear()
        ratelimit.reset()


def _set(monkeypatch, **values: int) -> None:  # noqa: ANN001
    for name, value in values.items():
        monkeypatch.setenv(f"JASPING_{name.upper()}", str(value))
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _settings_restored() -> Iterator[None]:
    """Settings changed through the environment (monkeypatch undoes it) are read again after the test."""
    yield
    get_settings.cache_clear()


def _login(client: TestClient, email: str, password: str):  # noqa: ANN202
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


# ---- the "Done when" test ------------------------------------------------------------------------------------------
def test_30_failed_logins_lock_the_account_until_the_window_passes(client, limiter, app_clock) -> None:  # noqa: F811
    nadia = register()
    attacker = browser()
    spellings = ["nadia@example.org", "NADIA@Example.org", " Nadia@EXAMPLE.org "]
    codes = [_login(attacker, spellings[i % 3], f"guess number {i}").status_code for i in range(30)]
    limit = get_settings().login_failures_per_account
    assert codes[:limit] == [401] * limit  # every spelling counts against the same account
    assert codes[limit:] == [429] * (30 - limit)

    refused = _login(browser(), "nadia@example.org", PASSWORD)  # the owner, with the right password
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "locked_out"
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert "try again in 15 minutes" in refused.json()["error"]["message"]
    assert "set-cookie" not in refused.headers

    assert actions(nadia.user_id).count("auth.lockout") == 1
    assert audit_details("auth.lockout") == [{"scope": "account", "failures": limit, "minutes": 15}]

    app_clock.advance(minutes=14, seconds=50)
    assert _login(browser(), "nadia@example.org", PASSWORD).status_code == 429
    app_clock.advance(seconds=11)
    back = _login(browser(), "nadia@example.org", PASSWORD)
    assert back.status_code == 200, back.text
    assert back.json()["user_id"] == nadia.user_id


def test_the_dashboard_login_shows_the_lockout(client, limiter, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, login_failures_per_account=3)
    register()
    page = browser()
    csrf = page.get("/login").cookies.get("jasping_csrf") or page.cookies.get("jasping_csrf")
    form = {"email": "nadia@example.org", "password": "not my password", "csrf_token": csrf}
    assert [page.post("/login", data=form).status_code for _ in range(3)] == [401, 401, 401]
    locked = page.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "try again in 15 minutes" in locked.text and "jasping_session" not in locked.headers.get("set-cookie", "")


def test_a_successful_login_clears_the_failures(client, limiter, monkeypatch) -> None:
    _set(monkeypatch, login_failures_per_account=3)
    nadia = register()
    for _ in range(2):
        assert nadia.login("not my password").status_code == 401
    assert nadia.login().status_code == 200
    for _ in range(2):
        assert nadia.login("not my password").status_code == 401
    assert nadia.login().status_code == 200
    assert "auth.lockout" not in actions()


def test_one_ip_guessing_many_accounts_is_locked(client, limiter, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, login_failures_per_ip=5)
    register()
    attacker = TestClient(client.app, base_url="http://testserver", client=("203.0.113.9", 4000))
    codes = [_login(attacker, f"someone{i}@example.org", "password guess").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert _login(attacker, "nadia@example.org", PASSWORD).status_code == 429  # this address is locked out
    assert _login(browser(), "nadia@example.org", PASSWORD).status_code == 200  # not the account, nor others
    assert [d["scope"] for d in audit_details("auth.lockout")] == ["ip"]
    app_clock.advance(minutes=15, seconds=1)
    assert _login(attacker, "nadia@example.org", PASSWORD).status_code == 200


def test_wrong_second_factor_codes_lock_the_second_step(client, limiter, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, mfa_failures_per_account=4)
    nadia = register()
    secret, _ = enable_totp(nadia)
    other = browser()
    for _ in range(4):  # a new log-in each time: a token of its own does not reset the count
        token = _login(other, nadia.email, PASSWORD).json()["mfa_token"]
        r = other.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "method": "totp", "code": "000000"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"
    token = _login(other, nadia.email, PASSWORD).json()["mfa_token"]
    right = {"mfa_token": token, "method": "totp", "code": code_at(secret, app_clock.now)}
    r = other.post("/api/v1/auth/mfa/verify", json=right)
    assert r.status_code == 429 and r.json()["error"]["code"] == "locked_out" and int(r.headers["retry-after"]) > 0
    assert audit_details("auth.lockout") == [{"scope": "mfa", "failures": 4, "minutes": 15}]
    app_clock.advance(minutes=15, seconds=1)
    token = _login(other, nadia.email, PASSWORD).json()["mfa_token"]
    right = {"mfa_token": token, "method": "totp", "code": code_at(secret, app_clock.now)}
    assert other.post("/api/v1/auth/mfa/verify", json=right).status_code == 200


def test_a_password_reset_lifts_the_lock(client, limiter, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, login_failures_per_account=2)
    nadia = register()
    anyone = browser()
    for _ in range(2):
        assert nadia.login("not my password").status_code == 401
    assert nadia.login().status_code == 429
    assert anyone.post("/api/v1/auth/password-reset", json={"email": nadia.email}).status_code == 202
    with open_session() as s:
        raw = s.execute(select(Email.body).where(Email.kind == "code")).scalars().all()[-1]
    text = email.message_from_string(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    token = re.search(r"token=([\w-]+)", text).group(1)
    new = "a brand new long passphrase"
    assert anyone.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": new}).status_code == 204
    assert nadia.login(new).status_code == 200


# ---- registration, password reset, widget, webhooks -----------------------------------------------------------------
# Limits count in fixed windows of the application clock: each test holds the clock still (`app_clock`), so that a
# window boundary falling between its requests cannot reset the count (it did, once in a full run).
def test_registrations_per_ip_are_limited(client, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, registrations_per_ip=2)
    body = {"password": PASSWORD, "organization_name": "Riad", "accept_privacy_notice": True}
    codes = [
        browser().post("/api/v1/auth/register", json={**body, "email": f"r{i}@example.org"}).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    r = browser().post("/api/v1/auth/register", json={**body, "email": "late@example.org"})
    assert r.json()["error"]["code"] == "rate_limited" and 0 < int(r.headers["retry-after"]) <= 3600
    app_clock.advance(hours=1)
    assert browser().post("/api/v1/auth/register", json={**body, "email": "later@example.org"}).status_code == 201


def test_password_reset_requests_per_ip_are_limited(client, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, password_resets_per_ip=2)
    anyone = browser()
    codes = [anyone.post("/api/v1/auth/password-reset", json={"email": "x@example.org"}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


def test_webhooks_are_limited_per_source_ip(client, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, webhook_requests_per_ip=2)
    codes = [client.post("/webhooks/twilio/sms", content=b"From=%2B1&To=%2B2").status_code for _ in range(3)]
    assert codes[:2] == [401, 401] and codes[2] == 429  # unsigned: refused, then not even looked at
    r = client.post("/webhooks/whatsapp", content=b"{}")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    other = TestClient(client.app, base_url="http://testserver", client=("198.51.100.7", 4000))
    assert other.post("/webhooks/twilio/sms", content=b"From=%2B1&To=%2B2").status_code == 401


def test_widget_history_is_limited_per_conversation(client, make_org, app_clock, monkeypatch) -> None:  # noqa: F811
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    _set(monkeypatch, widget_messages_per_conversation=2)
    url = f"/api/v1/widget/sessions/{session['conversation_id']}/messages"
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    assert [client.get(url, headers=headers).status_code for _ in range(3)] == [200, 200, 429]


# ---- units ----------------------------------------------------------------------------------------------------------
def test_limits_follow_the_application_clock_and_a_lock_ends_on_time(db_url, limiter, app_clock) -> None:  # noqa: F811
    limit = ratelimit.Limit("unit", 2, 60)
    ratelimit.check(limit, "k")
    ratelimit.check(limit, "k")
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check(limit, "k")
    assert 1 <= refused.value.retry_after <= 60
    app_clock.advance(seconds=60)
    ratelimit.check(limit, "k")  # a new window
    ratelimit.lock("unit-lock", "k", 30)
    assert 29 <= ratelimit.locked_for("unit-lock", "k") <= 30
    app_clock.advance(seconds=31)
    assert ratelimit.locked_for("unit-lock", "k") == 0
    assert ratelimit.hit(ratelimit.Limit("off", 0), "k") == 0  # a limit of 0 is off


def test_account_keys_ignore_case_and_spaces_and_hold_no_address(db_url) -> None:
    key = lockout.account_key("Nadia@Example.org")
    assert key == lockout.account_key("  nadia@example.ORG ") and "nadia" not in key
    assert key != lockout.account_key("nadia@example.com")


def test_the_memory_store_starts_empty_in_every_test(db_url) -> None:
    """The autouse fixture of conftest.py: a count left by another test would show here."""
    assert ratelimit.hit(ratelimit.Limit("leak-check", 5), "same-key") == 1


def test_the_memory_store_starts_empty_in_every_test_again(db_url) -> None:
    assert ratelimit.hit(ratelimit.Limit("leak-check", 5), "same-key") == 1


def test_lockout_events_are_kept_in_the_audit_log(client, app_clock, monkeypatch) -> None:  # noqa: F811
    _set(monkeypatch, login_failures_per_account=1)
    nadia = register()
    assert nadia.login("not my password").status_code == 401
    with open_session() as s:
        row = s.execute(select(AuditEvent).where(AuditEvent.action == "auth.lockout")).scalar_one()
        assert row.object_id == nadia.user_id and row.ip_hash and json.loads(row.detail)["scope"] == "account"
