"""widget.js in a real browser: a business's page on another origin (with hostile CSS) embeds the widget
served by a real `jasping serve`; a visitor chats with the agent as they would.

Browser tests run on SQLite only (the chat API itself is tested on both backends in test_widget_api.py).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from browser import ACTIVE_ELEMENT, WATCH_MUTATIONS, PageWatch, chromium, host_page, jasping_server
from conftest import ROOT, Org
from jasping import clock
from jasping.config import get_settings
from sites import Site, page, serve

WIDGET = ROOT / "src" / "jasping" / "web" / "widget" / "static" / "widget.js"
HOURS = "La clinique est ouverte du lundi au vendredi de 9h à 18h et le samedi de 9h à 13h."
PARKING = "Free parking is available behind the clinic, entrance on Rue Ibn Batouta."
HOURS_PAGE = (
    "<!doctype html><html lang=fr><head><meta charset=utf-8><title>Horaires</title></head>"
    f"<body><main><h1>Horaires d'ouverture</h1><p>{HOURS}</p></main></body></html>"
)
FAILED_LOAD = ("Failed to load resource",)  # Chromium's own log line for a 4xx / aborted request
CASABLANCA = "Africa/Casablanca"
BOOKING = {  # as in test_booking_api.py: one service, open every weekday but Sunday, Tuesdays 9:00-19:00
    "services": [{"id": "checkup", "name": "Check-up", "duration_min": 30, "buffer_min": 10}],
    "hours": {
        "mon": [["09:00", "13:00"], ["14:00", "19:00"]],
        "tue": [["09:00", "19:00"]],
        "wed": [["09:00", "19:00"]],
        "thu": [["09:00", "19:00"]],
        "fri": [["09:00", "19:00"]],
        "sat": [["09:00", "13:00"]],
    },
}


@dataclass
class Widget:
    api: str  # the JasPing server's base URL (serves widget.js and the chat API)
    site: Site  # the business's website (another origin)
    org: Org
    public_key: str
    agent_id: str

    @property
    def url(self) -> str:
        return self.site.url + "/index.html"

    def in_morocco(self, booking: dict | None = None) -> None:
        """The business is in Morocco (phone numbers read as Moroccan, times in Casablanca); with `booking`, the
        agent books appointments. Set while the server runs, as a business would from its dashboard."""
        r = self.org.client.patch("/api/v1/organization", json={"country": "MA", "timezone": CASABLANCA})
        assert r.status_code == 200, r.text
        if booking is not None:
            r = self.org.client.patch(f"/api/v1/agents/{self.agent_id}", json={"booking": booking})
            assert r.status_code == 200, r.text

    def conversation_id(self, pg) -> str:  # noqa: ANN001
        return json.loads(pg.evaluate(f"localStorage.getItem('jasping:{self.public_key}')"))["id"]


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    with chromium() as b:
        yield b


@pytest.fixture
def private_urls(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("JASPING_ALLOW_PRIVATE_URLS", "true")  # the knowledge page is served on 127.0.0.1
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("JASPING_ALLOW_PRIVATE_URLS")
    get_settings.cache_clear()


@pytest.fixture
def widget(browser, db_url, make_org, private_urls, tmp_path) -> Iterator[Widget]:  # noqa: ANN001
    """An agent with a web page and a text source, a `jasping serve` on the same database, and the
    business's site embedding the widget."""
    if not db_url.startswith("sqlite"):
        pytest.skip("browser tests run on SQLite only; the chat API is tested on every backend")
    org = make_org("Clinique")
    agent = org.post(
        "/api/v1/agents",
        json={"name": "Amal", "languages": ["fr", "en", "ar"], "greeting": "Bonjour ! Comment puis-je vous aider ?"},
    ).json()
    with serve(tmp_path / "site") as site:
        site.write("horaires.html", HOURS_PAGE)
        site.write("privacy.html", page("Politique de confidentialité"))
        r = org.post(f"/api/v1/agents/{agent['id']}/sources", json={"type": "url", "url": site.url + "/horaires.html"})
        assert r.status_code == 202, r.text
        r = org.post(
            f"/api/v1/agents/{agent['id']}/sources", json={"type": "text", "title": "Parking", "text": PARKING}
        )
        assert r.status_code in (201, 202), r.text
        sources = org.get(f"/api/v1/agents/{agent['id']}/sources").json()["sources"]
        assert {s["state"] for s in sources} == {"ready"}, sources
        with jasping_server(db_url) as api:
            site.write("index.html", host_page(api + "/widget.js", agent["public_key"]))
            yield Widget(api, site, org, agent["public_key"], agent["id"])


