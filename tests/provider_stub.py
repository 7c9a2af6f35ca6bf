"""A local server standing in for Meta's Graph API and Twilio's REST API (the clouds tests cannot reach), at
the HTTP boundary: JasPing reaches it through `JASPING_WHATSAPP_GRAPH_URL` and `JASPING_TWILIO_API_URL`.

Shapes follow the providers' docs: `POST /v21.0/{phone_number_id}/messages` answers
`{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid…"}]}`; `GET /v21.0/{media_id}`
answers `{"url", "mime_type", "sha256", "file_size", "id"}` and the URL serves the bytes;
`POST /2010-04-01/Accounts/{sid}/Messages.json` (form) answers `{"sid": "SM…", "status": "queued", …}`.
Errors are scripted with `fail(status, body)`: each scripted failure answers one send request, in order.
Like the providers' APIs, a send carrying an `Idempotency-Key` already seen is not sent again (`accepted`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict


class ProviderStub:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (bytes, mime type); default: a PNG
        self._failures: deque[tuple[int, dict]] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.next_ids: deque[str] = deque()  # provider ids to give the next sent messages
        self._hangs: deque[float] = deque()  # seconds the next send requests wait before answering
        # Idempotency keys seen (as real providers keep them): a send repeated with the same key is answered with
        # the first one's message id and not sent to the customer again; `accepted` holds the sends that were.
        self.keys: dict[str, str] = {}
        self.accepted: list[Request] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes | dict, ctype: str = "application/json") -> None:
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                stub._record(self, {})
                if self.path.startswith("/files/"):
                    data, ctype = stub.media.get(self.path.rsplit("/", 1)[-1], (PNG, "image/png"))
                    return self._reply(200, data, ctype)
                media_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                data, ctype = stub.media.get(media_id, (PNG, "image/png"))
                return self._reply(
                    200,
                    {
                        "url": f"{stub.url}/files/{media_id}",
                        "mime_type": ctype,
                        "sha256": "x",
                        "file_size": len(data),
                        "id": media_id,
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                ctype = self.headers.get("content-type", "")
                body = json.loads(raw) if "json" in ctype else dict(parse_qsl(raw.decode()))
                stub._record(self, body)
                twilio = "/Accounts/" in self.path
                key = self.headers.get("Idempotency-Key")
                with stub._lock:
                    hang = stub._hangs.popleft() if stub._hangs else 0.0
                    first = not key or key not in stub.keys
                    if first and key:  # a provider that deduplicates: the key is taken as the request arrives
                        stub.keys[key] = stub._id_locked("SM" if twilio else "wamid.out.")
                        stub.accepted.append(Request(self.command, self.path, dict(self.headers), body))
                    message_id = stub.keys[key] if key else None
                if hang:
                    time.sleep(hang)  # the sender may be killed meanwhile
                failure = stub._next_failure() if first else None
                if failure:
                    with stub._lock:
                        if key and stub.keys.pop(key, None):
                            stub.accepted = [r for r in stub.accepted if r.headers.get("Idempotency-Key") != key]
                    return self._reply(*failure)
                if first and not key:
                    with stub._lock:
                        stub.accepted.append(Request(self.command, self.path, dict(self.headers), body))
                message_id = message_id or stub._id("SM" if twilio else "wamid.out.")
                if twilio:
                    return self._reply(201, {"sid": message_id, "status": "queued", "to": body.get("To")})
                return self._reply(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                        "messages": [{"id": message_id}],
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        with self._lock:
            self.requests.append(Request(handler.command, handler.path, dict(handler.headers), body))

    def _next_failure(self) -> tuple[int, dict] | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _id(self, prefix: str) -> str:
        with self._lock:
            return self._id_locked(prefix)

    def _id_locked(self, prefix: str) -> str:
        return self.next_ids.popleft() if self.next_ids else f"{prefix}{next(self._ids)}"

    def fail(self, status: int, body: dict, times: int = 1) -> None:
        """The next `times` send requests answer `status` with `body`."""
        with self._lock:
            self._failures.extend([(status, body)] * times)

    def hang(self, seconds: float) -> None:
        """The next send request is answered only after `seconds`."""
        with self._lock:
            self._hangs.append(seconds)

    def sent(self) -> list[Request]:
        """The message sends received (WhatsApp and Twilio), in order."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def __enter__(self) -> ProviderStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
