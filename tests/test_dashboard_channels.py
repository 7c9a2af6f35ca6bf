"""The agent's Channels page in the dashboard: connecting WhatsApp and Twilio numbers through forms checked by the
API's own models, disconnecting, the undelivered replies and "Send again" — and the API's retry endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from jasping.config import get_settings
from provider_stub import ProviderStub
from test_dashboard import _csrf, _sign_up

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "waba_id": "102290129340398",
    "access_token": "EAAG-the-access-token-value",
    "app_secret": "the-app-secret-value",
    "verify_token": "the-verify-token-value",
    "template_name": "reply_follow_up",
    "template_language": "fr",
}
TWILIO = {
    "phone_number": "+212 522-00 00 00",
    "account_sid": "AC" + "0123456789abcdef" * 2,
    "auth_token": "the-twilio-auth-token-value",
    "voice": "Polly.Lea",
    "handoff_number": "+212600000001",
}
SECRETS = ("EAAG-the-access-token-value", "the-app-secret-value", "the-verify-token-value", "the-twilio-auth-token")


@pytest.fixture
def provider(monkeypatch) -> Iterator[ProviderStub]:  # noqa: ANN001
    """Meta's Graph API and Twilio's REST API stand-in: a reply sent again goes there."""
    with ProviderStub() as stub:
        monkeypatch.setenv("JASPING_WHATSAPP_GRAPH_URL", stub.url + "/v21.0")
        monkeypatch.setenv("JASPING_TWILIO_API_URL", stub.url)
        get_settings.cache_clear()
        yield stub
    get_settings.cache_clear()


def _new_agent(client: TestClient, csrf: str, name: str = "Amal") -> str:
    r = client.post("/agents/new", data={"csrf_token": csrf, "name": name, "languages": ["en", "fr"]})
    assert r.status_code == 200, r.text[:300]
    return re.search(r'action="/agents/(agt_\w+)/booking"', r.text).group(1)


def _channels(client: TestClient, agent_id: str) -> list[dict]:
    r = client.get(f"/api/v1/agents/{agent_id}/channels")  # the session cookie reads the API too
    assert r.status_code == 200, r.text
    return r.json()["channels"]


def _input(html: str, field_id: str) -> str:
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', html)
    assert match, f"no input #{field_id}"
    return match.group(0)


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', html)
    assert match, f"no error shown for #{field_id}"
    return match.group(1)


def _dead_delivery(org_id: str, channel_id: str, conversation_id: str | None = None, text: str = "") -> str:
    """A reply that failed every retry, as deliveries.send leaves it."""
    from jasping.channels.models import Delivery
    from jasping.db import new_id, session_scope

    delivery_id = new_id("dlv")
    with session_scope(org_id) as s:
        s.add(
            Delivery(
                id=delivery_id,
                org_id=org_id,
                connection_id=channel_id,
                conversation_id=conversation_id,
                to="+212612345678",
                body=json.dumps({"text": text or "Your appointment is on Monday at 10:00."}),
                state="dead",
                attempts=6,
                last_error="Twilio 503: Service Unavailable",
            )
        )
    return delivery_id


def _state(delivery_id: str) -> tuple[str, int]:
    from jasping.channels.models import Delivery
    from jasping.db import session_scope, unscoped

    with session_scope(write=False) as s, unscoped(s):
        d = s.get(Delivery, delivery_id)
        return d.state, d.attempts


def _org_id(client: TestClient) -> str:
    return client.get("/api/v1/auth/me").json()["organizations"][0]["id"]


def test_whatsapp_and_twilio_connected_through_the_forms_appear_in_the_api(client) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    assert f'href="/agents/{agent_id}/channels"' in client.get(f"/agents/{agent_id}").text
    assert f'href="/agents/{agent_id}/channels"' in client.get("/agents").text

    page = client.get(f"/agents/{agent_id}/channels")
    assert page.status_code == 200
    assert "No number is connected to this agent yet." in page.text and "Every reply was delivered." in page.text
    for secret in ("wa-access_token", "wa-app_secret", "wa-verify_token", "tw-auth_token"):
        tag = _input(page.text, secret)
        assert 'type="password"' in tag and 'autocomplete="off"' in tag and 'value=""' in tag
    assert "checked" not in _input(page.text, "tw-record_calls")  # recording is off unless ticked

    r = client.post(
        f"/agents/{agent_id}/channels/whatsapp", data={"csrf_token": csrf, **WHATSAPP}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/agents/{agent_id}/channels?notice=connected#connected"
    r = client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO}, follow_redirects=False)
    assert r.status_code == 303

    whatsapp, twilio = sorted(_channels(client, agent_id), key=lambda c: c["type"], reverse=True)
    assert whatsapp["type"] == "whatsapp" and whatsapp["address"] == "106540352242922"
    assert whatsapp["settings"] == {
        "waba_id": "102290129340398",
        "template": {"name": "reply_follow_up", "language": "fr", "parameters": 1},
    }
    assert whatsapp["secrets"] == ["access_token", "app_secret", "verify_token"]
    assert twilio["type"] == "twilio" and twilio["address"] == "+212522000000"  # normalised to E.164
    assert twilio["settings"] == {"voice": "Polly.Lea", "handoff_number": "+212600000001", "record_calls": False}
    assert twilio["secrets"] == ["account_sid", "auth_token"]

    page = client.get(f"/agents/{agent_id}/channels?notice=connected")
    assert "Number connected." in page.text
    for secret in (*SECRETS, TWILIO["account_sid"]):
        assert secret not in page.text  # never written back, not even in a form field
    assert 'value="http://testserver/webhooks/whatsapp"' in page.text
    assert 'value="http://testserver/webhooks/twilio/sms"' in page.text
    assert 'value="http://testserver/webhooks/twilio/voice"' in page.text  # for calls to the same number
    assert "type the verify token you chose" in page.text
    card = page.text[page.text.index(f'id="channel-{whatsapp["id"]}"') :]
    assert "Access token: <span" in card and "Verify token: <span" in card and "reply_follow_up" in card
    assert "+212522000000" in page.text and "Polly.Lea" in page.text
    assert "public HTTPS address" in page.text  # JASPING_BASE_URL is not a public HTTPS address in tests

    # recording, when ticked, is saved as such
    r = client.post(
        f"/agents/{agent_id}/channels/twilio",
        data={"csrf_token": csrf, **TWILIO, "phone_number": "+212522000001", "record_calls": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    recorded = [c for c in _channels(client, agent_id) if c["address"] == "+212522000001"]
    assert recorded[0]["settings"]["record_calls"] is True


@pytest.mark.parametrize(
    ("kind", "fields", "field", "message"),
    [
        (
            "whatsapp",
            {"phone_number_id": "+212 612 345"},
            "wa-phone_number_id",
            "Give the phone number ID from Meta's API Setup page: 5 to 20 digits (it is not the phone number itself).",
        ),
        ("whatsapp", {"waba_id": ""}, "wa-waba_id", "Fill in this field."),
        ("whatsapp", {"access_token": "EAAG-x9"}, "wa-access_token", "Too short: at least 10 characters."),
        ("whatsapp", {"verify_token": "v" * 300}, "wa-verify_token", "Too long: at most 256 characters."),
        (
            "whatsapp",
            {"template_name": "Reply Follow-up"},
            "wa-template_name",
            "A template name has only lowercase letters, digits and _, as in WhatsApp Manager.",
        ),
        ("whatsapp", {"template_name": "", "template_language": "fr"}, "wa-template_name", "Fill in this field."),
        (
            "twilio",
            {"phone_number": "0522000000"},
            "tw-phone_number",
            "Give the number in international form, e.g. +212522000000.",
        ),
        (
            "twilio",
            {"account_sid": "AC1234"},
            "tw-account_sid",
            "The Account SID starts with AC followed by 32 letters and digits, as in the Twilio console.",
        ),
        ("twilio", {"auth_token": "tok-xyz-9"}, "tw-auth_token", "Too short: at least 16 characters."),
        (
            "twilio",
            {"handoff_number": "12"},
            "tw-handoff_number",
            "Give the number in international form, e.g. +212522000000.",
        ),
    ],
)
def test_invalid_input_is_explained_on_its_field_and_nothing_is_saved(client, kind, fields, field, message) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    form = {"csrf_token": csrf, **(WHATSAPP if kind == "whatsapp" else TWILIO), **fields}
    r = client.post(f"/agents/{agent_id}/channels/{kind}", data=form)
    assert r.status_code == 422 and "<html" in r.text
    assert _field_error(r.text, field) == message.replace("'", "&#39;")
    tag = _input(r.text, field)
    assert 'aria-invalid="true"' in tag and f"{field}-error" in tag and "autofocus" in tag
    prefix = field.split("-")[0]
    assert f'id="{prefix}-alert"' in r.text and "Check the fields marked below." in r.text
    assert r.text.count('aria-invalid="true"') == 1  # only the field that is wrong
    for name, value in form.items():
        if name == "csrf_token" or not value:
            continue
        if name in ("access_token", "app_secret", "verify_token", "auth_token"):
            assert value not in r.text  # a secret is never written back into the page
        elif len(value) < 100:
            assert f'value="{value}"' in r.text  # what was typed is kept, to be corrected
    assert _channels(client, agent_id) == []


def test_a_number_connected_already_is_a_form_error(client) -> None:
    csrf = _sign_up(client)
    first, second = _new_agent(client, csrf, "Amal"), _new_agent(client, csrf, "Sami")
    form = {"csrf_token": csrf, **TWILIO}
    assert client.post(f"/agents/{first}/channels/twilio", data=form, follow_redirects=False).status_code == 303
    r = client.post(f"/agents/{second}/channels/twilio", data={**form, "phone_number": "+212522000000"})
    assert r.status_code == 409 and "<html" in r.text
    assert _field_error(r.text, "tw-phone_number").startswith("This number is already connected to an agent.")
    assert 'value="+212522000000"' in r.text and TWILIO["auth_token"] not in r.text
    assert _channels(client, second) == [] and len(_channels(client, first)) == 1
    r = client.post(
        f"/agents/{second}/channels/whatsapp", data={"csrf_token": csrf, **WHATSAPP}, follow_redirects=False
    )
    assert r.status_code == 303  # the WhatsApp number is free
    r = client.post(f"/agents/{first}/channels/whatsapp", data={"csrf_token": csrf, **WHATSAPP})
    assert r.status_code == 409 and "wa-phone_number_id-error" in r.text


def test_disconnecting_asks_for_confirmation_and_needs_the_csrf_token(client) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO})
    (channel,) = _channels(client, agent_id)
    page = client.get(f"/agents/{agent_id}/channels").text
    action = f'action="/agents/{agent_id}/channels/{channel["id"]}/disconnect"'
    details = re.search(r'<details class="disconnect">(.*?)</details>', page, re.S).group(1)
    assert "<summary>Disconnect…</summary>" in details and action in details and 'method="post"' in details
    assert "Disconnect +212522000000? The agent stops answering" in details

    url = f"/agents/{agent_id}/channels/{channel['id']}/disconnect"
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(url, data={}).status_code == 422
    assert client.get(url).status_code == 405  # a link cannot disconnect
    assert len(_channels(client, agent_id)) == 1
    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/agents/{agent_id}/channels?notice=disconnected"
    assert _channels(client, agent_id) == []
    assert "Number disconnected." in client.get(r.headers["location"]).text
    assert client.post(url, data={"csrf_token": csrf}).status_code == 404  # gone already
    # the connect forms need the token too
    r = client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": "forged", **TWILIO})
    assert r.status_code == 403 and "the form expired" in r.text
    assert _channels(client, agent_id) == []


def test_undelivered_replies_are_listed_and_sent_again(client, provider) -> None:
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO})
    (channel,) = _channels(client, agent_id)
    public_key = client.get(f"/api/v1/agents/{agent_id}").json()["public_key"]
    conversation_id = client.post(f"/api/v1/widget/{public_key}/sessions", json={}).json()["conversation_id"]
    org_id = _org_id(client)
    delivery_id = _dead_delivery(org_id, channel["id"], conversation_id, "See you on Monday at 10:00.")

    page = client.get(f"/agents/{agent_id}/channels")
    row = re.search(rf'<tr id="delivery-{delivery_id}">(.*?)</tr>', page.text, re.S).group(1)
    assert f'href="/api/v1/conversations/{conversation_id}"' in row and "See you on Monday at 10:00." in row
    assert ">6<" in row and "Twilio 503: Service Unavailable" in row and "Send again" in row
    assert f'action="/agents/{agent_id}/dead-letters/{delivery_id}/retry"' in row
    assert "+212612345678" not in page.text  # the customer's number is not listed
    listed = client.get(f"/api/v1/agents/{agent_id}/dead-letters").json()["deliveries"]
    assert [d["id"] for d in listed] == [delivery_id]

    url = f"/agents/{agent_id}/dead-letters/{delivery_id}/retry"
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert _state(delivery_id) == ("dead", 6)
    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/agents/{agent_id}/channels?notice=resent#dead-letters"
    assert _state(delivery_id) == ("sent", 1)  # queued, then sent by the job with a fresh count of attempts
    (sent,) = provider.sent()
    assert sent.path == f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json"
    assert sent.body["To"] == "+212612345678" and sent.body["Body"] == "See you on Monday at 10:00."
    page = client.get(r.headers["location"])
    assert "The reply is queued to be sent again." in page.text and "Every reply was delivered." in page.text
    assert client.get(f"/api/v1/agents/{agent_id}/dead-letters").json()["deliveries"] == []

    r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)  # a second click: nothing sent twice
    assert r.headers["location"].endswith("notice=not_dead#dead-letters") and len(provider.sent()) == 1


def test_french_labels_and_errors(client) -> None:
    client.get("/lang/fr")
    csrf = _sign_up(client)
    agent_id = _new_agent(client, csrf)
    assert "Canaux" in client.get(f"/agents/{agent_id}").text
    page = client.get(f"/agents/{agent_id}/channels").text
    for text in (
        "<h1>Canaux</h1>",
        "Connecter WhatsApp",
        "Jeton d&#39;accès",
        "Jeton de vérification",
        "ID du numéro de téléphone",
        "Connecter un numéro Twilio",
        "Enregistrer les appels",
        "Réponses non distribuées",
        "Aucun numéro n&#39;est encore connecté à cet agent.",
    ):
        assert text in page, text
    r = client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO, "phone_number": "05"})
    assert r.status_code == 422
    assert (
        _field_error(r.text, "tw-phone_number")
        == "Indiquez le numéro au format international, par exemple +212522000000."
    )
    assert "Vérifiez les champs signalés ci-dessous." in r.text and "saisissez-les à nouveau" in r.text
    r = client.post(f"/agents/{agent_id}/channels/whatsapp", data={"csrf_token": csrf, **WHATSAPP, "app_secret": "x"})
    assert _field_error(r.text, "wa-app_secret") == "Trop court : au moins 8 caractères."
    client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO})
    r = client.post(f"/agents/{agent_id}/channels/twilio", data={"csrf_token": csrf, **TWILIO})
    assert r.status_code == 409 and "Ce numéro est déjà connecté à un agent." in r.text
    page = client.get(f"/agents/{agent_id}/channels?notice=connected").text
    assert "Numéro connecté." in page and "URL du webhook" in page and "Déconnecter…" in page


def _viewer_of(org) -> TestClient:  # noqa: ANN001
    """A person signed up on their own, then made a viewer of `org` and switched to it."""
    from jasping.app import create_app
    from jasping.db import session_scope
    from jasping.tenancy.models import Membership

    viewer = TestClient(create_app(), base_url="http://testserver")
    _sign_up(viewer, "viewer@example.org")
    with session_scope() as s:
        user_id = s.query(Membership).filter(Membership.org_id != org.id).one().user_id
        s.add(Membership(id="mem_viewer", org_id=org.id, user_id=user_id, role="viewer"))
    viewer.post("/org/switch", data={"csrf_token": _csrf(viewer.get("/").text), "org_id": org.id})
    return viewer


def test_a_viewer_sees_the_page_read_only(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    body = {"type": "twilio", **{k: v for k, v in TWILIO.items()}}
    channel = org.post(f"/api/v1/agents/{agent['id']}/channels", json=body).json()
    delivery_id = _dead_delivery(org.id, channel["id"])
    viewer = _viewer_of(org)

    page = viewer.get(f"/agents/{agent['id']}/channels")
    assert page.status_code == 200
    assert "+212522000000" in page.text and 'value="http://testserver/webhooks/twilio/sms"' in page.text
    assert f'id="delivery-{delivery_id}"' in page.text and "Twilio 503" in page.text
    assert 'method="post" action="/agents/' not in page.text  # no connect, disconnect or send-again form
    assert "Send again" not in page.text and "Disconnect…" not in page.text and "Connect WhatsApp" not in page.text
    assert "public HTTPS address" not in page.text  # a warning for those who can act on it

    csrf = _csrf(page.text)  # the logout form's token: valid, but the role is too low
    for url, data in (
        (f"/agents/{agent['id']}/channels/whatsapp", WHATSAPP),
        (f"/agents/{agent['id']}/channels/{channel['id']}/disconnect", {}),
        (f"/agents/{agent['id']}/dead-letters/{delivery_id}/retry", {}),
    ):
        r = viewer.post(url, data={"csrf_token": csrf, **data})
        assert r.status_code == 403, url
    assert len(org.get(f"/api/v1/agents/{agent['id']}/channels").json()["channels"]) == 1
    assert _state(delivery_id) == ("dead", 6)


def test_another_organizations_agent_channel_and_reply_are_not_found(client, make_org) -> None:
    other = make_org("Other")
    agent = other.post("/api/v1/agents", json={"name": "Theirs"}).json()
    channel = other.post(f"/api/v1/agents/{agent['id']}/channels", json={"type": "twilio", **TWILIO}).json()
    delivery_id = _dead_delivery(other.id, channel["id"])
    csrf = _sign_up(client)
    mine = _new_agent(client, csrf)

    assert client.get(f"/agents/{agent['id']}/channels").status_code == 404
    for url, data in (
        (f"/agents/{agent['id']}/channels/whatsapp", WHATSAPP),
        (f"/agents/{agent['id']}/channels/twilio", {**TWILIO, "phone_number": "+212522000009"}),
        (f"/agents/{agent['id']}/channels/{channel['id']}/disconnect", {}),
        (f"/agents/{mine}/channels/{channel['id']}/disconnect", {}),  # their channel through my agent
        (f"/agents/{agent['id']}/dead-letters/{delivery_id}/retry", {}),
        (f"/agents/{mine}/dead-letters/{delivery_id}/retry", {}),  # their reply through my agent
    ):
        r = client.post(url, data={"csrf_token": csrf, **data})
        assert r.status_code == 404 and "<html" in r.text, url
    assert len(other.get(f"/api/v1/agents/{agent['id']}/channels").json()["channels"]) == 1
    assert _state(delivery_id) == ("dead", 6)
    assert "Twilio 503" not in client.get(f"/agents/{mine}/channels").text


# ---- the API: POST /api/v1/agents/{agent_id}/dead-letters/{delivery_id}/retry ------------------------------------
def test_the_retry_endpoint_queues_a_dead_letter_again(client, make_org, provider) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    channel = org.post(f"/api/v1/agents/{agent['id']}/channels", json={"type": "twilio", **TWILIO}).json()
    delivery_id = _dead_delivery(org.id, channel["id"])
    url = f"/api/v1/agents/{agent['id']}/dead-letters/{delivery_id}/retry"

    viewer_key = org.post("/api/v1/api-keys", json={"name": "read", "role": "viewer"}).json()["secret"]
    r = client.post(url, headers={"Authorization": f"Bearer {viewer_key}"})
    assert r.status_code == 403 and _state(delivery_id) == ("dead", 6)
    assert client.post(url).status_code == 401

    r = org.post(url)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["id"] == delivery_id and body["state"] == "queued" and body["attempts"] == 0
    assert set(body) == {"id", "conversation_id", "state", "attempts", "last_error", "created_at"}
    assert _state(delivery_id) == ("sent", 1) and len(provider.sent()) == 1
    assert org.get(f"/api/v1/agents/{agent['id']}/dead-letters").json()["deliveries"] == []
    again = org.post(url)  # not dead-lettered any more: answered as it is, nothing sent twice
    assert again.status_code == 202 and again.json()["state"] == "sent" and len(provider.sent()) == 1

    from sqlalchemy import select

    from jasping.db import session_scope
    from jasping.security.audit import AuditEvent

    with session_scope(org.id, write=False) as s:
        actions = s.execute(select(AuditEvent.action).where(AuditEvent.object_id == delivery_id)).scalars().all()
    assert actions == ["delivery.retry"]  # once: the second call changed nothing


def test_the_retry_endpoint_answers_404_for_a_reply_of_another_agent_or_organization(client, make_org) -> None:
    a, b = make_org("Alpha"), make_org("Beta")
    a_agent, a_other = (a.post("/api/v1/agents", json={"name": n}).json() for n in ("A1", "A2"))
    b_agent = b.post("/api/v1/agents", json={"name": "B1"}).json()
    a_channel = a.post(f"/api/v1/agents/{a_agent['id']}/channels", json={"type": "twilio", **TWILIO}).json()
    b_body = {"type": "twilio", **TWILIO, "phone_number": "+212522000009"}
    b_channel = b.post(f"/api/v1/agents/{b_agent['id']}/channels", json=b_body).json()
    a_delivery, b_delivery = _dead_delivery(a.id, a_channel["id"]), _dead_delivery(b.id, b_channel["id"])

    for url, code in (
        (f"/api/v1/agents/{a_other['id']}/dead-letters/{a_delivery}/retry", "delivery_not_found"),  # another agent
        (f"/api/v1/agents/{a_agent['id']}/dead-letters/{b_delivery}/retry", "delivery_not_found"),  # another org
        (f"/api/v1/agents/{b_agent['id']}/dead-letters/{b_delivery}/retry", "agent_not_found"),
        (f"/api/v1/agents/{a_agent['id']}/dead-letters/dlv_missing/retry", "delivery_not_found"),
    ):
        r = a.post(url)
        assert r.status_code == 404 and r.json()["error"]["code"] == code, (url, r.text)
    assert _state(a_delivery) == ("dead", 6) and _state(b_delivery) == ("dead", 6)


def test_connecting_and_disconnecting_in_a_browser(db_url) -> None:
    """The field to correct has the focus, secrets are typed again, and disconnecting takes a second click."""
    from browser import chromium, jasping_server

    with jasping_server(db_url) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(url + "/register")
        page.fill("#email", "salma@example.org")
        page.fill("#password", "correct horse battery")
        page.fill("#organization_name", "Riad Salma")
        page.click("button[type=submit]")
        page.fill("#name", "Amal")
        page.click("form.card button[type=submit]")
        page.click("text=Channels →")
        page.fill("#tw-phone_number", "0522000000")
        page.fill("#tw-account_sid", TWILIO["account_sid"])
        page.fill("#tw-auth_token", TWILIO["auth_token"])
        page.click("#connect-twilio button[type=submit]")
        page.wait_for_selector("#tw-alert")
        assert page.evaluate("document.activeElement.id") == "tw-phone_number"
        assert page.input_value("#tw-account_sid") == TWILIO["account_sid"] and page.input_value("#tw-auth_token") == ""
        assert not page.is_checked("#tw-record_calls")
        page.fill("#tw-phone_number", "+212522000000")
        page.fill("#tw-auth_token", TWILIO["auth_token"])
        page.click("#connect-twilio button[type=submit]")
        page.wait_for_selector(".flash")
        assert page.is_visible("text=+212522000000")
        button = page.locator("details.disconnect button")
        assert not button.is_visible()  # hidden until "Disconnect…" is opened
        page.click("details.disconnect summary")
        button.click()
        page.wait_for_selector("text=Number disconnected.")
        assert page.is_visible("text=No number is connected to this agent yet.")
