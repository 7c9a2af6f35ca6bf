"""A local stand-in for Google at the HTTP boundary: the OAuth token and revoke endpoints (with PKCE checked) and
the Calendar, Sheets, Drive and Gmail endpoints JasPing calls. It records every request; tests compare them with
the discovery documents bundled in google-api-python-client.

Point JasPing at it with JASPING_GOOGLE_API_URL and JASPING_GOOGLE_OAUTH_URL = `stub.url`. `consent(url)` plays the
person agreeing on Google's page: it reads the authorization URL and returns the callback's query (code, state).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

CLIENT_ID = "stub-client.apps.googleusercontent.com"
CLIENT_SECRET = "stub-secret"  # noqa: S105 - a test value


@dataclass
class Recorded:
    method: str
    path: str  # as sent (percent-encoded)
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class GoogleStub:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    codes: dict[str, dict] = field(default_factory=dict)
    access_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still valid
    refresh_tokens: dict[str, list[str]] = field(default_factory=dict)  # token -> scopes
    revoked: list[str] = field(default_factory=list)
    refuse_refresh: bool = False
    token_status: int | None = None  # answer every token request with this status (500: Google is down)
    reject_api_tokens: int = 0  # answer the next N API calls 401, whatever their token
    busy: list[dict] = field(default_factory=list)
    events: dict[str, dict] = field(default_factory=dict)
    sheet: list[list] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def consent(self, authorization_url: str, *, grant: list[str] | None = None) -> dict[str, str]:
        """Agree on 'Google's page': remember the PKCE challenge with a new code; the callback's query."""
        query = dict(parse_qsl(urlsplit(authorization_url).query))
        code = "4/" + secrets.token_urlsafe(24)
        self.codes[code] = {**query, "granted": grant if grant is not None else query["scope"].split()}
        return {"code": code, "state": query["state"]}

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = False

    def _new_tokens(self, scope: list[str], refresh: str | None = None) -> dict:
        access = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[access] = True
        answer = {"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": " ".join(scope)}
        if refresh is None:
            refresh = "1//" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = scope
            answer["refresh_token"] = refresh
        return answer

    # ---- OAuth ----------------------------------------------------------------------------------------------
    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        if self.token_status:
            return self.token_status, {"error": "internal_failure"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            given = self.codes.pop(form.get("code", ""), None)
            if given is None or given["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if given.get("code_challenge_method") != "S256" or digest != given.get("code_challenge"):
                return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
            return 200, self._new_tokens(given["granted"])
        if form.get("grant_type") == "refresh_token":
            if self.refuse_refresh or form.get("refresh_token") not in self.refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, self._new_tokens(self.refresh_tokens[form["refresh_token"]], form["refresh_token"])
        return 400, {"error": "unsupported_grant_type"}

    def revoke(self, form: dict[str, str]) -> tuple[int, dict]:
        token = form.get("token", "")
        if token in self.refresh_tokens:
            self.refresh_tokens.pop(token)
            self.revoked.append(token)
            return 200, {}
        return 400, {"error": "invalid_token"}

    # ---- APIs -----------------------------------------------------------------------------------------------
    def api(self, r: Recorded) -> tuple[int, Any]:
        token = r.headers.get("authorization", "").removeprefix("Bearer ")
        if self.reject_api_tokens > 0 or not self.access_tokens.get(token):
            self.reject_api_tokens = max(0, self.reject_api_tokens - 1)
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials."}}
        path = unquote(r.path)
        if r.method == "POST" and path == "/calendar/v3/freeBusy":
            cal = r.json["items"][0]["id"]
            return 200, {"kind": "calendar#freeBusy", "calendars": {cal: {"busy": self.busy}}}
        if m := re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", path):
            return self._event(r, m.group(2))
        if m := re.fullmatch(r"/v4/spreadsheets/([^/]+)/values/(.+?)(:append)?", path):
            return self._values(r, m.group(2), bool(m.group(3)))
        if path.startswith("/drive/v3/files") or path == "/upload/drive/v3/files":
            return self._drive(r, path)
        if r.method == "POST" and path == "/gmail/v1/users/me/messages/send":
            self.sent.append(base64.urlsafe_b64decode(r.json["raw"]))
            return 200, {"id": f"msg{len(self.sent)}", "threadId": "t1", "labelIds": ["SENT"]}
        return 404, {"error": {"code": 404, "message": "Not Found"}}

    def _event(self, r: Recorded, event_id: str | None) -> tuple[int, Any]:
        if r.method == "POST" and event_id is None:
            body = r.json
            if body.get("id") in self.events:
                return 409, {"error": {"code": 409, "message": "The requested identifier already exists."}}
            body.setdefault("id", secrets.token_hex(8))
            self.events[body["id"]] = body
            return 200, {**body, "status": "confirmed"}
        if event_id not in self.events:
            return 404, {"error": {"code": 404, "message": "Not Found"}}
        if r.method == "PATCH":
            self.events[event_id].update(r.json)
            return 200, self.events[event_id]
        if r.method == "DELETE":
            del self.events[event_id]
            return 204, None
        return 405, {}

    def _values(self, r: Recorded, rng: str, append: bool) -> tuple[int, Any]:
        if not append:
            return 200, {"range": rng, "majorDimension": "ROWS", **({"values": self.sheet[:1]} if self.sheet else {})}
        first = len(self.sheet) + 1
        self.sheet.extend(r.json["values"])
        sheet = rng.split("!")[0]
        return 200, {"updates": {"updatedRange": f"{sheet}!A{first}:Z{len(self.sheet)}"}}

    def _drive(self, r: Recorded, path: str) -> tuple[int, Any]:
        if r.method == "GET" and path == "/drive/v3/files":
            name = re.search(r"name = '((?:[^'\\]|\\.)*)'", r.query["q"][0]).group(1)
            found = [f for f in self.files.values() if f["name"] == name and f["mimeType"].endswith("folder")]
            return 200, {"files": [{"id": f["id"], "name": f["name"]} for f in found[:1]]}
        if r.method == "POST" and path == "/drive/v3/files":
            folder = {**r.json, "id": "fld" + secrets.token_hex(6)}
            self.files[folder["id"]] = folder
            return 200, {"id": folder["id"]}
        if r.method == "POST":
            ctype = r.headers["content-type"]
            parsed = email.message_from_bytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + r.body, policy=email.policy.default
            )
            meta_part, media_part = list(parsed.iter_parts())
            meta = json.loads(meta_part.get_content())
            content = media_part.get_payload(decode=True)
            made = {**meta, "id": "file" + secrets.token_hex(6), "content": content, "size": str(len(content))}
            self.files[made["id"]] = made
            return 200, {k: made[k] for k in ("id", "name", "mimeType", "size")}
        file_id = path.rsplit("/", 1)[1]
        if r.method == "DELETE" and self.files.pop(file_id, None) is not None:
            return 204, None
        return 404, {"error": {"code": 404, "message": "File not found."}}

    # ---- serving --------------------------------------------------------------------------------------------
    def start(self) -> GoogleStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                r = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with stub.lock:
                    stub.requests.append(r)
                    if parts.path == "/token":
                        status, body = stub.token(r.form)
                    elif parts.path == "/revoke":
                        status, body = stub.revoke(r.form)
                    else:
                        status, body = stub.api(r)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- for tests ------------------------------------------------------------------------------------------------
def point_jasping_at(stub: GoogleStub, monkeypatch: Any) -> None:
    """Settings for this test: every Google URL is the stub's, the OAuth client is the stub's."""
    from jasping.config import get_settings

    for name, value in (
        ("JASPING_GOOGLE_API_URL", stub.url),
        ("JASPING_GOOGLE_OAUTH_URL", stub.url),
        ("JASPING_GOOGLE_CLIENT_ID", CLIENT_ID),
        ("JASPING_GOOGLE_CLIENT_SECRET", CLIENT_SECRET),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def connect(org: Any, stub: GoogleStub, agent_id: str, **choices: Any) -> dict:
    """Connect a Google account as a person would: authorize, agree on 'Google's page', come back."""
    body = {"agent_id": agent_id, "uses": ["calendar"], **choices}
    started = org.post("/api/v1/integrations/google/authorize", json=body)
    assert started.status_code == 200, started.text
    back = org.client.get(
        "/oauth/google/callback", params=stub.consent(started.json()["authorization_url"]), headers=_JSON
    )
    assert back.status_code == 200, back.text
    return back.json()


_JSON = {"Accept": "application/json"}
