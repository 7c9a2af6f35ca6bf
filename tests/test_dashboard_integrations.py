"""The agent's Integrations page in the dashboard: CalDAV, webhook and SMTP connected through forms built from each
type's model, a webhook's signing secret shown once, Google through its consent page, status and last error,
disconnecting, roles, other organizations, French."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from google_stub import GoogleStub, point_jasping_at
from jasping.config import get_settings
from test_dashboard import _csrf, _sign_up
from test_dashboard_channels import _input, _new_agent, _viewer_of

CALDAV = {
    "name": "Salon calendar",
    "url": "https://cloud.example.com/remote.php/dav",
    "username": "salma",
    "password": "caldav-app-password-value",
    "calendar": "Appointments",
}
SMTP = {
    "host": "smtp.example.com",
    "port": "465",
    "security": "ssl",
    "username": "bookings@riad-salma.ma",
    "password": "smtp-password-value",
    "from_address": "bookings@riad-salma.ma",
    "from_name": "Riad Salma",
}
WEBHOOK = {"name": "CRM", "url": "https://crm.example.com/hooks/jasping"}
SECRETS = ("caldav-app-password-value", "smtp-password-value")
AUTH = "https://www.googleapis.com/auth/"


@pytest.fixture
def google(monkeypatch) -> Iterator[GoogleStub]:  # noqa: ANN001
    stub = GoogleStub().start()
    point_jasping_at(stub, monkeypatch)
    yield stub
    stub.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def _listed(client: TestClient, **params: str) -> list[dict]:
    r = client.get("/api/v1/integrations", params=params)  # the session cookie reads the API too
    assert r.status_code == 200, r.text
    return r.json()["integrations"]


def _connect(client: TestClient, agent_id: str, type_: str, form: dict, csrf: str, **kw):  # noqa: ANN003, ANN202
    return client.post(f"/agents/{agent_id}/integrations/{type_}", data={"csrf_token": csrf, **form}, **kw)


def _field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', page)
    assert match, f"no error shown for #{field_id}"
    return html.unescape(match.group(1))


def _card(page: str, integration_id: str) -> str:
    match = re.search(rf'<article class="card integration" id="integration-{integration_id}".*?</article>', page, re.S)
    assert match, f"no card for {integration_id}"
    return match.group(0)


def test_caldav_and_smtp_connected_through_the_forms_are_listed_without_their_secrets(client) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    assert f'href="/agents/{agent_id}/integrations"' in client.get(f"/agents/{agent_id}").text
    assert f'href="/agents/{agent_id}/integrations"' in client.get("/agents").text

    page = client.get(f"/agents/{agent_id}/integrations")
    assert page.status_code == 200
    assert "Nothing is connected to this agent yet." in page.text
    assert "Nothing is connected for the whole organization yet." in page.text
    for secret in ("connect-caldav-password", "connect-smtp-password"):
        tag = _input(page.text, secret)
        assert 'type="password"' in tag and 'autocomplete="off"' in tag and 'value=""' in tag
    assert 'value="587"' in _input(page.text, "connect-smtp-port") and 'type="number"' in page.text
    assert '<option value="starttls" selected>STARTTLS (port 587)</option>' in page.text  # the model's defaults
    assert "required" in _input(page.text, "connect-caldav-url")
    assert "required" not in _input(page.text, "connect-smtp-username")

    r = _connect(client, agent_id, "caldav", CALDAV, csrf, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    (caldav,) = _listed(client, type="caldav")
    assert r.headers["location"] == f"/agents/{agent_id}/integrations?notice=connected#integration-{caldav['id']}"
    assert caldav["agent_id"] == agent_id and caldav["name"] == "Salon calendar" and caldav["secrets"] == ["password"]
    assert caldav["settings"] == {k: CALDAV[k] for k in ("url", "username", "calendar")}

    r = _connect(client, agent_id, "smtp", SMTP, csrf, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    (smtp,) = _listed(client, type="smtp")
    assert smtp["agent_id"] is None  # the organization's mailer, whichever agent's page connected it
    assert smtp["settings"]["port"] == 465 and smtp["settings"]["security"] == "ssl" and smtp["name"] == "smtp"

    page = client.get(f"/agents/{agent_id}/integrations?notice=connected").text
    assert "Connected." in page
    for secret in SECRETS:
        assert secret not in page  # never written back, not even in a form field
    card = _card(page, caldav["id"])
    assert "CalDAV calendar" in card and "Salon calendar" in card and "Password: <span" in card
    assert "https://cloud.example.com/remote.php/dav" in card and "Appointments" in card
    assert "connected, not used yet" in card and "Never" in card and "Disconnect…" in card
    org_wide = page[page.index('id="org-wide"') :]
    assert f'id="integration-{smtp["id"]}"' in org_wide and "smtp.example.com" in _card(page, smtp["id"])
    assert "It serves every agent of the organization" in _card(page, smtp["id"])
    # another agent of the organization sees the organization's mailer, not this agent's calendar
    other = _new_agent(client, csrf, "Sami")
    page = client.get(f"/agents/{other}/integrations").text
    assert f'id="integration-{smtp["id"]}"' in page and f'id="integration-{caldav["id"]}"' not in page


def test_a_webhook_signing_secret_is_shown_once(client, db_url) -> None:
    from jasping.db import session_scope
    from jasping.integrations.models import Integration

    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    r = _connect(client, agent_id, "webhook", WEBHOOK, csrf)
    assert r.status_code == 201 and "<html" in r.text
    shown = re.search(r'<code class="secret-value" id="shown-once-value">(whsec_[\w-]+)</code>', r.text).group(1)
    assert "Copy it now, it will not be shown again." in r.text and "Signing secret" in r.text
    (hook,) = _listed(client, type="webhook")
    assert hook["agent_id"] == agent_id and hook["secrets"] == ["signing_secret"] and hook["name"] == "CRM"
    org_id = client.get("/api/v1/auth/me").json()["organizations"][0]["id"]
    with session_scope(org_id) as s:
        assert s.get(Integration, hook["id"]).secrets["signing_secret"] == shown  # the one leads are signed with

    page = client.get(f"/agents/{agent_id}/integrations").text
    assert shown not in page and "Copy it now" not in page  # once only
    assert "Signing secret: <span" in _card(page, hook["id"])

    r = _connect(client, agent_id, "webhook", {**WEBHOOK, "scope": "organization"}, csrf)
    assert r.status_code == 201
    (everyone,) = [h for h in _listed(client, type="webhook") if h["id"] != hook["id"]]
    assert everyone["agent_id"] is None  # receives the leads of every agent


@pytest.mark.parametrize(
    ("type_", "fields", "field", "message"),
    [
        ("caldav", {"url": "ftp://cal.example.com"}, "url", "Give the address starting with https://, such as"),
        ("caldav", {"password": ""}, "password", "Fill in this field."),
        ("caldav", {"calendar": "c" * 1001}, "calendar", "Too long: at most 1000 characters."),
        ("caldav", {"name": "n" * 201}, "name", "Too long: at most 200 characters."),
        ("smtp", {"port": "abc"}, "port", "Give a whole number."),
        ("smtp", {"port": "70000"}, "port", "Give a number between 1 and 65535."),
        ("smtp", {"security": "tls13"}, "security", "Choose one of the options."),
        ("smtp", {"host": "https://smtp.example.com"}, "host", "Give a host name such as smtp.example.com"),
        ("smtp", {"from_address": "bookings"}, "from_address", "Give an email address, such as"),
        ("smtp", {"from_address": ""}, "from_address", "Fill in this field."),
        ("webhook", {"url": "ftp://crm.example.com"}, "url", "Give an http:// or https:// URL."),
        ("webhook", {"url": "https://user:pw@crm.example.com"}, "url", "Put no user name or password in the URL"),
    ],
)
def test_invalid_input_is_explained_on_its_field_and_nothing_is_saved(client, type_, fields, field, message) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    form = {**{"caldav": CALDAV, "smtp": SMTP, "webhook": WEBHOOK}[type_], **fields}
    r = _connect(client, agent_id, type_, form, csrf)
    assert r.status_code == 422 and "<html" in r.text
    field_id = f"connect-{type_}-{field}"
    assert _field_error(r.text, field_id).startswith(message)
    if field not in ("security",):
        tag = _input(r.text, field_id)
        assert 'aria-invalid="true"' in tag and f"{field_id}-error" in tag and "autofocus" in tag
    assert r.text.count('aria-invalid="true"') == 1  # only the field that is wrong
    assert f'id="connect-{type_}-alert"' in r.text and "Check the fields marked below." in r.text
    for name, value in form.items():
        if not value or len(value) > 100:
            continue
        if name == "password":
            assert value not in r.text  # a secret is never written back into the page
        elif name != "security":
            assert f'value="{html.escape(value)}"' in r.text  # what was typed is kept, to be corrected
    assert _listed(client) == []


def test_google_is_connected_through_its_consent_page(client, google) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    page = client.get(f"/agents/{agent_id}/integrations").text
    assert "Connect Google" in page
    for use in ("calendar", "sheets", "drive", "gmail"):
        assert f'id="connect-google-uses-{use}"' in page
    assert 'value="primary"' in _input(page, "connect-google-calendar_id")

    r = _connect(client, agent_id, "google", {"uses": []}, csrf)
    assert r.status_code == 422 and _field_error(r.text, "connect-google-uses") == "Choose at least one."
    r = _connect(client, agent_id, "google", {"uses": ["calendar", "sheets"]}, csrf)
    assert r.status_code == 422 and _field_error(r.text, "connect-google-spreadsheet_id").startswith(
        "Give the spreadsheet ID"
    )
    assert 'value="sheets" checked' in r.text  # the choices are kept
    assert google.requests == []

    form = {"name": "Salon Google", "uses": ["calendar", "gmail"], "send_as": "bookings@riad-salma.ma"}
    r = _connect(client, agent_id, "google", form, csrf, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{google.url}/o/oauth2/v2/auth?")
    query = dict(parse_qsl(urlsplit(r.headers["location"]).query))
    assert set(query["scope"].split()) == {
        AUTH + "calendar.events",
        AUTH + "calendar.events.freebusy",
        AUTH + "gmail.send",
    }
    assert query["code_challenge_method"] == "S256"
    assert _listed(client) == []  # nothing stored until the person agrees on Google's page

    back = client.get("/oauth/google/callback", params=google.consent(r.headers["location"]), follow_redirects=False)
    assert back.status_code == 303
    (made,) = _listed(client, type="google")
    assert made["agent_id"] == agent_id and made["name"] == "Salon Google"
    page = client.get(f"/agents/{agent_id}/integrations").text
    card = _card(page, made["id"])
    assert "Google account" in card and "calendar, gmail" in card and "bookings@riad-salma.ma" in card
    assert "Refresh token: <span" in card
    for token in [*google.access_tokens, *google.refresh_tokens]:
        assert token not in page

    refresh = next(iter(google.refresh_tokens))
    r = client.post(f"/agents/{agent_id}/integrations/{made['id']}/disconnect", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Disconnected." in r.text
    assert google.revoked == [refresh] and _listed(client) == []


def test_without_google_set_up_the_page_says_so(client, monkeypatch) -> None:
    monkeypatch.delenv("JASPING_GOOGLE_CLIENT_ID", raising=False)
    get_settings.cache_clear()
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    page = client.get(f"/agents/{agent_id}/integrations").text
    assert "Google is not set up on this server" in page and "Connect Google" not in page
    r = _connect(client, agent_id, "google", {"uses": ["calendar"]}, csrf)
    assert r.status_code == 409 and 'id="connect-google-alert"' in r.text and "JASPING_GOOGLE_CLIENT_ID" in r.text
    assert client.post(f"/agents/{agent_id}/integrations/fax", data={"csrf_token": csrf}).status_code == 404


def test_a_failing_integration_shows_its_last_error(client) -> None:
    from jasping import clock
    from jasping.db import session_scope
    from jasping.integrations import service
    from jasping.integrations.models import Integration

    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    _connect(client, agent_id, "caldav", CALDAV, csrf)
    (caldav,) = _listed(client)
    org_id = client.get("/api/v1/auth/me").json()["organizations"][0]["id"]
    with session_scope(org_id) as s:
        service.record_use(s.get(Integration, caldav["id"]), "the server answered 401 Unauthorized")
    card = _card(client.get(f"/agents/{agent_id}/integrations").text, caldav["id"])
    assert '<span class="badge failed">error</span>' in card and "working" not in card
    assert "Last error: the server answered 401 Unauthorized" in card
    assert clock.now().strftime("%Y-%m-%d") in card and "Never" not in card  # the last use, in the org's zone
    with session_scope(org_id) as s:
        service.record_use(s.get(Integration, caldav["id"]))  # it worked again
    card = _card(client.get(f"/agents/{agent_id}/integrations").text, caldav["id"])
    assert '<span class="badge ready">working</span>' in card and "Last error" not in card


def test_disconnecting_asks_for_confirmation_and_needs_the_csrf_token(client) -> None:
    csrf = _sign_up(client)
    agent_id, other = _new_agent(client, csrf), _new_agent(client, csrf, "Sami")
    _connect(client, agent_id, "caldav", CALDAV, csrf)
    (caldav,) = _listed(client)
    page = client.get(f"/agents/{agent_id}/integrations").text
    url = f"/agents/{agent_id}/integrations/{caldav['id']}/disconnect"
    details = re.search(r'<details class="disconnect">(.*?)</details>', _card(page, caldav["id"]), re.S).group(1)
    assert "<summary>Disconnect…</summary>" in details and f'action="{url}"' in details
    assert "Disconnect Salon calendar? JasPing stops using it" in details

    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(url, data={}).status_code == 422
    assert client.get(url).status_code == 405  # a link cannot disconnect
    # the agent's calendar cannot be disconnected through another agent's page
    assert (
        client.post(f"/agents/{other}/integrations/{caldav['id']}/disconnect", data={"csrf_token": csrf}).status_code
        == 404
    )
    assert len(_listed(client)) == 1
    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/agents/{agent_id}/integrations?notice=disconnected"
    assert _listed(client) == []
    assert "Disconnected." in client.get(r.headers["location"]).text
    assert client.post(url, data={"csrf_token": csrf}).status_code == 404  # gone already
    r = _connect(client, agent_id, "caldav", CALDAV, "forged")  # the connect forms need the token too
    assert r.status_code == 403 and "the form expired" in r.text and _listed(client) == []


def test_a_viewer_sees_the_list_but_no_forms(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    body = {"type": "caldav", "agent_id": agent["id"], **{k: v for k, v in CALDAV.items() if k != "name"}}
    made = org.post("/api/v1/integrations", json=body)
    assert made.status_code == 201, made.text
    viewer = _viewer_of(org)

    page = viewer.get(f"/agents/{agent['id']}/integrations")
    assert page.status_code == 200 and f'id="integration-{made.json()["id"]}"' in page.text
    assert 'method="post" action="/agents/' not in page.text  # no connect or disconnect form
    assert "Disconnect…" not in page.text and "Connect Google" not in page.text
    assert CALDAV["password"] not in page.text
    csrf = _csrf(page.text)  # the logout form's token: valid, but the role is too low
    for url, data in (
        (f"/agents/{agent['id']}/integrations/caldav", CALDAV),
        (f"/agents/{agent['id']}/integrations/webhook", WEBHOOK),
        (f"/agents/{agent['id']}/integrations/{made.json()['id']}/disconnect", {}),
    ):
        assert viewer.post(url, data={"csrf_token": csrf, **data}).status_code == 403, url
    assert len(org.get("/api/v1/integrations").json()["integrations"]) == 1


def test_another_organizations_agent_and_integration_are_not_found(client, make_org) -> None:
    other = make_org("Other")
    agent = other.post("/api/v1/agents", json={"name": "Theirs"}).json()
    body = {"type": "caldav", "agent_id": agent["id"], **{k: v for k, v in CALDAV.items() if k != "name"}}
    theirs = other.post("/api/v1/integrations", json=body).json()
    smtp = other.post(
        "/api/v1/integrations", json={"type": "smtp", **SMTP, "port": 465, "host": "mail.other.example"}
    ).json()
    csrf = _sign_up(client)
    mine = _new_agent(client, csrf)

    assert client.get(f"/agents/{agent['id']}/integrations").status_code == 404
    for url, data in (
        (f"/agents/{agent['id']}/integrations/caldav", CALDAV),
        (f"/agents/{agent['id']}/integrations/google", {"uses": ["calendar"]}),
        (f"/agents/{agent['id']}/integrations/{theirs['id']}/disconnect", {}),
        (f"/agents/{mine}/integrations/{theirs['id']}/disconnect", {}),  # their calendar through my agent
        (f"/agents/{mine}/integrations/{smtp['id']}/disconnect", {}),  # their organization's mailer
    ):
        r = client.post(url, data={"csrf_token": csrf, **data})
        assert r.status_code == 404 and "<html" in r.text, url
    assert len(other.get("/api/v1/integrations").json()["integrations"]) == 2
    page = client.get(f"/agents/{mine}/integrations").text
    assert "mail.other.example" not in page and theirs["id"] not in page and smtp["id"] not in page


def test_french_labels_and_errors(client, google) -> None:
    client.get("/lang/fr")
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    assert "Intégrations" in client.get(f"/agents/{agent_id}").text
    page = client.get(f"/agents/{agent_id}/integrations").text
    for text in (
        "<h1>Intégrations</h1>",
        "Agenda CalDAV",
        "Webhook sortant",
        "Votre serveur SMTP",
        "Adresse du serveur",
        "Mot de passe",
        "Adresse de l&#39;expéditeur",
        "Connecter Google",
        "Agenda : les créneaux occupés sont bloqués, les rendez-vous deviennent des événements",
        "Rien n&#39;est encore connecté à cet agent.",
    ):
        assert text in page, text
    r = _connect(client, agent_id, "smtp", {**SMTP, "port": "abc"}, csrf)
    assert r.status_code == 422 and _field_error(r.text, "connect-smtp-port") == "Indiquez un nombre entier."
    assert "Vérifiez les champs signalés ci-dessous." in r.text
    r = _connect(client, agent_id, "webhook", {**WEBHOOK, "url": "ftp://x.example.com"}, csrf)
    assert _field_error(r.text, "connect-webhook-url") == "Indiquez une URL en http:// ou https://."
    r = _connect(client, agent_id, "webhook", WEBHOOK, csrf)
    assert r.status_code == 201 and "Copiez-le maintenant, il ne sera plus affiché." in r.text
    page = client.get(f"/agents/{agent_id}/integrations?notice=connected").text
    assert "Connecté." in page and "Secret de signature" in page and "Déconnecter…" in page
