"""The data-request tracker (`/api/v1/privacy/requests`, `privacy.requests`): due 30 days after receipt, extended with
a reason up to two months beyond (more: 422), reminders emailed 7 days and 1 day before the deadline through a real
SMTP server, overdue flagged; contact requests stay in their organization, user requests with their user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

import account_fixtures
from jasping import clock
from jasping.conversations.models import Contact
from jasping.db import new_id, session_scope
from jasping.errors import Invalid
from jasping.jobs import tasks  # noqa: F401 - registers the periodic jobs
from jasping.jobs.schedule import REGISTRY, run_job
from jasping.privacy import requests

smtp, travel = account_fixtures.smtp, account_fixtures.travel  # fixtures
DAY = timedelta(days=1)


def _contact(org_id: str) -> str:
    with session_scope(org_id) as s:
        contact = Contact(id=new_id("con"), name="Nadia Customer")
        s.add(contact)
    return contact.id


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_contact_request_is_due_in_30_days_and_extended_with_a_reason_up_to_two_months(client, make_org) -> None:
    org = make_org()
    contact_id = _contact(org.id)
    received = (clock.now() - 3 * DAY).replace(microsecond=0)
    r = org.post(
        "/api/v1/privacy/requests",
        json={"subject_id": contact_id, "right": "erasure", "received_at": received.isoformat(), "channel": "email"},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert _at(made["due_at"]) == received + 30 * DAY and made["deadline"] == made["due_at"]
    assert made["days_left"] == 27 and made["status"] == "open" and made["overdue"] is False

    url = f"/api/v1/privacy/requests/{made['id']}"
    no_reason = org.client.patch(url, json={"extended_until": (received + 60 * DAY).isoformat()}, headers=org.headers)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    too_long = org.client.patch(
        url,
        json={"extended_until": (received + 30 * DAY + 63 * DAY).isoformat(), "extension_reason": "many systems"},
        headers=org.headers,
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "extension_too_long"
    until = received + 30 * DAY + 55 * DAY
    extension = {"extended_until": until.isoformat(), "extension_reason": "copies in three systems"}
    ok = org.client.patch(url, json=extension, headers=org.headers)
    assert ok.status_code == 200, ok.text
    assert _at(ok.json()["deadline"]) == until and ok.json()["extension_reason"] == "copies in three systems"

    done = org.client.patch(url, json={"status": "completed", "note": "erased everywhere"}, headers=org.headers)
    assert done.status_code == 200 and done.json()["closed_at"] and "erased everywhere" in done.json()["notes"]
    again = org.client.patch(url, json={"status": "refused"}, headers=org.headers)
    assert again.status_code == 409
    assert [x["id"] for x in org.get("/api/v1/privacy/requests").json()] == [made["id"]]
    assert org.get("/api/v1/privacy/requests?open=true").json() == []


def test_requests_stay_with_their_organization_and_their_user(client, make_org) -> None:
    first, second = make_org("First"), make_org("Second")
    contact_id = _contact(first.id)
    made = first.post("/api/v1/privacy/requests", json={"subject_id": contact_id, "right": "access"}).json()
    assert second.get(f"/api/v1/privacy/requests/{made['id']}").status_code == 404
    closing = second.client.patch(f"/api/v1/privacy/requests/{made['id']}", json={"status": "completed"})
    assert closing.status_code == 404
    assert second.get("/api/v1/privacy/requests").json() == []
    # another organization's contact cannot be named
    r = second.post("/api/v1/privacy/requests", json={"subject_id": contact_id, "right": "access"})
    assert r.status_code == 404
    bad = first.post("/api/v1/privacy/requests", json={"subject_id": contact_id, "right": "forget me"})
    assert bad.status_code == 422

    # a user's own request: visible to them, not to the organization's API key; they may only withdraw it
    mine = first.client.post("/api/v1/privacy/requests", json={"subject_type": "user", "right": "rectification"})
    assert mine.status_code == 201, mine.text
    mine = mine.json()
    assert mine["organization_id"] is None
    assert first.get(f"/api/v1/privacy/requests/{mine['id']}").status_code == 404  # the key is not the person
    assert first.client.get(f"/api/v1/privacy/requests/{mine['id']}").status_code == 200
    url = f"/api/v1/privacy/requests/{mine['id']}"
    assert first.client.patch(url, json={"status": "completed"}).status_code == 403
    assert first.client.patch(url, json={"status": "withdrawn"}).json()["status"] == "withdrawn"
    key_user = first.post("/api/v1/privacy/requests", json={"subject_type": "user", "right": "access"})
    assert key_user.status_code == 403


def test_other_modules_open_and_close_requests_in_their_transaction(client, make_org) -> None:
    org = make_org()
    contact_id = _contact(org.id)
    with session_scope() as s:
        with pytest.raises(Invalid):
            requests.open_request(s, subject_type="contact", subject_id=contact_id, right="erasure")
        tracked = requests.open_request(
            s, subject_type="contact", subject_id=contact_id, right="erasure", org_id=org.id, channel="dashboard"
        )
        requests.close_request(s, request_id=tracked.id, note="erased: 12 rows", org_id=org.id)
    (row,) = org.get("/api/v1/privacy/requests").json()
    assert row["status"] == "completed" and row["notes"] == "erased: 12 rows" and row["channel"] == "dashboard"


def _remind(now: datetime) -> dict:
    return run_job(REGISTRY["data_request_reminders"], now)


def test_reminders_7_days_and_1_day_before_then_overdue(client, make_org, smtp, travel) -> None:
    org = make_org()
    contact_id = _contact(org.id)
    start = travel.start
    made = org.post("/api/v1/privacy/requests", json={"subject_id": contact_id, "right": "access"}).json()
    own = org.client.post("/api/v1/privacy/requests", json={"subject_type": "user", "right": "objection"}).json()

    def mails_to(address: str) -> list:
        return [m for m in smtp.inbox.messages() if address in str(m["To"])]

    travel(start + 22 * DAY)
    _remind(start + 22 * DAY)
    assert mails_to(org.email) == []
    travel(start + 23 * DAY + timedelta(hours=1))
    _remind(start + 23 * DAY + timedelta(hours=1))
    [first] = mails_to(org.email)
    assert "Data request due" in first["Subject"] and "7 days" in account_fixtures.text_of(first)
    assert len(mails_to("privacy@jasping.example")) == 1  # the user's own request: the operator is reminded
    travel(start + 24 * DAY + timedelta(hours=1))
    _remind(start + 24 * DAY + timedelta(hours=1))
    assert len(mails_to(org.email)) == 1  # once
    travel(start + 29 * DAY + timedelta(hours=1))
    _remind(start + 29 * DAY + timedelta(hours=1))
    assert len(mails_to(org.email)) == 2 and "in 1 day." in account_fixtures.text_of(mails_to(org.email)[-1])
    travel(start + 30 * DAY + timedelta(hours=1))
    result = _remind(start + 30 * DAY + timedelta(hours=1))
    assert result["result"]["overdue"] == 2
    shown = org.get(f"/api/v1/privacy/requests/{made['id']}").json()
    assert shown["overdue"] is True and shown["days_left"] <= 0
    fresh = TestClient(client.app, base_url="http://testserver")  # the old session expired meanwhile
    assert fresh.post("/api/v1/auth/login", json={"email": org.email, "password": org.password}).status_code == 200
    page = fresh.get("/privacy/requests")
    assert page.status_code == 200 and "overdue" in page.text and contact_id in page.text
    assert own["id"]


def test_an_account_being_deleted_is_not_reminded(client, make_org, smtp, travel) -> None:
    org = make_org()
    r = org.client.request("DELETE", "/api/v1/me", json={"password": org.password})
    assert r.status_code == 202
    travel(travel.start + 29 * DAY)
    result = _remind(travel.start + 29 * DAY)
    assert result["result"] == {"reminded": 0, "overdue": 0, "unsent": 0}
    assert not [m for m in smtp.inbox.messages() if "Data request" in m["Subject"]]


def test_due_dates_are_utc_instants(client, make_org) -> None:
    org = make_org()
    contact_id = _contact(org.id)
    received = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    made = org.post(
        "/api/v1/privacy/requests",
        json={"subject_id": contact_id, "right": "portability", "received_at": received.isoformat()},
    ).json()
    assert _at(made["due_at"]) == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    # two months beyond 2 March: 2 May is the latest
    url = f"/api/v1/privacy/requests/{made['id']}"
    late = {"extended_until": "2026-05-03T00:00:00Z", "extension_reason": "complex"}
    assert org.client.patch(url, json=late, headers=org.headers).status_code == 422
    fine = {"extended_until": "2026-05-02T23:30:00Z", "extension_reason": "complex"}
    assert org.client.patch(url, json=fine, headers=org.headers).status_code == 200
    future = {"subject_id": contact_id, "right": "access", "received_at": "2999-01-01T00:00:00Z"}
    assert org.post("/api/v1/privacy/requests", json=future).status_code == 422


def test_the_platforms_operator_answers_account_holders_requests(client, make_org) -> None:
    from jasping.tenancy import operators

    holder, operator = make_org("Holder"), make_org("Operator")
    with session_scope() as s:
        operators.grant(s, operator.email)
    mine = holder.client.post("/api/v1/privacy/requests", json={"subject_type": "user", "right": "rectification"})
    assert mine.status_code == 201
    url = f"/api/v1/privacy/requests/{mine.json()['id']}"
    assert [r["id"] for r in operator.client.get("/api/v1/privacy/requests?subject_type=user").json()] == [
        mine.json()["id"]
    ]
    assert make_org("Stranger").client.get(url).status_code == 404
    done = operator.client.patch(url, json={"status": "completed", "note": "name corrected"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert holder.client.get(url).json()["notes"] == "name corrected"
