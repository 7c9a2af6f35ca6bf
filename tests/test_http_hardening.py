"""HTTP hardening seen by a browser: the dashboard cannot be framed and runs no inline script, every response says
nosniff and a referrer policy, and HSTS is sent only when the public URL is https (behind a TLS proxy)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jasping.config import get_settings


@pytest.fixture
def app_for(monkeypatch):
    def make(base_url: str) -> TestClient:
        from jasping.app import create_app

        monkeypatch.setenv("JASPING_BASE_URL", base_url)
        get_settings.cache_clear()
        return TestClient(create_app(), base_url=base_url)

    yield make
    get_settings.cache_clear()


def test_https_deployments_get_hsts_on_every_response(app_for) -> None:
    client = app_for("https://chat.example.com")
    for path in ("/healthz", "/login", "/api/v1/openapi.json"):
        r = client.get(path)
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains", path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_plain_http_gets_no_hsts_and_the_dashboard_allows_no_inline_script_nor_framing(app_for) -> None:
    client = app_for("http://127.0.0.1:8000")
    r = client.get("/login")
    assert "strict-transport-security" not in r.headers
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text.replace(" ", "")  # scripts come from files, never inline
