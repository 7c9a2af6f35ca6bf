"""`GET /widget.js`: the chat widget businesses embed with one script tag (static, cacheable, any origin)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

__all__ = ["ETAG", "WIDGET_JS", "router"]

WIDGET_PATH = Path(__file__).resolve().parent / "static" / "widget.js"
WIDGET_JS = WIDGET_PATH.read_bytes()  # read once: it changes only with a release
WIDGET_GZ = gzip.compress(WIDGET_JS, compresslevel=9, mtime=0)
ETAG = '"' + hashlib.sha256(WIDGET_JS).hexdigest()[:32] + '"'  # strong: the content's hash
ETAG_GZ = ETAG[:-1] + '-gz"'  # another representation (gzip-encoded bytes), another strong validator
MEDIA_TYPE = "application/javascript; charset=utf-8"

router = APIRouter(include_in_schema=False)


def _headers(etag: str) -> dict[str, str]:
    return {
        "Cache-Control": "public, max-age=300",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
        "ETag": etag,
    }


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names `etag` (weak comparison, as RFC 9110 asks for If-None-Match)."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@router.api_route("/widget.js", methods=["GET", "HEAD"])
def widget_js(request: Request) -> Response:
    """The widget script; `If-None-Match` with its ETag answers 304, gzip when the client accepts it."""
    gz = _accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = _headers(ETAG_GZ if gz else ETAG)
    if _matches(request.headers.get("if-none-match", ""), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    body = WIDGET_GZ if gz else WIDGET_JS
    if gz:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, media_type=MEDIA_TYPE, headers=headers)
