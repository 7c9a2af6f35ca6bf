"""Accounts and sessions through the JSON API: register, log in, cookies, CSRF, bad input."""

from __future__ import annotations

import pytest

from jasping.config import get_settings

PASSWORD = "correct horse battery"
ACCEPT = {"accept_privacy_notice": True}  # the privacy policy accepted (tests/test_signup_consent.py)


def _register(client, email: str = "nadia@example.org", **extra):  # noqa: ANN001, ANN202
    body = {"email": email, "password": PASSWORD, "organization_name": "Agence Lumière", **ACCEPT, **extra}
    return client.post("/api/v1/auth/register", json=body)


def test_register_login_logout_round_trip(client) -> None:
    r = _register(client, name="Nadia")
    assert r.status_code == 201
    me = r.json()
    assert me["email"] == "nadia@example.org" and me["organizations"][0]["role"] == "owner"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    assert client.get("/api/v1/auth/me").json()["user_id"] == me["user_id"]
    assert client.get("/api/v1/agents").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/agents").status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": "NADIA@Example.org ", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["organization_id"] == me["organization_id"]


def test_cookies_are_secure_behind_https(client, monkeypatch) -> None:
    monkeypatch.setenv("JASPING_BASE_URL", "https://app.jasping.example")
    get_settings.cache_clear()
    try:
        r = _register(client)
        assert "Secure" in r.headers["set-cookie"]
    finally:
        monkeypatch.setenv("JASPING_BASE_URL", "http://testserver")
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"email": "not-an-email", "password": PASSWORD, "organization_name": "X"}, 422, "invalid_email"),
        ({"email": "a@example.org", "password": "short", "organization_name": "X"}, 422, "weak_password"),
        ({"email": "a@example.org", "password": "aaaaaaaaaaaa", "organization_name": "X"}, 422, "weak_password"),
        ({"email": "a@example.org", "password": PASSWORD, "organization_name": ""}, 422, "invalid"),
        ({"email": "a@example.org", "password": PASSWORD}, 422, "invalid"),
        ({"email": "a@example.org", "password": PASSWORD, "organization_name": "X", "admin": True}, 422, "invalid"),
    ],
)
def test_register_rejects_bad_input_clearly(client, body, status, code) -> None:
    r = client.post("/api/v1/auth/register", json={**ACCEPT, **body})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_duplicate_email_conflicts_and_leaves_nothing_half_written(client) -> None:
    from jasping.db import open_session
    from jasping.tenancy.models import Organization, User

    assert _register(client).status_code == 201
    r = _register(client, email="Nadia@EXAMPLE.org")
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_taken"
    with open_session() as s:
        assert s.query(User).count() == 1 and s.query(Organization).count() == 1


def test_wrong_password_and_unknown_user_answer_the_same(client) -> None:
    _register(client)
    a = client.post("/api/v1/auth/login", json={"email": "nadia@example.org", "password": "wrong password"})
    b = client.post("/api/v1/auth/login", json={"email": "nobody@example.org", "password": "wrong password"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


@pytest.mark.parametrize(
    "raw,ctype",
    [
        (b'{"email": "x@example.org", "password": ', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"email=x", "text/plain"),
    ],
)
def test_broken_json_is_a_clear_422(client, raw: bytes, ctype: str) -> None:
    r = client.post("/api/v1/auth/login", content=raw, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text
    assert set(r.json()["error"]) == {"code", "message"}


def test_cookie_writes_need_json_or_the_csrf_header(client) -> None:
    me = _register(client).json()
    r = client.post(
        "/api/v1/agents", content=b"name=Bot", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    r = client.post("/api/v1/agents", json={"name": "Bot"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/v1/agents", json={"name": "Bot"})
    assert r.status_code == 201
    assert client.delete(f"/api/v1/agents/{r.json()['id']}").status_code == 403
    r = client.delete(f"/api/v1/agents/{r.json()['id']}", headers={"X-CSRF-Token": me["csrf_token"]})
    assert r.status_code == 204


def test_strange_unicode_round_trips(client, make_org) -> None:
    org = make_org()
    name = "وكيل الاستقبال ‏Riad‏ 🕌 Zoë"
    r = org.post("/api/v1/agents", json={"name": name, "languages": ["ar", "fr"], "greeting": "مرحبا بكم\u200f!"})
    assert r.status_code == 201, r.text
    got = org.get(f"/api/v1/agents/{r.json()['id']}").json()
    assert got["name"] == name and got["languages"] == ["ar", "fr"]
    assert org.post("/api/v1/agents", json={"name": "x" * 121}).status_code == 422
    assert org.post("/api/v1/agents", json={"name": "   "}).status_code == 422
    r = org.post("/api/v1/agents", json={"name": "Bot", "languages": ["klingon"]})
    assert r.status_code == 422 and "klingon" in r.json()["error"]["message"]
    r = org.client.patch("/api/v1/organization", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and "time zone" in r.json()["error"]["message"]


def test_agents_crud_through_the_api(client, make_org) -> None:
    org = make_org()
    r = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"], "instructions": "Be kind."})
    agent = r.json()
    assert r.status_code == 201 and agent["public_key"].startswith("pk_") and agent["greeting"]
    r = org.client.patch(f"/api/v1/agents/{agent['id']}", json={"greeting": "Bonjour !"})
    assert r.status_code == 200 and r.json()["greeting"] == "Bonjour !" and r.json()["name"] == "Amal"
    assert org.client.patch(f"/api/v1/agents/{agent['id']}", json={"bogus": 1}).status_code == 422
    assert org.client.delete(f"/api/v1/agents/{agent['id']}").status_code == 204
    assert org.get(f"/api/v1/agents/{agent['id']}").status_code == 404
    assert org.client.delete(f"/api/v1/agents/{agent['id']}").status_code == 404
