"""Operations endpoints, OpenAPI, and logs that never hold secrets or personal data."""

from __future__ import annotations

import logging

from jasping.logs import RedactingFilter, redact


def test_health_readiness_and_metrics(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "queue": "ok"}
    client.get("/api/v1/agents")
    text = client.get("/metrics").text
    assert "# TYPE jasping_http_requests_total counter" in text
    assert 'route="/api/v1/agents"' in text and 'status="401"' in text


def test_readyz_reports_an_unreachable_database(client, monkeypatch) -> None:
    from jasping.web import ops

    class Broken:
        def connect(self):  # noqa: ANN202
            raise OSError("down")

    monkeypatch.setattr(ops, "get_engine", lambda: Broken())
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"


def test_openapi_document_lists_the_api(client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/agents",
        "/api/v1/agents/{agent_id}",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/api-keys",
        "/api/v1/organization",
    ):
        assert path in spec["paths"], path
    assert set(spec["paths"]["/api/v1/agents/{agent_id}"]) == {"get", "patch", "delete"}
    assert not any(p.startswith("/agents") or p == "/" for p in spec["paths"]), "dashboard routes leak into the API doc"


def test_redaction_masks_secrets_and_personal_data() -> None:
    line = (
        "Authorization: Bearer jp_1234abcd_s3cr3t-value password=hunter2hunter2 "
        "jasping_session=abcDEF123 from nadia@example.org"
    )
    out = redact(line)
    for leaked in ("jp_1234abcd_s3cr3t-value", "hunter2hunter2", "abcDEF123", "nadia@example.org"):
        assert leaked not in out


def test_a_whole_flow_logs_no_secret(client, make_org, caplog) -> None:
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    caplog.set_level(logging.DEBUG)
    org = make_org()
    org.post("/api/v1/agents", json={"name": "Amal", "instructions": "Le secret du chef est le cumin."})
    client.post("/api/v1/auth/login", json={"email": org.email, "password": org.password})
    client.get("/no-such-page")
    logging.getLogger("jasping.test").info("user %s with key %s", org.email, org.api_key)
    text = caplog.text
    for secret in (org.api_key, org.password, org.email, "cumin"):
        assert secret not in text


def test_a_locked_sqlite_database_is_a_503_to_retry_not_a_500(client, monkeypatch) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from jasping.web.api import agents as agents_api

    def locked(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(agents_api.service, "list_agents", locked)
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": "busy@example.org",
            "password": "correct horse battery",
            "organization_name": "Busy",
            "accept_privacy_notice": True,
        },
    )
    r = client.get("/api/v1/agents")
    assert r.status_code == 503 and r.json()["error"]["code"] == "busy" and r.headers["retry-after"] == "2"
