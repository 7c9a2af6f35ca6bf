"""URL and website sources through the API, against a local website: crawl, re-crawl, SSRF refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jasping import clock
from jasping.config import get_settings
from jasping.jobs import tasks  # noqa: F401 - registers the periodic jobs
from jasping.jobs.schedule import REGISTRY, run_job
from sites import page, serve


@pytest.fixture
def private_urls(monkeypatch):  # noqa: ANN201
    monkeypatch.setenv("JASPING_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("JASPING_ALLOW_PRIVATE_URLS")
    get_settings.cache_clear()


@pytest.fixture
def agent(make_org):  # noqa: ANN201
    org = make_org("Agence")
    return org, org.post("/api/v1/agents", json={"name": "Léa", "languages": ["fr"]}).json()["id"]


def _site(site) -> None:  # noqa: ANN001
    site.write(
        "index.html",
        page(
            "Agence Lumière",
            ["louer.html", "acheter.html"],
            body="<nav>Accueil | Contact</nav><p>Agence immobilière à Lyon depuis 1998.</p>",
        ),
    )
    site.write(
        "louer.html",
        page(
            "Louer",
            ["index.html"],
            body="<p>Les frais de location sont de 12 euros par mètre carré pour la rédaction du bail.</p>",
        ),
    )
    site.write(
        "acheter.html",
        page(
            "Acheter",
            ["index.html"],
            body="<p>Nos honoraires de vente sont de 4 % du prix.</p><footer>© Agence</footer>",
        ),
    )


def test_a_website_is_crawled_and_searchable(agent, private_urls, tmp_path) -> None:
    org, agent_id = agent
    with serve(tmp_path / "site") as site:
        _site(site)
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "url", "url": site.url + "/", "crawl": True})
        assert r.status_code == 202, r.text
        source = org.get(f"/api/v1/agents/{agent_id}/sources/{r.json()['id']}").json()
        assert source["state"] == "ready", source
        assert source["kind"] == "website" and source["document_count"] == 3 and source["next_crawl_at"]
        hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "combien coûtent les honoraires de vente ?"})
        top = hits.json()["results"][0]
        assert "4 %" in top["text"] and top["url"].endswith("/acheter.html") and top["title"] == "Acheter"
        texts = " ".join(
            c["text"] for c in org.get(f"/api/v1/agents/{agent_id}/sources/{source['id']}/chunks").json()["chunks"]
        )
        assert "© Agence" not in texts


def test_recrawl_on_schedule_picks_up_changes(agent, private_urls, tmp_path) -> None:
    org, agent_id = agent
    with serve(tmp_path / "site") as site:
        _site(site)
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "url", "url": site.url + "/louer.html"})
        source_id = r.json()["id"]
        assert org.get(f"/api/v1/agents/{agent_id}/sources/{source_id}").json()["state"] == "ready"
        site.write("louer.html", page("Louer", body="<p>Le dépôt de garantie est d'un mois de loyer hors charges.</p>"))
        job = REGISTRY["recrawl_sources"]
        assert run_job(job, clock.now() + timedelta(days=1), force=True)["result"]["recrawl"] == 0
        assert run_job(job, clock.now() + timedelta(days=8), force=True)["result"]["recrawl"] == 1
        hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "dépôt de garantie"}).json()["results"]
        assert hits and "un mois de loyer" in hits[0]["text"]
        gone = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "rédaction du bail"}).json()["results"]
        assert not any("rédaction du bail" in h["text"] for h in gone)  # by meaning, other passages may still come


def test_refresh_on_demand_and_a_failing_recrawl_keeps_the_old_passages(agent, private_urls, tmp_path) -> None:
    org, agent_id = agent
    with serve(tmp_path / "site") as site:
        _site(site)
        source_id = org.post(
            f"/api/v1/agents/{agent_id}/sources", json={"type": "url", "url": site.url + "/acheter.html"}
        ).json()["id"]
        site.statuses["/acheter.html"] = 500
        r = org.post(f"/api/v1/agents/{agent_id}/sources/{source_id}/refresh")
        assert r.status_code == 202
        source = org.get(f"/api/v1/agents/{agent_id}/sources/{source_id}").json()
        assert source["state"] == "failed" and "500" in source["error_message"] and source["chunk_count"] >= 1
        hits = org.get(f"/api/v1/agents/{agent_id}/search", params={"q": "honoraires"}).json()["results"]
        assert hits and "4 %" in hits[0]["text"]


def test_private_addresses_are_refused_by_default(agent) -> None:
    org, agent_id = agent
    for url in ("http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://localhost/"):
        r = org.post(f"/api/v1/agents/{agent_id}/sources", json={"type": "url", "url": url})
        assert r.status_code == 202
        source = org.get(f"/api/v1/agents/{agent_id}/sources/{r.json()['id']}").json()
        assert source["state"] == "failed" and source["error_code"] == "blocked_address", source
