"""Tenant isolation, through the HTTP API as an outside client sees it."""

from __future__ import annotations

import re

import pytest

from jasping.db import open_session
from jasping.tenancy.models import Role

QUERY = {"q": "beta", "service": "visit"}  # routes with required query parameters must still reach the tenant check
WIDGET = "/api/v1/widget/"  # public, visitor session tokens instead of API keys
PUBLIC = {
    ("GET", "/api/v1/schemas/contact-export.json"),  # a published JSON Schema, the same for everyone
    ("GET", "/api/v1/schemas/account-export.json"),  # a published JSON Schema, the same for everyone
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/mfa/verify"),  # the second step of a log-in: its mfa_token is the credential
    ("POST", "/api/v1/auth/mfa/sms/send"),
    ("POST", "/api/v1/auth/password-reset"),  # anyone may ask; the answer never tells whether the account exists
    ("POST", "/api/v1/auth/password-reset/confirm"),  # the emailed link's token is the credential
    ("GET", "/api/v1/legal/{kind}"),  # the platform's published privacy policy, sub-processors and DPA
    ("GET", "/api/v1/legal/{kind}/versions"),
}
OPERATOR = "/api/v1/operator/"  # the platform operator's pages (breaches, legal pages): 403 for everyone else
PERSONAL = "/api/v1/auth/"  # a person's own settings and sessions: a session cookie, never an API key


def _operations(client):  # noqa: ANN001, ANN202
    spec = client.get("/api/v1/openapi.json").json()
    for path, item in spec["paths"].items():
        for method in item:
            yield method.upper(), path


def _body(method: str, path: str) -> dict | None:
    if path.endswith("/sources"):
        return {"type": "text", "title": "Intruder", "text": "smuggled"}
    if path.endswith("/channels"):
        return {
            "type": "twilio",
            "phone_number": "+212522999999",
            "account_sid": "AC" + "0" * 32,
            "auth_token": "t" * 32,
        }
    if method == "POST" and path.endswith("/appointments"):
        return {"start": "2030-01-07T10:00:00+01:00", "service": "visit", "contact": {"name": "Intruder"}}
    if method == "POST" and path.endswith(("/privacy-notice", "/legal/{kind}", "/legal/privacy")):
        return {"bodies": {"en": "# Our notice"}}
    if method == "POST" and path.endswith("/consents"):
        return {"purpose": "marketing", "wording": "Send me your offers"}
    if method == "POST" and path.endswith("/consents/withdraw"):
        return {"purpose": "marketing"}
    if method == "POST" and path.endswith("/move"):
        return {"start": "2030-01-07T10:00:00+01:00"}
    if method == "POST" and "/conversations/" in path and path.endswith(("/messages", "/notes")):
        return {"text": "From another organization"}  # a valid body: the check must be the owner's, not the body's
    if method == "POST" and "/conversations/" in path and path.endswith("/assign"):
        return {"assignee_id": None}
    if method in ("POST", "PATCH", "PUT"):
        return {"name": "Intruder"} if "agents" in path else {}
    return None


def _dead_delivery(org_id: str, channel_id: str) -> str:
    """A reply of org B that could not be delivered (on the dead-letter list)."""
    from jasping.channels.models import Delivery
    from jasping.db import new_id, session_scope

    delivery_id = new_id("dlv")
    with session_scope(org_id) as s:
        s.add(
            Delivery(
                id=delivery_id,
                org_id=org_id,
                connection_id=channel_id,
                to="+212612345678",
                body='{"text": "Beta reply"}',
                state="dead",
                last_error="refused",
            )
        )
    return delivery_id


def _lead_appointment(org_id: str, agent_id: str, integration_id: str) -> tuple[str, str, str]:
    """A lead of org B with its sync to B's webhook, and an appointment of B: (lead, sync, appointment)."""
    from datetime import timedelta

    from jasping import clock
    from jasping.db import new_id, session_scope
    from jasping.leads.models import Lead, LeadSync
    from jasping.scheduling.models import Appointment

    lead_id, sync_id, appointment_id = new_id("led"), new_id("sync"), new_id("apt")
    start = clock.now() + timedelta(days=2)
    with session_scope(org_id) as s:
        s.add(Lead(id=lead_id, org_id=org_id, agent_id=agent_id, name="Beta lead", email="beta@example.org"))
        s.flush()
        s.add(LeadSync(id=sync_id, org_id=org_id, lead_id=lead_id, integration_id=integration_id, state="dead"))
        s.add(
            Appointment(
                id=appointment_id,
                org_id=org_id,
                agent_id=agent_id,
                service_id="visit",
                service_name="Visit",
                start=start,
                end=start + timedelta(minutes=30),
                busy_until=start + timedelta(minutes=30),
                name="Beta customer",
            )
        )
    return lead_id, sync_id, appointment_id