def _new_page(browser, locale: str = "fr-FR", **context):  # noqa: ANN001, ANN202
    ctx = browser.new_context(locale=locale, **context)
    pg = ctx.new_page()
    # a wait limit, not a speed check: on a loaded 2-core machine a first answer (the embeddings model loading) once
    # took longer than 10 s
    pg.set_default_timeout(30_000)
    return pg, PageWatch().attach(pg)


def _open(pg, label: str = "Ouvrir la discussion") -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    pg.get_by_role("button", name=label).click()
    expect(pg.get_by_role("dialog")).to_be_visible()
    expect(pg.locator(".msg.agent").first).to_be_visible()  # the greeting (and the history)


def _ask(pg, text: str):  # noqa: ANN001, ANN202
    """Type and send `text` (Enter); wait for the reply; its message element and the HTTP response."""
    from playwright.sync_api import expect

    count = pg.locator(".msg.agent").count()
    box = pg.locator(".jp input")
    box.fill(text)
    with pg.expect_response(lambda r: r.url.endswith("/messages") and r.request.method == "POST") as info:
        box.press("Enter")
    expect(pg.locator(".send")).to_be_enabled()
    expect(pg.locator(".msg.agent")).to_have_count(count + 1)
    return pg.locator(".msg.agent").last, info.value


def _click_and_wait(pg, locator) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    count = pg.locator(".msg.agent").count()
    locator.click()
    expect(pg.locator(".send")).to_be_enabled()
    expect(pg.locator(".msg.agent")).to_have_count(count + 1)


def test_widget_js_is_small() -> None:
    raw = WIDGET.read_bytes()
    assert len(gzip.compress(raw, compresslevel=9)) <= 30 * 1024, "widget.js must stay under 30 KB gzipped"
    assert b"innerHTML" not in raw, "server text is inserted with textContent only"


