"""Crawl one website politely: robots.txt, then its sitemaps or a bounded same-site breadth-first crawl."""

from __future__ import annotations

import functools
import hashlib
import logging
import posixpath
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from lxml import etree

from jasping.knowledge.ingest.fetch import (
    BOT_NAME,
    HTML_TYPES,
    TIMEOUT,
    FetchedPage,
    HTTPStatusError,
    decode_text,
    fetch_url,
    make_client,
    normalize_url,
)
from jasping.knowledge.types import IngestError

log = logging.getLogger(__name__)
_sleep = time.sleep  # tests replace it to observe politeness delays without waiting

PAGE_MAX_BYTES = 10 * 1024 * 1024
ROBOTS_MAX_BYTES = 512 * 1024
SITEMAP_MAX_BYTES = 25 * 1024 * 1024
MAX_CRAWL_DELAY = 2.0
MAX_SITEMAP_FILES = 25
MAX_SITEMAP_NESTING = 3
LINK_PARSE_BYTES = 5 * 1024 * 1024
MAX_LINKS_PER_PAGE = 2000
DOCUMENT_EXTENSIONS = frozenset({".pdf", ".docx", ".xlsx", ".csv", ".txt", ".md"})
SKIP_EXTENSIONS = frozenset(
    ".jpg .jpeg .png .gif .webp .svg .ico .bmp .tif .tiff .avif .heic .mp3 .mp4 .m4a .m4v .avi .mov .mkv .webm .wav "
    ".ogg .flac .zip .gz .tgz .tar .rar .7z .bz2 .xz .css .js .mjs .json .xml .rss .atom .woff .woff2 .ttf .otf .eot "
    ".map .exe .dmg .apk .msi .iso .bin .doc .xls .ppt .pptx .odt .ods .odp .rtf .epub .ics .vcf .swf".split()
)

_SKIP_CODES = {
    "unsupported_type": "not_html",
    "off_site": "off_site",
    "duplicate": "duplicate",
    "robots_disallowed": "robots",
}


@dataclass
class PageLinks:
    """What the crawler needs from an HTML page: its links, canonical URL and robots directives."""

    links: list[str] = field(default_factory=list)
    canonical: str | None = None
    directives: set[str] = field(default_factory=set)


def extract_links(body: bytes, url: str, charset: str | None = None) -> PageLinks:
    """Normalised links (rel=nofollow dropped), canonical and meta robots of an HTML page; bounded, never raises."""
    result = PageLinks()
    text = decode_text(body[:LINK_PARSE_BYTES], charset)
    # huge_tree: libxml2 nesting limit 2048, not 256 (unclosed tags go past 256); the input is bounded already
    options = {"recover": True, "no_network": True, "remove_comments": True, "remove_pis": True, "huge_tree": True}
    try:
        try:
            root = etree.HTML(text, etree.HTMLParser(**options))
        except ValueError:  # a str with an XML encoding declaration: hand lxml UTF-8 bytes instead
            root = etree.HTML(text.encode("utf-8"), etree.HTMLParser(encoding="utf-8", **options))
    except etree.LxmlError:
        return result
    if root is None:
        return result
    base = url
    for element in root.iter("base", "meta", "link", "a", "area"):
        tag, get = element.tag, element.get
        if tag == "base" and get("href") and base == url:
            base = normalize_url(get("href"), url) or url
        elif tag == "meta" and (get("name") or "").strip().lower() in ("robots", BOT_NAME.lower()):
            result.directives |= _directives(get("content") or "")
        elif tag == "link" and "canonical" in (get("rel") or "").lower().split() and result.canonical is None:
            result.canonical = normalize_url(get("href") or "", base)
        elif tag in ("a", "area") and get("href") and "nofollow" not in (get("rel") or "").lower().split():
            link = normalize_url(get("href"), base)
            if link and len(result.links) < MAX_LINKS_PER_PAGE:
                result.links.append(link)
    return result


