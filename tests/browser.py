"""Browser-test helpers: Debian's Chromium driven by Playwright, a real `jasping serve` process, and a
host page on another origin that embeds the widget as a business's website would.

Chromium comes from Debian (`/usr/bin/chromium`); never `playwright install` (it downloads). Without
Chromium the browser tests are skipped locally and fail in CI (CI=true), like the database services.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape

import pytest

from conftest import IN_CI, JASPING, cli_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Page CSS that would break a widget living in the page's DOM: every element unset, huge text, no buttons.
HOSTILE_CSS = """
* { all: unset; font-size: 40px !important; }
button { display: none !important; }
div { display: none !important; position: static !important; }
body > * { visibility: hidden !important; opacity: 0 !important; transform: scale(0.1) !important; }
"""


def require_chromium() -> str:
    """The Chromium executable, or a skip (locally) / failure (in CI) when it is not installed."""
    if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            if IN_CI:
                pytest.fail("the playwright package is not installed in CI (pip install -e '.[dev]')")
            pytest.skip("the playwright package is not installed")
        return CHROMIUM
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing in CI: apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); browser tests skipped")


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@contextmanager
def jasping_server(db_url: str, worker: bool = False) -> Iterator[str]:
    """`jasping serve --no-worker` on a free port, on the test's database and data directory; its base URL. With
    `worker`, the job worker runs beside it (document ingestion, emails), as in production."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [JASPING, "serve", *([] if worker else ["--no-worker"]), "--host", "127.0.0.1", "--port", str(port)],
        # Playwright fills a sign-up form in milliseconds, which the registration risk counts as a robot's hint (with
        # HeadlessChrome's user agent: medium risk, a phone check); tests/test_registration_risk.py covers that
        env=cli_env(db_url, JASPING_BASE_URL=url, JASPING_REGISTRATION_FORM_MIN_SECONDS="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def host_page(script_src: str, public_key: str, css: str = HOSTILE_CSS, attrs: str = "", csp: str = "") -> str:
    """A business's web page embedding the widget with the one script tag (and, by default, hostile CSS);
    `attrs`: more attributes of the script tag (data-color, data-position, data-lang); `csp`: the page's
    Content-Security-Policy."""
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        + (f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">' if csp else "")
        + '<meta name=viewport content="width=device-width, initial-scale=1">'
        + "<title>Clinique du Parc</title>"
        + (f"<style>{css}</style>" if css else "")
        + "</head><body>"
        + "<h1>Clinique du Parc</h1><p>Bienvenue sur notre site.</p>"
        + '<button id="page-button" type="button">A page button</button>'
        + f'<script src="{escape(script_src)}" data-agent="{escape(public_key)}" data-privacy-url="/privacy.html" '
        + f"{attrs} async></script></body></html>"
    )


@dataclass
class PageWatch:
    """Console errors and uncaught exceptions of a page (favicon 404s of the host page excepted)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page) -> PageWatch:  # noqa: ANN001
        def on_console(msg) -> None:  # noqa: ANN001
            if msg.type == "error" and "favicon.ico" not in (msg.location or {}).get("url", ""):
                self.console_errors.append(f"{msg.text} @ {(msg.location or {}).get('url', '')}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        return self

    def assert_clean(self, allow: tuple[str, ...] = ()) -> None:
        unexpected = [e for e in self.console_errors if not any(a in e for a in allow)]
        assert not self.page_errors, f"uncaught errors on the page: {self.page_errors}"
        assert not unexpected, f"console errors: {unexpected}"


# JavaScript run in the page ------------------------------------------------------------------------

WATCH_MUTATIONS = """() => {
  const root = document.querySelector('[data-jasping]').shadowRoot;
  window.__jpText = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData' && r.target.parentElement && r.target.parentElement.closest('.msg.agent'))
        window.__jpText.push(r.oldValue);  // the text before each change: records arrive in batches
    }
  }).observe(root, {subtree: true, characterData: true, characterDataOldValue: true});
}"""

# Where the keyboard focus is: a selector-ish description of the active element, inside the shadow root too.
ACTIVE_ELEMENT = """() => {
  const path = [];
  for (let el = document.activeElement; el; el = el.shadowRoot ? el.shadowRoot.activeElement : null) {
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '';
    path.push(el.tagName.toLowerCase() + cls);
  }
  return path.join(' > ');
}"""
