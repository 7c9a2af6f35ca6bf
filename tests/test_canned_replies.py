"""Canned replies through the HTTP API and the dashboard: create, list (by language), edit, delete; roles; other
organizations; bad input as clear 4xx; and the picker of the inbox conversation page. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from test_inbox import chat  # noqa: F401 - fixture

URL = "/api/v1/canned-replies"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_create_list_edit_delete_through_the_api(make_org) -> None:
    org = make_org("Clinic")
    hours = org.post(URL, json={"title": "Opening hours", "text": "We are open 9am-6pm.", "language": "en"})
    assert hours.status_code == 201, hours.text
    fr = org.post(URL, json={"title": "Horaires", "text": "Ouvert de 9h à 18h.", "language": "fr"}).json()
    anyl = org.post(URL, json={"title": "address", "text": "12 rue du Parc"}).json()
    titles = [r["title"] for r in org.get(URL).json()["canned_replies"]]
    assert titles == ["address", "Horaires", "Opening hours"], "by title, whatever the case"
    assert [r["title"] for r in org.get(URL, params={"language": "fr"}).json()["canned_replies"]] == [
        "address",
        "Horaires",
    ], "a language's replies and those for any language"

    changed = org.client.patch(f"{URL}/{hours.json()['id']}", json={"text": "We are open 8am-6pm."})
    assert changed.status_code == 200 and changed.json()["text"] == "We are open 8am-6pm."
    assert changed.json()["title"] == "Opening hours" and changed.json()["language"] == "en", "fields left out stay"
    cleared = org.client.patch(f"{URL}/{fr['id']}", json={"language": None})
    assert cleared.status_code == 200 and cleared.json()["language"] is None
    assert org.get(f"{URL}/{anyl['id']}").json()["text"] == "12 rue du Parc"
    assert org.client.delete(f"{URL}/{anyl['id']}").status_code == 204
    assert org.get(f"{URL}/{anyl['id']}").status_code == 404
    assert org.client.delete(f"{URL}/{anyl['id']}").status_code == 404


def test_bad_input_roles_and_other_organizations(client, make_org) -> None:
    org = make_org("Clinic")
    for bad in (
        {"title": "", "text": "x"},
        {"title": "t", "text": ""},
        {"title": "t" * 121, "text": "x"},
        {"title": "t", "text": "x" * 4001},
        {"title": "t", "text": "x", "language": "english!"},
        {"title": "t", "text": "x", "color": "red"},
        {"title": "   ", "text": "x"},
        {"text": "x"},
    ):
        r = org.post(URL, json=bad)
        assert r.status_code == 422, (bad, r.text)
    good = org.post(URL, json={"title": "Hours", "text": "9-6"}).json()
    assert org.client.patch(f"{URL}/{good['id']}", json={"title": None}).status_code == 422
    assert org.client.patch(f"{URL}/{good['id']}", json={"text": " "}).status_code == 422

    viewer = org.post("/api/v1/api-keys", json={"name": "reader", "role": "viewer"}).json()["secret"]
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    assert client.get(URL, headers=as_viewer).status_code == 200
    assert client.post(URL, json={"title": "x", "text": "y"}, headers=as_viewer).status_code == 403
    assert client.delete(f"{URL}/{good['id']}", headers=as_viewer).status_code == 403
    agent = org.post("/api/v1/api-keys", json={"name": "desk", "role": "agent"}).json()["secret"]
    assert (
        client.post(URL, json={"title": "x", "text": "y"}, headers={"Authorization": f"Bearer {agent}"}).status_code
        == 201
    )

    other = make_org("Other")
    assert other.get(URL).json()["canned_replies"] == []
    assert other.get(f"{URL}/{good['id']}").status_code == 404
    assert other.client.patch(f"{URL}/{good['id']}", json={"text": "hijack"}).status_code == 404
    assert other.client.delete(f"{URL}/{good['id']}").status_code == 404
    assert org.get(f"{URL}/{good['id']}").json()["text"] == "9-6"
    assert client.get(URL).status_code == 401


def test_the_dashboard_manages_them_and_the_conversation_page_offers_them(chat) -> None:  # noqa: F811
    org, _, cid, say, widget_history = chat
    say("I want to talk to a real person please")
    web = org.client
    page = web.get("/canned-replies")
    assert page.status_code == 200 and "No canned reply yet." in page.text
    csrf = _csrf(page.text)
    assert web.post("/canned-replies", data={"csrf_token": "forged", "title": "x", "text": "y"}).status_code == 403
    empty = web.post("/canned-replies", data={"csrf_token": csrf, "title": " ", "text": "Kept text"})
    assert empty.status_code == 422 and "the title must have" in empty.text and "Kept text" in empty.text
    r = web.post(
        "/canned-replies",
        data={
            "csrf_token": csrf,
            "title": "Callback",
            "text": 'We will call you back today. "Quoted" <b>',
            "language": "en",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Canned reply added." in r.text
    (reply,) = org.get(URL).json()["canned_replies"]
    assert reply["language"] == "en" and reply["text"].endswith('"Quoted" <b>')

    conversation = web.get(f"/inbox/{cid}")
    assert 'id="canned-pick"' in conversation.text and 'id="canned-insert"' in conversation.text
    assert 'data-text="We will call you back today. &#34;Quoted&#34; &lt;b&gt;"' in conversation.text, "escaped"

    r = web.post(
        f"/canned-replies/{reply['id']}",
        data={"csrf_token": csrf, "title": "Callback", "text": "We will call you tomorrow.", "language": ""},
        follow_redirects=True,
    )
    assert "Canned reply saved." in r.text and org.get(f"{URL}/{reply['id']}").json()["language"] is None
    web.get("/lang/fr")
    assert "Réponses enregistrées" in web.get("/canned-replies").text
    assert "Insérer dans la réponse" in web.get(f"/inbox/{cid}").text
    r = web.post(f"/canned-replies/{reply['id']}/delete", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and org.get(URL).json()["canned_replies"] == []
    assert web.post("/canned-replies/cnr_nope/delete", data={"csrf_token": csrf}).status_code == 404
