"""The widget in a real browser while a team member holds the conversation: no automatic reply, the person's reply
appears in the open chat, and after the hand-back the agent answers again. SQLite only, as the widget's browser
tests."""

from __future__ import annotations

from test_widget_browser import _ask, _new_page, _open, browser, private_urls, widget  # noqa: F401 - fixtures


def test_a_person_takes_over_the_open_widget(widget, browser) -> None:  # noqa: F811
    from playwright.sync_api import expect

    pg, watch = _new_page(browser)
    pg.goto(widget.url)
    _open(pg)
    answer, _ = _ask(pg, "Quels sont vos horaires ?")
    expect(answer).to_contain_text("9h")
    cid = widget.conversation_id(pg)
    assert widget.org.post(f"/api/v1/conversations/{cid}/takeover").status_code == 200

    count = pg.locator(".msg.agent").count()
    box = pg.locator(".jp input")
    box.fill("Vous êtes là ?")
    with pg.expect_response(lambda r: r.url.endswith("/messages") and r.request.method == "POST") as info:
        box.press("Enter")
    assert info.value.status == 200
    expect(pg.locator(".send")).to_be_enabled()
    expect(pg.locator(".msg.agent")).to_have_count(count), "no automatic reply, no empty bubble"

    sent = widget.org.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Bonjour, ici Salma de la clinique."})
    assert sent.status_code == 201, sent.text
    expect(pg.locator(".msg.agent").last).to_have_text("Bonjour, ici Salma de la clinique.", timeout=15_000)

    assert widget.org.post(f"/api/v1/conversations/{cid}/handback").status_code == 200
    answer, _ = _ask(pg, "Et le samedi ?")
    expect(answer).not_to_have_text("Bonjour, ici Salma de la clinique.")
    watch.assert_clean()
