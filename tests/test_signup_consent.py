"""Sign-up through the API (`POST /api/v1/auth/register`) records the acceptance of the privacy policy in force, the
same consent record the dashboard's form writes (`privacy.consent`, purpose `account_privacy_notice`), and refuses a
sign-up without it — or naming a version that is not in force — with 422 and nothing written. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from jasping.crypto import PLATFORM, get_keyring
from jasping.db import session_scope
from jasping.privacy import consent
from jasping.privacy.models import ConsentRecord
from jasping.tenancy.models import Organization, User

BODY = {"email": "nadia@example.org", "password": "correct horse battery", "organization_name": "Riad Nadia"}


def _signups() -> list[ConsentRecord]:
    with session_scope(write=False) as s:
        rows = list(s.execute(select(ConsentRecord).where(ConsentRecord.purpose == consent.SIGNUP)).scalars())
        s.expunge_all()
    return rows


def _count(model) -> int:  # noqa: ANN001
    with session_scope(write=False) as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def test_signing_up_through_the_api_records_the_privacy_policy_version_accepted(client: TestClient) -> None:
    r = client.post("/api/v1/auth/register", json={**BODY, "accept_privacy_notice": True})
    assert r.status_code == 201, r.text
    (row,) = _signups()
    assert row.user_id == r.json()["user_id"] and row.org_id == r.json()["organization_id"]
    assert row.contact_id is None and row.granted is True
    assert (row.channel, row.method, row.notice_version) == ("api", "api", "privacy/v1")
    assert row.policy_url.endswith("/privacy") and row.wording == consent.SIGNUP_NOTICE["en"]
    assert row.ip_hash == get_keyring().mac(PLATFORM, "testclient", consent.IP_PURPOSE)


def test_the_version_shown_is_checked_against_the_one_in_force(client: TestClient) -> None:
    r = client.post(
        "/api/v1/auth/register",
        json={**BODY, "locale": "fr", "accept_privacy_notice": True, "privacy_notice_version": "privacy/v1"},
    )
    assert r.status_code == 201, r.text
    (row,) = _signups()
    assert row.notice_version == "privacy/v1" and row.language == "fr"
    assert row.wording == consent.SIGNUP_NOTICE["fr"]


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        ({}, "consent_required", "accept_privacy_notice"),
        ({"accept_privacy_notice": False}, "consent_required", "accept_privacy_notice"),
        ({"accept_privacy_notice": None}, "consent_required", "accept_privacy_notice"),
        ({"accept_privacy_notice": True, "privacy_notice_version": "privacy/v7"}, "notice_not_in_force", "privacy/v1"),
        ({"accept_privacy_notice": True, "privacy_notice_version": "terms/v1"}, "notice_not_in_force", "privacy/v1"),
    ],
)
def test_a_sign_up_without_acceptance_is_refused_and_writes_nothing(client: TestClient, extra, code, words) -> None:  # noqa: ANN001
    r = client.post("/api/v1/auth/register", json={**BODY, **extra})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert _count(User) == 0 and _count(Organization) == 0 and _signups() == []
    assert "jasping_session" not in r.headers.get("set-cookie", "")
    # the same person then accepts: the sign-up goes through (nothing half-written blocked the email)
    r = client.post("/api/v1/auth/register", json={**BODY, "accept_privacy_notice": True})
    assert r.status_code == 201, r.text


def test_a_refused_sign_up_of_a_taken_email_records_no_consent(client: TestClient) -> None:
    assert client.post("/api/v1/auth/register", json={**BODY, "accept_privacy_notice": True}).status_code == 201
    other = TestClient(client.app, base_url="http://testserver")
    r = other.post("/api/v1/auth/register", json={**BODY, "accept_privacy_notice": True})
    assert r.status_code == 409, r.text
    assert len(_signups()) == 1


def test_the_openapi_document_describes_the_acceptance(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["RegisterIn"]
    assert "accept_privacy_notice" in schema["properties"] and "privacy_notice_version" in schema["properties"]
    assert "privacy" in schema["properties"]["accept_privacy_notice"]["description"].lower()
