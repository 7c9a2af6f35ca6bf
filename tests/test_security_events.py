"""The security and access log (issue 11, point 6): log-ins and failures, lockouts, permission denials, API key use,
administration and exports reach the audit log; owners and admins see their organization's events through the API
and the dashboard (by kind, a page at a time), nobody else's; failures that spike raise an alert (audit event, email
to the owners, the organization's webhook); the events are kept 12 months (one day either side)."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from jasping.config import get_settings
from jasping.db import open_session, session_scope
from jasping.integrations.mail_models import Email
from jasping.privacy import retention
from jasping.security import audit
from jasping.security.audit import Actor
from security_fixtures import PASSWORD, add_member, app_clock, audit_details, browser, register  # noqa: F401
from test_lead_sinks import private_urls, receiver  # noqa: F401 - a business's webhook endpoint

EVENTS = "/api/v1/security/events"


@pytest.fixture(autouse=True)
def _settings_restored():  # noqa: ANN202
    """Settings changed through the environment (monkeypatch undoes it) are read again after the test."""
    yield
    get_settings.cache_clear()


def _set(monkeypatch, **values: int) -> None:  # noqa: ANN001
    for name, value in values.items():
        monkeypatch.setenv(f"JASPING_{name.upper()}", str(value))
    get_settings.cache_clear()


def _events(person, **params) -> list[dict]:  # noqa: ANN001
    r = person.client.get(EVENTS, params=params)
    assert r.status_code == 200, r.text
    return r.json()["events"]


# ---- what reaches the log, and who sees it --------------------------------------------------------------------------
def test_owners_see_their_organizations_security_events_by_kind(client) -> None:
    nadia = register()
    member = add_member(nadia.org_id, "karim@example.org", role="agent")
    assert browser().post("/api/v1/auth/login", json={"email": nadia.email, "password": "wrong"}).status_code == 401
    assert member.client.post("/api/v1/api-keys", json={"name": "mine"}).status_code == 403  # an agent cannot
    key = nadia.client.post("/api/v1/api-keys", json={"name": "ci"}).json()["secret"]
    assert client.get("/api/v1/agents", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert nadia.client.post("/api/v1/agents", json={"name": "Amal"}).status_code == 201
    assert nadia.client.get("/api/v1/leads/export.csv").status_code == 200
    assert client.get("/api/v1/agents", headers={"Authorization": "Bearer jp_00000000_forged"}).status_code == 401

    every = _events(nadia)
    actions = [e["action"] for e in every]
    for expected in (
        "user.register",
        "auth.login",
        "auth.login_failed",
        "access.denied",
        "api_key.create",
        "api_key.used",
        "agent.create",
        "lead.export",
    ):
        assert expected in actions, f"{expected} missing from {actions}"
    assert "auth.api_key_invalid" not in actions  # nobody's organization: the operator's log only
    assert [e["seq"] for e in every] == sorted((e["seq"] for e in every), reverse=True)  # newest first

    (denied,) = _events(nadia, kind="access")
    assert denied["actor_email"] == "karim@example.org" and denied["kind"] == "access"
    assert denied["detail"] == {"method": "POST", "path": "/api/v1/api-keys", "code": "forbidden"}
    used = [e for e in _events(nadia, kind="api_key") if e["action"] == "api_key.used"][0]
    assert used["actor_type"] == "api_key" and used["detail"] == {"method": "GET", "path": "/api/v1/agents"}
    failed = [e for e in _events(nadia, kind="auth") if e["action"] == "auth.login_failed"][0]
    assert failed["object_email"] == nadia.email and failed["ip_ref"] and "ip" not in failed
    assert {e["kind"] for e in _events(nadia, kind="auth")} == {"auth"}
    assert {e["kind"] for e in _events(nadia, kind="privacy")} == {"privacy"}

    with open_session() as s:
        forged = s.execute(select(audit.AuditEvent).where(audit.AuditEvent.action == "auth.api_key_invalid")).scalar()
        assert forged is not None and forged.org_id is None and forged.ip_hash


def test_only_owners_and_admins_see_events_and_only_their_own(client) -> None:
    nadia = register()
    other = register("omar@example.org", "Riad Omar")
    member = add_member(nadia.org_id, "karim@example.org", role="agent")
    r = member.client.get(EVENTS)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get(EVENTS).status_code == 401
    mine = {e["seq"] for e in _events(nadia)}
    theirs = _events(other)
    assert not mine & {e["seq"] for e in theirs}
    assert all(nadia.user_id not in (e["actor_id"], e["object_id"]) for e in theirs)
    assert all(nadia.org_id != e["object_id"] for e in theirs)
    # the member's refusal shows to the owner, as a denial
    assert [e["actor_email"] for e in _events(nadia, kind="access")] == ["karim@example.org"]
    admin = add_member(nadia.org_id, "sara@example.org", role="admin")
    assert admin.client.get(EVENTS).status_code == 200


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"kind": "everything"}, "kind: give one of auth, mfa"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"before": "yesterday"}, "before"),
        ({"before": 0}, "before"),
    ],
)
def test_bad_filters_are_clear_422s(client, params, says) -> None:
    nadia = register()
    r = nadia.client.get(EVENTS, params=params)
    assert r.status_code == 422 and says in r.json()["error"]["message"]


def test_pages_follow_each_other_without_gaps(client) -> None:
    nadia = register()
    with session_scope() as s:
        for n in range(7):
            audit.record(
                s, actor=Actor("user", nadia.user_id), action="agent.update", org_id=nadia.org_id, detail={"n": n}
            )
    seen, before = [], None
    while True:
        r = nadia.client.get(EVENTS, params={"kind": "admin", "limit": 3, **({"before": before} if before else {})})
        page = r.json()
        seen += [e["seq"] for e in page["events"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [e["seq"] for e in _events(nadia, kind="admin")]  # each once, newest first, none missed
    assert len(seen) == 9  # the seven updates, the sign-up and the organization's creation


# ---- the dashboard ---------------------------------------------------------------------------------------------------
def test_the_dashboard_lists_events_filtered_and_paginated(client) -> None:
    nadia = register()
    member = add_member(nadia.org_id, "karim@example.org", role="agent")
    with session_scope() as s:
        for n in range(55):
            audit.record(
                s, actor=Actor("user", nadia.user_id), action="agent.update", org_id=nadia.org_id, detail={"n": n}
            )
    member.client.post("/api/v1/api-keys", json={"name": "mine"})  # refused: a denial to show
    page = nadia.client.get("/security/events")
    assert page.status_code == 200 and "access.denied" in page.text and "karim@example.org" in page.text
    assert 'rel="next"' in page.text  # more than a page
    older = nadia.client.get("/security/events?before=" + re.search(r"/security/events\?before=(\d+)", page.text)[1])
    assert older.status_code == 200 and "user.register" in older.text and 'rel="next"' not in older.text
    auth_only = nadia.client.get("/security/events", params={"kind": "auth"})
    assert "auth.login" in auth_only.text and "agent.update" not in auth_only.text
    assert "/security/events" in nadia.client.get("/security").text  # linked from the Security page
    refused = member.client.get("/security/events")
    assert refused.status_code == 403 and "agent.update" not in refused.text
    assert nadia.client.get("/security/events", params={"kind": "nope"}).status_code == 422
    assert nadia.client.get("/security/events", params={"before": "x"}).status_code == 422
    nadia.client.get("/lang/fr")
    assert "Événements de sécurité" in nadia.client.get("/security/events").text


# ---- alerts ----------------------------------------------------------------------------------------------------------
def test_spiking_failures_raise_one_alert_by_email_and_webhook(client, receiver, app_clock, monkeypatch) -> None:  # noqa: F811
    nadia = register()
    hook = nadia.client.post("/api/v1/integrations", json={"type": "webhook", "url": f"{receiver.url}/siem"})
    assert hook.status_code == 201, hook.text
    receiver.secret = hook.json()["shown_once"]["signing_secret"]
    _set(monkeypatch, security_alert_failures=5)
    attacker = browser()
    codes = [
        attacker.post("/api/v1/auth/login", json={"email": nadia.email, "password": f"guess {i}"}).status_code
        for i in range(12)
    ]
    assert codes == [401] * 10 + [429] * 2

    (alert,) = _events(nadia, kind="alert")
    assert alert["action"] == "security.alert" and alert["object_email"] == nadia.email
    assert alert["detail"] == {"reason": "login_failures", "scope": "account", "failures": 5, "window_minutes": 15}
    with open_session() as s:
        mails = s.execute(select(Email).where(Email.kind == "security_alert")).scalars().all()
        assert [m.to for m in mails] == [nadia.email]
        msg = email.message_from_string(mails[0].body, policy=email.policy.default)
    assert "security alert" in msg["Subject"] and "Agence Lumière" in msg["Subject"]
    assert "5 log-in attempts to the account nadia@example.org" in msg.get_content()
    assert "http://testserver/security/events" in msg.get_content()
    (posted,) = receiver.received
    assert posted.verified and posted.path == "/siem" and posted.headers["X-JasPing-Event"] == "security.alert"
    assert posted.event["type"] == "security.alert" and posted.event["alert"]["organization_id"] == nadia.org_id

    app_clock.advance(minutes=16)  # a new window: a new spike, a new alert
    for i in range(5):
        attacker.post("/api/v1/auth/login", json={"email": nadia.email, "password": f"again {i}"})
    assert len(_events(nadia, kind="alert")) == 2 and len(receiver.received) == 2


def test_failures_spread_over_an_organizations_members_raise_an_alert(client, monkeypatch) -> None:
    nadia = register()
    for n in range(3):
        add_member(nadia.org_id, f"member{n}@example.org", role="agent")
    _set(monkeypatch, security_alert_failures=3)
    for n in range(3):
        browser().post("/api/v1/auth/login", json={"email": f"member{n}@example.org", "password": "wrong guess"})
    assert audit_details("security.alert") == [
        {"reason": "login_failures", "scope": "organization", "failures": 3, "window_minutes": 15}
    ]


# ---- retention: 12 months ----------------------------------------------------------------------------------------
def _months(start: datetime, n: int) -> datetime:
    year, month = divmod(start.month - 1 + n, 12)
    return start.replace(year=start.year + year, month=month + 1)


def test_security_events_are_kept_12_months_to_the_day(client, app_clock, monkeypatch) -> None:  # noqa: F811
    start = app_clock.now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    _set(monkeypatch, login_failures_per_account=2)
    nadia = register()
    for _ in range(2):
        assert nadia.login("not my password").status_code == 401

    def lockouts_seen_at(when: datetime) -> int:
        app_clock.now = when
        retention.apply(now=when)
        assert nadia.login().status_code == 200  # a fresh log-in, to read the log as the owner would
        nadia.refresh_csrf()
        return [e["action"] for e in _events(nadia, kind="auth")].count("auth.lockout")

    assert lockouts_seen_at(_months(start, 12) - timedelta(days=1)) == 1
    assert lockouts_seen_at(_months(start, 12) + timedelta(days=1)) == 0
    with open_session() as s:
        assert audit.verify(s).ok
