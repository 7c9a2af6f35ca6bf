"""HTML pages: safe lxml parsing, boilerplate removal, main-content extraction (trafilatura) to Blocks."""

from __future__ import annotations

import re

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from jasping.knowledge.types import Block, IngestError, ParsedDocument

from .tables import table_blocks
from .text import clean_text, collapse_spaces, decode_bytes

MAX_HTML_CHARS = 10_000_000
MAX_TRAFILATURA_NODES = 50_000  # above this trafilatura gets slow: the page is kept whole
MAX_FILTER_CHARS = 200_000  # main content longer than this is kept whole (substring checks would get slow)
MIN_COVERAGE = 0.6  # when trafilatura keeps less than this share of our text, it missed content: keep all
_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=False, default_doctype=False
)
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "canvas", "form",
    "button", "select", "input", "textarea", "nav", "footer", "aside", "dialog", "menu", "link", "meta",
)  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "dialog", "alertdialog", "search", "menu", "menubar"}
_BOILERPLATE = re.compile(
    r"cookie|consent|gdpr|onetrust|didomi|cc-(window|banner)|newsletter|popup|modal|breadcrumb|skip-link|"
    r"share|social|subscribe|sidebar|advert|promo-bar|site-header|site-footer|\bfooter\b|copyright|"
    r"\bnav(bar)?\b|\bmenu\b",
    re.I,
)
_KEEP = {"html", "body", "main", "article"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_TEXT_TAGS = {"p", "pre", "blockquote", "dt", "dd", "figcaption", "address", "summary", "li", "td", "th", "caption"}
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption", "figure", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table",
    "tr", "ul",
)  # fmt: skip
_SPACED_INLINE = {"span", "a", "label", "td", "th", "button", "img", "time", "cite"}
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")  # keep short pages (a contact page) instead of a crude fallback
_CONFIG.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
_CONFIG.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")


def decode_html(data: bytes | str, content_type: str | None = None) -> str:
    """HTML bytes as text: BOM, then the HTTP or <meta> charset if it decodes cleanly, then UTF-8 or cp1252."""
    if isinstance(data, str):
        return clean_text(data)
    declared = None
    if content_type and (m := re.search(r"charset=([\w.:-]+)", content_type, re.I)):
        declared = m.group(1)
    elif m := _META_CHARSET.search(data[:4096]):
        declared = m.group(1).decode("ascii", "ignore")
    return clean_text(decode_bytes(data, declared))


def _text(element) -> str:
    """Visible text of an element: line breaks for block children, spaces between adjacent spans and links."""
    parts: list[str] = []

    def gap(separator: str) -> None:
        if parts and not parts[-1].endswith((" ", "\n")):
            parts.append(separator)

    def walk(node) -> None:  # recursion is bounded: libxml2 caps HTML nesting at 256 levels
        if node.tag in ("br", "lb"):
            parts.append("\n")
        elif node.tag in _BLOCK_TAGS:
            gap("\n")
        elif node.tag in _SPACED_INLINE:
            gap(" ")
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if node.tag in _BLOCK_TAGS:
            gap("\n")

    walk(element)
    return collapse_spaces("".join(parts))


def _title(tree) -> str | None:
    for xpath in ("//meta[@property='og:title']/@content", "//title", "//h1"):
        for found in tree.xpath(xpath):
            text = collapse_spaces(found if isinstance(found, str) else found.text_content())
            if text:
                return text
    return None


def _strip_boilerplate(tree) -> None:
    doomed = []
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if not tag:
            doomed.append(element)  # comments and processing instructions left by a sloppy page
        elif tag in _DROP_TAGS or (element.get("role") or "").lower() in _DROP_ROLES:
            doomed.append(element)
        elif tag == "header" and not any(a.tag in ("main", "article") for a in element.iterancestors()):
            doomed.append(element)
        elif tag not in _KEEP and _BOILERPLATE.search(f"{element.get('id', '')} {element.get('class', '')}"):
            if len(element.text_content()) < 5000:
                doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    for element in tree.iter():
        # Collapsed FAQ answers and accordions are hidden until clicked: they are content, not boilerplate.
        for name in ("style", "hidden", "aria-hidden"):
            element.attrib.pop(name, None)


