"""Fetching single URLs (SSRF guard, limits, redirects) and crawling a local website (robots, sitemaps, limits)."""

from __future__ import annotations

import gzip
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from jasping.knowledge.ingest import crawl as crawl_module
from jasping.knowledge.ingest import fetch
from jasping.knowledge.ingest.crawl import MAX_LINKS_PER_PAGE, crawl_site, extract_links, parse_sitemap
from jasping.knowledge.ingest.fetch import HTML_TYPES, USER_AGENT, fetch_url, normalize_url
from jasping.knowledge.types import IngestError
from sites import build_demo_site, make_site, page, serve


@pytest.fixture
def site(tmp_path):
    with serve(tmp_path / "site") as running:
        yield running


@pytest.fixture
def demo(site):
    build_demo_site(site)
    return site


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing TCP connection attempt, as (host, port)."""
    made: list[tuple[str, int]] = []
    original = socket.create_connection

    def recording(address, *args, **kwargs):
        made.append(tuple(address[:2]))
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return made


@pytest.fixture
def trust_loopback(monkeypatch):
    """Treat 127.0.0.1 (only) as public, so the guard can be exercised against the local server."""
    original = fetch.is_blocked_ip
    monkeypatch.setattr(fetch, "is_blocked_ip", lambda ip: str(ip) != "127.0.0.1" and original(ip))


@pytest.fixture
def fake_dns(monkeypatch):
    """host -> successive answers (the last one repeats); other names resolve normally."""
    answers: dict[str, list[str]] = {}
    original = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            ip = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _crawl(site, **kwargs):
    kwargs.setdefault("allow_private", True)
    crawler = crawl_site(site.url + "/", **kwargs)
    return crawler, [_path(p.url) for p in crawler]


def _error(call, *args, **kwargs) -> IngestError:
    with pytest.raises(IngestError) as caught:
        call(*args, **kwargs)
    return caught.value


LEVELS = [
    "/level1/",
    "/level1/level2/",
    "/level1/level2/level3/",
    "/level1/level2/level3/level4/",
    "/level1/level2/level3/level4/level5/",
]
LEAVES = [f"{level}leaf.html" for level in LEVELS]


def test_full_crawl_respects_robots_duplicates_and_directives(demo):
    progress = []
    crawler, pages = _crawl(demo, max_depth=10, max_bytes=100_000, progress=lambda *a: progress.append(a))
    assert sorted(pages) == sorted(
        [
            "/",
            "/about.html",
            "/products/widget.html",
            "/news.html?id=7",
            "/catalog.html?a=1&b=2",
            "/moved-here.html",
            "/nofollow.html",
            "/from-noindex.html",
            *LEVELS,
            *LEAVES,
        ]
    )
    assert not crawler.used_sitemap
    assert max(demo.hit_counts().values()) == 1  # nothing fetched twice, robots.txt included
    never = {
        "/private/secret.html",
        "/rel-nofollow.html",
        "/behind-nofollow.html",
        "/images/logo.png",
        "/docs/manual.pdf",
        "/offsite.html",
    }
    assert not never & set(demo.hits)
    assert {r["host"] for r in demo.requests} == {f"127.0.0.1:{demo.port}"}  # the off-site host name never asked
    assert {r["user_agent"] for r in demo.requests} == {USER_AGENT}
    failures = {_path(url): error for url, error in crawler.failures}
    assert {path: e.code for path, e in failures.items()} == {"/missing.html": "http_error", "/huge.html": "too_large"}
    assert "404 Not Found" in failures["/missing.html"].message
    assert {
        ("/noindex.html", "noindex"),
        ("/private/secret.html", "robots"),
        ("/download", "not_html"),
        ("/widget-copy.html", "duplicate"),
        ("/old-page", "duplicate"),
        ("/leave", "off_site"),
        ("/sneaky", "robots"),
    } <= {(_path(url), reason) for url, reason in crawler.skipped}
    assert [_path(url) for url in crawler.documents] == ["/docs/manual.pdf"]
    assert [done for done, _total, _url in progress] == list(range(1, crawler.pages_fetched + 1))
    assert all(done <= total for done, total, _url in progress) and progress[-1][1] == crawler.pages_fetched


def test_page_limit_is_exact(demo):
    crawler, pages = _crawl(demo, max_pages=5)
    assert demo.page_hits() == ["/", "/about.html", "/level1/", "/products/widget.html", "/widget-copy.html"]
    assert crawler.pages_fetched == 5
    assert pages == ["/", "/about.html", "/level1/", "/products/widget.html"]  # the copy names the widget canonical


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_depth_limit_is_exact(demo, depth):
    _crawl(demo, max_depth=depth)
    expected = {"/"} | set(LEVELS[:depth]) | set(LEAVES[: depth - 1] if depth > 1 else [])
    assert {p for p in demo.page_hits() if p == "/" or p.startswith("/level")} == expected


def test_sitemap_is_used_when_present(site):
    build_demo_site(site, sitemap="plain")
    crawler, pages = _crawl(site, max_depth=1)
    assert crawler.used_sitemap
    assert site.page_hits() == [
        "/",
        "/about.html",
        "/level1/level2/level3/level4/level5/",
        "/products/widget.html",
        "/news.html?id=7",
        "/missing.html",
    ]
    assert pages == site.page_hits()[:-1]
    assert [_path(u) for u in crawler.documents] == ["/docs/manual.pdf"]
    assert ("/private/secret.html", "robots") in {(_path(u), r) for u, r in crawler.skipped}


def test_sitemap_can_be_ignored(site):
    build_demo_site(site, sitemap="plain")
    crawler, _pages = _crawl(site, max_depth=1, use_sitemap=False)
    assert not crawler.used_sitemap and "/sitemap.xml" not in site.hits
    assert "/level1/level2/level3/level4/level5/" not in site.hits and "/noindex.html" in site.hits


def test_sitemap_index_nested_and_gzipped(site):
    build_demo_site(site, sitemap="index")
    crawler, _pages = _crawl(site, max_depth=0)
    assert crawler.used_sitemap
    assert site.page_hits() == [
        "/",
        "/about.html",
        "/products/widget.html",
        "/level1/level2/level3/level4/level5/",
        "/level1/level2/leaf.html",
    ]
    assert "/sitemaps/missing.xml" in site.hits and "/sitemap.xml" not in site.hits


def test_robots_group_for_our_bot_can_forbid_everything(site):
    build_demo_site(site, robots="User-agent: JasPingBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    assert _error(lambda: _crawl(site)).code == "robots_disallowed"
    assert site.page_hits() == []


def test_robots_group_for_our_bot_wins_over_star(site):
    build_demo_site(site, robots="User-agent: *\nDisallow: /\n\nUser-agent: JasPingBot\nDisallow: /private/\n")
    _crawler, pages = _crawl(site, max_pages=3)
    assert pages == ["/", "/about.html", "/level1/"]


def test_missing_robots_allows_all_and_broken_robots_stops(site):
    build_demo_site(site)
    (site.root / "robots.txt").unlink()
    _crawl(site, max_depth=1)
    assert "/private/secret.html" in site.hits
    site.statuses["/robots.txt"] = 503
    assert _error(lambda: _crawl(site)).code == "robots_disallowed"


def test_www_variant_is_the_same_site_and_header_directives_apply(site, fake_dns, trust_loopback):
    fake_dns.update({"example.test": ["127.0.0.1"], "www.example.test": ["127.0.0.1"]})
    www = f"http://www.example.test:{site.port}"
    site.write("index.html", page("Home", [f"{www}/a.html", "/a.html", f"{www}/b.html", "c.html", "d.html"]))
    for name in ("a", "c", "d"):
        site.write(f"{name}.html", page(name.upper()))
    site.write("b.html", page("B", head='<link rel="canonical" href="/">'))  # a common CMS mistake, ignored
    site.extra_headers["/c.html"] = {"X-Robots-Tag": "noindex"}
    site.extra_headers["/d.html"] = {"X-Robots-Tag": "otherbot: noindex"}  # for another bot: not us
    crawler = crawl_site(f"http://example.test:{site.port}/")  # SSRF guard on; only 127.0.0.1 is trusted here
    assert sorted(_path(p.url) for p in crawler) == ["/", "/a.html", "/b.html", "/d.html"]
    assert site.hit_counts()["/a.html"] == 1
    robots_hosts = {r["host"].split(":")[0] for r in site.requests if r["path"] == "/robots.txt"}
    assert robots_hosts == {"example.test", "www.example.test"}  # once per origin


def test_crawl_delay_is_honoured_and_capped(site, monkeypatch):
    build_demo_site(site, robots="User-agent: *\nCrawl-delay: 10\n")
    sleeps: list[float] = []
    monkeypatch.setattr(crawl_module, "_sleep", sleeps.append)
    _crawl(site, max_pages=3)
    assert len(sleeps) >= 3 and all(1.0 < s <= 2.0 for s in sleeps)


def test_start_url_failure_fails_the_crawl(demo):
    assert _error(lambda: list(crawl_site(demo.url + "/missing.html", allow_private=True))).code == "http_error"
    assert _error(crawl_site, "ftp://example.com/").code == "invalid_url"


def test_crawl_refuses_private_site_by_default(demo, connections):
    crawler = crawl_site(demo.url + "/")
    assert _error(next, crawler).code == "blocked_address"
    assert demo.hits == [] and connections == []


def test_make_site_crawls_200_pages(tmp_path):
    with serve(make_site(tmp_path / "bench", pages=200)) as site:
        crawler, pages = _crawl(site)
        assert len(pages) == 200 and crawler.failures == []
        assert len(site.page_hits()) == 200 == len(set(site.page_hits()))


def test_fetch_follows_redirects_and_sends_user_agent(demo):
    page = fetch_url(demo.url + "/old-page", allow_private=True)
    assert (_path(page.url), page.status, page.content_type) == ("/about.html", 200, "text/html")
    assert "About" in page.text() and page.fetched_at.tzinfo is not None
    assert demo.requests[-1]["user_agent"] == USER_AGENT
    assert _path(fetch_url(demo.url + "/r1", allow_private=True).url) == "/about.html"  # five redirects are fine


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/s1", "too_many_redirects"),
        ("/loop", "too_many_redirects"),
        ("/to-file", "invalid_url"),
        ("/missing.html", "http_error"),
        ("/images/logo.png", "unsupported_type"),
    ],
)
def test_fetch_errors(demo, path, code):
    assert _error(fetch_url, demo.url + path, allow_private=True).code == code


def test_fetch_http_error_names_the_status(demo):
    demo.statuses["/boom"] = 500
    assert "404 Not Found" in _error(fetch_url, demo.url + "/missing.html", allow_private=True).message
    assert "500" in _error(fetch_url, demo.url + "/boom", allow_private=True).message


def test_fetch_returns_documents_but_crawler_types_refuse_them(demo):
    assert fetch_url(demo.url + "/docs/manual.pdf", allow_private=True).content_type == "application/pdf"
    assert fetch_url(demo.url + "/download", allow_private=True).content_type == "application/pdf"  # sniffed
    for path in ("/docs/manual.pdf", "/download"):
        assert _error(fetch_url, demo.url + path, allow_private=True, accept=HTML_TYPES).code == "unsupported_type"


def test_fetch_stops_past_max_bytes(demo):
    assert _error(fetch_url, demo.url + "/huge.html", allow_private=True, max_bytes=10_000).code == "too_large"
    assert _error(fetch_url, demo.url + "/stream-huge", allow_private=True, max_bytes=100_000).code == "too_large"
    assert not demo.stream_finished


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "not a url",
        "http://",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://exa mple.com/",
        "http://[::1/",
    ],
)
def test_fetch_invalid_urls(url, connections):
    assert _error(fetch_url, url).code == "invalid_url"
    assert connections == []


def test_fetch_unreachable():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert _error(fetch_url, f"http://127.0.0.1:{port}/", allow_private=True).code == "unreachable"
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        error = _error(fetch_url, url, allow_private=True, timeout=0.3)
    assert error.code == "unreachable" and "timed out" in error.message


@pytest.mark.parametrize(
    "template",
    [
        "{url}/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://localhost:{port}/",
        "http://2130706433:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://100.64.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://[2002:7f00:1::]/",
    ],
)
def test_fetch_refuses_private_addresses_before_connecting(demo, connections, template):
    error = _error(fetch_url, template.format(url=demo.url, port=demo.port))
    assert error.code == "blocked_address" and "private or local" in error.message
    assert connections == [] and demo.hits == []


@pytest.mark.parametrize("path", ["/to-private", "/to-metadata"])
def test_redirect_to_private_address_is_refused(demo, connections, trust_loopback, path):
    assert _error(fetch_url, demo.url + path).code == "blocked_address"
    assert demo.hits == [path] and {host for host, _port in connections} == {"127.0.0.1"}


def test_dns_rebinding_is_refused(demo, connections, fake_dns):
    fake_dns["rebind.test"] = ["93.184.216.34", "127.0.0.1"]  # public for the check, loopback for the connection
    assert _error(fetch_url, f"http://rebind.test:{demo.port}/").code == "blocked_address"
    assert connections == [] and demo.hits == []


def test_connects_to_the_vetted_address_with_the_host_header(demo, connections, fake_dns, trust_loopback):
    fake_dns["pinned.test"] = ["127.0.0.1"]
    page = fetch_url(f"http://pinned.test:{demo.port}/about.html")
    assert page.status == 200 and connections == [("127.0.0.1", demo.port)]
    assert demo.requests[-1]["host"] == f"pinned.test:{demo.port}"


def test_foreign_client_is_checked_on_the_connected_address(demo, fake_dns):
    fake_dns["sneaky.test"] = ["93.184.216.34", "127.0.0.1"]
    with httpx.Client(trust_env=False) as client:
        assert _error(fetch_url, f"http://sneaky.test:{demo.port}/", client=client).code == "blocked_address"


def test_extract_links_bounded_on_hostile_html():
    for hostile in (
        b"<div>" * 1_000_000,
        b"<a href='" + b"x" * 5_000_000,
        b"<" * 5_000_000,
        b"<!--" * 1_000_000,
        b"<table><tr><td>" * 300_000 + b"\x00\xff<!-- unterminated",
    ):
        extract_links(hostile, "http://h.test/")  # returns (quickly) instead of hanging or raising
    flood = b"<div>" * 1000 + b"".join(b"<a href='/x%d'>" % i for i in range(20_000))
    assert len(extract_links(flood, "http://h.test/").links) == MAX_LINKS_PER_PAGE
    assert extract_links(b"", "http://h.test/").links == []
    info = extract_links(
        b'<?xml version="1.0" encoding="utf-8"?><html><head><base href="/docs/">'
        b'<meta name="JasPingBot" content="noindex, NOFOLLOW"><link rel="canonical" href="/c">'
        b'</head><a href="x.html#f">x</a><a rel="nofollow ugc" href="/n">n</a>'
        b'<a href="mailto:a@b.c">m</a>',
        "http://h.test/p.html",
    )
    assert info.links == ["http://h.test/docs/x.html"] and info.canonical == "http://h.test/c"
    assert {"noindex", "nofollow"} <= info.directives


def test_parse_sitemap_variants():
    urlset = (
        b'\xef\xbb\xbf<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b'<url><loc> http://h.test/a </loc><image:loc xmlns:image="urn:i">http://h.test/i.png</image:loc></url>'
        b"</urlset>"
    )
    assert parse_sitemap(urlset) == (["http://h.test/a"], [])
    assert parse_sitemap(gzip.compress(urlset)) == (["http://h.test/a"], [])
    text = b"http://h.test/a\nnot a url\nhttps://h.test/b\n"
    assert parse_sitemap(text) == (["http://h.test/a", "https://h.test/b"], [])
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><urlset><url><loc>http://h.test/&c;</loc></url></urlset>'
    )
    assert all(len(url) < 100 for url in parse_sitemap(laughs)[0])
    assert parse_sitemap(b"<html><body>not a sitemap") == ([], [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/./b/../c?utm_source=x&b=2&gclid=1&a=1#frag", "http://example.com/a/c?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8443/x y", "https://example.com:8443/x%20y"),
        ("mailto:a@b.c", None),
        ("javascript:void(0)", None),
        ("http://user:pw@example.com/", "http://example.com/"),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_www_and_scheme_variants_are_one_page():
    assert crawl_module._key("http://www.example.com/a?b=1") == crawl_module._key("https://example.com/a?b=1")
    assert crawl_module._key("https://example.com:8443/a") != crawl_module._key("https://example.com/a")
