"""A scripted OpenAI-compatible Chat Completions server on 127.0.0.1, for contract tests through the real SDK.

Each test scripts the replies (`stub.script(Reply(...), ...)`), one per request in order, and reads what was sent
from `stub.requests`. A request with `"stream": true` gets server-sent `chat.completion.chunk` events.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["OpenAIStub", "Recorded", "Reply"]


@dataclass
class Reply:
    """One scripted response."""

    text: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (name, raw JSON arguments)
    pieces: list[str] | None = None  # streamed text deltas (default: the text in pieces of 8 characters)
    status: int = 200
    code: str = "server_error"  # the error code of a non-200 reply
    hang: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    cut_after: int | None = None  # streaming: drop the connection after this many chunks
    raw: bytes | None = None  # a body sent as it is (malformed responses)


@dataclass
class Recorded:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict


def _completion(model: str, reply: Reply) -> dict:
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(reply.tool_calls)
    ]
    message = {"role": "assistant", "content": reply.text, **({"tool_calls": calls} if calls else {})}
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(model: str, reply: Reply) -> list[dict]:
    """The reply as chat.completion.chunk objects: role, text deltas, tool-call fragments, finish."""
    text = reply.text or ""
    pieces = reply.pieces if reply.pieces is not None else [text[i : i + 8] for i in range(0, len(text), 8)]
    deltas: list[dict] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in pieces]
    for i, (name, args) in enumerate(reply.tool_calls):
        first = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}
        deltas.append({"tool_calls": [first]})
        deltas += [
            {"tool_calls": [{"index": i, "function": {"arguments": args[j : j + 5]}}]} for j in range(0, len(args), 5)
        ]
    finish = "tool_calls" if reply.tool_calls else "stop"
    base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    out = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams, so that a dropped connection is an error, not an end
    disable_nagle_algorithm = True
    stub: OpenAIStub

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw or b"{}")
        self.stub.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        reply = self.stub.next_reply()
        if reply.hang:
            self.stub.stopping.wait(reply.hang)
        if self.path != "/v1/chat/completions":
            reply = Reply(status=404, code="not_found")
        if reply.status != 200:
            error = {"error": {"message": "scripted error", "type": reply.code, "code": reply.code}}
            headers = {"retry-after-ms": "5"}  # keeps the SDK's retries fast
            if reply.code == "unscripted_request":
                headers["x-should-retry"] = "false"
            return self._send(reply.status, json.dumps(error).encode(), headers)
        if reply.raw is not None:
            return self._send(200, reply.raw)
        model = body.get("model", "")
        if not body.get("stream"):
            return self._send(200, json.dumps(_completion(model, reply)).encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n, chunk in enumerate(_chunks(model, reply)):
            if reply.cut_after is not None and n >= reply.cut_after:
                self.close_connection = True
                return None  # no terminating chunk: the client sees a broken stream
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        return None

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout) leaves a broken pipe behind: expected here


class OpenAIStub:
    """The scripted server; use as a context manager. `url` is the base URL to give the SDK."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"stub": self}))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies, answered one per request in order."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        """The next scripted reply; an unscripted request gets a 500 that tells the SDK not to retry."""
        with self._lock:
            return self._script.popleft() if self._script else Reply(status=500, code="unscripted_request")

    def __enter__(self) -> OpenAIStub:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