def test_widget_js_is_served_cacheable_to_any_origin() -> None:
    from jasping.web.widget.script import router

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as c:
        r = c.get("/widget.js", headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200 and r.content == WIDGET.read_bytes()
        assert r.headers["content-type"] == "application/javascript; charset=utf-8"
        assert r.headers["cache-control"] == "public, max-age=300"
        assert r.headers["access-control-allow-origin"] == "*"
        etag = r.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = c.get("/widget.js", headers={"Accept-Encoding": "identity", "If-None-Match": f'"x", {etag}'})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert c.get("/widget.js", headers={"Accept-Encoding": "identity", "If-None-Match": '"x"'}).status_code == 200
        zipped = c.get("/widget.js", headers={"Accept-Encoding": "gzip, br"})
        assert zipped.headers["content-encoding"] == "gzip" and zipped.content == WIDGET.read_bytes()
        assert zipped.headers["etag"] != etag and "Accept-Encoding" in zipped.headers["vary"]
        head = c.head("/widget.js", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""


def test_a_visitor_gets_a_streamed_cited_answer_and_finds_the_chat_after_a_reload(browser, widget) -> None:
    from playwright.sync_api import expect

    pg, watch = _new_page(browser)
    pg.add_init_script("window.__jpBefore = Object.getOwnPropertyNames(window)")
    pg.goto(widget.url)
    expect(pg.locator("#page-button")).to_be_hidden()  # the page's CSS hides the page's own buttons...
    launcher = pg.get_by_role("button", name="Ouvrir la discussion")
    expect(launcher).to_be_visible()  # ...not the widget's
    added = pg.evaluate("Object.getOwnPropertyNames(window).filter(k => !window.__jpBefore.includes(k))")
    assert sorted(added) == ["JasPing", "__jpBefore"], "one global, window.JasPing"
    assert pg.evaluate("Object.keys(window.JasPing).sort()") == ["close", "open", "version"]
    box = launcher.bounding_box()
    assert box["x"] > 1280 / 2 and box["y"] > 720 / 2, box  # bottom-right

    _open(pg)
    dialog = pg.get_by_role("dialog", name="Discuter avec Amal")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("dir", "ltr")
    expect(pg.get_by_role("log")).to_contain_text("Bonjour ! Comment puis-je vous aider ?")
    assert pg.evaluate(ACTIVE_ELEMENT).endswith("input"), "focus moves to the input on open"
    assert pg.locator(".jp input").evaluate("e => getComputedStyle(e).fontSize") == "15px"  # not the page's 40px
    privacy = pg.get_by_role("link", name="politique de confidentialité")
    expect(privacy).to_have_attribute("href", widget.site.url + "/privacy.html")
    expect(privacy).to_have_attribute("rel", "noopener noreferrer")

    pg.evaluate(WATCH_MUTATIONS)
    answer, response = _ask(pg, "Quels sont vos horaires ?")
    assert "text/event-stream" in response.request.headers["accept"]
    assert response.headers["content-type"].startswith("text/event-stream")
    expect(answer.locator(".bubble")).to_contain_text("samedi de 9h à 13h")
    final = answer.locator(".bubble").inner_text()
    grew = [*pg.evaluate("window.__jpText"), final]  # the agent's bubble, before each change and at the end
    assert len(grew) >= 3 and grew[0] == "", grew  # appended token by token, not set once
    assert all(b.startswith(a) and len(a) < len(b) for a, b in zip(grew, grew[1:], strict=False)), grew
    link = answer.get_by_role("link", name="Horaires")
    expect(link).to_have_attribute("href", widget.site.url + "/horaires.html")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(pg.locator(".consent")).to_be_hidden()  # chatting accepted the notice
    key = widget.public_key
    assert pg.evaluate(f"localStorage.getItem('jasping:consent:{key}')") is not None

    answer, _ = _ask(pg, "Where can I park?")
    expect(answer.locator(".bubble")).to_contain_text("Free parking is available behind the clinic")
    expect(answer.locator(".cites")).to_contain_text("Parking")  # a text source: its title, without a link
    expect(answer.get_by_role("link")).to_have_count(0)

    pg.reload()
    _open(pg)
    log = pg.get_by_role("log")
    expect(pg.locator(".msg")).to_have_count(5)  # greeting, two questions, two answers
    expect(log).to_contain_text("Quels sont vos horaires ?")
    expect(log).to_contain_text("samedi de 9h à 13h")
    expect(log).to_contain_text("Free parking is available")
    expect(log.get_by_role("link", name="Horaires")).to_have_count(1)
    expect(pg.locator(".consent")).to_be_hidden()
    stored = json.loads(pg.evaluate(f"localStorage.getItem('jasping:{key}')"))
    assert set(stored) >= {"id", "token"}
    watch.assert_clean()
    pg.context.close()


def test_arabic_is_right_to_left_and_quick_replies_and_talk_to_a_person_send_messages(browser, widget) -> None:
    from playwright.sync_api import expect

    pg, watch = _new_page(browser)
    pg.goto(widget.url)
    _open(pg)
    answer, _ = _ask(pg, "Bonjour")
    person = answer.get_by_role("button", name="Parler à une personne")
    expect(person).to_be_visible()

    _click_and_wait(pg, person)  # a quick reply sends its label
    expect(pg.locator(".msg.user").last).to_have_text("Parler à une personne")
    expect(pg.locator(".qr button", has_text="Prendre rendez-vous")).to_have_count(0)  # old replies are gone
    conversation_id = json.loads(pg.evaluate(f"localStorage.getItem('jasping:{widget.public_key}')"))["id"]
    detail = widget.org.get(f"/api/v1/conversations/{conversation_id}").json()
    assert detail["needs_human"] is True

    _click_and_wait(pg, pg.get_by_role("button", name="Rappelez-moi"))  # the agent then asks for a phone number
    box = pg.locator(".jp input")
    expect(box).to_have_attribute("type", "tel")
    expect(box).to_have_attribute("inputmode", "tel")
    expect(box).to_have_attribute("autocomplete", "tel")

    _ask(pg, "Je voudrais prendre rendez-vous")  # no calendar set up: the agent takes the details instead
    expect(box).to_have_attribute("autocomplete", "name")
    _ask(pg, "Je voudrais laisser mes coordonnées")
    expect(box).to_have_attribute("autocomplete", "name")

    answer, _ = _ask(pg, "مرحبا، ما هي ساعات العمل؟")
    expect(pg.locator(".msg.user").last).to_have_attribute("dir", "rtl")
    expect(answer).to_have_attribute("dir", "rtl")
    expect(pg.locator(".msg.user").first).to_have_attribute("dir", "ltr")
    dialog = pg.get_by_role("dialog")
    expect(dialog).to_have_attribute("dir", "rtl")  # the agent answered in Arabic: the chrome follows
    expect(box).to_have_attribute("type", "text")
    launcher_x = pg.locator(".launcher").bounding_box()["x"]
    assert launcher_x < 1280 / 2, "in right-to-left the launcher sits bottom-left"

    _click_and_wait(pg, pg.locator(".head").get_by_role("button", name="التحدث مع موظف"))  # the header action
    expect(pg.locator(".msg.user").last).to_have_text("التحدث مع موظف")
    expect(pg.locator(".msg.user").last).to_have_attribute("dir", "rtl")
    watch.assert_clean()
    pg.context.close()


def test_keyboard_escape_focus_api_embed_options_and_mobile_layout(browser, widget) -> None:
    from playwright.sync_api import expect

    pg, watch = _new_page(browser, locale="en-US")
    pg.goto(widget.url)
    launcher = pg.locator(".launcher")
    expect(launcher).to_have_attribute("aria-label", "Open chat")
    launcher.focus()
    pg.keyboard.press("Enter")
    expect(pg.get_by_role("dialog", name="Chat with Amal")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(launcher).to_have_attribute("aria-label", "Close chat")
    assert pg.evaluate(ACTIVE_ELEMENT).endswith("input")
    expect(pg.locator(".msg.agent").first).to_be_visible()
    pg.keyboard.type("Where can I park?")
    pg.keyboard.press("Enter")  # Enter sends
    expect(pg.locator(".msg.agent").nth(1)).to_contain_text("Free parking")
    pg.keyboard.press("Escape")
    expect(pg.get_by_role("dialog")).to_be_hidden()
    assert pg.evaluate(ACTIVE_ELEMENT).endswith("button.launcher"), "focus goes back to the launcher"
    outline = pg.locator(".launcher").evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert outline == "solid 3px", "a visible focus ring"

    pg.evaluate("window.JasPing.open()")
    expect(pg.get_by_role("dialog")).to_be_visible()
    pg.evaluate("window.JasPing.close()")
    expect(pg.get_by_role("dialog")).to_be_hidden()
    watch.assert_clean()
    pg.context.close()

    widget.site.write(
        "options.html",
        host_page(
            widget.api + "/widget.js",
            widget.public_key,
            attrs='data-color="#e11d48" data-position="left" data-lang="ar"',
            css="",  # a strict Content-Security-Policy instead: no inline styles, scripts and calls to JasPing only
            csp=f"default-src 'self'; script-src {widget.api}; connect-src {widget.api}; style-src 'self'",
        ),
    )
    pg, watch = _new_page(browser, locale="en-US")
    pg.goto(widget.site.url + "/options.html")
    launcher = pg.get_by_role("button", name="فتح المحادثة")  # data-lang beats the browser's language
    expect(launcher).to_have_css("background-color", "rgb(225, 29, 72)")
    assert launcher.bounding_box()["x"] < 100
    _open(pg, "فتح المحادثة")
    expect(pg.get_by_role("dialog")).to_have_attribute("dir", "rtl")
    answer, _ = _ask(pg, "Where can I park?")
    expect(answer).to_contain_text("Free parking")
    watch.assert_clean()
    pg.context.close()

    phone, watch = _new_page(browser, locale="en-US", viewport={"width": 375, "height": 667}, is_mobile=True)
    phone.goto(widget.url)
    _open(phone, "Open chat")
    panel = phone.get_by_role("dialog").bounding_box()
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 375, 667), panel
    watch.assert_clean()
    phone.context.close()


def test_errors_are_shown_politely_and_an_expired_session_starts_anew(browser, widget) -> None:
    from playwright.sync_api import expect

    pg, watch = _new_page(browser)
    pg.goto(widget.url)
    _open(pg)
    pg.route("**/api/v1/widget/sessions/*/messages", lambda route: route.abort())
    pg.locator(".jp input").fill("Quels sont vos tarifs ?")
    pg.locator(".jp input").press("Enter")
    expect(pg.get_by_role("alert")).to_contain_text("Impossible de joindre l’assistant")
    pg.unroute("**/api/v1/widget/sessions/*/messages")

    def no_streaming(route) -> None:  # noqa: ANN001 - a proxy that asks for JSON instead of events
        route.continue_(headers={**route.request.headers, "accept": "application/json"})

    pg.route("**/api/v1/widget/sessions/*/messages", no_streaming)
    answer, response = _ask(pg, "Quels sont vos horaires ?")
    assert response.headers["content-type"].startswith("application/json")
    expect(answer).to_contain_text("samedi de 9h à 13h")
    expect(answer.get_by_role("link", name="Horaires")).to_be_visible()
    pg.unroute("**/api/v1/widget/sessions/*/messages")

    key = widget.public_key
    pg.evaluate(f"""() => {{ const s = JSON.parse(localStorage.getItem('jasping:{key}'));
                  s.token = 'expired'; localStorage.setItem('jasping:{key}', JSON.stringify(s)); }}""")
    pg.reload()
    _open(pg)  # the stored session is refused (401): a new conversation starts with the greeting
    expect(pg.locator(".msg")).to_have_count(1)
    assert json.loads(pg.evaluate(f"localStorage.getItem('jasping:{key}')"))["token"] != "expired"
    answer, _ = _ask(pg, "Where can I park?")
    expect(answer).to_contain_text("Free parking")
    watch.assert_clean(allow=FAILED_LOAD)
    assert not [e for e in watch.console_errors if not e.startswith(FAILED_LOAD)]
    pg.context.close()

    widget.site.write("unknown.html", host_page(widget.api + "/widget.js", "pk_unknown"))
    pg, watch = _new_page(browser)
    pg.goto(widget.site.url + "/unknown.html")
    pg.get_by_role("button", name="Ouvrir la discussion").click()
    expect(pg.get_by_role("alert")).to_contain_text("pas disponible")
    watch.assert_clean(allow=FAILED_LOAD)
    pg.context.close()


def _expect_hint(pg, type_: str, inputmode: str, autocomplete: str) -> None:  # noqa: ANN001
    """The message box suits the answer asked for (widget.js applies the reply's input_hint)."""
    from playwright.sync_api import expect

    box = pg.locator(".jp input")
    expect(box).to_have_attribute("type", type_)
    expect(box).to_have_attribute("inputmode", inputmode)
    expect(box).to_have_attribute("autocomplete", autocomplete)


def _quick_reply(pg, label: str):  # noqa: ANN001, ANN202
    """The quick-reply button `label` of the agent's last message (older rows are removed on each send)."""
    return pg.locator(".msg.agent").last.locator(".qr").get_by_role("button", name=label, exact=True)


def test_a_visitor_leaves_their_details_in_french_corrects_the_email_and_adds_a_phone(browser, widget) -> None:
    from playwright.sync_api import expect

    widget.in_morocco()
    pg, watch = _new_page(browser, locale="fr-FR")
    pg.goto(widget.url)
    _open(pg)
    _expect_hint(pg, "text", "text", "off")

    answer, _ = _ask(pg, "Je souhaite laisser mes coordonnées")
    expect(answer).to_contain_text("Quel est votre nom ?")
    _expect_hint(pg, "text", "text", "name")  # the browser may offer the visitor's name

    answer, _ = _ask(pg, "Karim Benali")
    expect(answer).to_contain_text("Merci, Karim Benali ! Quelle est votre adresse e-mail ?")
    _expect_hint(pg, "email", "email", "email")  # the e-mail keyboard
    expect(_quick_reply(pg, "Je préfère donner mon numéro")).to_be_visible()

    answer, _ = _ask(pg, "karim@@exemple")
    expect(answer).to_contain_text("Cette adresse e-mail ne semble pas correcte")
    _expect_hint(pg, "email", "email", "email")  # asked again: still the e-mail keyboard

    answer, _ = _ask(pg, "karim.benali@example.com")
    expect(answer).to_contain_text("Je récapitule : Karim Benali, karim.benali@example.com — est-ce bien ça ?")
    _expect_hint(pg, "text", "text", "off")

    # An e-mail is enough to be called back; the visitor adds a phone number from the read-back.
    _click_and_wait(pg, _quick_reply(pg, "Non"))
    expect(pg.locator(".msg.user").last).to_have_text("Non")
    expect(pg.locator(".msg.agent").last).to_contain_text("quelle information dois-je corriger ?")
    _click_and_wait(pg, _quick_reply(pg, "Téléphone"))
    expect(pg.locator(".msg.agent").last).to_contain_text("À quel numéro de téléphone")
    _expect_hint(pg, "tel", "tel", "tel")  # the phone keypad

    answer, _ = _ask(pg, "06 12 34 56 78")  # a Moroccan number, written as Moroccans do
    expect(answer).to_contain_text(
        "Je récapitule : Karim Benali, karim.benali@example.com, +212 6 12 34 56 78 — est-ce bien ça ?"
    )
    expect(answer.locator(".qr button")).to_have_text(["Oui", "Non"])
    assert widget.org.get("/api/v1/leads").json()["leads"] == [], "nothing is saved before the visitor agrees"

    _click_and_wait(pg, _quick_reply(pg, "Oui"))  # the details are right
    expect(pg.locator(".msg.agent").last).to_contain_text("Pouvons-nous vous contacter au sujet de votre demande ?")
    _click_and_wait(pg, _quick_reply(pg, "Oui"))  # consent
    expect(pg.locator(".msg.agent").last).to_contain_text("Merci, Karim Benali ! L'équipe reviendra vers vous")
    expect(pg.locator(".qr")).to_have_count(0)
    _expect_hint(pg, "text", "text", "off")
    expect(pg.get_by_role("dialog")).to_have_attribute("lang", "fr")

    leads = widget.org.get("/api/v1/leads").json()["leads"]
    assert len(leads) == 1, leads
    lead = leads[0]
    assert (lead["name"], lead["email"], lead["phone"]) == ("Karim Benali", "karim.benali@example.com", "+212612345678")
    assert lead["consent"] is True and lead["consent_at"], lead
    assert lead["conversation_id"] == widget.conversation_id(pg)
    assert lead["agent_id"] == widget.agent_id and lead["language"] == "fr" and lead["kind"] == "lead", lead
    watch.assert_clean()
    pg.context.close()


SLOT = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) (\d{1,2}) ([A-Z][a-z]+) at (\d{1,2}):(\d{2})"
)
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April May June July August September October November December".split()


