"""widget.js in a real browser: a visitor sends a file with the paperclip, and the consent to the chat's privacy
notice is recorded by the server on the first message. Runs on SQLite only (see test_widget_browser.py)."""

from __future__ import annotations

from test_widget_browser import _ask, _new_page, _open, browser, private_urls, widget  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def test_a_visitor_sends_a_photo_and_the_consent_is_recorded(browser, widget) -> None:  # noqa: F811
    from playwright.sync_api import expect

    pg, watch = _new_page(browser)
    pg.goto(widget.url)
    _open(pg)
    expect(pg.locator(".jp .consent")).to_be_visible()
    _ask(pg, "Bonjour")
    expect(pg.locator(".jp .consent")).to_be_hidden()

    clip = pg.get_by_role("button", name="Envoyer un fichier")
    with pg.expect_file_chooser() as chooser:
        clip.click()
    with pg.expect_response(lambda r: r.url.endswith("/files") and r.request.method == "POST") as info:
        chooser.value.set_files(files=[{"name": "ordonnance.png", "mimeType": "image/png", "buffer": PNG}])
    assert info.value.status == 201
    expect(pg.locator(".msg.user .bubble.doc")).to_have_text("ordonnance.png")
    expect(pg.locator(".msg.agent").last).to_contain_text("j'ai bien reçu « ordonnance.png »")

    # A program disguised as a photo is refused with a clear message; nothing is added to the conversation.
    with pg.expect_file_chooser() as chooser:
        clip.click()
    chooser.value.set_files(files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"MZ" + bytes(300)}])
    expect(pg.locator(".msg.error").last).to_contain_text("Ce type de fichier ne peut pas être envoyé")
    expect(pg.locator(".msg.user .bubble.doc")).to_have_count(1)

    conversations = widget.org.get("/api/v1/conversations").json()["conversations"]
    detail = widget.org.get(f"/api/v1/conversations/{conversations[0]['id']}").json()
    (consent,) = detail["consents"]
    assert consent["purpose"] == "chat_privacy_notice" and consent["language"] == "fr"
    assert consent["wording"] == "En discutant, vous acceptez notre politique de confidentialité."
    assert consent["policy_url"].endswith("/privacy.html")
    files = [m["file"] for m in detail["messages"] if m.get("file")]
    assert [f["name"] for f in files] == ["ordonnance.png"]
    got = widget.org.get(f"/api/v1/conversations/{conversations[0]['id']}/files/{files[0]['id']}")
    assert got.content == PNG

    # After a reload the file is still in the history, shown as a file.
    pg.reload()
    _open(pg)
    expect(pg.locator(".msg.user .bubble.doc")).to_have_text("ordonnance.png")
    watch.assert_clean(allow=("Failed to load resource",))  # the refused upload's 415 is logged by Chromium
