"""The dashboard's contacts, leads and settings pages (issue 13, point 3), as a logged-in member would use them:
pages rendered, forms posted with their CSRF token, the result read back through the API; English and French; role
checks; SQLite and PostgreSQL. The appointments agenda and the phone-sized browser check: test_dashboard_agenda.py."""

from __future__ import annotations

import csv
import io
import re

from contact_fixtures import Visitor
from jasping.db import session_scope
from jasping.leads.models import LeadSync
from security_fixtures import add_member
from test_dashboard_contacts import EMAIL, customer  # noqa: F401 - fixture
from test_lead_sinks import private_urls, receiver, shop  # noqa: F401 - fixtures


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_contacts_list_search_and_page(client, customer, make_org) -> None:  # noqa: F811
    org, contact_id = customer
    page = org.client.get("/contacts")
    assert page.status_code == 200 and f'href="/contacts/{contact_id}"' in page.text and "Salma" in page.text
    assert 'href="/contacts" aria-current="page"' in page.text  # in the main navigation
    for q in (EMAIL.upper(), "salm"):  # an email through its keyed hash; part of a name among the recent contacts
        found = org.client.get("/contacts", params={"q": q})
        assert found.status_code == 200 and f'href="/contacts/{contact_id}"' in found.text, q
    none = org.client.get("/contacts", params={"q": "nobody@example.org"})
    assert none.status_code == 200 and "/contacts/cot_" not in none.text and "No contact found." in none.text
    assert org.client.get("/contacts", params={"q": "x@"}).status_code == 422
    assert org.client.get("/contacts", params={"offset": -1}).status_code == 422

    detail = org.client.get(f"/contacts/{contact_id}")
    assert detail.status_code == 200
    conversations = org.get("/api/v1/conversations").json()["conversations"]
    assert f'href="/inbox/{conversations[0]["id"]}"' in detail.text  # their conversation, in the inbox
    assert f'href="/privacy/contacts/{contact_id}"' in detail.text  # export, erasure and consents stay there
    assert EMAIL in detail.text and 'action="/contacts/' in detail.text
    assert make_org("Other").client.get(f"/contacts/{contact_id}").status_code == 404

    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get(f"/contacts/{contact_id}").text
    assert "Corriger ses coordonnées" in fr and "Limiter le traitement" in fr and "Fichiers" in fr
    assert "Les clients qui ont parlé à vos agents" in org.client.get("/contacts").text


