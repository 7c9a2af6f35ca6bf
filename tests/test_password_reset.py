"""Password reset by a single-use, expiring email link (no account enumeration), and the password policy: a
minimum length and the bundled list of common breached passwords."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from sqlalchemy import select

from jasping.db import open_session
from jasping.integrations.mail_models import Email
from jasping.security import passwords
from security_fixtures import PASSWORD, actions, app_clock, browser, register  # noqa: F401 - fixtures

NEW_PASSWORD = "a new and long passphrase"


def _reset_mails() -> list[str]:
    with open_session() as s:
        rows = s.execute(select(Email).where(Email.kind == "code").order_by(Email.created_at)).scalars().all()
        return [r.body for r in rows if "password" in r.body.lower()]


def _link(raw: str) -> str:
    msg = email.message_from_string(raw, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    found = re.search(r"http://testserver/password-reset/confirm\?token=([\w-]+)", text)
    assert found and found.group(0) in html
    assert msg["To"] == "nadia@example.org" and "JasPing" in msg["Subject"]
    return found.group(1)


def test_reset_answers_the_same_for_any_address_and_the_link_works_once(client) -> None:
    nadia = register()
    other = browser()
    known = other.post("/api/v1/auth/password-reset", json={"email": "NADIA@example.org"})
    unknown = other.post("/api/v1/auth/password-reset", json={"email": "nobody@example.org"})
    malformed = other.post("/api/v1/auth/password-reset", json={"email": "not an address"})
    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.json() == unknown.json() == malformed.json()
    mails = _reset_mails()
    assert len(mails) == 1
    token = _link(mails[0])

    weak = other.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "password1234"})
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    r = other.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    assert nadia.client.get("/api/v1/auth/me").status_code == 401  # every session ended
    assert nadia.login().status_code == 401
    assert nadia.login(NEW_PASSWORD).status_code == 200

    again = other.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "yet another passphrase"}
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "invalid_reset_link"
    assert nadia.login(NEW_PASSWORD).status_code == 200
    log = actions(nadia.user_id)
    assert "auth.password_reset_requested" in log and "auth.password_reset" in log


def test_the_link_expires_and_a_newer_one_replaces_it(client, app_clock) -> None:  # noqa: F811
    register()
    other = browser()
    other.post("/api/v1/auth/password-reset", json={"email": "nadia@example.org"})
    first = _link(_reset_mails()[-1])
    other.post("/api/v1/auth/password-reset", json={"email": "nadia@example.org"})
    second = _link(_reset_mails()[-1])
    assert first != second
    r = other.post("/api/v1/auth/password-reset/confirm", json={"token": first, "password": NEW_PASSWORD})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_reset_link"
    app_clock.advance(minutes=30, seconds=1)
    r = other.post("/api/v1/auth/password-reset/confirm", json={"token": second, "password": NEW_PASSWORD})
    assert r.status_code == 422 and "expired" in r.json()["error"]["message"]
    r = other.post("/api/v1/auth/password-reset/confirm", json={"token": "made-up", "password": NEW_PASSWORD})
    assert r.status_code == 422


def test_too_many_requests_for_one_account_stay_silent(client) -> None:
    register()
    other = browser()
    answers = {
        other.post("/api/v1/auth/password-reset", json={"email": "nadia@example.org"}).status_code for _ in range(5)
    }
    assert answers == {202}
    assert len(_reset_mails()) == 3  # three links a minute at most; the rest are dropped without saying so


@pytest.mark.parametrize(
    "password,reason",
    [
        ("short pass", "at least 12"),
        ("password1234", "common"),
        ("iloveyou2026!", "common"),
        ("Qwertyuiop123", "common"),
        ("aaaaaaaaaaaaaaaa", "too few"),
    ],
)
def test_weak_and_breached_passwords_are_refused_at_sign_up(client, password: str, reason: str) -> None:
    r = client.post(
        "/api/v1/auth/register",
        json={"email": "a@example.org", "password": password, "organization_name": "X", "accept_privacy_notice": True},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    assert reason in r.json()["error"]["message"]


def test_the_breached_list_ships_with_the_package() -> None:
    common = passwords.common_passwords()
    assert len(common) > 19_000 and "123456" in common and "password" in common
    assert not passwords.is_common("correct horse battery") and not passwords.is_common("demo-password-2026")
    passwords.check_strength("demo-password-2026")  # the demo login (make run) stays valid
    with pytest.raises(passwords.WeakPassword):
        passwords.check_strength("nadia@example.org", email="nadia@example.org")


def test_reset_pages_in_the_dashboard(client) -> None:
    register()
    visitor = browser()
    page = visitor.get("/login")
    assert 'href="/password-reset"' in page.text
    page = visitor.get("/password-reset")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = visitor.post("/password-reset", data={"csrf_token": csrf, "email": "nadia@example.org"})
    assert r.status_code == 202 and "If an account uses this address" in r.text
    token = _link(_reset_mails()[-1])
    r = visitor.get(f"/password-reset/confirm?token={token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/password-reset/confirm"  # the token leaves the URL
    assert "HttpOnly" in r.headers["set-cookie"] and "Path=/password-reset" in r.headers["set-cookie"]
    page = visitor.get(r.headers["location"])
    assert page.status_code == 200 and token not in page.text
    r = visitor.post("/password-reset/confirm", data={"csrf_token": csrf, "password": "iloveyou2026!"})
    assert r.status_code == 422 and "common" in r.text
    r = visitor.post(
        "/password-reset/confirm", data={"csrf_token": csrf, "password": NEW_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "Password changed" in visitor.get(r.headers["location"]).text
    used = visitor.get(f"/password-reset/confirm?token={token}")  # followed to the page, which says so
    assert used.status_code == 400 and "/password-reset" in used.text
    visitor.cookies.set("jasping_lang", "fr")
    assert "Réinitialiser votre mot de passe" in visitor.get("/password-reset").text
