"""Question files of the answer evaluation: JSONL (eval/README.md's format), or CSV/XLSX for businesses.

A JSONL line is `{"id", "text", "language", "expected": [...], "document", "type", "cross_lingual"}`; only
`text` is required, and `expected` unless the question is unanswerable (no `document`, or `type`
"unanswerable"). A CSV or XLSX sheet has a header row with the columns `question`, `expected` (facts separated
by ";", accepted forms of one fact by "|") and `document`, and optionally `id`, `language`, `type`,
`cross_lingual`. Every problem is reported as `name:line: what is wrong`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FORMATS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_QUESTIONS",
    "Question",
    "QuestionFileError",
    "load_questions",
    "parse_questions",
]

FORMATS = (".jsonl", ".csv", ".xlsx")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a file sent through the dashboard or the API
MAX_UPLOAD_QUESTIONS = 500
_COLUMNS = {"question", "text", "expected", "document", "id", "language", "type", "cross_lingual"}
_TRUE = {"1", "true", "yes", "y", "oui", "x"}


class QuestionFileError(ValueError):
    """A question file that cannot be used; the message names the line."""


@dataclass
class Question:
    id: str
    text: str
    expected: list[str] = field(default_factory=list)  # every fact must appear; "a|b" accepts a or b
    document: str | None = None  # the file name the answer comes from; None: the documents do not answer
    language: str | None = None
    type: str = "other"
    cross_lingual: bool = False
    position: int = 0  # 0-based position in the file: decides the dev/test split (position % 5 == 0: test)

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable" and bool(self.expected or self.document)

    @property
    def format(self) -> str:
        """The answering document's format, from its extension ("pdf", "docx", …); "none" when unanswerable."""
        if not self.document:
            return "none"
        name = self.document.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[-1].lower() if "." in name else "other"

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "expected": self.expected,
            "document": self.document,
            "language": self.language,
            "type": self.type,
            "cross_lingual": self.cross_lingual,
        }


def load_questions(path: str | Path, *, max_questions: int | None = None) -> list[Question]:
    """The questions of a .jsonl, .csv or .xlsx file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QuestionFileError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_questions(data, str(path), max_questions=max_questions)


def parse_questions(data: bytes, name: str, *, max_questions: int | None = None) -> list[Question]:
    """The questions of an uploaded file; its format is decided by the extension of `name`."""
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(data, name)
    elif suffix == ".csv":
        rows = _table_rows(_csv_lines(data, name), name)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _table_rows(_xlsx_lines(data, name), name)
    else:
        raise QuestionFileError(f"{name}: use a .jsonl, .csv or .xlsx file (got {suffix or 'no extension'!r})")
    questions: list[Question] = []
    for line, row in rows:
        if max_questions is not None and len(questions) >= max_questions:
            raise QuestionFileError(f"{name}:{line}: too many questions (at most {max_questions} a file)")
        questions.append(_question(row, f"{name}:{line}", line, len(questions)))
    if not questions:
        raise QuestionFileError(f"{name}: no questions in the file")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise QuestionFileError(f"{name}: the id {duplicate!r} is used twice")
    return questions


def _question(row: dict, where: str, line: int, position: int) -> Question:
    text = row.get("text", row.get("question"))
    if not isinstance(text, str) or not text.strip():
        raise QuestionFileError(f"{where}: the question's text is missing")
    expected = row.get("expected") or []
    if isinstance(expected, str):
        expected = [expected]
    if not isinstance(expected, list) or not all(isinstance(f, str | int | float) for f in expected):
        raise QuestionFileError(f"{where}: 'expected' must be a list of facts (texts)")
    expected = [str(f).strip() for f in expected if str(f).strip()]
    document = row.get("document")
    if document is not None and not isinstance(document, str):
        raise QuestionFileError(f"{where}: 'document' must be a file name or null")
    document = (document or "").strip() or None
    kind = str(row.get("type") or "").strip().lower() or ("other" if expected or document else "unanswerable")
    if kind == "unanswerable" and (expected or document):
        raise QuestionFileError(f"{where}: an unanswerable question has no expected facts and no document")
    if document and not expected:
        raise QuestionFileError(
            f"{where}: list the facts the reply must contain in 'expected' "
            "(or leave 'document' empty for a question the documents do not answer)"
        )
    language = str(row.get("language") or "").strip().lower()[:8] or None
    cross = row.get("cross_lingual", False)
    cross = cross if isinstance(cross, bool) else str(cross or "").strip().lower() in _TRUE
    return Question(
        id=str(row.get("id") or "").strip() or f"q{line}",
        text=text.strip(),
        expected=expected,
        document=document,
        language=language,
        type=kind,
        cross_lingual=cross,
        position=position,
    )


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise QuestionFileError(f"{name}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def _jsonl_rows(data: bytes, name: str) -> Iterable[tuple[int, dict]]:
    for line_number, line in enumerate(_decode(data, name).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{name}:{line_number}: invalid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(row, dict):
            raise QuestionFileError(f"{name}:{line_number}: expected one JSON object a line")
        yield line_number, row


def _csv_lines(data: bytes, name: str) -> list[list[str]]:
    text = _decode(data, name)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _xlsx_lines(data: bytes, name: str) -> list[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise QuestionFileError(f"{name}: not a readable .xlsx workbook") from None
    try:
        sheet = book.worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _table_rows(lines: list[list[str]], name: str) -> Iterable[tuple[int, dict]]:
    """Rows of a table whose first non-empty row is the header."""
    header: list[str] | None = None
    for line_number, cells in enumerate(lines, 1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if header is None:
            header = [c.lower().replace(" ", "_") for c in cells]
            if "question" not in header and "text" not in header:
                raise QuestionFileError(
                    f"{name}:{line_number}: the first row must name the columns: question, expected, document"
                )
            unknown = [c for c in header if c and c not in _COLUMNS]
            if unknown:
                raise QuestionFileError(f"{name}:{line_number}: unknown column {unknown[0]!r}")
            continue
        row = {key: value for key, value in zip(header, cells, strict=False) if key}
        row["expected"] = [f for f in (row.get("expected") or "").split(";") if f.strip()]
        yield line_number, row