def test_rectify_restrict_and_object_from_the_contact_page(client, customer) -> None:  # noqa: F811
    org, contact_id = customer
    url = f"/contacts/{contact_id}"
    token = _csrf(org.client.get(url).text)
    form = {"csrf_token": token, "name": "Salma Idrissi", "email": "salma.new@example.org", "phone": ""}
    r = org.client.post(f"{url}/rectify", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?flash=saved"
    got = org.get(f"/api/v1/contacts/{contact_id}").json()
    assert (got["name"], got["email"]) == ("Salma Idrissi", "salma.new@example.org")
    assert org.get("/api/v1/contacts", params={"email": EMAIL}).json()["contacts"] == []  # the old email is gone

    bad = org.client.post(f"{url}/rectify", data=form | {"email": "not an email"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text and 'value="not an email"' in bad.text
    assert org.get(f"/api/v1/contacts/{contact_id}").json()["email"] == "salma.new@example.org"  # nothing saved
    assert org.client.post(f"{url}/rectify", data=form | {"csrf_token": "forged"}).status_code == 403

    for right, field in (("restrict", "restricted_at"), ("object", "objected_at")):
        r = org.client.post(f"{url}/processing", data={"csrf_token": token, "right": right, "on": "true"})
        assert r.status_code == 200 and org.get(f"/api/v1/contacts/{contact_id}").json()[field], right
        org.client.post(f"{url}/processing", data={"csrf_token": token, "right": right, "on": "false"})
        assert org.get(f"/api/v1/contacts/{contact_id}").json()[field] is None, right
    assert org.client.post(f"{url}/processing", data={"csrf_token": token, "right": "x", "on": "1"}).status_code == 422

    agent = add_member(org.id, "agent@example.org", "agent").client
    assert agent.get(url).status_code == 200 and 'action="/contacts/' not in agent.get(url).text  # reads, no forms
    assert (
        agent.post(f"{url}/processing", data={"csrf_token": token, "right": "restrict", "on": "true"}).status_code
        == 403
    )
    viewer = add_member(org.id, "viewer@example.org", "viewer").client
    assert viewer.get("/contacts").status_code == 403  # contacts' identifiers: agents and above
    assert 'href="/contacts"' not in viewer.get("/leads").text


def test_leads_filters_sync_state_send_again_and_csv(shop, receiver, make_org) -> None:  # noqa: F811
    shop.connect_webhook(receiver.url + "/hooks/jasping")
    lead_id = shop.capture(name="Salma Idrissi", email="salma@example.com", phone="06 61 23 45 67", language="fr")
    shop.capture(name="Karim Benali", email="karim@example.com", language="fr")
    org = shop.org
    page = org.client.get("/leads")
    assert page.status_code == 200 and "Salma Idrissi" in page.text and "Karim Benali" in page.text
    row = page.text.split(f'id="lead-{lead_id}"')[1].split("</tr>")[0]
    assert "Sent" in row and "CRM" in row and f'action="/leads/{lead_id}/syncs/' in row

    assert "Salma" not in org.client.get("/leads", params={"status": "contacted"}).text
    assert "Salma" not in org.client.get("/leads", params={"from": "2000-01-01", "to": "2000-01-31"}).text
    assert "Salma" in org.client.get("/leads", params={"agent_id": shop.agent["id"], "status": "new"}).text
    assert "Salma" not in org.client.get("/leads", params={"agent_id": "agt_other"}).text
    assert org.client.get("/leads", params={"from": "yesterday"}).status_code == 200  # ignored, not a 500

    export = re.search(r'href="(/api/v1/leads/export\.csv\?[^"]*)"', page.text)[1].replace("&amp;", "&")
    rows = list(csv.DictReader(io.StringIO(org.client.get(export).content.decode("utf-8-sig"))))
    assert {r["name"] for r in rows} == {"Salma Idrissi", "Karim Benali"}
    only = org.client.get("/leads", params={"agent_id": shop.agent["id"], "to": "2000-01-01"}).text
    filtered = re.search(r'href="(/api/v1/leads/export\.csv\?[^"]*)"', only)[1].replace("&amp;", "&")
    assert "created_to=2000-01-02" in filtered and "agent_id=" in filtered
    assert list(csv.DictReader(io.StringIO(org.client.get(filtered).content.decode("utf-8-sig")))) == []

    (sync,) = org.get(f"/api/v1/leads/{lead_id}").json()["syncs"]
    r = org.client.post(
        f"/leads/{lead_id}/syncs/{sync['id']}/retry", data={"csrf_token": _csrf(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303 and "flash=sync_queued" in r.headers["location"]
    assert len(receiver.received) >= 3  # the two leads, then this one sent again (the job runs in-process)
    with session_scope(org.id) as s:
        s.get(LeadSync, sync["id"]).state = "queued"
    busy = org.client.post(f"/leads/{lead_id}/syncs/{sync['id']}/retry", data={"csrf_token": _csrf(page.text)})
    assert busy.status_code == 409 and 'role="alert"' in busy.text  # said on the page, not a 500
    assert make_org("Other").client.get("/leads").text.count('id="lead-') == 0

    org.client.cookies.set("jasping_lang", "fr")
    fr = org.client.get("/leads").text
    assert "Exporter ces prospects (CSV)" in fr and "Envoyé" in fr and "Renvoyer" in fr


def test_settings_link_every_setting(client, make_org) -> None:
    org = make_org("Riad")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    html = org.client.get("/settings").text
    for href in (
        f"/agents/{agent['id']}#instructions",
        f"/agents/{agent['id']}#widget_color",
        f"/agents/{agent['id']}#booking",
        f"/agents/{agent['id']}/channels",
        f"/agents/{agent['id']}/integrations",
        "/members",
        "/api-keys",
        "/billing",
        "/security",
        "/privacy/record",
        "/privacy/contacts",
        "/privacy/requests",
    ):
        assert f'href="{href}"' in html, href
        assert org.client.get(href.split("#")[0]).status_code == 200, href
    org.client.cookies.set("jasping_lang", "fr")
    assert "Horaires et services" in org.client.get("/settings").text


def test_a_visitor_s_contact_appears_in_the_list(client, make_org) -> None:
    org = make_org("Clinic")
    agent = org.post("/api/v1/agents", json={"name": "Amal"}).json()
    Visitor(client, agent).say("Hello")
    assert org.client.get("/contacts").text.count('href="/contacts/cot_') == 1
