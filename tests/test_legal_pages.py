"""Public legal pages (`/privacy`, `/legal/subprocessors`, `/legal/dpa`, an agent's notice): the built-in first
version, new versions published by the operator (API and dashboard) or, for an agent's notice, by the business;
previous versions kept and readable; a version taking effect later; markdown rendered without letting HTML through.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jasping import clock
from jasping.db import session_scope
from jasping.privacy import pages_markdown
from jasping.tenancy import operators


@pytest.fixture
def operator(make_org):  # noqa: ANN201
    op = make_org("Platform")
    with session_scope() as s:
        operators.grant(s, op.email)
    return op


def test_the_privacy_page_keeps_its_url_and_content_as_version_1(client) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "the business is responsible for your data" in page.text and "12 months, then erased" in page.text
    assert "<table>" in page.text and "Version 1" in page.text
    fr = client.get("/privacy", headers={"Accept-Language": "fr"})
    assert "Ce qui est conservé" in fr.text
    api = client.get("/api/v1/legal/privacy").json()
    assert api["version"] == 1 and api["label"] == "privacy/v1" and api["url"].endswith("/privacy")
    for path in ("/legal/subprocessors", "/legal/dpa"):
        assert client.get(path).status_code == 200
    assert "Twilio" in client.get("/legal/subprocessors").text and "Article 28" in client.get("/legal/dpa").text
    assert client.get("/api/v1/legal/cookies").status_code == 404


def test_the_operator_publishes_versions_and_previous_ones_stay_readable(client, operator, make_org) -> None:
    business = make_org("Garage")
    body = {"bodies": {"en": "# Policy\n\nNew **rules**.", "fr": "# Politique\n\nNouvelles règles."}}
    assert business.client.post("/api/v1/operator/legal/privacy", json=body).status_code == 403
    assert client.post("/api/v1/operator/legal/privacy", json=body, headers=business.headers).status_code == 403

    r = operator.client.post("/api/v1/operator/legal/privacy", json=body)
    assert r.status_code == 201 and r.json() == {"version": 2, "label": "privacy/v2"}
    current = client.get("/api/v1/legal/privacy").json()
    assert current["version"] == 2 and "<strong>rules</strong>" in current["html"]
    assert client.get("/api/v1/legal/privacy?lang=fr").json()["markdown"].startswith("# Politique")
    first = client.get("/api/v1/legal/privacy?version=1").json()
    assert "12 months, then erased" in first["markdown"]
    assert "New <strong>rules</strong>" in client.get("/privacy").text
    assert "12 months, then erased" in client.get("/privacy?version=1").text
    assert client.get("/privacy?version=9").status_code == 404

    later = clock.now() + timedelta(days=30)
    upcoming = {"bodies": {"en": "Version three."}, "effective_at": later.isoformat()}
    assert operator.client.post("/api/v1/operator/legal/privacy", json=upcoming).json()["version"] == 3
    versions = client.get("/api/v1/legal/privacy/versions").json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "superseded"), (2, "in_force"), (3, "upcoming")]
    assert client.get("/api/v1/legal/privacy").json()["version"] == 2  # not in force before its date

    past = {"bodies": {"en": "Backdated."}, "effective_at": (clock.now() - timedelta(days=1)).isoformat()}
    assert operator.client.post("/api/v1/operator/legal/privacy", json=past).status_code == 422
    assert operator.client.post("/api/v1/operator/legal/dpa", json={"bodies": {"en": "  "}}).status_code == 422
    assert operator.client.post("/api/v1/operator/legal/dpa", json={"bodies": {"de": "x"}}).status_code == 422


def test_the_operator_edits_a_page_in_the_dashboard(client, operator, make_org) -> None:
    assert make_org("Garage").client.get("/operator/legal").status_code == 403
    page = operator.client.get("/operator/legal")
    assert page.status_code == 200 and "Sub-processors" in page.text
    csrf = operator.client.headers["X-CSRF-Token"]
    form = {"csrf_token": csrf, "body_en": "| Name | Use |\n| --- | --- |\n| Acme Mail | email |", "body_fr": ""}
    r = operator.client.post("/operator/legal/subprocessors", data=form, follow_redirects=False)
    assert r.status_code == 303
    shown = client.get("/legal/subprocessors")
    assert "<td>Acme Mail</td>" in shown.text and "Version 2" in shown.text
    assert "Acme Mail" in client.get("/legal/subprocessors", headers={"Accept-Language": "fr"}).text  # English fallback
    bad = operator.client.post("/operator/legal/subprocessors", data={**form, "effective_at": "tomorrow"})
    assert bad.status_code == 422


def test_an_agent_notice_is_generated_then_edited_by_the_business(client, make_org) -> None:
    org = make_org("Clinic")
    assert org.client.patch("/api/v1/organization", json={"contact_email": "dpo@clinic.example"}).status_code == 200
    agent = org.post("/api/v1/agents", json={"name": "Amal", "languages": ["fr", "en"]}).json()
    url = f"/legal/agents/{agent['public_key']}/privacy"
    page = client.get(url)
    assert page.status_code == 200 and "Clinic" in page.text and "dpo@clinic.example" in page.text
    session = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
    assert session["privacy_url"].endswith(url)

    api = f"/api/v1/agents/{agent['id']}/privacy-notice"
    assert org.get(api).json()["label"] == "agent_notice/v1"
    r = org.post(api, json={"bodies": {"en": "Our own notice.", "fr": "Notre propre notice."}})
    assert r.status_code == 201 and r.json()["label"] == "agent_notice/v2"
    assert "Our own notice." in client.get(url).text
    assert "Clinic" in client.get(f"{url}?version=1").text
    assert [v["version"] for v in org.get(f"{api}/versions").json()] == [1, 2]

    other = make_org("Other")
    assert other.get(api).status_code == 404  # another organization's agent
    assert client.get("/legal/agents/pk_missing/privacy").status_code == 404

    editor = org.client.get(f"/agents/{agent['id']}/privacy-notice")
    assert editor.status_code == 200 and "Our own notice." in editor.text


def test_markdown_is_rendered_without_letting_html_through() -> None:
    html = str(
        pages_markdown.render(
            "# Title <script>alert(1)</script>\n\n"
            "A [link](https://example.org/?a=1&b=2) and a [bad one](javascript:alert(1)) and `<b>`.\n\n"
            "- one *two*\n- <img src=x onerror=alert(1)>\n\n1. first\n2. second"
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.org/?a=1&amp;b=2" rel="noopener noreferrer">link</a>' in html
    assert "javascript:" in html and 'href="javascript' not in html
    assert "<img" not in html and "&lt;img" in html
    assert "<code>&lt;b&gt;</code>" in html and "<em>two</em>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html and html.startswith("<h2>Title")