class _Blocks:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.stack: list[tuple[int, str]] = []
        self.link_lists: set[int] = set()  # ids of blocks that are mostly link text (menus, "related posts")

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.stack)

    def heading(self, level: int, text: str) -> None:
        if text:
            self.stack = [(lvl, t) for lvl, t in self.stack if lvl < level] + [(level, text)]
            self.blocks.append(Block(text=text, heading_path=self.path, kind="heading"))

    def add(self, text: str, kind: str = "paragraph", element=None) -> None:
        if text:
            self.blocks.append(Block(text=text, heading_path=self.path, kind=kind))
            if element is not None and 2 * sum(len(_text(a)) for a in element.iter("a")) >= len(text):
                self.link_lists.add(id(self.blocks[-1]))

    def table(self, rows: list[list[str]], header: bool | None) -> None:
        self.blocks.extend(table_blocks(rows, self.path, header=header))


def _walk(root) -> _Blocks:
    """Headings, text blocks, lists and tables in document order (linear in the size of the page)."""
    out = _Blocks()
    done: set = set()
    for element in root.iter():
        if element in done or not isinstance(element.tag, str):
            continue
        tag = element.tag
        if tag in _HEADINGS:
            out.heading(_HEADINGS[tag], _text(element))
        elif tag == "table":
            rows = [[_text(c) for c in tr if c.tag in ("td", "th")] for tr in element.iter("tr")]
            out.table(rows, header=element.find(".//th") is not None)
        elif tag in ("ul", "ol", "dl"):
            items = [t for item in element if item.tag in ("li", "dt", "dd") and (t := _text(item))]
            out.add("\n".join(f"- {t}" for t in items), "list", element)
        elif tag in _TEXT_TAGS or next(element.iterdescendants(*_BLOCK_TAGS), None) is None:
            out.add(_text(element), element=element)
        else:  # a container: its own loose text, then its children in turn
            out.add(collapse_spaces(" ".join(t for t in [element.text, *(c.tail for c in element)] if t and t.strip())))
            continue
        done.update(element.iter())
    return out


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _keep_main_content(found: _Blocks, tree, url: str | None) -> list[Block]:
    """Drop link lists (menus, "related posts") that trafilatura also leaves out of the main content."""
    blocks = found.blocks
    document = trafilatura.bare_extraction(
        tree, url=url, favor_recall=True, include_comments=False, include_tables=True, output_format="xml",
        config=_CONFIG,
    )  # fmt: skip
    if document is None or document.body is None:
        return blocks
    main = _key("".join(document.body.itertext()))
    ours = sum(len(_key(b.text)) for b in blocks if b.kind not in ("heading", "table"))
    if len(main) > MAX_FILTER_CHARS or len(main) < MIN_COVERAGE * ours:
        return blocks

    def kept(block: Block) -> bool:
        if id(block) not in found.link_lists:
            return True  # trafilatura also drops real content (short FAQ divs): only its verdict on link lists is used
        keys = [k for k in map(_key, block.text.split("\n")) if k]
        return 2 * sum(k in main for k in keys) >= len(keys)

    return [b for b in blocks if kept(b)]


def _drop_empty_headings(blocks: list[Block]) -> list[Block]:
    """Headings with nothing under them (their section was boilerplate) are dropped."""
    out = []
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            path = block.heading_path
            following = (b for b in blocks[i + 1 :] if b.kind != "heading" or len(b.heading_path) <= len(path))
            nxt = next(following, None)
            if nxt is None or nxt.kind == "heading" or nxt.heading_path[: len(path)] != path:
                continue
        out.append(block)
    return out


def parse_html(data: bytes | str, *, url: str | None = None, content_type: str | None = None) -> ParsedDocument:
    """An HTML page's main content as Blocks (navigation, scripts, footers, banners and forms dropped)."""
    text = decode_html(data, content_type)
    if len(text) > MAX_HTML_CHARS:
        raise IngestError("too_large", f"This web page is too large (over {MAX_HTML_CHARS // 1_000_000} MB of HTML).")
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise IngestError("no_extractable_text", "This page has no readable text.") from exc
    title = _title(tree)
    lang = (tree.get("lang") or "").split("-")[0].lower()
    _strip_boilerplate(tree)
    found = _walk(tree.find("body") if tree.find("body") is not None else tree)
    blocks = found.blocks
    if blocks and found.link_lists and sum(1 for _ in tree.iter()) <= MAX_TRAFILATURA_NODES:
        blocks = _keep_main_content(found, tree, url)
    blocks = _drop_empty_headings(blocks)
    meta = {"html_lang": lang} if lang.isalpha() else {}
    return ParsedDocument(title=title, blocks=blocks, url=url, meta=meta)
