"""Login sessions: rotated at log-in, idle and absolute timeouts (on the application's clock), the list of one's
sessions with revoke and "log out everywhere", cookie flags, and the audit trail."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from jasping.config import get_settings
from jasping.security import sessions
from security_fixtures import PASSWORD, actions, app_clock, browser, register  # noqa: F401 - fixtures


def _cookie(response, name: str = sessions.COOKIE):  # noqa: ANN001, ANN202
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar[name]


def test_log_in_rotates_the_session(client) -> None:
    nadia = register()
    before = nadia.client.cookies.get(sessions.COOKIE)
    r = nadia.login()
    after = nadia.client.cookies.get(sessions.COOKIE)
    assert r.status_code == 200 and before and after and before != after
    stale = browser()
    stale.cookies.set(sessions.COOKIE, before)
    assert stale.get("/api/v1/auth/me").status_code == 401  # the pre-login token is worth nothing
    assert nadia.client.get("/api/v1/auth/me").status_code == 200
    # a token planted in a browser before its owner logs in (session fixation) is ended by the log-in
    planted = browser()
    planted.cookies.set(sessions.COOKIE, after)
    planted.post("/api/v1/auth/login", json={"email": nadia.email, "password": PASSWORD})
    assert nadia.client.get("/api/v1/auth/me").status_code == 401


def test_idle_timeout(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    for _ in range(4):  # active every 25 minutes: the idle clock restarts each time
        app_clock.advance(minutes=25)
        assert nadia.client.get("/api/v1/auth/me").status_code == 200
    app_clock.advance(minutes=31)
    r = nadia.client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert nadia.client.get("/api/v1/agents").status_code == 401
    page = nadia.client.get("/agents", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_absolute_timeout(client, app_clock) -> None:  # noqa: F811
    nadia = register()
    for _ in range(35):  # active every 20 minutes for 11 h 40
        app_clock.advance(minutes=20)
        assert nadia.client.get("/api/v1/auth/me").status_code == 200
    app_clock.advance(minutes=20)  # 12 hours after log-in
    assert nadia.client.get("/api/v1/auth/me").status_code == 401


def test_timeouts_are_settings(client, app_clock, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("JASPING_SESSION_IDLE_MINUTES", "5")
    get_settings.cache_clear()
    try:
        nadia = register()
        app_clock.advance(minutes=4)
        assert nadia.client.get("/api/v1/auth/me").status_code == 200
        app_clock.advance(minutes=6)
        assert nadia.client.get("/api/v1/auth/me").status_code == 401
    finally:
        monkeypatch.delenv("JASPING_SESSION_IDLE_MINUTES")
        get_settings.cache_clear()


def test_list_revoke_one_and_log_out_everywhere(client) -> None:
    nadia = register()
    laptop = browser()
    laptop.headers["User-Agent"] = "Firefox on the laptop"
    assert laptop.post("/api/v1/auth/login", json={"email": nadia.email, "password": PASSWORD}).status_code == 200
    phone = browser()
    assert phone.post("/api/v1/auth/login", json={"email": nadia.email, "password": PASSWORD}).status_code == 200

    listed = nadia.client.get("/api/v1/auth/sessions").json()["sessions"]
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    assert set(listed[0]) == {"id", "created_at", "last_seen_at", "expires_at", "user_agent", "ip_prefix", "current"}
    assert not any("token" in key for key in listed[0])
    laptop_id = next(s["id"] for s in listed if s["user_agent"] == "Firefox on the laptop")

    assert nadia.client.delete(f"/api/v1/auth/sessions/{laptop_id}").status_code == 204
    assert laptop.get("/api/v1/auth/me").status_code == 401
    assert nadia.client.delete(f"/api/v1/auth/sessions/{laptop_id}").status_code == 404

    # another person's session id is not found either
    other = register("karim@example.org", "Karim & Co")
    other_id = other.client.get("/api/v1/auth/sessions").json()["sessions"][0]["id"]
    assert nadia.client.delete(f"/api/v1/auth/sessions/{other_id}").status_code == 404
    assert other.client.get("/api/v1/auth/me").status_code == 200

    r = nadia.client.post("/api/v1/auth/sessions/revoke-all", json={"keep_current": True})
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert phone.get("/api/v1/auth/me").status_code == 401
    assert nadia.client.get("/api/v1/auth/me").status_code == 200

    r = nadia.client.post("/api/v1/auth/sessions/revoke-all", json={})
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert nadia.client.get("/api/v1/auth/me").status_code == 401
    assert other.client.get("/api/v1/auth/me").status_code == 200
    log = actions(nadia.user_id)
    assert log.count("session.revoke") == 1 and log.count("session.revoke_all") == 2


def test_session_endpoints_need_a_session(client, make_org) -> None:
    org = make_org()
    r = client.get("/api/v1/auth/sessions", headers=org.headers)
    assert r.status_code == 401  # an API key is not a person
    r = org.client.post("/api/v1/auth/sessions/revoke-all", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code in (403, 422)


def test_ip_prefix_keeps_the_network_only() -> None:
    assert sessions.ip_prefix("203.0.113.77") == "203.0.113.0/24"
    assert sessions.ip_prefix("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert sessions.ip_prefix("testclient") is None and sessions.ip_prefix(None) is None


@pytest.mark.parametrize("base_url,secure", [("http://testserver", False), ("https://app.jasping.example", True)])
def test_session_cookie_flags(client, monkeypatch, base_url: str, secure: bool) -> None:
    monkeypatch.setenv("JASPING_BASE_URL", base_url)
    get_settings.cache_clear()
    try:
        own = browser()
        r = own.post(
            "/api/v1/auth/register",
            json={
                "email": "nadia@example.org",
                "password": PASSWORD,
                "organization_name": "Lumière",
                "accept_privacy_notice": True,
            },
        )
        for response in (r, own.post("/api/v1/auth/login", json={"email": "nadia@example.org", "password": PASSWORD})):
            cookie = _cookie(response)
            assert cookie["httponly"] is True and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
            assert int(cookie["max-age"]) == 12 * 3600
            assert bool(cookie["secure"]) is secure
        out = own.post("/api/v1/auth/logout")
        cleared = _cookie(out)
        assert cleared.value in ("", '""') and int(cleared["max-age"]) == 0 and bool(cleared["secure"]) is secure
    finally:
        monkeypatch.setenv("JASPING_BASE_URL", "http://testserver")
        get_settings.cache_clear()


def test_dashboard_sessions_list_and_revoke(client) -> None:
    import re

    nadia = register()
    other = browser()
    other.headers["User-Agent"] = "Safari on the phone"
    other.post("/api/v1/auth/login", json={"email": nadia.email, "password": PASSWORD})
    page = nadia.client.get("/security")
    assert page.status_code == 200 and "Safari on the phone" in page.text and "this browser" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ids = re.findall(r"/security/sessions/(ses_\w+)/revoke", page.text)
    assert len(ids) == 2
    listed = nadia.client.get("/api/v1/auth/sessions").json()["sessions"]
    current_id = next(x["id"] for x in listed if x["current"])
    phone_id = next(i for i in ids if i != current_id)
    r = nadia.client.post(f"/security/sessions/{phone_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and other.get("/api/v1/auth/me").status_code == 401
    r = nadia.client.post(f"/security/sessions/{phone_id}/revoke", data={"csrf_token": "forged"})
    assert r.status_code == 403
    nadia.client.cookies.set("jasping_lang", "fr")
    assert "Se déconnecter partout" in nadia.client.get("/security").text
    r = nadia.client.post("/security/sessions/revoke-all", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert nadia.client.get("/api/v1/auth/me").status_code == 401
