"""The breach register (`/api/v1/operator/breaches`, `/operator/breaches`): operator only; the 72-hour deadline and
the overdue flag; a notice drafted per affected business in its language, reviewed, then sent through the mail outbox
(the file outbox here) with the sending recorded and audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from conftest import JASPING, cli_env
from jasping import clock
from jasping.config import get_settings
from jasping.db import session_scope
from jasping.integrations.mail_models import Email
from jasping.integrations.mail_transport import outbox_dir
from jasping.privacy import breaches
from jasping.privacy.breaches_models import Breach
from jasping.security.audit import AuditEvent
from jasping.tenancy import operators

API = "/api/v1/operator/breaches"


def _iso(value: datetime) -> str:
    return value.isoformat()


def grant(org) -> None:  # noqa: ANN001
    with session_scope() as s:
        operators.grant(s, org.email)


@pytest.fixture
def operator(make_org, monkeypatch):  # noqa: ANN201
    monkeypatch.delenv("JASPING_SMTP_URL", raising=False)  # mail goes to the file outbox
    get_settings.cache_clear()
    op = make_org("Platform")
    grant(op)
    yield op
    get_settings.cache_clear()


@pytest.fixture
def businesses(make_org):  # noqa: ANN201
    en = make_org("Garage")
    fr = make_org("Salon")
    assert fr.client.patch("/api/v1/organization", json={"default_language": "fr"}).status_code == 200
    return en, fr


def _create(op, **extra) -> dict:  # noqa: ANN001
    body = {
        "title": "Backup bucket readable",
        "detected_at": _iso(clock.now() - timedelta(hours=10)),
        "description": "A backup bucket was publicly readable for two days.",
        "data_categories": ["conversation", "lead"],
        "records_estimate": 1200,
        "subjects_estimate": 300,
        "consequences": "Names and messages may have been read.",
        "measures": "Bucket closed, keys rotated.",
        **extra,
    }
    r = op.client.post(API, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_only_the_operator_reaches_the_register(client, operator, businesses) -> None:
    en, _ = businesses
    assert en.client.get(API).status_code == 403  # a business's member
    assert en.client.post(API, json={"title": "x"}).status_code == 403
    assert client.get(API, headers=operator.headers).status_code == 403  # an API key, even the operator's org's
    assert client.get(API).status_code == 401
    assert en.client.get("/operator/breaches").status_code == 403
    assert operator.client.get(API).status_code == 200


def test_the_deadline_is_72_hours_after_detection_and_overdue_is_flagged(client, operator) -> None:
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)
    made = _create(operator, detected_at=_iso(detected))
    assert datetime.fromisoformat(made["deadline"]) == detected + timedelta(hours=72)
    assert 61 * 3600 < made["seconds_left"] <= 62 * 3600 and made["overdue"] is False

    late = _create(operator, title="Lost laptop", detected_at=_iso(clock.now() - timedelta(hours=73)))
    assert late["overdue"] is True and late["seconds_left"] < 0
    listed = {b["id"]: b for b in operator.client.get(API).json()}
    assert listed[late["id"]]["overdue"] is True and listed[made["id"]]["overdue"] is False

    notified = operator.client.patch(
        f"{API}/{late['id']}", json={"authority_notified_at": _iso(clock.now()), "authority_reference": "CNIL-42"}
    )
    assert notified.status_code == 200 and notified.json()["overdue"] is False
    page = operator.client.get("/operator/breaches")
    assert page.status_code == 200 and "Backup bucket readable" in page.text and "61 h" in page.text


def test_overdue_turns_one_minute_after_the_deadline() -> None:
    detected = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    breach = Breach(id="brc_x", title="t", detected_at=detected, data_categories=[])
    deadline = detected + timedelta(hours=72)
    assert breaches.deadline(breach) == deadline
    assert not breaches.overdue(breach, deadline - timedelta(minutes=1))
    assert breaches.overdue(breach, deadline + timedelta(minutes=1))
    assert breaches.seconds_left(breach, deadline - timedelta(minutes=1)) == 60


def test_bad_input_is_refused_with_a_clear_error(client, operator) -> None:
    assert operator.client.post(API, json={"title": ""}).status_code == 422
    r = operator.client.post(API, json={"title": "x", "data_categories": ["passwords"]})
    assert r.status_code == 422 and "data_categories" in r.json()["error"]["message"]
    future = _iso(clock.now() + timedelta(days=2))
    assert operator.client.post(API, json={"title": "x", "detected_at": future}).status_code == 422
    r = operator.client.post(API, json={"title": "x", "organizations": [{"org_id": "org_nope"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_organization"
    assert operator.client.get(f"{API}/brc_missing").status_code == 404


def test_a_notice_is_drafted_per_affected_business_in_its_language(client, operator, businesses) -> None:
    en, fr = businesses
    made = _create(
        operator,
        organizations=[{"org_id": en.id, "contacts_affected": 40}, {"org_id": fr.id, "contacts_affected": 7}],
    )
    notices = {o["org_id"]: o for o in made["organizations"]}
    assert set(notices) == {en.id, fr.id} and made["contacts_affected"] == 47
    assert notices[en.id]["notice_language"] == "en" and notices[fr.id]["notice_language"] == "fr"
    assert "Hello Garage" in notices[en.id]["notice_body"] and "about 40" in notices[en.id]["notice_body"]
    assert "Bonjour Salon" in notices[fr.id]["notice_body"] and "environ 7" in notices[fr.id]["notice_body"]
    assert "conversations, leads" in notices[en.id]["notice_body"]
    assert all(o["notice_status"] == "draft" for o in notices.values())


def test_reviewed_notices_are_sent_through_the_mail_outbox_and_recorded(client, operator, businesses) -> None:
    en, fr = businesses
    made = _create(operator, organizations=[{"org_id": en.id, "contacts_affected": 40}])
    url = f"{API}/{made['id']}"
    reviewed = operator.client.patch(
        f"{url}/organizations/{en.id}", json={"notice_body": "Dear Garage,\n\nReviewed text: 40 of your contacts."}
    )
    assert reviewed.status_code == 200
    assert operator.client.post(f"{url}/organizations", json={"org_id": fr.id}).status_code == 201

    sent = operator.client.post(f"{url}/send")
    assert sent.status_code == 200, sent.text
    rows = {o["org_id"]: o for o in sent.json()["organizations"]}
    assert all(o["notice_status"] == "sent" and o["notice_sent_at"] and o["email_id"] for o in rows.values())

    with session_scope() as s:
        emails = {e.id: (e.org_id, e.kind, e.state) for e in s.execute(select(Email)).scalars()}
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.object_id == made["id"]))]
    assert emails[rows[en.id]["email_id"]] == (en.id, "breach_notice", "sent")
    assert emails[rows[fr.id]["email_id"]][:2] == (fr.id, "breach_notice")
    assert actions.count("breach.notice_sent") == 2 and "breach.created" in actions

    raw = (outbox_dir() / f"{rows[en.id]['email_id']}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == en.email
    assert message["Subject"].startswith("Personal-data breach notice from JasPing")
    assert "Reviewed text: 40 of your contacts." in message.get_body(("plain",)).get_content()
    fr_raw = (outbox_dir() / f"{rows[fr.id]['email_id']}.eml").read_bytes()
    assert "Notification de violation" in email.message_from_bytes(fr_raw, policy=email.policy.default)["Subject"]

    # sent: kept as it went out
    assert operator.client.post(f"{url}/organizations/{en.id}/send").status_code == 409
    assert operator.client.patch(f"{url}/organizations/{en.id}", json={"notice_body": "x"}).status_code == 409
    assert operator.client.delete(url).status_code == 409


def test_a_breach_registered_by_mistake_can_be_deleted_before_any_notice(client, operator) -> None:
    made = _create(operator)
    assert operator.client.delete(f"{API}/{made['id']}").status_code == 204
    assert operator.client.get(f"{API}/{made['id']}").status_code == 404


def test_the_operator_dashboard_registers_and_sends(client, operator, businesses) -> None:
    en, _ = businesses
    csrf = operator.client.headers["X-CSRF-Token"]
    form = {
        "csrf_token": csrf,
        "title": "Leaked export",
        "detected_at": "",
        "data_categories": ["lead"],
        "records_estimate": "10",
        "description": "",
        "consequences": "",
        "measures": "",
        "subjects_estimate": "",
    }
    r = operator.client.post("/operator/breaches", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    detail = r.headers["location"].split("?")[0]
    added = operator.client.post(
        f"{detail}/organizations",
        data={"csrf_token": csrf, "org_id": en.id, "contacts_affected": "3"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = operator.client.get(detail)
    assert page.status_code == 200 and "Hello Garage" in page.text and "71 h" in page.text
    sent = operator.client.post(
        f"{detail}/organizations/{en.id}",
        data={"csrf_token": csrf, "notice_subject": "Breach notice", "notice_body": "Checked text.", "action": "send"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    breach_id = detail.rsplit("/", 1)[1]
    (row,) = operator.client.get(f"{API}/{breach_id}").json()["organizations"]
    assert row["notice_status"] == "sent" and row["notice_subject"] == "Breach notice"
    bad = operator.client.post("/operator/breaches", data={**form, "records_estimate": "many"})
    assert bad.status_code == 422


def test_the_cli_grants_and_revokes_the_operator(client, make_org, db_url) -> None:
    person = make_org("Ops")
    assert person.client.get(API).status_code == 403
    env = cli_env(db_url)
    granted = subprocess.run([JASPING, "operator", "grant", person.email], env=env, capture_output=True, text=True)
    assert granted.returncode == 0, granted.stderr
    assert person.client.get(API).status_code == 200
    revoked = subprocess.run([JASPING, "operator", "revoke", person.email], env=env, capture_output=True, text=True)
    assert revoked.returncode == 0 and "no longer" in revoked.stdout
    after = person.client.get(API)
    assert after.status_code == 403, after.text
    unknown = subprocess.run(
        [JASPING, "operator", "grant", "nobody@example.org"], env=env, capture_output=True, text=True
    )
    assert unknown.returncode == 1 and "no user" in unknown.stderr
