"""Retention of account-rights records, one day before and one day after each period: users' marketing consent
(3 years from the last decision; grants erased once withdrawn), closed data requests (3 years), and Download My Data,
which stores nothing that would have to expire."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from starlette.testclient import TestClient

import account_fixtures
from jasping.db import get_engine, session_scope
from jasping.privacy import requests, retention
from jasping.tenancy.models import User

travel = account_fixtures.travel  # fixture
DAY = timedelta(days=1)


def _months(start, n: int):  # noqa: ANN001, ANN202
    year, month = divmod(start.month - 1 + n, 12)
    return start.replace(year=start.year + year, month=month + 1)


def _consents() -> list[tuple[bool]]:
    with get_engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT granted FROM account_consents ORDER BY created_at"))]


def _logged_in(client, org) -> TestClient:  # noqa: ANN001
    fresh = TestClient(client.app, base_url="http://testserver")
    r = fresh.post("/api/v1/auth/login", json={"email": org.email, "password": org.password})
    assert r.status_code == 200, r.text
    fresh.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return fresh


def test_marketing_consent_is_kept_3_years_from_the_last_decision(client, make_org, travel) -> None:
    org = make_org()
    t0 = travel(travel.start.replace(day=15))
    assert _logged_in(client, org).post("/api/v1/me/consents", json={"granted": True}).status_code == 201
    retention.apply(now=_months(t0, 36) - DAY)
    assert _consents() == [(True,)]
    travel(_months(t0, 36) - DAY)
    assert _logged_in(client, org).get("/api/v1/me/consents").json()["current"]["marketing_email"] is True
    retention.apply(now=_months(t0, 36) + DAY)
    assert _consents() == []
    travel(_months(t0, 36) + DAY)
    assert _logged_in(client, org).get("/api/v1/me/consents").json()["current"]["marketing_email"] is False


def test_a_withdrawal_erases_the_grants_and_is_kept_3_years(client, make_org, travel) -> None:
    org = make_org()
    t0 = travel(travel.start.replace(day=15))
    assert _logged_in(client, org).post("/api/v1/me/consents", json={"granted": True}).status_code == 201
    t1 = travel(_months(t0, 1))
    assert _logged_in(client, org).post("/api/v1/me/consents", json={"granted": False}).status_code == 201
    retention.apply(now=t1 + DAY)
    assert _consents() == [(False,)]  # the grant is gone, the withdrawal stays
    retention.apply(now=_months(t1, 36) - DAY)
    assert _consents() == [(False,)]
    retention.apply(now=_months(t1, 36) + DAY)
    assert _consents() == []


def test_closed_data_requests_are_kept_3_years_and_open_ones_until_closed(client, make_org, travel) -> None:
    make_org()
    t0 = travel(travel.start.replace(day=15))
    with session_scope() as s:
        user_id = s.execute(text("SELECT id FROM users")).scalar()
        closed = requests.open_request(s, subject_type="user", subject_id=user_id, right="access")
        requests.close_request(s, request_id=closed.id)
        still_open = requests.open_request(s, subject_type="user", subject_id=user_id, right="objection")
    retention.apply(now=_months(t0, 36) - DAY)
    with session_scope(write=False) as s:
        assert s.get(requests.DataRequest, closed.id) is not None
    retention.apply(now=_months(t0, 36) + DAY)
    with session_scope(write=False) as s:
        assert s.get(requests.DataRequest, closed.id) is None
        assert s.get(requests.DataRequest, still_open.id) is not None
        assert s.get(User, user_id) is not None


def test_download_my_data_stores_no_artefact_to_expire(client, make_org, travel) -> None:
    org = make_org()
    from jasping.config import get_settings

    data_dir = get_settings().data_dir
    before = {p for p in data_dir.rglob("*") if p.is_file() and "jasping.db" not in p.name and "jobs" not in p.name}
    assert org.client.get("/api/v1/me/export").status_code == 200
    after = {p for p in data_dir.rglob("*") if p.is_file() and "jasping.db" not in p.name and "jobs" not in p.name}
    assert after == before  # built in a temporary file, streamed, gone: nothing kept past the download
    report = retention.apply(now=travel.start + 7 * DAY + DAY).as_dict()
    assert "export" not in report["categories"]
