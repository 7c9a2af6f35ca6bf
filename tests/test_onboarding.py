"""The home page's getting-started checklist, walked as a new business would: sign up, create the agent, add a
document, try it in the playground, then a first customer on the website — each step ticks, and the list goes away
once everything is done."""

from __future__ import annotations

import re

from test_dashboard import _csrf, _sign_up


def _steps(html: str) -> list[tuple[str, str]]:
    """(state, text) of each checklist item, in order."""
    items = re.findall(r'<li class="(done|todo)">(.*?)</li>', html, re.S)
    return [(state, re.sub(r"<[^>]+>|\s+", " ", text).strip()) for state, text in items]


def test_the_checklist_follows_the_first_steps_and_then_goes_away(client) -> None:
    csrf = _sign_up(client)
    home = client.get("/").text
    assert "Getting started" in home and "(0/4)" in home
    assert [s for s, _ in _steps(home)] == ["todo"] * 4 and 'href="/agents/new"' in home

    r = client.post(
        "/agents/new", data={"csrf_token": csrf, "name": "Amal", "languages": ["fr"]}, follow_redirects=False
    )
    agent_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    home = client.get("/").text
    assert (
        "(1/4)" in home
        and f'href="/agents/{agent_id}/knowledge"' in home
        and f'href="/agents/{agent_id}#embed"' in home
    )

    csrf = _csrf(client.get(f"/agents/{agent_id}/knowledge").text)
    client.post(
        f"/agents/{agent_id}/knowledge/add",
        data={"csrf_token": csrf, "kind": "text", "title": "Horaires", "text": "Ouvert du lundi au vendredi, 9h-18h."},
    )
    client.post(f"/agents/{agent_id}/playground", data={"csrf_token": csrf, "text": "Vos horaires ?"})
    home = client.get("/").text
    assert "(3/4)" in home and [s for s, _ in _steps(home)] == ["done", "done", "done", "todo"]
    assert 'id="embed"' in client.get(f"/agents/{agent_id}").text  # where the last step's link lands

    public_key = client.get(f"/api/v1/agents/{agent_id}").json()["public_key"]
    session = client.post(f"/api/v1/widget/{public_key}/sessions", json={"locale": "fr-FR"}).json()
    client.post(
        f"/api/v1/widget/sessions/{session['conversation_id']}/messages",
        json={"text": "Bonjour"},
        headers={"Authorization": f"Bearer {session['session_token']}"},
    )
    assert "Getting started" not in client.get("/").text  # all done: the list gives the page back


def test_the_checklist_in_french(client) -> None:
    client.get("/lang/fr")
    _sign_up(client)
    home = client.get("/").text
    assert "Pour commencer" in home and "Créez votre agent" in home and "Testez-le dans le bac à sable" in home