def _slot_start(label: str, tz: ZoneInfo) -> datetime:
    """The start of a slot read back in English ("Tuesday 14 January at 10:15"), within the next two weeks."""
    m = SLOT.fullmatch(label)
    assert m, label
    weekday, number, month = DAYS.index(m.group(1)), int(m.group(2)), MONTHS.index(m.group(3)) + 1
    today = clock.now().astimezone(tz).date()
    days = [today + timedelta(days=n) for n in range(15)]
    day = next((d for d in days if (d.weekday(), d.day, d.month) == (weekday, number, month)), None)
    assert day is not None, f"{label!r} is not a day of the next two weeks"
    return datetime.combine(day, time(int(m.group(4)), int(m.group(5))), tzinfo=tz)


def test_a_visitor_books_an_appointment_in_english_by_picking_an_offered_time(browser, widget) -> None:
    from playwright.sync_api import expect

    widget.in_morocco(booking=BOOKING)
    tz = ZoneInfo(CASABLANCA)
    pg, watch = _new_page(browser, locale="en-US")
    pg.goto(widget.url)
    _open(pg, "Open chat")

    answer, _ = _ask(pg, "I'd like to book an appointment")
    expect(answer).to_contain_text("What day and time would suit you?")
    expect(answer.locator(".qr button")).to_have_text(["Tomorrow morning", "Tomorrow afternoon", "As soon as possible"])
    box = pg.locator(".jp input")
    expect(box).to_have_attribute("placeholder", "e.g. Tuesday at 10am")  # the date hint

    # "Next Tuesday" is 1 to 7 days ahead whatever the day and hour: always open (9:00-19:00), never too soon.
    answer, _ = _ask(pg, "Next Tuesday at 10am please")
    expect(answer).to_contain_text("Here are the nearest free times — which suits you?")
    expect(box).to_have_attribute("placeholder", "Type your message…")
    labels = answer.locator(".qr button").all_inner_texts()
    assert labels[-1] == "Other times", labels
    starts = {label: _slot_start(label, tz) for label in labels[:-1]}
    asked = next((s for s in starts.values() if s.time() == time(10, 0)), None)
    assert asked is not None and asked.weekday() == 1, labels  # 10:00 next Tuesday is free: it is offered
    assert 0 <= (asked.date() - clock.now().astimezone(tz).date()).days <= 7, labels  # 0: if midnight just passed
    chosen = next(label for label, s in starts.items() if s == asked + timedelta(minutes=15))  # 10:15 is offered too
    assert all(s.date() == asked.date() for s in starts.values()), labels  # the nearest times, that Tuesday

    _click_and_wait(pg, _quick_reply(pg, chosen))  # the visitor picks another time than the one asked for
    expect(pg.locator(".msg.user").last).to_have_text(chosen)
    expect(pg.locator(".msg.agent").last).to_contain_text("May I have your name for the booking?")
    _expect_hint(pg, "text", "text", "name")

    answer, _ = _ask(pg, "John Smith")
    expect(answer).to_contain_text("What phone number can we reach you on?")
    _expect_hint(pg, "tel", "tel", "tel")

    answer, _ = _ask(pg, "06 61 23 45 67")
    expect(answer).to_contain_text(f"Check-up, {chosen}, for John Smith — shall I book it?")
    expect(answer.locator(".qr button")).to_have_text(["Yes", "No"])
    assert widget.org.get("/api/v1/appointments").json()["appointments"] == []

    _click_and_wait(pg, _quick_reply(pg, "Yes"))
    done = pg.locator(".msg.agent").last
    expect(done).to_have_text(f"Done: your Check-up is booked for {chosen}. See you soon!")
    expect(pg.locator(".qr")).to_have_count(0)

    booked = widget.org.get("/api/v1/appointments").json()["appointments"]
    assert len(booked) == 1, booked
    appointment = booked[0]
    assert clock.parse_instant(appointment["start"]) == starts[chosen].astimezone(UTC), (appointment, chosen)
    assert clock.parse_instant(appointment["end"]) - clock.parse_instant(appointment["start"]) == timedelta(minutes=30)
    assert (appointment["service_id"], appointment["status"]) == ("checkup", "booked"), appointment
    assert (appointment["name"], appointment["phone"]) == ("John Smith", "+212661234567"), appointment
    assert appointment["conversation_id"] == widget.conversation_id(pg) and appointment["language"] == "en"
    watch.assert_clean()
    pg.context.close()