def org_objects(client, b) -> dict[str, str]:  # noqa: ANN001
    """One object of each kind that a route takes by id, all of organization `b`: {path parameter: id}."""
    b_agent = b.post("/api/v1/agents", json={"name": "Beta bot"}).json()
    b_key = b.client.get("/api/v1/api-keys").json()["api_keys"][0]
    b_source = b.post(
        f"/api/v1/agents/{b_agent['id']}/sources", json={"type": "text", "title": "T", "text": "Beta"}
    ).json()
    b_conversation = client.post(f"/api/v1/widget/{b_agent['public_key']}/sessions", json={}).json()
    b_file = client.post(
        f"/api/v1/widget/sessions/{b_conversation['conversation_id']}/files",
        files={"file": ("note.txt", b"Beta's note", "text/plain")},
        headers={"Authorization": f"Bearer {b_conversation['session_token']}"},
    ).json()["file"]
    b_channel = b.post(f"/api/v1/agents/{b_agent['id']}/channels", json=_body("POST", "/channels")).json()
    b_delivery = _dead_delivery(b.id, b_channel["id"])
    b_integration = b.post(
        "/api/v1/integrations",
        json={"type": "webhook", "agent_id": b_agent["id"], "url": "https://hooks.example.org/b"},
    ).json()
    b_lead, b_sync, b_appointment = _lead_appointment(b.id, b_agent["id"], b_integration["id"])
    b_customer = b.get(f"/api/v1/conversations/{b_conversation['conversation_id']}").json()["contact_id"]
    b_request = b.post("/api/v1/privacy/requests", json={"subject_id": b_customer, "right": "access"}).json()["id"]
    b_contact = b.get(f"/api/v1/conversations/{b_conversation['conversation_id']}").json()["contact_id"]
    b_erased = client.post(f"/api/v1/widget/{b_agent['public_key']}/sessions", json={}).json()
    b_erased = b.get(f"/api/v1/conversations/{b_erased['conversation_id']}").json()["contact_id"]
    b_erasure = b.client.delete(f"/api/v1/contacts/{b_erased}").json()["id"]
    b_canned = b.post("/api/v1/canned-replies", json={"title": "Beta hours", "text": "9-5"}).json()["id"]
    return {
        "reply_id": b_canned,
        "contact_id": b_contact,
        "erasure_id": b_erasure,
        "integration_id": b_integration["id"],
        "lead_id": b_lead,
        "sync_id": b_sync,
        "appointment_id": b_appointment,
        "channel_id": b_channel["id"],
        "delivery_id": b_delivery,
        "file_id": b_file["id"],
        "agent_id": b_agent["id"],
        "key_id": b_key["id"],
        "source_id": b_source["id"],
        "conversation_id": b_conversation["conversation_id"],
        "request_id": b_request,
        "session_id": b.client.get("/api/v1/auth/sessions").json()["sessions"][0]["id"],
        "public_key": b_agent["public_key"],
    }


def test_every_id_endpoint_answers_404_for_another_organizations_objects(client, make_org) -> None:
    a, b = make_org("Alpha"), make_org("Beta")
    ids = org_objects(client, b)
    b_agent, b_delivery = {"id": ids["agent_id"], "name": "Beta bot"}, ids["delivery_id"]
    b_appointment, b_integration, b_lead = ids["appointment_id"], {"id": ids["integration_id"]}, ids["lead_id"]
    b_contact, b_erasure = ids["contact_id"], ids["erasure_id"]
    checked = 0
    for method, path in _operations(client):
        params = re.findall(r"{(\w+)}", path)
        if not params or path.startswith(WIDGET):  # the widget's own token checks: test_widget_api.py
            continue
        if (method, path) in PUBLIC:
            continue
        if path.startswith(OPERATOR):  # not an organization's objects: nobody but the operator gets in
            url = path.format(breach_id="brc_x", org_id=b.id, kind="privacy", user_id="usr_x")
            r = a.client.request(method, url, json=_body(method, url))
            assert r.status_code == 403, f"{method} {url} → {r.status_code} {r.text[:200]}"
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"add an object of org B for {missing} so that {method} {path} is checked"
        url = path.format(**ids)
        for who, call in (
            ("api key", lambda m, u: client.request(m, u, headers=a.headers, json=_body(m, u), params=QUERY)),
            ("session", lambda m, u: a.client.request(m, u, json=_body(m, u), params=QUERY)),
        ):
            if who == "api key" and path.startswith(PERSONAL):
                continue
            r = call(method, url)
            assert r.status_code == 404, f"{who}: {method} {url} → {r.status_code} {r.text[:200]}"
            assert r.json()["error"]["code"] in (
                "not_found",
                "agent_not_found",
                "source_not_found",
                "conversation_not_found",
                "file_not_found",
                "channel_not_found",
                "delivery_not_found",
                "integration_not_found",
                "lead_not_found",
                "appointment_not_found",
                "request_not_found",
                "contact_not_found",
                "erasure_not_found",
                "canned_reply_not_found",
            ), r.text
            checked += 1
    assert checked >= 8
    # and B's objects are unchanged
    assert b.get(f"/api/v1/agents/{b_agent['id']}").json()["name"] == "Beta bot"
    assert b.get("/api/v1/api-keys").json()["api_keys"][0]["revoked_at"] is None
    assert [d["id"] for d in b.get(f"/api/v1/agents/{b_agent['id']}/dead-letters").json()["deliveries"]] == [b_delivery]
    assert b.get(f"/api/v1/appointments/{b_appointment}").json()["status"] == "booked"
    assert b.get(f"/api/v1/integrations/{b_integration['id']}").status_code == 200
    assert b.get(f"/api/v1/leads/{b_lead}").status_code == 200
    assert b.get(f"/api/v1/contacts/{b_contact}").json()["restricted_at"] is None
    assert b.get(f"/api/v1/contacts/erasures/{b_erasure}").json()["state"] == "done"


