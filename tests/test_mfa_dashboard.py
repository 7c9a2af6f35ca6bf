"""The dashboard's security pages as a person uses them: set up an authenticator app from the QR code, recovery
codes shown once, the second step at log-in, removing MFA behind re-authentication, and French."""

from __future__ import annotations

import re

from jasping import clock
from security_fixtures import PASSWORD, actions, app_clock, browser, code_at, register  # noqa: F401 - fixtures


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field"
    return found.group(1)


def test_set_up_mfa_log_in_with_it_and_remove_it_behind_step_up(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    page = nadia.client.get("/security")
    assert page.status_code == 200 and "Set up an authenticator app" in page.text
    csrf = _csrf(page.text)
    r = nadia.client.post("/security/totp", data={"csrf_token": csrf})
    assert r.status_code == 200 and "<svg" in r.text and 'class="qr"' in r.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]{32})<', r.text).group(1)
    # a wrong code keeps the set-up (the QR code is shown again) and says why
    r = nadia.client.post("/security/totp/confirm", data={"csrf_token": csrf, "code": "000000"})
    assert r.status_code == 422 and "<svg" in r.text and secret in r.text
    r = nadia.client.post("/security/totp/confirm", data={"csrf_token": csrf, "code": code_at(secret, clock.now())})
    assert r.status_code == 200 and "Your recovery codes" in r.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", r.text)
    assert len(codes) == 10
    page = nadia.client.get("/security").text
    assert "Your recovery codes" not in page and codes[0] not in page and "Codes left: 10" in page  # shown once

    # log out, log in: the password, then the code page
    nadia.client.post("/logout", data={"csrf_token": csrf})
    visitor = nadia.client
    login = visitor.get("/login")
    r = visitor.post(
        "/login",
        data={"csrf_token": _csrf(login.text), "email": nadia.email, "password": PASSWORD, "next": "/agents"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login/mfa")
    mfa_cookie = r.headers["set-cookie"]
    assert "jasping_mfa=" in mfa_cookie and "HttpOnly" in mfa_cookie and "SameSite=strict" in mfa_cookie
    assert visitor.get("/agents", follow_redirects=False).status_code == 303  # not logged in yet
    step = visitor.get(r.headers["location"])
    assert step.status_code == 200 and "Authenticator app" in step.text and 'name="next" value="/agents"' in step.text
    bad = visitor.post(
        "/login/mfa", data={"csrf_token": _csrf(step.text), "method": "totp", "code": "111111", "next": "/agents"}
    )
    assert bad.status_code == 401 and "wrong" in bad.text
    app_clock.advance(seconds=30)
    r = visitor.post(
        "/login/mfa",
        data={
            "csrf_token": _csrf(step.text),
            "method": "totp",
            "code": code_at(secret, clock.now()),
            "next": "/agents",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agents"
    assert visitor.get("/agents").status_code == 200

    # removing it is a sensitive change: after 11 minutes the password is asked again
    app_clock.advance(minutes=11)
    page = visitor.get("/security")
    csrf = _csrf(page.text)
    r = visitor.post("/security/totp/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/security/reauth")
    reauth = visitor.get(r.headers["location"])
    assert "Confirm it is you" in reauth.text
    wrong = visitor.post(
        "/security/reauth", data={"csrf_token": csrf, "password": "not my password", "next": "/security"}
    )
    assert wrong.status_code == 401
    r = visitor.post(
        "/security/reauth",
        data={"csrf_token": csrf, "method": "password", "password": PASSWORD, "next": "/security"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/security"
    r = visitor.post("/security/totp/disable", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and "Set up an authenticator app" in r.text
    assert {"mfa.enrol", "auth.login_mfa", "auth.reauthenticate", "mfa.disable"} <= set(actions(nadia.user_id))


def test_api_key_creation_in_the_dashboard_asks_for_the_password_when_it_is_old(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    csrf = _csrf(nadia.client.get("/api-keys").text)
    r = nadia.client.post("/api-keys", data={"csrf_token": csrf, "name": "Zapier"})
    assert r.status_code == 201
    app_clock.advance(minutes=11)
    r = nadia.client.post("/api-keys", data={"csrf_token": csrf, "name": "Make"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/security/reauth?next=/api-keys"
    nadia.client.post("/security/reauth", data={"csrf_token": csrf, "method": "password", "password": PASSWORD})
    assert nadia.client.post("/api-keys", data={"csrf_token": csrf, "name": "Make"}).status_code == 201


def test_organization_policy_from_the_security_page_in_french(client) -> None:
    nadia = register()
    nadia.client.cookies.set("jasping_lang", "fr")
    page = nadia.client.get("/security")
    assert "Validation en deux étapes" in page.text and "Exiger la validation en deux étapes" in page.text
    r = nadia.client.post("/security/policy", data={"csrf_token": _csrf(page.text), "require_mfa": "on"})
    assert r.status_code == 409 and "activez la validation en deux étapes pour vous-même" in r.text
    assert "Mot de passe oublié ?" in browser().get("/login", cookies={"jasping_lang": "fr"}).text
