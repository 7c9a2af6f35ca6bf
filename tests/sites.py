"""Local test websites: files in a temp dir served by http.server in a thread on 127.0.0.1 and a free port."""

from __future__ import annotations

import functools
import gzip
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Site:
    """A running local site: its base URL, the files under `root`, and every request it received."""

    def __init__(self, root: Path):
        self.root = root
        self.url = ""
        self.port = 0
        self.redirects: dict[str, str] = {}  # request path (no query) -> Location
        self.statuses: dict[str, int] = {}  # request path (no query) -> error status to answer
        self.extra_headers: dict[str, dict[str, str]] = {}  # request path (no query) -> headers added to the answer
        self.requests: list[dict[str, str]] = []  # {"path", "host", "user_agent"} in arrival order
        self.stream_finished = False
        self._lock = threading.Lock()

    def write(self, path: str, content: str | bytes) -> None:
        """Create a file of the site (parent folders included)."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)

    @property
    def hits(self) -> list[str]:
        """Request paths (with query) in arrival order."""
        with self._lock:
            return [r["path"] for r in self.requests]

    def page_hits(self) -> list[str]:
        """Request paths except robots.txt and sitemaps."""
        return [p for p in self.hits if p != "/robots.txt" and not p.startswith(("/sitemap", "/sitemaps/"))]

    def hit_counts(self) -> Counter[str]:
        """How many times each path was requested."""
        return Counter(self.hits)

    def record(self, path: str, host: str, user_agent: str) -> None:
        """Remember one request (called by the handler thread)."""
        with self._lock:
            self.requests.append({"path": path, "host": host, "user_agent": user_agent})


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this each answer waits ~40 ms
    site: Site

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib signature
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client hung up mid-answer (size limits do that on purpose)
            pass

    def end_headers(self) -> None:
        for name, value in self.site.extra_headers.get(self.path.split("?", 1)[0], {}).items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        site = self.site
        site.record(self.path, self.headers.get("Host", ""), self.headers.get("User-Agent", ""))
        path = self.path.split("?", 1)[0]
        if path in site.redirects:
            self.send_response(302)
            self.send_header("Location", site.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path in site.statuses:
            self.send_error(site.statuses[path])
        elif path == "/stream-huge":
            self._stream_huge()
        else:
            super().do_GET()

    def _stream_huge(self) -> None:
        """32 MB of HTML without a Content-Length: only a streaming size check stops it."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(2000):
                self.wfile.write(b"<p>" + b"x" * 16384 + b"</p>\n")
            self.site.stream_finished = True
        except OSError:
            pass


@contextmanager
def serve(root: Path) -> Iterator[Site]:
    """Serve `root` on 127.0.0.1 and a free port for the duration of the block."""
    root.mkdir(parents=True, exist_ok=True)
    site = Site(root)
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    site.port = server.server_address[1]
    site.url = f"http://127.0.0.1:{site.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def page(title: str, links: Sequence[str | tuple[str, str]] = (), head: str = "", body: str = "") -> str:
    """An HTML page; a link is an href or (href, rel)."""
    anchors = "\n".join(
        f'<a href="{link}">{link}</a>'
        if isinstance(link, str)
        else f'<a href="{link[0]}" rel="{link[1]}">{link[0]}</a>'
        for link in links
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>{head}</head>"
        f"<body><h1>{title}</h1><p>This is the {title} page.</p>{body}\n{anchors}</body></html>"
    )


DEMO_HOME_LINKS: list[str | tuple[str, str]] = [
    "about.html",
    "level1/",
    "products/widget.html",
    "widget-copy.html",
    "news.html?utm_source=newsletter&id=7",
    "news.html?id=7&fbclid=abc",
    "news.html?id=7#comments",
    "catalog.html?b=2&a=1",
    "catalog.html?a=1&b=2",
    "private/secret.html",
    "docs/manual.pdf",
    "{offsite}/offsite.html",
    "missing.html",
    "old-page",
    "moved",
    "leave",
    "noindex.html",
    "nofollow.html",
    ("rel-nofollow.html", "nofollow"),
    "huge.html",
    "images/logo.png",
    "download",
    "#top",
    "mailto:hello@example.com",
    "javascript:void(0)",
    "tel:+212600000000",
    "sneaky",
]


