"""An organization's own SMTP server (the `smtp` integration): connected through the API with its password
encrypted and never returned; mail then leaves through it, logged in, from the business's address. A server on a
private address is refused unless the operator allows it. And `JASPING_SMTP_URL` parsing."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import text

from jasping.config import get_settings
from jasping.db import get_engine, session_scope
from jasping.integrations import mail
from jasping.integrations.mail_transport import parse_smtp_url, platform_sender
from test_mail import Inbox, free_port, states

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a local test server


@pytest.fixture
def own_server(monkeypatch):
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret pass"
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False, auth_required=True
    )
    controller.start()
    from jasping.jobs.queue import huey

    monkeypatch.setattr(huey, "immediate", True)
    monkeypatch.delenv("JASPING_SMTP_URL", raising=False)
    monkeypatch.setenv("JASPING_ALLOW_PRIVATE_URLS", "1")  # the test server listens on 127.0.0.1
    get_settings.cache_clear()
    yield port, inbox, logins
    controller.stop()
    monkeypatch.delenv("JASPING_ALLOW_PRIVATE_URLS", raising=False)
    get_settings.cache_clear()


def _connect(org, port: int, **kw):
    body = {
        "type": "smtp",
        "name": "Our mail server",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "salon",
        "password": "s3cret pass",
        "from_address": "rdv@salon-yasmine.example",
        "from_name": "Salon Yasmine",
        **kw,
    }
    return org.post("/api/v1/integrations", json=body)


def test_mail_leaves_through_the_organizations_own_server(make_org, own_server) -> None:
    port, inbox, logins = own_server
    org = make_org("Yasmine")
    r = _connect(org, port)
    assert r.status_code == 201, r.text
    assert r.json()["secrets"] == ["password"] and "s3cret" not in r.text
    assert r.json()["settings"]["from_address"] == "rdv@salon-yasmine.example"
    with get_engine().connect() as conn:
        assert "s3cret" not in conn.execute(text("SELECT secrets_json FROM integrations")).scalar()

    with session_scope(org.id) as s:
        mail.queue_code(s, org_id=org.id, to="client@client.example", code="771204", language="en")
    [(sender, rcpt, _)] = inbox.received
    assert sender == "rdv@salon-yasmine.example" and rcpt == ["client@client.example"]
    assert logins == [(b"salon", b"s3cret pass")]
    assert inbox.messages()[0]["From"].addresses[0].display_name == "Salon Yasmine"
    assert states() == [("sent", 1)]
    shown = org.get(f"/api/v1/integrations/{r.json()['id']}").json()
    assert shown["status"] == "active" and shown["last_used_at"]


def test_a_wrong_password_is_retried_and_shown_on_the_integration(make_org, own_server) -> None:
    port, inbox, _ = own_server
    org = make_org("Yasmine")
    made = _connect(org, port, password="wrong one").json()
    with session_scope(org.id) as s:
        mail.queue_code(s, org_id=org.id, to="client@client.example", code="771204", language="en")
    assert inbox.received == [] and states() == [("queued", 1)]
    shown = org.get(f"/api/v1/integrations/{made['id']}").json()
    assert shown["status"] == "error" and "535" in shown["last_error"]


def test_a_private_server_is_refused_unless_allowed(make_org, own_server, monkeypatch) -> None:
    port, inbox, _ = own_server
    monkeypatch.delenv("JASPING_ALLOW_PRIVATE_URLS")
    get_settings.cache_clear()
    org = make_org("Yasmine")
    _connect(org, port)
    with session_scope(org.id) as s:
        mail.queue_code(s, org_id=org.id, to="client@client.example", code="771204", language="en")
    assert inbox.received == [] and states() == [("dead", 1)]


def test_bad_settings_are_clear_422s(make_org, own_server) -> None:
    port, _, _ = own_server
    org = make_org("Yasmine")
    bad = _connect(org, port, from_address="not an address")
    assert bad.status_code == 422 and "from_address" in bad.text
    assert _connect(org, port, host="smtp.example.com; rm -rf").status_code == 422
    assert _connect(org, 70000).status_code == 422


def test_smtp_urls() -> None:
    c = parse_smtp_url("smtp://user%40x:p%40ss@mail.example.com:2525?starttls=1&from=robot@example.com&timeout=7")
    assert (c.host, c.port, c.username, c.password, c.security) == (
        "mail.example.com",
        2525,
        "user@x",
        "p@ss",
        "starttls",
    )
    assert (c.sender, c.timeout) == ("robot@example.com", 7.0)
    assert parse_smtp_url("smtps://mail.example.com").port == 465 and parse_smtp_url("smtps://h").security == "ssl"
    assert parse_smtp_url("smtp://h").port == 25 and parse_smtp_url("smtp://h?starttls=true").port == 587
    for bad in ("http://mail.example.com", "smtp://", "smtp://h:notaport"):
        with pytest.raises(ValueError, match="JASPING_SMTP_URL"):
            parse_smtp_url(bad)
    assert platform_sender().startswith("noreply@")
