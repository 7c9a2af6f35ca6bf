"""Rows of cells to Blocks: question/answer sheets, "Header: value" table rows, and CSV files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata

from jasping.knowledge.types import Block, IngestError, ParsedDocument

MAX_ROWS = 200_000
_QUESTION = {
    "q", "question", "questions", "faq", "query", "pregunta", "preguntas", "frage", "domanda", "vraag",
    "سؤال", "السؤال", "الأسئلة", "الاسئلة", "أسئلة", "اسئلة", "السؤال المتكرر",
}  # fmt: skip
_ANSWER = {
    "a", "r", "answer", "answers", "reponse", "reponses", "respuesta", "respuestas", "antwort", "risposta",
    "antwoord", "جواب", "الجواب", "الإجابة", "الاجابة", "إجابة", "اجابة", "الرد", "رد", "الأجوبة", "الاجوبة",
}  # fmt: skip
_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"}


def cell_text(value: object) -> str:
    """A spreadsheet value as display text: None and error values empty, 10.0 as 10, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, ".12g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    return "" if text in _ERRORS else text


def _label(text: str) -> str:
    text = re.sub("[\u064b-\u065f\u0670\u0640]", "", text.casefold())  # Arabic diacritics and tatweel
    text = "".join(unicodedata.normalize("NFKD", c)[0] if c < "\u0250" else c for c in text)  # Latin accents
    return re.sub(r"[\s:?.؟()#*/\\-]+$", "", re.sub(r"^[\s:?.#*]+", "", text)).strip()


def qa_columns(header: list[str]) -> tuple[int, int] | None:
    """Column indexes of the question and answer in a header row like Question/Answer, Q/R, سؤال/جواب."""
    labels = [_label(cell) for cell in header]
    q = next((i for i, label in enumerate(labels) if label in _QUESTION), None)
    a = next((i for i, label in enumerate(labels) if label in _ANSWER and i != q), None)
    return (q, a) if q is not None and a is not None else None


def _is_header(row: list[str]) -> bool:
    filled = [cell for cell in row if cell]
    return (
        len(filled) == len(row)
        and all(len(cell) <= 40 and len(cell.split()) <= 4 for cell in filled)
        and not any(cell.endswith(("?", "؟")) or re.search(r"\d", cell) for cell in filled)
    )


def _drop_empty_columns(rows: list[list[str]]) -> list[list[str]]:
    width = max((len(row) for row in rows), default=0)
    rows = [row + [""] * (width - len(row)) for row in rows]
    keep = [i for i in range(width) if any(row[i] for row in rows)]
    return [[row[i] for i in keep] for row in rows if any(row[i] for i in keep)]


def render_row(header: list[str] | None, row: list[str]) -> str:
    """One table row as "Header: value; Header: value" (or "a | b" without a header); empty cells skipped."""
    if not header:
        return " | ".join(cell for cell in row if cell)
    parts = []
    for i, cell in enumerate(row):
        if cell:
            name = header[i] if i < len(header) else ""
            parts.append(f"{name}: {cell}" if name and name != cell else cell)
    return "; ".join(parts)


def _qa_blocks(rows: list[list[str]], header: list[str] | None, q: int, a: int, path: tuple[str, ...]) -> list[Block]:
    blocks: list[Block] = []
    section = path
    for row in rows:
        question, answer = row[q], row[a]
        extras = [(header[i] if header else "", cell) for i, cell in enumerate(row) if i not in (q, a) and cell]
        extra = "".join(f"\n{name}: {cell}" if name else f"\n{cell}" for name, cell in extras)
        if question and (answer or extra):
            blocks.append(Block(text=f"Q: {question}\nA: {answer}{extra}".rstrip(), heading_path=section, kind="qa"))
        elif question:
            section = (*path, question)  # a lone label row starts a new group of questions
        elif answer and blocks and blocks[-1].kind == "qa":
            blocks[-1].text += "\n" + answer
        elif answer:
            blocks.append(Block(text=answer, heading_path=section))
    return blocks


def sheet_blocks(rows: list[list[str]], path: tuple[str, ...] = ()) -> list[Block]:
    """A sheet's rows: Q&A pairs (two columns or Q/A headers) as "qa" Blocks, else one "table" Block per row."""
    rows = _drop_empty_columns(rows)
    if not rows:
        return []
    first = rows[0]
    if cols := qa_columns(first):
        return _qa_blocks(rows[1:], first, *cols, path)
    if len(first) == 2:
        body = rows[1:] if len(rows) > 1 and _is_header(first) else rows
        return _qa_blocks(body, None, 0, 1, path)
    numeric = any(re.fullmatch(r"[\d.,\s%€$£-]+", cell) for cell in first)
    header = first if len(rows) > 1 and len(first) > 1 and all(first) and not numeric else None
    body = rows[1:] if header else rows
    return [Block(text=render_row(header, row), heading_path=path, kind="table") for row in body if any(row)]


def table_blocks(
    rows: list[list[str]], path: tuple[str, ...] = (), *, header: bool | None = None, page: int | None = None
) -> list[Block]:
    """A document table: Q&A Blocks when headed Question/Answer, else one "table" Block of readable rows."""
    rows = _drop_empty_columns(rows)
    if not rows:
        return []
    if len(rows) > 1 and (cols := qa_columns(rows[0])):
        return [Block(b.text, b.heading_path, page, b.kind) for b in _qa_blocks(rows[1:], rows[0], *cols, path)]
    if header is None:
        header = len(rows) > 1 and _is_header(rows[0])
    head = rows[0] if header and len(rows) > 1 else None
    lines = [render_row(head, row) for row in (rows[1:] if head else rows)]
    text = "\n".join(line for line in lines if line)
    return [Block(text=text, heading_path=path, page=page, kind="table")] if text else []


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        first = sample.split("\n", 1)[0]
        delimiter = max(",;\t|", key=first.count)

        class Fallback(csv.excel):
            pass

        Fallback.delimiter = delimiter if first.count(delimiter) else ","
        return Fallback


def parse_csv(text: str, title: str | None) -> ParsedDocument:
    """CSV or TSV text (dialect sniffed): Q&A pairs or table rows, as for a spreadsheet."""
    sample = text[:65536]
    if "\n" in sample[:65535]:
        sample = sample[: sample.rfind("\n")]
    try:
        rows = []
        for row in csv.reader(io.StringIO(text, newline=""), _dialect(sample)):
            rows.append([cell_text(cell) for cell in row])
            if len(rows) > MAX_ROWS:
                raise IngestError("too_large", f"This file has more than {MAX_ROWS:,} rows; please split it.")
    except csv.Error as exc:
        raise IngestError("corrupt_file", "We could not read this CSV file; check that it is a valid CSV.") from exc
    return ParsedDocument(title=title, blocks=sheet_blocks(rows))
