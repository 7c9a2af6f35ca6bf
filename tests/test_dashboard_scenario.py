"""Issue 13's Done-when, in Debian's Chromium against a real `jasping serve` with its job worker: a business signs up,
creates its agent, uploads a document, chats in the playground, embeds the widget on its own site (another origin),
and a visitor there asks for a person; the owner, with the inbox open (browser notifications turned on), sees the
conversation appear live, takes over and replies; the reply reaches the open widget; the owner closes, the visitor
answers the satisfaction question, and the analytics move. Screenshots of each step go to `test-artifacts/scenario/`
(ignored by git). SQLite only, like the other browser tests."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from browser import PageWatch, chromium, host_page, jasping_server
from conftest import ROOT
from sites import page, serve

SHOTS = ROOT / "test-artifacts" / "scenario"
PARKING = "Free parking for patients is behind the clinic, entrance on Rue Ibn Batouta, open from 8am to 7pm."
FAILED_LOAD = ("Failed to load resource",)  # Chromium's log line for a 4xx answer (the widget's 409 is not one here)
# A stand-in for the browser's Notification API that records what the page shows (a headless browser has no desktop
# to show it on): permission starts at "default", requestPermission grants it.
FAKE_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) { window.__notes.push({ title: title, body: (options || {}).body || '' }); }
  static requestPermission(callback) {
    window.Notification.permission = 'granted';
    if (callback) callback('granted');
    return Promise.resolve('granted');
  }
};
window.Notification.permission = 'default';
"""


STEPS: dict[str, float] = {}  # seconds from the server's start to each screenshot (test-artifacts/…/timings.json)


