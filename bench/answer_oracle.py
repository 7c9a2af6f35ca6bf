"""OracleStub: a local OpenAI-compatible endpoint that plays a grounded LLM following JasPing's prompt.

It reads the numbered passages out of the system prompt (the `<passage ref=… title=… language=…>` blocks that
`system_prompt` writes). When the prompt holds the expected facts of the question (`expect`, eval/README.md
format: `|` separates accepted forms), it answers in the customer's language with the facts as the passage writes
them and the passage's marker ("… 350 MAD [2]."). When it does not — or the question is unanswerable
(`expect([])`) — it answers with a confident hallucination and no marker, which JasPing's grounding must decline.

Each request is recorded (`requests`: the JSON bodies; `seen`: what the prompt held, see `Seen`), so that the
caller can compute prompt recall: the share of answerable questions whose facts were all in the prompt.

    with OracleStub() as oracle:
        model = OpenAIChatModel("oracle", base_url=oracle.base_url, api_key="sk-oracle")
        oracle.expect(["350 MAD|350 dirhams"])
        step = model.respond(context)
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RULES", "OracleStub", "Passage", "Seen", "contains", "normalise"]

# Phrases of the grounding rules that `system_prompt` writes; `Seen.rules` says whether all were in the prompt.
RULES = (
    "Answer ONLY from the numbered passages",
    "Cite every passage you use",
    "say that you don't know",
    "exactly as the passage writes them",
    "never translate or convert a price",
)
_PASSAGE = re.compile(
    r'<passage ref="(\d+)" title="([^"]*)"(?: language="([^"]*)")?(?: page="(\d+)")?>\n(.*?)\n</passage>', re.S
)
_REPLY_IN = re.compile(r"Reply in ([A-Za-z]+), the customer's language")
_LANGUAGES = {"English": "en", "French": "fr", "Arabic": "ar", "Spanish": "es", "German": "de", "Italian": "it"}
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_GROUP = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")  # "1 200" → "1200"
_YES_NO = {"yes", "no", "oui", "non", "نعم", "لا", "si", "sí", "ja", "nein"}  # answer words, not passage facts
_ANSWER = {
    "en": "Here is what I found: {facts}.",
    "fr": "Voici ce que j'ai trouvé : {facts}.",
    "ar": "هذا ما وجدته: {facts}.",
}
_HALLUCINATION = {
    "en": "Yes, it costs 99 EUR.",
    "fr": "Oui, cela coûte 99 EUR.",
    "ar": "نعم، السعر 99 يورو.",
}


def normalise(text: str) -> str:
    """Casefolded, accents and Arabic diacritics stripped, Arabic-Indic digits as ASCII, spaces collapsed, "1 200"
    as "1200" (the evaluation's comparison: case-, accent- and space-insensitive)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) and c not in "\u0640\u200c\u200d\u200e\u200f")
    return _GROUP.sub("", " ".join(text.translate(_DIGITS).split()))


def contains(text: str, form: str) -> bool:
    """Whether `text` contains `form`, normalised; a form starting or ending with a Latin letter or digit must do
    so at a word boundary ("3" is not in "13")."""
    form = normalise(form)
    if not form:
        return False
    before = r"(?<![^\W_])" if form[0].isascii() and form[0].isalnum() else ""
    after = r"(?![^\W_])" if form[-1].isascii() and form[-1].isalnum() else ""
    return re.search(before + re.escape(form) + after, normalise(text)) is not None


@dataclass(frozen=True)
class Passage:
    """A passage as the prompt showed it."""

    ref: int
    title: str
    language: str | None
    page: int | None
    text: str


@dataclass
class Seen:
    """What one request's prompt held, and what the oracle answered."""

    question: str
    language: str  # the customer's language, as the prompt's "Reply in …" rule names it
    expected: list[str]
    rules: bool  # every phrase of RULES was in the system prompt
    passages: list[Passage]
    facts_in_prompt: bool | None  # every expected fact in some passage; None for an unanswerable question
    cited: list[int] = field(default_factory=list)  # the refs the reply cites ([] = the hallucination)
    reply: str = ""


def _alternatives(fact: str) -> list[str]:
    return [alt.strip() for alt in fact.split("|") if alt.strip()]


def _is_answer_word(fact: str) -> bool:
    """A yes/no fact ("yes", "non|no"): the reply's word, not something a passage contains."""
    return all(normalise(alt) in _YES_NO for alt in _alternatives(fact))


def _found(fact: str, passage: Passage) -> str | None:
    """The first accepted form of `fact` that `passage` contains, as the expected list writes it."""
    return next((alt for alt in _alternatives(fact) if contains(f"{passage.title}\n{passage.text}", alt)), None)


def _parse(body: dict) -> tuple[str, str, bool, list[Passage]]:
    """The question, the reply language, whether the rules were there, and the passages of a request body."""
    messages = body.get("messages") or []
    system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
    question = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    named = _REPLY_IN.search(system)
    language = _LANGUAGES.get(named[1], "en") if named else "en"
    passages = [Passage(int(m[1]), m[2], m[3], int(m[4]) if m[4] else None, m[5]) for m in _PASSAGE.finditer(system)]
    return question, language, all(rule in system for rule in RULES), passages


def _answer(language: str, expected: list[str], passages: list[Passage]) -> tuple[str, list[int], bool | None]:
    """The oracle's reply, the refs it cites and whether the facts were all in the prompt (None: unanswerable).

    One passage holding every fact is cited once ("…: 350 MAD [2]."); facts spread over passages each get their
    passage's marker; a missing fact (or an unanswerable question) gets the hallucination, with no marker."""
    hallucination = _HALLUCINATION.get(language, _HALLUCINATION["en"])
    if not expected:
        return hallucination, [], None
    if not passages:
        return hallucination, [], False
    words = [_alternatives(f)[0] for f in expected if _is_answer_word(f)]
    facts = [f for f in expected if not _is_answer_word(f)]
    whole = next((p for p in passages if all(_found(f, p) for f in facts)), None)
    if whole is not None:  # (a yes/no question with no other fact: the first passage)
        parts, refs, suffix = [_found(f, whole) for f in facts], [whole.ref], f" [{whole.ref}]"
    else:
        homes = [(f, next((p for p in passages if _found(f, p)), None)) for f in facts]
        if any(p is None for _, p in homes):
            return hallucination, [], False
        parts = [f"{_found(f, p)} [{p.ref}]" for f, p in homes]
        refs, suffix = list(dict.fromkeys(p.ref for _, p in homes)), ""
    sentence = _ANSWER.get(language, _ANSWER["en"]).format(facts=", ".join([*words, *parts]) + suffix)
    return sentence, refs, True


def _completion(model: str, text: str) -> dict:
    return {
        "id": "chatcmpl-oracle",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(model: str, text: str, size: int) -> list[dict]:
    base = {"id": "chatcmpl-oracle", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    deltas = [{"role": "assistant", "content": ""}] + [
        {"content": text[i : i + size]} for i in range(0, len(text), size)
    ]
    out = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    oracle: OracleStub

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
        if self.path.rstrip("/") != "/v1/chat/completions" or not isinstance(body, dict):
            return self._send(404, {"error": {"message": "not found", "type": "not_found", "code": "not_found"}})
        text = self.oracle.answer(body)
        model = str(body.get("model", ""))
        if not body.get("stream"):
            return self._send(200, _completion(model, text))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in _chunks(model, text, self.oracle.chunk_chars):
            self._write_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            if self.oracle.chunk_delay:
                time.sleep(self.oracle.chunk_delay)
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        return None

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up leaves a broken pipe behind


class OracleStub:
    """The oracle endpoint on 127.0.0.1 (a free port); use as a context manager and give the SDK `base_url`.

    `chunk_chars` and `chunk_delay` shape a streamed reply (characters a chunk, seconds between chunks)."""

    def __init__(self, *, chunk_chars: int = 6, chunk_delay: float = 0.0) -> None:
        self.requests: list[dict] = []  # the JSON bodies received, in order
        self.seen: list[Seen] = []  # one per request: what the prompt held and what was answered
        self.chunk_chars, self.chunk_delay = max(1, chunk_chars), chunk_delay
        self._expected: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"oracle": self}))
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def expect(self, facts: list[str]) -> None:
        """The expected facts of the next question(s) (`[]`: unanswerable); they hold until the next call."""
        with self._lock:
            self._expected = list(facts)

    def answer(self, body: dict) -> str:
        """Record the request and decide the reply text."""
        question, language, rules, passages = _parse(body)
        with self._lock:
            expected = list(self._expected)
            text, cited, in_prompt = _answer(language, expected, passages)
            self.requests.append(body)
            self.seen.append(Seen(question, language, expected, rules, passages, in_prompt, cited, text))
        return text

    def prompt_recall(self) -> float | None:
        """The share of answerable requests whose expected facts were all in the prompt's passages."""
        answerable = [s for s in self.seen if s.facts_in_prompt is not None]
        return sum(s.facts_in_prompt for s in answerable) / len(answerable) if answerable else None

    def __enter__(self) -> OracleStub:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