def parse_sitemap(data: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of an XML sitemap or sitemap index, gzipped or not, or a plain-text list."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, SITEMAP_MAX_BYTES)
        except zlib.error:
            return [], []
    if data.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1] != b"<":
        lines = data.decode("utf-8", errors="replace").splitlines()
        return [line.strip() for line in lines if line.strip().startswith(("http://", "https://"))], []
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.LxmlError:
        return [], []
    kind = etree.QName(root).localname if isinstance(root.tag, str) else ""
    ns = f"{{{etree.QName(root).namespace}}}" if kind and etree.QName(root).namespace else ""
    entries = [entry for entry in root if entry.tag in (f"{ns}url", f"{ns}sitemap")]
    locs = [(loc.text or "").strip() for entry in entries for loc in entry if loc.tag == f"{ns}loc"]  # not image:loc
    locs = [loc for loc in locs if loc]
    return (locs, []) if kind == "urlset" else ([], locs) if kind == "sitemapindex" else ([], [])


class SiteCrawler:
    """Iterator over the HTML pages of one website, yielded as they arrive; failures and skips stay on the object."""

    def __init__(
        self,
        start_url: str,
        *,
        max_pages: int = 200,
        max_depth: int = 3,
        use_sitemap: bool = True,
        allow_private: bool = False,
        client: httpx.Client | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        delay: float = 0.0,
        max_bytes: int = PAGE_MAX_BYTES,
        timeout: float = TIMEOUT,
    ):
        start = normalize_url(start_url)
        if start is None:
            raise IngestError("invalid_url", f"{start_url!r} is not a web address (http:// or https://).")
        if max_pages < 1 or max_depth < 0:
            raise ValueError("max_pages must be at least 1 and max_depth at least 0")
        self.start_url, self.max_pages, self.max_depth, self.use_sitemap = start, max_pages, max_depth, use_sitemap
        self.allow_private, self.progress, self.delay = allow_private, progress, delay
        self.max_bytes, self.timeout = max_bytes, timeout
        self.failures: list[tuple[str, IngestError]] = []
        self.skipped: list[tuple[str, str]] = []  # (url, reason): robots, not_html, noindex, duplicate, off_site
        self.documents: list[str] = []  # same-site links to PDF/DOCX/… files, not fetched by the crawler
        self.pages_fetched, self.used_sitemap = 0, False
        self._client, self._http = client, client
        self._sites = {_site_key(start)}
        self._seen: set[str] = set()  # dedupe keys queued, fetched or stood in for
        self._done: set[str] = set()  # dedupe keys of pages already fetched (or represented by a canonical)
        self._hashes: set[bytes] = set()
        self._robots: dict[str, RobotFileParser] = {}
        self._queue: deque[tuple[str, int]] = deque()
        self._last_request: float | None = None
        self._iterator = self._run()

    def __iter__(self) -> SiteCrawler:
        return self

    def __next__(self) -> FetchedPage:
        return next(self._iterator)

    def close(self) -> None:
        """Stop the crawl and release the HTTP client it opened."""
        self._iterator.close()

    def _run(self) -> Iterator[FetchedPage]:
        http = self._http = self._client or make_client(allow_private=self.allow_private, timeout=self.timeout)
        try:
            robots = self._robots_for(self.start_url, required=True)
            if not robots.can_fetch(BOT_NAME, self.start_url):
                raise IngestError(
                    "robots_disallowed", f"The site's robots.txt does not allow {BOT_NAME} to read {self.start_url}."
                )
            crawl_delay = robots.crawl_delay(BOT_NAME)
            if crawl_delay:
                self.delay = max(self.delay, min(float(crawl_delay), MAX_CRAWL_DELAY))
            self._seen.add(_key(self.start_url))
            page, links = self._visit(self.start_url, required=True)
            sitemap = self._sitemap_urls(robots) if self.use_sitemap and self.max_pages > 1 else []
            self.used_sitemap = bool(sitemap)
            self._queue.extend((url, 0) for url in sitemap)
            if not sitemap and self.max_depth > 0:
                self._enqueue(links, 1)
            self._report(self.start_url)
            if page:
                yield page
            while self._queue and self.pages_fetched < self.max_pages:
                url, depth = self._queue.popleft()
                if _key(url) in self._done:
                    continue
                page, links = self._visit(url)
                if not self.used_sitemap and depth < self.max_depth:
                    self._enqueue(links, depth + 1)
                self._report(url)
                if page:
                    yield page
        finally:
            if self._client is None:
                http.close()

    def _visit(self, url: str, required: bool = False) -> tuple[FetchedPage | None, list[str]]:
        """Fetch one page; (page to yield or None, links to follow)."""
        self._wait()
        self.pages_fetched += 1
        try:
            page = fetch_url(
                url,
                client=self._http,
                max_bytes=self.max_bytes,
                timeout=self.timeout,
                allow_private=self.allow_private,
                accept=HTML_TYPES,
                redirect_check=functools.partial(self._check_redirect, start=required),
            )
        except IngestError as exc:
            if required:
                raise
            if exc.code in _SKIP_CODES:
                return self._skip(url, _SKIP_CODES[exc.code])
            self.failures.append((url, exc))
            return None, []
        final = normalize_url(page.url) or url
        final_key = _key(final)
        self._done.update((_key(url), final_key))  # redirects were checked hop by hop: in scope, new, allowed
        self._seen.add(final_key)
        digest = hashlib.sha256(page.body).digest()
        if digest in self._hashes:
            return self._skip(url, "duplicate")
        self._hashes.add(digest)
        info = extract_links(page.body, page.url, page.charset)
        directives = info.directives | _directives(page.headers.get("x-robots-tag", ""), header=True)
        canonical = info.canonical
        if (
            canonical
            and self._in_scope(canonical)
            and _key(canonical) != final_key
            and not (urlsplit(canonical).path == "/" and urlsplit(final).path != "/")
        ):  # "everything is the home page"
            if _key(canonical) in self._done:
                return self._skip(url, "duplicate")
            self._done.add(_key(canonical))
            self._seen.add(_key(canonical))
        links = [] if directives & {"nofollow", "none"} else info.links
        if directives & {"noindex", "none"}:
            self.skipped.append((url, "noindex"))
            return None, links
        return page, links

    def _check_redirect(self, target: str, start: bool = False) -> None:
        """Refuse, before requesting it, a redirect off the site, to a page already fetched or robots-disallowed."""
        link = normalize_url(target) or target
        if start:  # the site is wherever the start URL leads (http → https, example.com → www.example.org)
            self._sites.add(_site_key(link))
        elif not self._in_scope(link):
            raise IngestError("off_site", f"{target} is on another site.")
        if _key(link) in self._done:
            raise IngestError("duplicate", f"{target} was already fetched.")
        if not self._allowed(link):
            raise IngestError("robots_disallowed", f"The site's robots.txt does not allow {BOT_NAME} to read {target}.")

    def _skip(self, url: str, reason: str) -> tuple[None, list[str]]:
        self.skipped.append((url, reason))
        return None, []

    def _enqueue(self, links: list[str], depth: int) -> None:
        for link in links:
            if self._admit(link):
                self._queue.append((link, depth))

    def _admit(self, url: str) -> bool:
        """Whether a same-site link is new, looks like HTML and robots.txt allows it (marks it seen)."""
        if not self._in_scope(url) or _key(url) in self._seen:
            return False
        self._seen.add(_key(url))
        extension = posixpath.splitext(urlsplit(url).path)[1].lower()
        if extension in DOCUMENT_EXTENSIONS:
            self.documents.append(url)
            return False
        if extension in SKIP_EXTENSIONS:
            return False
        if not self._allowed(url):
            self.skipped.append((url, "robots"))
            return False
        return True

    def _sitemap_urls(self, robots: RobotFileParser) -> list[str]:
        """Same-site page URLs from the sitemaps named in robots.txt, else /sitemap.xml (nesting and files bounded)."""
        base = _origin(self.start_url) + "/robots.txt"
        declared = [normalize_url(url, base) for url in robots.site_maps() or []]
        queue = deque((url, 0) for url in (declared or [_origin(self.start_url) + "/sitemap.xml"]) if url)
        fetched: set[str] = set()
        found: list[str] = []
        while queue and len(fetched) < MAX_SITEMAP_FILES and len(found) < self.max_pages:
            url, level = queue.popleft()
            if url in fetched:
                continue
            fetched.add(url)
            self._wait()
            try:
                body = fetch_url(
                    url,
                    client=self._http,
                    max_bytes=SITEMAP_MAX_BYTES,
                    timeout=self.timeout,
                    allow_private=self.allow_private,
                    accept=None,
                ).body
            except IngestError as exc:
                log.info("sitemap %s skipped: %s", url, exc.message)
                continue
            pages, nested = parse_sitemap(body)
            for page_url in pages:
                link = normalize_url(page_url)
                if link and len(found) < self.max_pages and self._admit(link):
                    found.append(link)
            if level < MAX_SITEMAP_NESTING:
                queue.extend((link, level + 1) for link in map(normalize_url, nested) if link)
        return found

    def _robots_for(self, url: str, required: bool = False) -> RobotFileParser:
        """The parsed robots.txt of the URL's origin, fetched once; missing (4xx) means allow all."""
        origin = _origin(url)
        if origin in self._robots:
            return self._robots[origin]
        robots = RobotFileParser(origin + "/robots.txt")
        self._wait()
        try:
            page = fetch_url(
                origin + "/robots.txt",
                client=self._http,
                max_bytes=ROBOTS_MAX_BYTES,
                timeout=self.timeout,
                allow_private=self.allow_private,
                accept=None,
            )
            robots.parse(page.text().splitlines())
        except IngestError as exc:  # RFC 9309: 4xx means no rules; 5xx, 429 or no answer means keep out
            status = exc.status if isinstance(exc, HTTPStatusError) else 0
            unavailable = status >= 500 or status == 429 or (not status and exc.code != "too_large")
            if unavailable and required and not status:
                raise
            if unavailable and required:
                raise IngestError(
                    "robots_disallowed",
                    f"{origin}/robots.txt answered {status}, so the site's crawling "
                    "rules are unknown; try again later.",
                ) from exc
            robots.disallow_all, robots.allow_all = unavailable, not unavailable
        self._robots[origin] = robots
        return robots

    def _allowed(self, url: str) -> bool:
        return self._robots_for(url).can_fetch(BOT_NAME, url)

    def _in_scope(self, url: str) -> bool:
        return _site_key(url) in self._sites

    def _wait(self) -> None:
        """Space requests by the politeness delay (the larger of `delay` and robots.txt Crawl-delay, capped)."""
        if self._last_request is not None and self.delay > 0:
            remaining = self._last_request + self.delay - time.monotonic()
            if remaining > 0:
                _sleep(remaining)
        self._last_request = time.monotonic()

    def _report(self, url: str) -> None:
        if self.progress is not None:
            self.progress(self.pages_fetched, min(self.max_pages, self.pages_fetched + len(self._queue)), url)


