"""The dashboard's contact page (`/privacy/contacts`): find a customer by email or phone, see their consents, export
their data and erase them — both after the password was entered recently (step-up), erasure only once confirmed.
As a logged-in owner would, through the HTML pages; SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest

from contact_fixtures import Visitor
from jasping import clock
from jasping.conversations.models import Conversation
from jasping.db import session_scope

EMAIL = "salma.canary@example.org"
NOTICE = {"wording": "By chatting you accept our privacy notice.", "language": "en"}


@pytest.fixture
def customer(client, make_org):  # noqa: ANN201
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    visitor = Visitor(client, agent)
    assert client.post(f"{visitor.url}/consent", json=NOTICE, headers=visitor.headers).status_code == 201
    visitor.say("Where can I park?")
    with session_scope(org.id) as s:
        contact_id = s.get(Conversation, visitor.conversation_id).contact_id
    assert org.client.patch(f"/api/v1/contacts/{contact_id}", json={"email": EMAIL, "name": "Salma"}).status_code == 200
    return org, contact_id


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


@pytest.fixture
def stale(monkeypatch):  # noqa: ANN201
    """`stale()`: the password was entered more than the step-up time ago (the session itself is still valid)."""

    def go() -> None:
        later = clock.now() + timedelta(minutes=11)
        monkeypatch.setattr(clock, "now", lambda: later)

    return go


def test_find_a_contact_and_see_their_consents(client, customer, make_org) -> None:
    org, contact_id = customer
    page = org.client.get("/privacy/contacts")
    assert page.status_code == 200 and 'name="email"' in page.text and 'name="phone"' in page.text
    found = org.client.get("/privacy/contacts", params={"email": EMAIL.upper()})
    assert found.status_code == 200 and f'href="/privacy/contacts/{contact_id}"' in found.text
    none = org.client.get("/privacy/contacts", params={"email": "nobody@example.org"})
    assert none.status_code == 200 and "/privacy/contacts/con" not in none.text and "No contact" in none.text
    bad = org.client.get("/privacy/contacts", params={"email": "not an email"})
    assert bad.status_code == 422 and "email" in bad.text.lower()

    detail = org.client.get(f"/privacy/contacts/{contact_id}")
    assert detail.status_code == 200
    for shown in (EMAIL, "Salma", "chat_privacy_notice", "agent_notice/v1", "implied_by_message"):
        assert shown in detail.text, shown
    assert make_org("Other").client.get(f"/privacy/contacts/{contact_id}").status_code == 404
    assert "/privacy/contacts" in org.client.get("/privacy/record").text  # reachable from the Privacy page


def test_the_export_asks_for_the_password_again_then_downloads_valid_json(client, customer, stale) -> None:
    org, contact_id = customer
    url = f"/privacy/contacts/{contact_id}/export"
    r = org.client.get(url, follow_redirects=False)
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    document = r.json()
    jsonschema.validate(document, client.get("/api/v1/schemas/contact-export.json").json())
    assert document["contact"]["email"] == EMAIL and document["consent_state"]["chat_privacy_notice"]["granted"]
    (tracked,) = org.get("/api/v1/privacy/requests").json()
    assert (tracked["right"], tracked["status"], tracked["subject_id"]) == ("access", "completed", contact_id)

    stale()
    r = org.client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/security/reauth?next={url}"


def test_erasure_needs_a_recent_password_and_a_confirmation(client, customer) -> None:
    org, contact_id = customer
    page = org.client.get(f"/privacy/contacts/{contact_id}")
    url = f"/privacy/contacts/{contact_id}/erase"
    assert f'action="{url}"' in page.text
    csrf = _csrf(page.text)

    r = org.client.post(url, data={"csrf_token": csrf}, follow_redirects=False)  # not confirmed
    assert r.status_code == 422 and "ERASE" in r.text
    assert org.client.post(url, data={"csrf_token": "forged", "confirm": "ERASE"}).status_code == 403
    assert org.get(f"/api/v1/contacts/{contact_id}").status_code == 200  # nothing erased

    with pytest.MonkeyPatch.context() as later:
        moved = clock.now() + timedelta(minutes=11)
        later.setattr(clock, "now", lambda: moved)
        r = org.client.post(url, data={"csrf_token": csrf, "confirm": "ERASE"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/security/reauth?next=/privacy/contacts/{contact_id}"
        assert org.get(f"/api/v1/contacts/{contact_id}").status_code == 200

    r = org.client.post(url, data={"csrf_token": csrf, "confirm": "ERASE"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/privacy/contacts?erased=")
    erasure_id = r.headers["location"].split("erased=")[1]
    assert org.get(f"/api/v1/contacts/{contact_id}").status_code == 404
    assert org.get(f"/api/v1/contacts/erasures/{erasure_id}").json()["contact_id"] == contact_id
    done = org.client.get(r.headers["location"])
    assert done.status_code == 200 and erasure_id in done.text
    rights = {(t["right"], t["status"]) for t in org.get("/api/v1/privacy/requests").json()}
    assert rights == {("erasure", "completed")}
    assert org.client.get(f"/privacy/contacts/{contact_id}").status_code == 404


def test_the_page_in_french(client, customer) -> None:
    org, contact_id = customer
    org.client.cookies.set("jasping_lang", "fr")
    page = org.client.get(f"/privacy/contacts/{contact_id}")
    assert page.status_code == 200 and "Effacer" in page.text and "Consentements" in page.text