def _shot(pg, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(parents=True, exist_ok=True)
    STEPS[name] = round(time.monotonic() - STEPS.get("start", time.monotonic()), 1)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _stat(pg, label: str) -> str:  # noqa: ANN001
    """The text of the analytics card whose title is `label`."""
    return pg.locator("div.card.stat", has=pg.locator("dt", has_text=label)).inner_text()


def test_sign_up_to_a_rated_conversation(db_url, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("browser tests run on SQLite only; the API is tested on every backend")
    from playwright.sync_api import expect

    # assertions wait up to 30 s (Playwright's default is 5 s): a wait limit, not a speed check — on a loaded 2-core
    # CI machine closing a conversation once took longer than 5 s to show its flash message
    expect.set_options(timeout=30_000)
    request.addfinalizer(lambda: expect.set_options(timeout=5_000))
    STEPS.clear()
    STEPS["start"] = time.monotonic()
    with jasping_server(db_url, worker=True) as url, chromium() as browser, serve(tmp_path / "site") as site:
        STEPS["server-started"] = round(time.monotonic() - STEPS["start"], 1)
        owner_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        owner_ctx.add_init_script(FAKE_NOTIFICATIONS)
        owner = owner_ctx.new_page()
        owner.set_default_timeout(30_000)  # a wait limit, not a speed check (a loaded 2-core machine)
        owner_watch = PageWatch().attach(owner)

        # ---- sign up, then onboard: the agent ------------------------------------------------------------------------
        owner.goto(url + "/register")
        owner.fill("#name", "Salma")
        owner.fill("#organization_name", "Clinique du Parc")
        owner.fill("#email", "salma@clinique.example")
        owner.fill("#password", "correct horse battery")
        owner.get_by_role("button", name="Create an account").click()
        expect(owner).to_have_url(re.compile(r"/agents/new$"))
        owner.fill("#name", "Amal")
        owner.check("input[name=languages][value=en]")
        owner.fill("#greeting", "Hello! How can I help you?")
        owner.get_by_role("button", name="Create agent").click()
        expect(owner.locator("#embed")).to_be_visible()
        agent_id = re.search(r"/agents/(agt_\w+)", owner.url).group(1)
        snippet = owner.locator("#embed code").inner_text()
        _shot(owner, "01-agent-created")

        # ---- a document, ingested by the worker ----------------------------------------------------------------------
        doc = tmp_path / "parking.md"
        doc.write_text(f"# Parking\n\n{PARKING}\n", encoding="utf-8")
        owner.goto(f"{url}/agents/{agent_id}/knowledge")
        owner.set_input_files("#file", str(doc))
        owner.locator("#upload-form button[type=submit]").click()
        # the page follows the source's state by itself (knowledge.js reloads it when the worker is done)
        expect(owner.locator('tr[data-state="ready"]')).to_have_count(1, timeout=60_000)
        expect(owner.locator(".badge.ready").first).to_be_visible()
        _shot(owner, "02-document-ready")

        # ---- the playground ------------------------------------------------------------------------------------------
        owner.goto(f"{url}/agents/{agent_id}/playground")
        owner.fill("#text", "Where can I park?")
        owner.get_by_role("button", name="Send").click()
        expect(owner.locator("body")).to_contain_text("Ibn Batouta")
        _shot(owner, "03-playground")

        # ---- the analytics before the customer -----------------------------------------------------------------------
        owner.goto(url + "/analytics")
        handoffs_before = _stat(owner, "Handed to a person")
        assert "no rating yet" in _stat(owner, "Customer satisfaction")

        # ---- the inbox, open, with browser notifications turned on ---------------------------------------------------
        owner.goto(url + "/inbox")
        owner.get_by_role("button", name="Turn on browser notifications").click()
        expect(owner.locator("#notify-state")).to_contain_text("Browser notifications are on")
        rows = owner.locator("#inbox-rows tr")
        before = rows.count()  # the playground's conversation

        # ---- the business's website embeds the widget; a visitor asks for a person -----------------------------------
        src = re.search(r'src="([^"]+)"', snippet).group(1)
        key = re.search(r'data-agent="([^"]+)"', snippet).group(1)
        site.write("privacy.html", page("Privacy"))
        site.write("index.html", host_page(src, key, css=""))
        visitor_ctx = browser.new_context(locale="en-US")
        visitor = visitor_ctx.new_page()
        visitor.set_default_timeout(30_000)
        visitor_watch = PageWatch().attach(visitor)
        visitor.goto(site.url + "/index.html")
        visitor.get_by_role("button", name="Open chat").click()
        expect(visitor.locator(".msg.agent").first).to_have_text("Hello! How can I help you?")
        visitor.get_by_role("button", name="Talk to a person").click()
        expect(visitor.locator(".msg.user").last).to_have_text("Talk to a person")
        expect(visitor.locator(".msg.agent")).to_have_count(2)
        _shot(visitor, "04-widget-asks-for-a-person")

        # ---- it appears live in the open inbox, with a notification --------------------------------------------------
        expect(rows).to_have_count(before + 1)
        row = rows.first
        expect(row).to_contain_text("Needs a person")
        assert owner.evaluate("window.__notes.length") == 1, "one notification, without reloading the page"
        assert owner.evaluate("window.__notes[0].title") == "A customer asks for a person"
        _shot(owner, "05-inbox-live")

        # ---- take over and reply; the reply reaches the widget -------------------------------------------------------
        row.get_by_role("link").click()
        owner.get_by_role("button", name="Take over").click()
        expect(owner.locator(".flash")).to_contain_text("the agent is paused")
        owner.fill("#reply-text", "Hello, this is Salma from the clinic. How can I help?")
        owner.get_by_role("button", name="Reply", exact=True).click()
        expect(owner.locator(".flash")).to_contain_text("Reply sent.")
        expect(visitor.locator(".msg.agent").last).to_have_text(
            "Hello, this is Salma from the clinic. How can I help?", timeout=20_000
        )
        _shot(visitor, "06-widget-shows-the-reply")

        # ---- close; the visitor rates --------------------------------------------------------------------------------
        owner.select_option("#resolution", "resolved")
        owner.get_by_role("button", name="Close", exact=True).click()
        expect(owner.locator(".flash")).to_contain_text("Conversation closed.")
        stars = visitor.get_by_role("group", name="This conversation is closed. How satisfied are you with our help?")
        expect(stars).to_be_visible(timeout=20_000)
        _shot(visitor, "07-widget-asks-for-a-rating")
        stars.get_by_role("button", name="5 out of 5").click()
        expect(visitor.locator(".msg.agent").last).to_have_text("Thank you for your rating!")
        _shot(visitor, "08-widget-rated")

        owner.reload()
        expect(owner.locator("#csat-rating")).to_contain_text("5/5")
        _shot(owner, "09-conversation-rated")

        # ---- the analytics moved -------------------------------------------------------------------------------------
        owner.goto(url + "/analytics")
        assert _stat(owner, "Handed to a person") != handoffs_before
        satisfaction = _stat(owner, "Customer satisfaction")
        assert "/ 5" in satisfaction and "1 ratings" in satisfaction, satisfaction
        _shot(owner, "10-analytics")

        owner_watch.assert_clean(allow=FAILED_LOAD)
        visitor_watch.assert_clean(allow=FAILED_LOAD)
    STEPS.pop("start")
    (SHOTS / "timings.json").write_text(json.dumps(STEPS, indent=1))
    for name in ("01-agent-created", "05-inbox-live", "06-widget-shows-the-reply", "08-widget-rated", "10-analytics"):
        assert (SHOTS / f"{name}.png").stat().st_size > 1000
