"""The dashboard as a person uses it: forms, CSRF, languages, friendly errors."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from jasping.app import create_app


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _sign_up(client: TestClient, email: str = "salma@example.org") -> str:
    page = client.get("/register")
    assert page.status_code == 200
    r = client.post(
        "/register",
        data={
            "csrf_token": _csrf(page.text),
            "email": email,
            "password": "correct horse battery",
            "organization_name": "Riad Salma",
            "name": "Salma",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/agents/new"
    return _csrf(client.get("/agents/new").text)


def test_sign_up_create_edit_and_delete_an_agent(client) -> None:
    csrf = _sign_up(client)
    r = client.post(
        "/agents/new",
        data={
            "csrf_token": csrf,
            "name": "Yasmine",
            "languages": ["fr", "ar"],
            "instructions": "Polie et brève.",
            "greeting": "Bonjour !",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    agent_url = r.headers["location"].split("?")[0]
    page = client.get(r.headers["location"])
    assert "Yasmine" in page.text and "Agent created." in page.text and 'value="ar" checked' in page.text
    r = client.post(
        agent_url,
        data={"csrf_token": csrf, "name": "Yasmine B", "languages": ["fr"], "instructions": "", "greeting": "Salut"},
        follow_redirects=True,
    )
    assert "Yasmine B" in r.text and "Saved." in r.text
    r = client.post(
        agent_url, data={"csrf_token": csrf, "name": "", "languages": [], "instructions": "", "greeting": ""}
    )
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert "Yasmine B" in client.get("/agents").text
    r = client.post(agent_url + "/delete", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Agent deleted." in r.text and "Yasmine B" not in r.text


def test_forms_without_the_csrf_token_are_refused(client) -> None:
    csrf = _sign_up(client)
    r = client.post("/agents/new", data={"csrf_token": "forged", "name": "X", "languages": ["en"]})
    assert r.status_code == 403 and "<html" in r.text
    assert "X" not in [a for a in re.findall(r"<td[^>]*><a[^>]*>([^<]+)</a>", client.get("/agents").text)]
    other = TestClient(create_app(), base_url="http://testserver")
    r = other.post(
        "/login", data={"csrf_token": "nope", "email": "salma@example.org", "password": "correct horse battery"}
    )
    assert r.status_code == 403
    assert csrf


def test_api_key_secret_is_shown_once(client) -> None:
    csrf = _sign_up(client)
    r = client.post("/api-keys", data={"csrf_token": csrf, "name": "Zapier"})
    secret = re.search(r'id="new-secret">([^<]+)<', r.text).group(1)
    assert secret.startswith("jp_")
    listing = client.get("/api-keys").text
    assert secret not in listing and "Zapier" in listing
    assert client.get("/api/v1/agents", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    key_id = re.search(r"/api-keys/(key_\w+)/revoke", listing).group(1)
    r = client.post(f"/api-keys/{key_id}/revoke", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Key revoked." in r.text
    assert client.get("/api/v1/agents", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_log_in_and_out_with_the_forms(client) -> None:
    _sign_up(client)
    assert client.get("/", follow_redirects=False).status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})
    r = client.get("/agents", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/agents")
    page = client.get("/login?next=/agents")
    r = client.post(
        "/login",
        data={
            "csrf_token": _csrf(page.text),
            "email": "salma@example.org",
            "password": "wrong!!!!!!",
            "next": "/agents",
        },
    )
    assert r.status_code == 401 and "wrong email or password" in r.text
    r = client.post(
        "/login",
        data={
            "csrf_token": _csrf(page.text),
            "email": "salma@example.org",
            "password": "correct horse battery",
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_french_dashboard(client) -> None:
    client.get("/lang/fr")
    page = client.get("/register")
    assert '<html lang="fr">' in page.text and "Créer un compte" in page.text
    _sign_up(client)
    page = client.get("/settings")
    assert "Fuseau horaire" in page.text and "Stocké chiffré." in page.text


def test_settings_save_encrypted_contact_details(client) -> None:
    csrf = _sign_up(client)
    r = client.post(
        "/settings",
        data={
            "csrf_token": csrf,
            "name": "Riad Salma",
            "country": "ma",
            "timezone": "Africa/Casablanca",
            "default_language": "fr",
            "contact_email": "reception@riad.example",
            "contact_phone": "+212600000000",
        },
        follow_redirects=True,
    )
    assert "Saved." in r.text and "reception@riad.example" in r.text and 'value="MA"' in r.text
    r = client.post("/settings", data={"csrf_token": csrf, "name": "Riad Salma", "timezone": "Nowhere/Town"})
    assert r.status_code == 422 and "time zone" in r.text


def test_friendly_error_pages_and_security_headers(client) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "<html" in r.text and "Page not found" in r.text
    assert r.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    _sign_up(client)
    r = client.get("/agents/agt_doesnotexist")
    assert r.status_code == 404 and "no such agent" in r.text


def test_viewer_sees_but_cannot_edit(client, make_org) -> None:
    from jasping.db import session_scope
    from jasping.tenancy.models import Membership

    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    viewer = TestClient(create_app(), base_url="http://testserver")
    _sign_up(viewer, "viewer@example.org")
    with session_scope() as s:
        user_id = s.query(Membership).filter(Membership.org_id != org.id).one().user_id
        s.add(Membership(id="mem_viewer", org_id=org.id, user_id=user_id, role="viewer"))
    page = viewer.get("/")
    viewer.post("/org/switch", data={"csrf_token": _csrf(page.text), "org_id": org.id})
    page = viewer.get(f"/agents/{agent['id']}")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text
    r = viewer.post(
        f"/agents/{agent['id']}", data={"csrf_token": _csrf(page.text), "name": "Hacked", "languages": ["en"]}
    )
    assert r.status_code == 403
    assert org.get(f"/api/v1/agents/{agent['id']}").json()["name"] == "Amal"
    assert viewer.get("/api-keys").status_code == 403
