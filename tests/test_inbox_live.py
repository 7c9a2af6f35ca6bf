"""What other team members see while one acts: takeover, hand-back, assignment and closing (no message) come through
the live feed like messages, so every open inbox page follows; the team's email when a customer asks for a person
reaches a real SMTP server (aiosmtpd); and in Chromium, a list and a conversation page open in a second tab follow
what the first tab does, and the unfiltered list updates in place."""

from __future__ import annotations

import json
import re

import pytest

from account_fixtures import smtp, text_of  # noqa: F401 - fixture
from test_inbox import chat  # noqa: F401 - fixture


def _events(org, cursor: str) -> list[dict]:  # noqa: ANN001
    body = org.get("/api/v1/inbox/events", params={"since": cursor, "timeout": 0}).text
    return [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:") and '"state"' in line]


def _cursor(org) -> str:  # noqa: ANN001
    first = org.get("/api/v1/inbox/events", params={"timeout": 0}).text
    return first.split('"cursor": "')[1].split('"')[0]


def test_state_changes_without_a_message_reach_the_live_feed(chat) -> None:  # noqa: F811
    org, _, cid, say, _ = chat
    say("Hello")
    me = org.client.get("/api/v1/auth/me").json()["user_id"]
    for action, body, expected in (
        ("takeover", None, ("human", None)),
        ("assign", {"assignee_id": None}, ("human", None)),
        ("handback", None, ("bot", None)),
        ("close", {"resolution": "spam"}, ("closed", "spam")),
    ):
        cursor = _cursor(org)
        assert _events(org, cursor) == [], "nothing new yet"
        r = org.client.post(f"/api/v1/conversations/{cid}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)
        (event,) = _events(org, cursor)
        assert event["id"] == cid and (event["state"], event["resolution"]) == expected, action
        if action == "takeover":
            assert event["assignee_id"] == me
    detail = org.get(f"/api/v1/conversations/{cid}").json()
    assert len(detail["messages"]) == 2, "the state changes added no message"


def test_the_feed_resumes_after_the_last_event_id(chat) -> None:  # noqa: F811
    org, _, cid, say, _ = chat
    say("Hello")
    cursor = _cursor(org)
    org.post(f"/api/v1/conversations/{cid}/takeover")
    body = org.get("/api/v1/inbox/events", params={"since": cursor, "timeout": 0}).text
    last_id = re.findall(r"^id: (.+)$", body, re.M)[-1]
    again = org.client.get(
        "/api/v1/inbox/events", params={"timeout": 0}, headers={**org.headers, "Last-Event-ID": last_id}
    )
    assert "event: conversation" not in again.text, "an event is sent once"


def test_the_team_is_emailed_through_smtp_when_a_customer_asks_for_a_person(chat, smtp) -> None:  # noqa: F811
    org, _, cid, say, _ = chat
    say("I want to talk to a real person please")
    say("A human, please")
    mails = [m for m in smtp.inbox.messages() if "asks for a person" in m["Subject"]]
    assert len(mails) == 1, [m["Subject"] for m in smtp.inbox.messages()]
    (mail,) = mails
    assert mail["To"] == org.email and "web" in mail["Subject"]
    body = text_of(mail)
    assert f"/inbox/{cid}" in body and "real person" not in body, "a link, never the customer's words"


@pytest.fixture
def dashboard(db_url):  # noqa: ANN201
    if not db_url.startswith("sqlite"):
        pytest.skip("browser tests run on SQLite only")
    from browser import chromium, jasping_server

    with jasping_server(db_url) as url, chromium() as browser:
        yield url, browser


def test_another_tab_follows_takeover_assignment_and_closing(dashboard, make_org) -> None:
    from playwright.sync_api import expect

    from browser import PageWatch

    url, browser = dashboard
    ctx = browser.new_context(locale="en-US")
    one = ctx.new_page()
    one.set_default_timeout(30_000)
    one.goto(url + "/register")
    one.fill("#organization_name", "Riad")
    one.fill("#email", "owner@riad.example")
    one.fill("#password", "correct horse battery")
    one.get_by_role("button", name="Create an account").click()
    one.fill("#name", "Amal")
    one.get_by_role("button", name="Create agent").click()
    expect(one.locator("#embed")).to_be_visible()
    key = re.search(r'data-agent="([^"]+)"', one.locator("#embed code").inner_text()).group(1)
    session = one.request.post(f"{url}/api/v1/widget/{key}/sessions", data={"locale": "en"}).json()
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    cid = session["conversation_id"]
    r = one.request.post(f"{url}/api/v1/widget/sessions/{cid}/messages", data={"text": "Hello"}, headers=headers)
    assert r.ok, r.text()

    two = ctx.new_page()  # a second tab: the list, unfiltered
    two.set_default_timeout(30_000)
    watch = PageWatch().attach(two)
    two.goto(url + "/inbox")
    row = two.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_contain_text("Agent answering")
    three = ctx.new_page()  # a third tab: the same conversation
    three.set_default_timeout(30_000)
    three.goto(f"{url}/inbox/{cid}")
    expect(three.get_by_role("button", name="Take over")).to_be_visible()
    two.evaluate("window.__stayed = true")  # gone if the list reloads instead of updating in place

    one.goto(f"{url}/inbox/{cid}")
    one.get_by_role("button", name="Take over").click()
    expect(row).to_contain_text("Person in charge")
    expect(three.get_by_role("button", name="Hand back to the agent")).to_be_visible()
    one.select_option("#assignee", index=1)
    one.get_by_role("button", name="Assign", exact=True).click()
    expect(three.locator("#assignee")).not_to_have_value("")
    one.get_by_role("button", name="Close", exact=True).click()
    expect(row).to_contain_text("Closed")
    expect(three.locator("h1 .badge")).to_have_text("Closed")
    assert two.evaluate("window.__stayed") is True, "the unfiltered list updated in place"
    filtered = ctx.new_page()
    filtered.goto(url + "/inbox?state=closed")
    expect(filtered.locator(f'tr[data-conversation="{cid}"]')).to_be_visible()
    watch.assert_clean()
