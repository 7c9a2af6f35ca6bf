"""Consent records (`privacy.consent`, `/api/v1/contacts/{id}/consents`, the widget's consent routes): the notice
version in force, the method, the time and a keyed hash of the IP (never the IP) are recorded by the widget and the
sign-up form; marketing opt-in and withdrawal, and a withdrawal that stops the related processing at once. Retention
of marketing consent one day either side of 3 years. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from jasping import clock
from jasping.conversations.models import Conversation
from jasping.crypto import PLATFORM, get_keyring
from jasping.db import get_engine, new_id, session_scope
from jasping.integrations.models import Integration
from jasping.leads import syncs
from jasping.leads.models import Lead, LeadSync
from jasping.privacy import consent, retention
from jasping.privacy.models import ConsentRecord

NOTICE = {"wording": "By chatting you accept our privacy policy.", "language": "en"}


@pytest.fixture
def chat(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["en", "fr"]}).json()

    def visit() -> dict:
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
        base = f"/api/v1/widget/sessions/{session['conversation_id']}"
        headers = {"Authorization": f"Bearer {session['session_token']}"}
        with session_scope(org.id) as s:
            contact_id = s.get(Conversation, session["conversation_id"]).contact_id
        return {"base": base, "headers": headers, "contact": contact_id, "conversation": session["conversation_id"]}

    return org, agent, visit


def _records(org_id: str, **where) -> list[ConsentRecord]:
    with session_scope(org_id) as s:
        query = select(ConsentRecord).filter_by(**where).order_by(ConsentRecord.created_at, ConsentRecord.id)
        rows = list(s.execute(query).scalars())
        s.expunge_all()
    return rows


def test_the_widget_records_the_notice_version_method_time_and_a_hashed_ip(client, chat) -> None:
    org, agent, visit = chat
    v = visit()
    r = client.post(f"{v['base']}/consent", json=NOTICE, headers=v["headers"])
    assert r.status_code == 201 and r.json()["notice_version"] == "agent_notice/v1"
    (row,) = _records(org.id, contact_id=v["contact"])
    assert row.method == "implied_by_message" and row.purpose == consent.CHAT_NOTICE and row.created_at
    assert row.policy_url.endswith(f"/legal/agents/{agent['public_key']}/privacy")
    assert row.ip_hash == get_keyring().mac(org.id, "testclient", consent.IP_PURPOSE) and len(row.ip_hash) == 64
    with get_engine().connect() as conn:
        row = conn.execute(text("SELECT * FROM consent_records WHERE contact_id IS NOT NULL")).one()
        stored = [str(x) for x in row]
    assert not any("testclient" in value for value in stored)

    # the business publishes its own notice: the next consent names version 2
    published = org.post(f"/api/v1/agents/{agent['id']}/privacy-notice", json={"bodies": {"en": "Our notice."}})
    assert published.json()["label"] == "agent_notice/v2"
    w = visit()
    assert client.post(f"{w['base']}/consent", json=NOTICE, headers=w["headers"]).json()["notice_version"] == (
        "agent_notice/v2"
    )


def test_the_sign_up_form_records_the_privacy_policy_version(client) -> None:
    page = client.get("/register")
    assert 'href="/privacy"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {
        "csrf_token": csrf,
        "email": "salma@example.org",
        "password": "correct horse battery",
        "organization_name": "Riad Salma",
        "name": "Salma",
    }
    assert client.post("/register", data=form, follow_redirects=False).status_code == 303
    with session_scope() as s:
        (row,) = s.execute(select(ConsentRecord).where(ConsentRecord.purpose == consent.SIGNUP)).scalars().all()
        assert row.user_id and row.contact_id is None and row.method == "button" and row.channel == "dashboard"
        assert row.notice_version == "privacy/v1" and row.policy_url.endswith("/privacy")
        assert row.ip_hash == get_keyring().mac(PLATFORM, "testclient", consent.IP_PURPOSE)


def _sinks(org_id: str, contact_id: str, agent_id: str) -> dict:
    """A lead of the contact with a queued sync to a CRM webhook and to a marketing list."""
    with session_scope(org_id) as s:
        lead = Lead(id=new_id("led"), agent_id=agent_id, contact_id=contact_id, custom={}, consent=True)
        s.add(lead)
        made = {"lead": lead.id}
        for name, settings in (
            ("crm", {"url": "https://crm.example/hook"}),
            ("marketing", {"url": "https://list.example/hook", "purpose": "marketing"}),
        ):
            integration = Integration(
                id=new_id("int"), type="webhook", name=name, settings=settings, secrets_json="{}", status="active"
            )
            s.add(integration)
            s.flush()
            sync = LeadSync(
                id=new_id("lsy"),
                lead_id=lead.id,
                integration_id=integration.id,
                revision=1,
                state="queued",
                next_attempt_at=clock.now(),
            )
            s.add(sync)
            made[name], made[f"{name}_sync"] = integration.id, sync.id
    return made


def _sink_ids(org_id: str, lead_id: str) -> set[str]:
    with session_scope(org_id) as s:
        return {i.id for i in syncs.sinks_for(s, s.get(Lead, lead_id))}


def test_marketing_opt_in_then_withdrawal_stops_the_marketing_syncs_at_once(client, chat) -> None:
    org, agent, visit = chat
    v = visit()
    opt_in = client.post(f"{v['base']}/consents", json={"purpose": "marketing"}, headers=v["headers"])
    assert opt_in.status_code == 201 and opt_in.json()["current"]["marketing"] is True
    (row,) = opt_in.json()["history"]
    assert row["method"] == "checkbox" and row["wording"] == consent.MARKETING_TEXT["en"]

    made = _sinks(org.id, v["contact"], agent["id"])
    assert _sink_ids(org.id, made["lead"]) == {made["crm"], made["marketing"]}

    r = org.post(f"/api/v1/contacts/{v['contact']}/consents/withdraw", json={"purpose": "marketing"})
    assert r.status_code == 200 and r.json()["current"]["marketing"] is False
    with session_scope(org.id) as s:
        assert s.get(LeadSync, made["marketing_sync"]).state == "withdrawn"
        assert s.get(LeadSync, made["crm_sync"]).state == "queued"  # being contacted about the request still holds
    assert _sink_ids(org.id, made["lead"]) == {made["crm"]}
    assert syncs.send(org.id, made["marketing_sync"]) == "withdrawn"  # a job that was already queued sends nothing

    history = org.get(f"/api/v1/contacts/{v['contact']}/consents").json()["history"]
    assert [(h["purpose"], h["granted"], h["method"]) for h in history] == [
        ("marketing", True, "checkbox"),
        ("marketing", False, "api"),
    ]


def test_withdrawing_being_contacted_clears_the_leads_consent(client, chat) -> None:
    org, agent, visit = chat
    v = visit()
    made = _sinks(org.id, v["contact"], agent["id"])
    r = org.post(
        f"/api/v1/contacts/{v['contact']}/consents",
        json={"purpose": "contact_about_request", "wording": "May we call you back?", "method": "verbal_phone"},
    )
    assert r.status_code == 201 and r.json()["current"]["contact_about_request"] is True
    org.post(f"/api/v1/contacts/{v['contact']}/consents/withdraw", json={"purpose": "contact_about_request"})
    with session_scope(org.id) as s:
        lead = s.get(Lead, made["lead"])
        assert lead.consent is False and lead.consent_at is None


def test_withdrawing_the_chat_notice_ends_the_conversation_at_once(client, chat) -> None:
    org, _, visit = chat
    v = visit()
    assert client.post(f"{v['base']}/consent", json=NOTICE, headers=v["headers"]).status_code == 201
    r = client.post(f"{v['base']}/consents/withdraw", json={"purpose": "chat_privacy_notice"}, headers=v["headers"])
    assert r.status_code == 200 and r.json()["current"]["chat_privacy_notice"] is False
    assert r.json()["history"][-1]["method"] == "widget_link"
    after = client.post(f"{v['base']}/messages", json={"text": "hello again"}, headers=v["headers"])
    assert after.status_code in (401, 404)
    with session_scope(org.id) as s:
        conversation = s.get(Conversation, v["conversation"])
        assert conversation.status == "closed" and conversation.session_token_hash is None
        assert conversation.message_count == 0  # nothing more was processed


def test_bad_input_and_other_organizations(client, chat, make_org) -> None:
    org, _, visit = chat
    v = visit()
    url = f"/api/v1/contacts/{v['contact']}/consents"
    r = org.post(url, json={"purpose": "newsletter", "wording": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_purpose"
    r = org.post(url, json={"purpose": "marketing", "wording": "x", "method": "telepathy"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_method"
    assert org.post(url, json={"purpose": "marketing"}).status_code == 422  # no wording
    assert make_org("Other").get(url).status_code == 404
    r = client.post(f"{v['base']}/consents", json={"purpose": "chat_privacy_notice"}, headers=v["headers"])
    assert r.status_code == 422
    assert client.post(f"{v['base']}/consents", json={"purpose": "marketing"}).status_code == 401


# ---- retention: marketing consent 3 years from the last consent, at once once withdrawn ------------------------
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _at(years: int, days: int = 0) -> datetime:
    return T0.replace(year=T0.year + years) + timedelta(days=days)


def _record(org_id: str, contact_id: str, at: datetime, purpose: str, granted: bool = True) -> str:
    with clock.frozen_at(at), session_scope(org_id) as s:
        row = ConsentRecord(id=new_id("cns"), contact_id=contact_id, purpose=purpose, granted=granted, wording="ok")
        s.add(row)
    return row.id


def _exists(org_id: str, record_id: str) -> bool:
    with session_scope(org_id) as s:
        return s.get(ConsentRecord, record_id) is not None


def test_marketing_consent_is_kept_3_years_then_erased(client, chat) -> None:
    org, _, visit = chat
    v = visit()
    kept = _record(org.id, v["contact"], T0, consent.MARKETING)
    retention.apply(now=_at(3, -1))
    assert _exists(org.id, kept)
    retention.apply(now=_at(3, +1))
    assert not _exists(org.id, kept)

    w = visit()
    grant = _record(org.id, w["contact"], _at(0, 10), consent.MARKETING)
    withdrawal = _record(org.id, w["contact"], _at(0, 20), consent.MARKETING, granted=False)
    retention.apply(now=_at(0, 21))
    assert not _exists(org.id, grant) and _exists(org.id, withdrawal)  # the grant goes once withdrawn
    retention.apply(now=_at(3, 19))
    assert _exists(org.id, withdrawal)
    retention.apply(now=_at(3, 21))
    assert not _exists(org.id, withdrawal)