def test_lists_show_only_own_organization(client, make_org) -> None:
    a, b = make_org("Alpha"), make_org("Beta")
    a.post("/api/v1/agents", json={"name": "A1"})
    b.post("/api/v1/agents", json={"name": "B1"})
    b.post("/api/v1/agents", json={"name": "B2"})
    assert [x["name"] for x in a.get("/api/v1/agents").json()["agents"]] == ["A1"]
    assert sorted(x["name"] for x in b.get("/api/v1/agents").json()["agents"]) == ["B1", "B2"]
    assert a.get("/api/v1/organization").json()["id"] == a.id
    assert len(a.get("/api/v1/api-keys").json()["api_keys"]) == 1


def test_every_api_endpoint_needs_credentials(client, make_org) -> None:
    org = make_org()
    agent = org.post("/api/v1/agents", json={"name": "Bot"}).json()
    for method, path in _operations(client):
        if (method, path) in PUBLIC or not path.startswith("/api/v1") or path.startswith(WIDGET):
            continue
        url = path.format(
            agent_id=agent["id"],
            key_id="key_x",
            source_id="src_x",
            conversation_id="cnv_x",
            public_key="pk_x",
            file_id="fil_x",
            channel_id="chn_x",
            delivery_id="dlv_x",
            integration_id="int_x",
            lead_id="led_x",
            sync_id="sync_x",
            appointment_id="apt_x",
            request_id="dsr_x",
            session_id="ses_x",
            contact_id="cot_x",
            erasure_id="cer_x",
            reply_id="cnr_x",
            breach_id="brc_x",
            user_id="usr_x",
            org_id="org_x",
            kind="privacy",
        )
        for headers in ({}, {"Authorization": "Bearer jp_00000000_wrong"}, {"Authorization": "Basic abc"}):
            r = client.request(method, url, headers=headers, json=_body(method, url))
            assert r.status_code == 401, f"{method} {url} with {headers} → {r.status_code}"
            assert set(r.json()["error"]) == {"code", "message"}


def test_revoked_key_is_refused(client, make_org) -> None:
    org = make_org()
    extra = org.client.post("/api/v1/api-keys", json={"name": "temp"}).json()
    headers = {"Authorization": f"Bearer {extra['secret']}"}
    assert client.get("/api/v1/agents", headers=headers).status_code == 200
    assert org.client.delete(f"/api/v1/api-keys/{extra['id']}").json()["revoked_at"]
    assert client.get("/api/v1/agents", headers=headers).status_code == 401


def test_roles_limit_what_a_key_may_do(client, make_org) -> None:
    org = make_org()
    viewer = org.client.post("/api/v1/api-keys", json={"name": "ro", "role": "viewer"}).json()
    headers = {"Authorization": f"Bearer {viewer['secret']}"}
    assert client.get("/api/v1/agents", headers=headers).status_code == 200
    r = client.post("/api/v1/agents", headers=headers, json={"name": "Nope"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/api-keys", headers=headers).status_code == 403


def test_scoped_session_refuses_writing_into_another_organization(client, make_org) -> None:
    from jasping.agents.models import Agent
    from jasping.db import TenantMismatch

    a, b = make_org("Alpha"), make_org("Beta")
    session = open_session(a.id)
    try:
        session.add(Agent(id="agt_x", org_id=b.id, name="smuggled", public_key="pk_x"))
        with pytest.raises(TenantMismatch):
            session.flush()
    finally:
        session.rollback()
        session.close()
    assert Role.owner.allows(Role.viewer) and not Role.viewer.allows(Role.admin)


def test_api_key_is_stored_hashed_and_shown_once(client, make_org, db_url) -> None:
    from sqlalchemy import text

    org = make_org()
    new = org.client.post("/api/v1/api-keys", json={"name": "once"}).json()
    assert new["secret"].startswith(new["prefix"] + "_")
    listed = org.client.get("/api/v1/api-keys").json()["api_keys"]
    assert all("secret" not in k for k in listed)
    with open_session() as s:
        rows = s.execute(text("SELECT prefix, secret_hash FROM api_keys")).all()
    assert all(new["secret"] not in " ".join(map(str, r)) for r in rows)
    assert new["prefix"] in {r[0] for r in rows}
