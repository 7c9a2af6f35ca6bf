"""Fetch one URL safely: http(s) only, bounded size and time, no private addresses (SSRF guard), checked redirects."""

from __future__ import annotations

import ipaddress
import mimetypes
import re
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from jasping.knowledge.types import IngestError

USER_AGENT = "JasPingBot/0.1 (+https://jasping.example/bot)"
BOT_NAME = "JasPingBot"
MAX_BYTES = 25 * 1024 * 1024
TIMEOUT = 15.0
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 4096
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DOCUMENT_TYPES = HTML_TYPES | {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/plain",
    "text/markdown",
    "text/csv",
}
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "yclid"}
_HOST = re.compile(r"[A-Za-z0-9._~-]{1,253}|[0-9A-Fa-f:.]{2,45}")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


@dataclass
class FetchedPage:
    """A fetched resource: final URL after redirects, HTTP status, media type and raw body."""

    url: str
    status: int
    content_type: str
    body: bytes
    fetched_at: datetime
    charset: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The body decoded with the declared (or sniffed) charset, UTF-8 otherwise."""
        return decode_text(self.body, self.charset)


def decode_text(body: bytes, charset: str | None = None) -> str:
    """Bytes to text with the declared charset, else a BOM or <meta charset>, else UTF-8 (never raises)."""
    charset = charset or _sniff_charset(body)
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class HTTPStatusError(IngestError):
    """An http_error (4xx/5xx answer) that also carries the status code."""

    def __init__(self, status: int, message: str):
        super().__init__("http_error", message)
        self.status = status


def is_blocked_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified and other non-public addresses."""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve_host(host: str, port: int) -> list[str]:
    """The IP addresses a host name (or IP literal, including legacy forms like 2130706433) stands for."""
    host = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(host.split("%")[0]))]
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host):
        try:
            return [socket.inet_ntoa(socket.inet_aton(host))]
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise IngestError("unreachable", f"Could not find the server {host}: the name does not resolve.") from exc
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    return list(dict.fromkeys(addresses))