def build_demo_site(site: Site, *, sitemap: str | None = None, robots: str | None = None) -> None:
    """The ~30-page crawler test site; sitemap is None, "plain" (/sitemap.xml) or "index" (robots.txt → index)."""
    offsite = f"http://localhost:{site.port}"  # another host name for the same loopback server
    links = [link.format(offsite=offsite) if isinstance(link, str) else link for link in DEMO_HOME_LINKS]
    site.write("index.html", page("Home", links))
    for name in (
        "about",
        "news",
        "catalog",
        "moved-here",
        "from-noindex",
        "behind-nofollow",
        "rel-nofollow",
        "offsite",
    ):
        site.write(f"{name}.html", page(name.replace("-", " ").title()))
    site.write("products/widget.html", page("Widget", head='<link rel="canonical" href="/products/widget.html">'))
    site.write("widget-copy.html", page("Widget (copy)", head='<link rel="canonical" href="/products/widget.html">'))
    site.write("noindex.html", page("Hidden", ["from-noindex.html"], head='<meta name="robots" content="noindex">'))
    site.write(
        "nofollow.html", page("No follow", ["behind-nofollow.html"], head='<meta name="robots" content="nofollow">')
    )
    site.write("private/secret.html", page("Secret"))
    site.write("docs/manual.pdf", PDF)
    site.write("images/logo.png", PNG)
    site.write("download", PDF)
    site.write("huge.html", page("Huge", body="<p>" + "lorem ipsum " * 30000 + "</p>"))
    prefix = ""
    for level in range(1, 6):
        prefix += f"level{level}/"
        children = ([f"level{level + 1}/"] if level < 5 else []) + ["leaf.html"]
        site.write(f"{prefix}index.html", page(f"Level {level}", children))
        site.write(f"{prefix}leaf.html", page(f"Leaf {level}"))
    site.redirects.update(
        {
            "/old-page": "/about.html",
            "/moved": "/moved-here.html",
            "/leave": f"{offsite}/about.html",
            "/to-private": "http://10.0.0.1/",
            "/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/to-file": "file:///etc/passwd",
            "/sneaky": "/private/secret.html",
            "/loop": "/loop",
        }
    )
    for i in range(1, 7):  # /r1 … /r5 is five redirects, /s1 … /s6 six
        site.redirects[f"/r{i}"] = f"/r{i + 1}" if i < 5 else "/about.html"
        site.redirects[f"/s{i}"] = f"/s{i + 1}" if i < 6 else "/about.html"
    rules = robots if robots is not None else "User-agent: *\nDisallow: /private/\n"
    if sitemap == "plain":
        site.write(
            "sitemap.xml",
            _urlset(
                [
                    "/",
                    "/about.html",
                    "/level1/level2/level3/level4/level5/",
                    "/products/widget.html",
                    "/private/secret.html",
                    f"{offsite}/offsite.html",
                    "/docs/manual.pdf",
                    "/news.html?utm_source=map&id=7",
                    "/missing.html",
                ],
                site.url,
            ),
        )
    elif sitemap == "index":
        rules += f"\nSitemap: {site.url}/sitemap_index.xml\n"
        site.write(
            "sitemap_index.xml",
            _index(
                ["/sitemaps/pages.xml", "/sitemaps/more.xml.gz", "/sitemaps/nested.xml", "/sitemaps/missing.xml"],
                site.url,
            ),
        )
        site.write("sitemaps/pages.xml", _urlset(["/about.html", "/products/widget.html"], site.url))
        site.write(
            "sitemaps/more.xml.gz", gzip.compress(_urlset(["/level1/level2/level3/level4/level5/"], site.url).encode())
        )
        site.write("sitemaps/nested.xml", _index(["/sitemaps/deep.xml"], site.url))
        site.write("sitemaps/deep.xml", _urlset(["/level1/level2/leaf.html"], site.url))
    site.write("robots.txt", rules)


def _urlset(paths: list[str], base: str) -> str:
    entries = "".join(
        f"<url><loc>{(p if p.startswith('http') else base + p).replace('&', '&amp;')}</loc></url>" for p in paths
    )
    return f'{_XML}<urlset xmlns="{_NS}">{entries}</urlset>'


def _index(paths: list[str], base: str) -> str:
    entries = "".join(f"<sitemap><loc>{base}{p}</loc></sitemap>" for p in paths)
    return f'{_XML}<sitemapindex xmlns="{_NS}">{entries}</sitemapindex>'


def make_site(root: Path, pages: int = 200, fanout: int = 10) -> Path:
    """A `pages`-page site (tree with `fanout` links per page, ~3 KB of text each) under root; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    text = "<p>" + "Opening hours, prices and delivery details for our customers. " * 45 + "</p>"
    for i in range(pages):
        children = [f"/p/{c}.html" for c in range(fanout * i + 1, min(fanout * i + fanout + 1, pages))]
        html = page(f"Page {i}", ["/", *children], body=text)
        target = root / ("index.html" if i == 0 else f"p/{i}.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    return root
