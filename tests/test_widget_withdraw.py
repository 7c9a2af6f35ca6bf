"""The widget's "withdraw my consent" control, through its HTTP API:
`POST /api/v1/widget/sessions/{id}/consents/withdraw` with `{"purpose": "all"}` withdraws, in one transaction, every
consent the visitor has granted (marketing, being contacted) and the chat notice, which ends the conversation. Bad
input is refused with nothing written. The control itself is driven in a browser in test_widget_browser.py. SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jasping.conversations.models import Conversation
from jasping.db import new_id, session_scope
from jasping.leads.models import Lead
from jasping.privacy import consent
from jasping.privacy.models import ConsentRecord
from jasping.security.audit import AuditEvent

NOTICE = {"wording": "By chatting you accept our privacy notice.", "language": "en"}


@pytest.fixture
def visit(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()

    def start() -> dict:
        session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={"locale": "en"}).json()
        base = f"/api/v1/widget/sessions/{session['conversation_id']}"
        headers = {"Authorization": f"Bearer {session['session_token']}"}
        assert client.post(f"{base}/consent", json=NOTICE, headers=headers).status_code == 201
        with session_scope(org.id) as s:
            contact_id = s.get(Conversation, session["conversation_id"]).contact_id
        return {"base": base, "headers": headers, "conversation": session["conversation_id"], "contact": contact_id}

    return org, agent, start


def _withdrawals(org_id: str, contact_id: str) -> list[tuple[str, str]]:
    with session_scope(org_id) as s:
        query = select(ConsentRecord.purpose, ConsentRecord.method).where(
            ConsentRecord.contact_id == contact_id, ConsentRecord.granted.is_(False)
        )
        return sorted(tuple(r) for r in s.execute(query))


def test_withdrawing_everything_from_the_widget_stops_all_of_it_at_once(client, visit) -> None:
    org, agent, start = visit
    v = start()
    r = client.post(f"{v['base']}/consents", json={"purpose": "marketing"}, headers=v["headers"])
    assert r.status_code == 201, r.text
    r = org.post(
        f"/api/v1/contacts/{v['contact']}/consents",
        json={"purpose": "contact_about_request", "wording": "May we call you back?"},
    )
    assert r.status_code == 201, r.text
    with session_scope(org.id) as s:
        lead = Lead(id=new_id("led"), agent_id=agent["id"], contact_id=v["contact"], custom={}, consent=True)
        s.add(lead)

    r = client.post(f"{v['base']}/consents/withdraw", json={"purpose": "all"}, headers=v["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["current"] == {
        consent.CHAT_NOTICE: False,
        consent.MARKETING: False,
        consent.CONTACT: False,
    }
    assert _withdrawals(org.id, v["contact"]) == sorted(
        (p, "widget_link") for p in (consent.CHAT_NOTICE, consent.MARKETING, consent.CONTACT)
    )
    # the chat notice is withdrawn last, so the conversation ended after the other withdrawals were recorded
    assert r.json()["history"][-1]["purpose"] == consent.CHAT_NOTICE
    # what each consent allowed has stopped: the conversation is over, the lead may no longer be contacted
    for method, path, body in (("POST", "/messages", {"text": "hello?"}), ("GET", "/messages", None)):
        after = client.request(method, v["base"] + path, json=body, headers=v["headers"])
        assert after.status_code in (401, 404), after.text
    again = client.post(f"{v['base']}/consents/withdraw", json={"purpose": "all"}, headers=v["headers"])
    assert again.status_code in (401, 404)
    with session_scope(org.id) as s:
        assert s.get(Conversation, v["conversation"]).status == "closed"
        assert s.get(Lead, lead.id).consent is False
        events = s.execute(select(func.count()).where(AuditEvent.action == "consent.withdrawn")).scalar()
        assert events == 3
    # the business sees the same
    assert org.get(f"/api/v1/contacts/{v['contact']}/consents").json()["current"] == r.json()["current"]


def test_only_what_was_granted_is_withdrawn(client, visit) -> None:
    org, _, start = visit
    v = start()  # accepted the chat notice only
    r = client.post(f"{v['base']}/consents/withdraw", json={"purpose": "all"}, headers=v["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["current"] == {consent.CHAT_NOTICE: False}
    assert _withdrawals(org.id, v["contact"]) == [(consent.CHAT_NOTICE, "widget_link")]


def test_bad_withdrawals_are_refused_and_write_nothing(client, visit) -> None:
    org, _, start = visit
    v, other = start(), start()
    url = f"{v['base']}/consents/withdraw"
    for body in ({"purpose": "everything"}, {"purpose": "account_privacy_notice"}):
        r = client.post(url, json=body, headers=v["headers"])
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_purpose", r.text
    assert client.post(url, json={}, headers=v["headers"]).status_code == 422
    assert client.post(url, json={"purpose": "all", "also": 1}, headers=v["headers"]).status_code == 422
    assert client.post(url, json={"purpose": "all"}).status_code == 401
    assert client.post(url, json={"purpose": "all"}, headers=other["headers"]).status_code in (401, 404)
    assert _withdrawals(org.id, v["contact"]) == []
    ok = client.post(f"{v['base']}/messages", json={"text": "hello"}, headers=v["headers"])
    assert ok.status_code == 200, ok.text  # still chatting


def test_a_failure_half_way_leaves_every_consent_as_it_was(client, visit, monkeypatch) -> None:
    org, _, start = visit
    v = start()
    assert client.post(f"{v['base']}/consents", json={"purpose": "marketing"}, headers=v["headers"]).status_code == 201
    real = consent._stop

    def fail_on_the_chat_notice(session, contact, purpose, conversation_id):  # noqa: ANN001, ANN202
        if purpose == consent.CHAT_NOTICE:
            raise RuntimeError("the database went away")
        return real(session, contact, purpose, conversation_id)

    monkeypatch.setattr(consent, "_stop", fail_on_the_chat_notice)
    with pytest.raises(RuntimeError):
        client.post(f"{v['base']}/consents/withdraw", json={"purpose": "all"}, headers=v["headers"])
    monkeypatch.undo()
    assert _withdrawals(org.id, v["contact"]) == []  # the marketing withdrawal went with the failed transaction
    state = client.get(f"{v['base']}/consents", headers=v["headers"]).json()["current"]
    assert state == {consent.CHAT_NOTICE: True, consent.MARKETING: True}
