"""The demo web page of `make run`: an imaginary clinic's website with the widget embedded, on its own port
(another origin than the platform, as on a real customer's site)."""

from __future__ import annotations

import html
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clinique Dentaire Atlas — Casablanca</title>
<style>
 body {{ font-family: Georgia, serif; margin: 0; color: #233; background: #f4f1ea; }}
 header {{ background: #1f4e5f; color: #fff; padding: 2rem 1.5rem; }}
 main {{ max-width: 760px; margin: 0 auto; padding: 1.5rem; line-height: 1.6; }}
 .card {{ background: #fff; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }}
</style></head>
<body>
<header><h1>Clinique Dentaire Atlas</h1><p>Soins dentaires à Casablanca · Dental care in Casablanca</p></header>
<main>
 <div class="card"><h2>Bienvenue</h2><p>Posez vos questions à Amal, notre assistante, en bas à droite :
 horaires, tarifs, parking, urgences… en français, en anglais ou en arabe.</p></div>
 <div class="card"><h2>Welcome</h2><p>Ask Amal, our assistant (bottom right), about opening hours, prices,
 parking or emergencies — in French, English or Arabic.</p></div>
 <p><small>Demo page of JasPing. This page is served on its own port, as a business's own website would be.</small></p>
</main>
<script src="{base}/widget.js" data-agent="{public_key}" data-privacy-url="{base}/privacy" async></script>
</body></html>
"""


class _Page(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def __init__(self, *args, body: bytes, **kwargs):  # noqa: ANN002, ANN003
        self.body = body
        super().__init__(*args, **kwargs)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        found = self.path.split("?")[0] in ("/", "/index.html")
        body = self.body if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8" if found else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start(host: str, port: int, *, platform_url: str, public_key: str) -> ThreadingHTTPServer:
    """Serve the demo page in a daemon thread; returns the server (call `shutdown()` to stop)."""
    body = PAGE.format(base=html.escape(platform_url.rstrip("/")), public_key=html.escape(public_key)).encode()
    server = ThreadingHTTPServer((host, port), partial(_Page, body=body))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-site", daemon=True).start()
    return server
