"""The plan's seats: members join an organization by invitation (an emailed, signed link bound to the invited
address), and an invitation or a join past the plan's members is refused with 402 `plan_limit` — on the API and,
with the same words, on the dashboard. Existing members are never removed: after a downgrade they all stay and
only new invitations are refused. Billing off: no limit."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

import billing_fixtures
from billing_fixtures import mails_to
from jasping.config import get_settings

billing_on, mailbox, stripe_stub = billing_fixtures.billing_on, billing_fixtures.mailbox, billing_fixtures.stripe_stub
PASSWORD = "correct horse battery"


@pytest.fixture
def on_free(monkeypatch, billing_on):  # noqa: ANN001, ANN201
    """Billing on, no trial: a new organization is on Free (1 member)."""
    monkeypatch.setenv("JASPING_BILLING_TRIAL_DAYS", "0")
    get_settings.cache_clear()
    return billing_on


def _person(email: str) -> TestClient:
    """Someone with a JasPing account of their own (registration gives them an organization), logged in."""
    from jasping.app import create_app

    person = TestClient(create_app(), base_url="http://testserver")
    r = person.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "organization_name": "Own", "accept_privacy_notice": True},
    )
    assert r.status_code == 201, r.text
    person.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return person


def _invite(org, email: str, role: str = "agent"):  # noqa: ANN001, ANN202
    return org.post("/api/v1/members/invitations", json={"email": email, "role": role})


def _token(invitation: dict) -> str:
    return urlsplit(invitation["url"]).path.rsplit("/", 1)[-1]


def _accept(person: TestClient, invitation: dict):  # noqa: ANN202
    return person.post("/api/v1/auth/invitations/accept", json={"token": _token(invitation)})


def _members(org) -> list[dict]:  # noqa: ANN001
    r = org.get("/api/v1/members")
    assert r.status_code == 200, r.text
    return r.json()["members"]


def test_an_invitation_is_emailed_and_accepted_by_the_invited_address(client, billing_on, mailbox, make_org) -> None:
    org = make_org()  # on the Pro trial: 15 members
    r = _invite(org, "Sara@Example.org", "admin")
    assert r.status_code == 202, r.text
    invitation = r.json()
    assert invitation["email"] == "Sara@example.org" and invitation["role"] == "admin" and invitation["expires_at"]
    assert mails_to(mailbox, "Sara@example.org") == ["You are invited to join Acme on JasPing"]
    assert invitation["url"] in mailbox.inbox.messages()[-1].get_body(("plain",)).get_content()
    stranger = _person("stranger@example.org")
    wrong = _accept(stranger, invitation)
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invitation_for_another_address"
    sara = _person("sara@example.org")
    joined = _accept(sara, invitation)
    assert joined.status_code == 200, joined.text
    assert joined.json() == {"organization_id": org.id, "role": "admin", "joined": True}
    assert _accept(sara, invitation).json()["joined"] is False  # a second click changes nothing
    assert sorted(m["role"] for m in _members(org)) == ["admin", "owner"]
    assert sara.get("/api/v1/agents", headers={"X-Organization": org.id}).status_code == 200
    assert org.get("/api/v1/billing").json()["usage"]["seats"]["used"] == 2


def test_bad_invitations_get_clear_errors(client, billing_on, make_org) -> None:
    org = make_org()
    assert _invite(org, "not-an-address").status_code == 422
    assert _invite(org, "x@example.org", "owner").status_code == 422  # ownership is not given by invitation
    assert _invite(org, org.email).json()["error"]["code"] == "already_a_member"
    viewer = org.post("/api/v1/api-keys", json={"name": "ro", "role": "viewer"}).json()["secret"]
    r = client.post(
        "/api/v1/members/invitations",
        json={"email": "x@example.org"},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert r.status_code == 403
    sara = _person("sara@example.org")
    invitation = _invite(org, "sara@example.org").json()
    tampered = {"url": invitation["url"].replace(".agent.", ".admin.")}
    assert _accept(sara, tampered).status_code == 400
    assert _accept(sara, {"url": "/invitations/nonsense"}).json()["error"]["code"] == "invalid_invitation"
    api_key = client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": _token(invitation)},
        headers={"Authorization": f"Bearer {org.api_key}"},
    )
    assert api_key.status_code == 401  # a person accepts, with their own log-in


def test_an_expired_invitation_is_refused(client, billing_on, make_org, monkeypatch) -> None:
    from datetime import timedelta

    from jasping import clock

    org = make_org()
    now = clock.now
    monkeypatch.setattr(clock, "now", lambda: now() - timedelta(days=8))  # sent 8 days ago
    invitation = _invite(org, "sara@example.org").json()
    monkeypatch.setattr(clock, "now", now)
    sara = _person("sara@example.org")
    r = _accept(sara, invitation)
    assert r.status_code == 410 and r.json()["error"]["code"] == "invitation_expired"
    assert len(_members(org)) == 1


def test_the_free_plan_refuses_a_second_member(client, on_free, mailbox, make_org) -> None:
    org = make_org()
    r = _invite(org, "sara@example.org")
    assert r.status_code == 402 and r.json()["error"]["code"] == "plan_limit"
    assert "Free plan allows 1 member:" in r.json()["error"]["message"]
    assert mails_to(mailbox, "sara@example.org") == []  # nothing sent
    assert len(_members(org)) == 1


def test_after_a_downgrade_members_stay_and_only_new_invitations_are_refused(
    client, billing_on, make_org, monkeypatch
) -> None:
    org = make_org()  # the Pro trial
    sara, omar = _person("sara@example.org"), _person("omar@example.org")
    assert _accept(sara, _invite(org, "sara@example.org").json()).status_code == 200
    pending = _invite(org, "omar@example.org").json()  # sent during the trial, not yet accepted
    monkeypatch.setenv("JASPING_BILLING_TRIAL_DAYS", "0")  # the trial is over: Free, 1 member
    get_settings.cache_clear()
    assert org.get("/api/v1/billing").json()["usage"]["seats"] == {"used": 2, "limit": 1, "percent": 100}
    assert len(_members(org)) == 2  # nobody removed
    assert sara.get("/api/v1/agents", headers={"X-Organization": org.id}).status_code == 200  # still works
    refused = _invite(org, "lina@example.org")
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "plan_limit"
    late = _accept(omar, pending)  # an invitation from before the downgrade cannot take a seat the plan lacks
    assert late.status_code == 402 and late.json()["error"]["code"] == "plan_limit"
    assert len(_members(org)) == 2


def test_billing_off_never_limits_members(client, make_org) -> None:
    org = make_org()
    for n in range(3):
        person = _person(f"member{n}@example.org")
        assert _accept(person, _invite(org, f"member{n}@example.org").json()).status_code == 200
    assert len(_members(org)) == 4


def test_the_members_page_invites_and_says_when_the_plan_is_full(client, on_free, make_org) -> None:
    org = make_org()
    page = org.client.get("/members")
    assert page.status_code == 200 and org.email in page.text and 'action="/members/invite"' in page.text
    form = {"csrf_token": org.client.headers["X-CSRF-Token"], "email": "sara@example.org", "role": "agent"}
    full = org.client.post("/members/invite", data=form)
    assert full.status_code == 402
    assert "The Free plan allows 1 member: choose a larger plan on the Billing page" in full.text
    assert 'href="/billing" class="button"' in full.text  # the way to more seats, next to the refusal
    org.client.cookies.set("jasping_lang", "fr")
    assert "Membres" in org.client.get("/members").text


def test_the_dashboard_invites_and_the_invited_person_joins(client, billing_on, make_org) -> None:
    org = make_org()
    form = {"csrf_token": org.client.headers["X-CSRF-Token"], "email": "sara@example.org", "role": "viewer"}
    sent = org.client.post("/members/invite", data=form)
    assert sent.status_code == 202 and "Invitation sent to sara@example.org" in sent.text
    link = urlsplit(_invite(org, "sara@example.org", "viewer").json()["url"]).path
    sara = _person("sara@example.org")
    page = sara.get(link)
    assert page.status_code == 200 and "Join Acme" in page.text
    joined = sara.post(link, data={"csrf_token": sara.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == "/"
    assert {m["email"] for m in _members(org)} == {org.email, "sara@example.org"}
    anonymous = TestClient(client.app).get(link, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=/invitations/")