def check_host(host: str, port: int, allow_private: bool) -> list[str]:
    """Resolve a host and refuse it (IngestError blocked_address) if any address is not public."""
    addresses = resolve_host(host, port)
    if not allow_private:
        for address in addresses:
            if is_blocked_ip(ipaddress.ip_address(address)):  # never show where a name points (internal DNS)
                what = "is" if address == host.strip("[]") else "points to"
                raise IngestError(
                    "blocked_address",
                    f"{host} {what} a private or local network address, which JasPing does not fetch.",
                )
    return addresses


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses it resolved and vetted itself, so DNS rebinding cannot slip through."""

    def __init__(self, allow_private: bool):
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = check_host(host, port, self._allow_private)
        except IngestError as exc:
            if exc.code != "unreachable":
                raise
            raise httpcore.ConnectError(exc.message) from exc
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def make_client(*, allow_private: bool = False, timeout: float = TIMEOUT) -> httpx.Client:
    """An httpx client whose every connection goes through the SSRF guard (use it for all crawler traffic)."""
    transport = httpx.HTTPTransport(retries=0)
    pool = getattr(transport, "_pool", None)
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version does not let JasPing guard connections")
    pool._network_backend = _GuardedBackend(allow_private)
    return httpx.Client(
        transport=transport,
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def fetch_url(
    url: str,
    *,
    client: httpx.Client | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT,
    allow_private: bool = False,
    accept: Collection[str] | None = DOCUMENT_TYPES,
    redirect_check: Callable[[str], None] | None = None,
) -> FetchedPage:
    """GET a URL or raise IngestError; ≤5 re-checked redirects (redirect_check may veto one), accept=None: any type."""
    # timeout bounds each connect/read; the whole fetch, redirects included, gets 4 × timeout
    own = client is None
    client = client or make_client(allow_private=allow_private, timeout=timeout)
    deadline = time.monotonic() + 4 * timeout
    try:
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            target = _checked_url(current, allow_private)
            if hop and redirect_check is not None:
                redirect_check(str(target))
            location = _get(client, target, max_bytes, timeout, deadline, allow_private, accept)
            if isinstance(location, FetchedPage):
                return location
            current = location
        raise IngestError("too_many_redirects", f"{url} redirects more than {MAX_REDIRECTS} times.")
    finally:
        if own:
            client.close()


def _checked_url(url: str, allow_private: bool) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise IngestError("invalid_url", "The address is too long.")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise IngestError("invalid_url", f"{url!r} is not a valid web address.") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise IngestError("invalid_url", f"{url!r} is not a web address (only http:// and https:// are supported).")
    host = parsed.raw_host.decode("ascii", errors="replace")
    if not _HOST.fullmatch(host):
        raise IngestError("invalid_url", f"{url!r} does not contain a valid server name.")
    check_host(host, parsed.port or _DEFAULT_PORTS[parsed.scheme], allow_private)
    return parsed


def _get(
    client: httpx.Client,
    url: httpx.URL,
    max_bytes: int,
    timeout: float,
    deadline: float,
    allow_private: bool,
    accept: Collection[str] | None,
) -> FetchedPage | str:
    """One request: a FetchedPage, or the next URL when the server redirects."""
    host = url.host
    try:
        with client.stream(
            "GET", url, headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=False
        ) as response:
            _check_peer(response, host, allow_private)
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise IngestError("http_error", f"{url} redirects without saying where to.")
                return urljoin(str(url), location.strip())
            if response.status_code >= 400:
                raise HTTPStatusError(
                    response.status_code, f"The page answered {_status_text(response.status_code)} ({url})."
                )
            media, charset = _media_type(response.headers.get("content-type", ""), url.path)
            if accept is not None and media not in ("", "application/octet-stream") and media not in accept:
                raise _unsupported(url, media)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, max_bytes)
            body = bytearray()
            for chunk in response.iter_bytes(chunk_size=65536):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_large(url, max_bytes)
                if time.monotonic() > deadline:
                    raise IngestError("unreachable", f"{host} is too slow: the page did not arrive in time.")
            if media in ("", "application/octet-stream"):
                media = _sniff_type(bytes(body[:1024])) or media or "application/octet-stream"
                if accept is not None and media not in accept:
                    raise _unsupported(url, media)
            return FetchedPage(
                url=str(response.url),
                status=response.status_code,
                content_type=media,
                body=bytes(body),
                fetched_at=datetime.now(UTC),
                charset=charset,
                headers={k.lower(): v for k, v in response.headers.items()},
            )
    except httpx.TimeoutException as exc:
        raise IngestError("unreachable", f"Could not reach {host}: the connection timed out.") from exc
    except httpx.ConnectError as exc:
        raise IngestError("unreachable", f"Could not connect to {host}: {_reason(exc)}.") from exc
    except httpx.InvalidURL as exc:
        raise IngestError("invalid_url", f"{url} is not a valid web address.") from exc
    except httpx.DecodingError as exc:
        raise IngestError("http_error", f"{host} sent a corrupt response.") from exc
    except httpx.HTTPError as exc:
        raise IngestError("unreachable", f"Could not fetch {url}: {_reason(exc)}.") from exc


def _check_peer(response: httpx.Response, host: str, allow_private: bool) -> None:
    """Second line of defence for clients not built by make_client: the address actually connected to."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if allow_private or not peer:
        return
    if is_blocked_ip(ipaddress.ip_address(str(peer[0]).split("%")[0])):
        raise IngestError(
            "blocked_address", f"{host} is a private or local network address, which JasPing does not fetch."
        )


def _media_type(header: str, path: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    media = media.strip().lower()
    match = _CHARSET.search(params.encode("latin-1", "replace"))
    charset = match.group(1).decode("ascii").lower() if match else None
    if media in ("", "application/octet-stream"):
        guessed = mimetypes.guess_type(path)[0]
        media = guessed or media
    return media, charset


def _sniff_type(head: bytes) -> str | None:
    start = head.lstrip().lower()
    if start.startswith(b"%pdf-"):
        return "application/pdf"
    if start.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    return None


def _sniff_charset(body: bytes) -> str | None:
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    match = _CHARSET.search(body[:2048])
    return match.group(1).decode("ascii").lower() if match else None


def _unsupported(url: httpx.URL, media: str) -> IngestError:
    return IngestError("unsupported_type", f"{url} is a {media} file, which JasPing cannot read here.")


def _too_large(url: httpx.URL, max_bytes: int) -> IngestError:
    limit = f"{max_bytes / 1048576:g} MB" if max_bytes >= 1048576 else f"{max_bytes:,} bytes"
    return IngestError("too_large", f"{url} is larger than the {limit} limit.")


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} error"


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Absolute comparable form of a link (no fragment or default port, sorted query, no tracking); None if not web."""
    try:
        raw = url.strip()
        joined = urljoin(base, raw) if base else raw
        if len(joined) > MAX_URL_LENGTH:
            return None
        parts = urlsplit(joined)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(_remove_dot_segments(parts.path or "/"), safe="/%:@!$&'()*+,;=-._~")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(sorted((k, v) for k, v in pairs if not _is_tracking(k.lower())))
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(name: str) -> bool:
    return name in _TRACKING or name.startswith("utm_")


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
            continue
        if last:
            out.append("")
    return "/" + "/".join(out)