def crawl_site(
    start_url: str,
    *,
    max_pages: int = 200,
    max_depth: int = 3,
    use_sitemap: bool = True,
    allow_private: bool = False,
    client: httpx.Client | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    delay: float = 0.0,
    max_bytes: int = PAGE_MAX_BYTES,
    timeout: float = TIMEOUT,
) -> SiteCrawler:
    """Crawl a website; iterate the result for FetchedPages, then read its failures, skipped and documents."""
    return SiteCrawler(
        start_url,
        max_pages=max_pages,
        max_depth=max_depth,
        use_sitemap=use_sitemap,
        allow_private=allow_private,
        client=client,
        progress=progress,
        delay=delay,
        max_bytes=max_bytes,
        timeout=timeout,
    )


def _directives(content: str, header: bool = False) -> set[str]:
    """robots directives from a meta content or X-Robots-Tag value (header parts for other bots are ignored)."""
    found: set[str] = set()
    for part in content.lower().split(","):
        name, colon, rest = part.partition(":")
        if header and colon and name.strip() not in ("unavailable_after",) and " " not in name.strip():
            if name.strip() != BOT_NAME.lower():
                continue
            part = rest
        found.add(part.strip())
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _site_key(url: str) -> str:
    """Host without a leading www. and explicit port: http/https and www/non-www count as one site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port else host


def _key(url: str) -> str:
    """Dedupe key of a normalised URL: site, path and query, ignoring scheme and www."""
    parts = urlsplit(url)
    return f"{_site_key(url)}{parts.path}?{parts.query}"