def test_a_visitor_withdraws_their_consent_and_the_chat_ends(browser, widget) -> None:
    from playwright.sync_api import expect

    key = widget.public_key
    pg, watch = _new_page(browser)
    pg.goto(widget.url)
    _open(pg)
    withdraw = pg.get_by_role("button", name="Retirer mon consentement")
    expect(pg.locator(".consent").first).to_contain_text("En discutant, vous acceptez")
    expect(withdraw).to_be_hidden()  # nothing to withdraw before the first message
    _ask(pg, "Où puis-je me garer ?")
    conversation = widget.conversation_id(pg)
    expect(withdraw).to_be_visible()

    withdraw.click()  # the first press only asks
    confirm = pg.get_by_role("button", name="Retirer et terminer la discussion ?")
    expect(confirm).to_be_visible()
    detail = widget.org.get(f"/api/v1/conversations/{conversation}").json()
    assert detail["status"] != "closed" and [c["granted"] for c in detail["consents"]] == [True]
    with pg.expect_response(lambda r: r.url.endswith("/consents/withdraw")) as info:
        confirm.click()
    assert info.value.status == 200 and json.loads(info.value.request.post_data) == {"purpose": "all"}
    expect(pg.get_by_role("status")).to_contain_text("Votre consentement est retiré")
    expect(pg.locator(".msg.user")).to_have_count(0)  # the conversation is gone from the page
    assert pg.evaluate(f"localStorage.getItem('jasping:{key}')") is None
    assert pg.evaluate(f"localStorage.getItem('jasping:consent:{key}')") is None
    expect(pg.locator(".consent").first).to_be_visible()  # the notice again, for a new conversation
    expect(withdraw).to_be_hidden()
    detail = widget.org.get(f"/api/v1/conversations/{conversation}").json()
    assert detail["status"] == "closed"
    assert [(c["purpose"], c["granted"]) for c in detail["consents"]][-1] == ("chat_privacy_notice", False)

    box = pg.locator(".jp input")  # writing again starts a new conversation, under the notice
    box.fill("Where can I park?")
    box.press("Enter")
    expect(pg.locator(".msg.agent").last).to_contain_text("Free parking")
    assert widget.conversation_id(pg) != conversation
    expect(pg.get_by_role("button", name="Withdraw my consent")).to_be_visible()  # the chat went on in English
    watch.assert_clean()
    pg.context.close()
