"""Helpers of the contact-rights tests: a Google stand-in that also clears sheet ranges, a widget visitor, a WhatsApp
sender, and a scan of every table's raw values (no type decoding, so encrypted columns are seen as stored)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import text

from google_stub import GoogleStub, Recorded
from jasping.db import get_engine
from jasping.models import Base
from test_whatsapp import NUMBER_ID, SECRET, _payload, _sign

__all__ = ["NUMBER_ID", "SECRET", "SheetsStub", "Visitor", "raw_hits", "file_hits", "whatsapp_text"]


class SheetsStub(GoogleStub):
    """The Google stand-in, plus `spreadsheets.values.clear` (`POST …/values/{range}:clear`), which empties the
    cells of the range as Google does (the rows stay). `down` answers every API call 503 (Google failing for now)."""

    down: bool = False

    def api(self, r: Recorded) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": {"code": 503, "message": "The service is currently unavailable."}}
        path = unquote(r.path)
        m = re.fullmatch(r"/v4/spreadsheets/([^/]+)/values/(.+):clear", path)
        if m is None or r.method != "POST":
            return super().api(r)
        token = r.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.access_tokens.get(token):
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials."}}
        rows = re.search(r"![A-Z]+(\d+):[A-Z]+(\d+)$", m.group(2))
        first, last = int(rows.group(1)), int(rows.group(2))
        for n in range(first, min(last, len(self.sheet)) + 1):
            self.sheet[n - 1] = ["" for _ in self.sheet[n - 1]]
        return 200, {"spreadsheetId": m.group(1), "clearedRange": m.group(2)}


class Visitor:
    """A website visitor chatting with the agent through the widget."""

    def __init__(self, client, agent: dict) -> None:  # noqa: ANN001
        started = client.post(f"/api/v1/widget/{agent['public_key']}/sessions", json={}).json()
        self.client, self.conversation_id = client, started["conversation_id"]
        self.url = f"/api/v1/widget/sessions/{self.conversation_id}"
        self.headers = {"Authorization": f"Bearer {started['session_token']}"}

    def say(self, words: str) -> dict:
        r = self.client.post(f"{self.url}/messages", json={"text": words}, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["reply"]

    def upload(self, name: str, data: bytes, ctype: str = "text/plain") -> dict:
        r = self.client.post(f"{self.url}/files", files={"file": (name, data, ctype)}, headers=self.headers)
        assert r.status_code == 201, r.text
        return r.json()["file"]


def whatsapp_text(client, sender: str, words: str, message_id: str) -> None:  # noqa: ANN001
    """A WhatsApp text from `sender` (digits, no +) through the signed webhook."""
    payload = _payload("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0].update({"from": sender, "id": message_id})
    value["messages"][0]["text"]["body"] = words
    value["contacts"][0]["wa_id"] = sender
    raw = json.dumps(payload).encode()
    r = client.post("/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": _sign(raw, SECRET)})
    assert r.status_code == 200, r.text


def raw_hits(needles: list[str]) -> dict[str, list[str]]:
    """The tables whose raw values (every column, as stored) contain one of `needles`, and which."""
    found: dict[str, list[str]] = {}
    with get_engine().connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608 - names from metadata
                blob = repr(tuple(row)).lower()
                hits = [n for n in needles if n.lower() in blob]
                if hits:
                    found.setdefault(table.name, []).extend(hits)
    return found


def file_hits(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    """The files under `folder` (the SQLite database and its WAL, stored files, outboxes) whose bytes contain one of
    `needles` (as UTF-8 or UTF-16, the two ways text lands in SQLite pages)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes().lower()
        hits = [n for n in needles if n.lower().encode() in data or n.lower().encode("utf-16-le") in data]
        if hits:
            found[str(path)] = hits
    return found
