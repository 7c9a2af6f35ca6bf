"""Tables in PDF pages with pdfplumber: ruled grids (find_tables) and columns aligned without lines."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

import pdfplumber

from .tables import _is_header

log = logging.getLogger(__name__)

MAX_TABLE_PAGES = 100  # pages of one document given to pdfplumber (about 30-80 ms each); the rest stay plain text
MIN_PATHS = 4  # drawn rectangles and line segments that make a page worth a look for a ruled table
MIN_ALIGNED_LINES = 3  # lines sharing a column start that make it worth a look for a table without lines
GAP_RATIO = 0.45  # a blank wider than this many font sizes separates two cells of a line
PROSE_WORDS = 6  # a "table" whose typical cell has more words than this is two columns of prose

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom in points from the page's top-left corner


@dataclass
class PageTable:
    """One table of a page: its rows of cells (the header first when header is True) and where it lies."""

    bbox: BBox
    rows: list[list[str]]
    header: bool
    sizes: Counter[float] = field(default_factory=Counter)  # characters per font size, for the body size

    def holds(self, x: float, top: float) -> bool:
        x0, t0, x1, t1 = self.bbox
        return x0 - 2 <= x <= x1 + 2 and t0 - 2 <= top <= t1 + 2


def worth_a_look(positions: list[tuple[float, float]], paths: int) -> bool:
    """Whether a page may hold a table: drawn lines, or text runs starting at one x on several lines."""
    if paths >= MIN_PATHS:
        return True
    lines: dict[int, list[float]] = {}
    for x, top in positions:
        lines.setdefault(round(top), []).append(x)
    starts: Counter[int] = Counter()
    for xs in lines.values():
        starts.update({round(x) for x in sorted(xs)[1:] if x - min(xs) > 20})
    return any(starts[x - 1] + starts[x] + starts[x + 1] >= MIN_ALIGNED_LINES for x in starts)


def _cell(text: str | None) -> str:
    return re.sub(r"\s+", " ", re.sub(r"(\w)-\n(?=[a-zà-ÿ])", r"\1", text or "")).strip()


def _chars_in(chars: list[dict], bbox: BBox) -> list[dict]:
    x0, top, x1, bottom = bbox
    return [
        c
        for c in chars
        if x0 - 1 <= c["x0"] and c["x1"] <= x1 + 1 and top - 1 <= c["top"] and c["bottom"] <= bottom + 1
    ]


def _bold(chars: list[dict]) -> bool:
    letters = [c for c in chars if c["text"].strip()]
    return bool(letters) and all("bold" in c.get("fontname", "").lower() for c in letters)


def _sizes(chars: list[dict]) -> Counter[float]:
    return Counter(round(float(c.get("size", 0)) * 2) / 2 for c in chars if c["text"].strip())


def _merge_header(rows: list[list[str | None]], header: bool) -> tuple[list[list[str]], bool]:
    """Merged header cells: the spanning label carried right, and joined to a second header row beneath it."""
    if len(rows) < 3 or not any(cell is None or cell == "" for cell in rows[0][1:]):
        return [[cell or "" for cell in row] for row in rows], header
    top = [cell or "" for cell in rows[0]]
    for i in range(1, len(top)):
        if not top[i]:
            top[i] = top[i - 1]
    below = [cell or "" for cell in rows[1]]
    if (
        not any(below)
        or any(re.search(r"\d", cell) for cell in below)
        or not all(top[i] or below[i] for i in range(len(top)))
    ):
        return [[cell or "" for cell in row] for row in rows], header
    joined = [f"{a} {b}".strip() if a != b else a for a, b in zip(top, below, strict=True)]
    return [joined] + [[cell or "" for cell in row] for row in rows[2:]], True


def _carry_down(rows: list[list[str]], first: int) -> list[list[str]]:
    """An empty first cell under a filled one means "same as above" when the rest of the row is filled."""
    for i in range(max(first, 1), len(rows)):
        if not rows[i][0] and rows[i - 1][0] and i - 1 >= first and sum(1 for c in rows[i][1:] if c) >= 1:
            rows[i][0] = rows[i - 1][0]
    return rows


def _finish(bbox: BBox, raw: list[list[str | None]], bold_head: bool, sizes: Counter[float]) -> PageTable | None:
    raw = [row for row in raw if any(cell for cell in row)]
    if len(raw) < 2 or max(len(row) for row in raw) < 2:
        return None
    rows, merged = _merge_header(raw, bold_head)
    header = merged or bold_head or (len(rows) > 1 and _is_header(rows[0]))
    return PageTable(bbox, _carry_down(rows, 1 if header else 0), header, sizes)


def ruled_tables(page) -> list[PageTable]:
    """Tables drawn with ruling lines (pdfplumber's lines strategy); single cells and one-column boxes skipped."""
    found = []
    chars = page.chars
    for table in page.find_tables():
        raw = [[_cell(cell) if cell is not None else None for cell in row] for row in table.extract()]
        inside = _chars_in(chars, table.bbox)
        head_cells = [c for c in table.rows[0].cells if c] if table.rows else []
        head_chars = [ch for cell in head_cells for ch in _chars_in(inside, cell)]
        body_chars = [ch for ch in inside if ch not in head_chars]
        bold_head = _bold(head_chars) and not _bold(body_chars)
        if result := _finish(table.bbox, raw, bold_head, _sizes(inside)):
            found.append(result)
    return found


# ---- tables without ruling lines: cells are runs of words, columns the blanks that cross every line -------------


@dataclass
class _Run:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


def _run(chars: list[dict]) -> _Run:
    text = re.sub(r"\s+", " ", "".join(c["text"] for c in chars)).strip()
    letters = [c for c in chars if c["text"].strip()]
    size = median(float(c.get("size") or 10) for c in letters)
    bold = all("bold" in c.get("fontname", "").lower() for c in letters)
    return _Run(
        text,
        letters[0]["x0"],
        letters[-1]["x1"],
        min(c["top"] for c in letters),
        max(c["bottom"] for c in letters),
        size,
        bold,
    )


def _split_line(chars: list[dict]) -> list[_Run]:
    """A line's characters cut into runs where a blank without a space character is wider than GAP_RATIO."""
    runs: list[_Run] = []
    current: list[dict] = []
    spaced = False
    for c in chars:
        if not c["text"].strip():
            spaced = bool(current)
            current.append(c)
            continue
        letters = [x for x in current if x["text"].strip()]
        if letters:
            gap, size = c["x0"] - letters[-1]["x1"], float(c.get("size") or 10)
            if gap > (2.5 if spaced else GAP_RATIO) * size:
                runs.append(_run(current))
                current = []
        current.append(c)
        spaced = False
    if any(x["text"].strip() for x in current):
        runs.append(_run(current))
    return runs


def _lines(chars: list[dict]) -> list[list[_Run]]:
    """Upright characters grouped into lines (by top), each line cut into runs of text."""
    rows: list[list[dict]] = []
    for c in sorted((c for c in chars if c.get("upright", True)), key=lambda c: (round(c["top"]), c["x0"])):
        size = float(c.get("size") or 10)
        if rows and abs(rows[-1][0]["top"] - c["top"]) <= 0.3 * size:
            rows[-1].append(c)
        else:
            rows.append([c])
    lines = [_split_line(sorted(row, key=lambda c: c["x0"])) for row in rows]
    return [line for line in lines if line]


def _columns(bands: list[list[_Run]]) -> list[tuple[float, float]]:
    """Column spans between the blanks that no row of several cells covers (a first row that covers one, such as
    a merged header cell, is left out when the others agree on more columns)."""
    multi = [band for band in bands if _multi(band)]
    spans = _spans(multi)
    if len(multi) >= 4 and len(rest := _spans(multi[1:])) > len(spans):
        return rest
    return spans


def _spans(multi: list[list[_Run]]) -> list[tuple[float, float]]:
    left, right = min(r.x0 for line in multi for r in line), max(r.x1 for line in multi for r in line)
    covered = [False] * (int(right - left) + 2)
    for line in multi:
        for r in line:
            for x in range(int(r.x0 - left), int(r.x1 - left) + 1):
                covered[x] = True
    least = max(4.0, 0.4 * median(r.size for line in multi for r in line))
    spans, start, x = [], 0, 0
    while x < len(covered):
        end = x
        while end < len(covered) and not covered[end]:
            end += 1
        if end - x >= least and x > start:
            spans.append((left + start, left + x))
            start = end
        x = end + 1
    spans.append((left + start, right))
    return spans


def _column_of(run: _Run, spans: list[tuple[float, float]]) -> int:
    middle = (run.x0 + run.x1) / 2
    return min(
        range(len(spans)),
        key=lambda i: (
            0 if spans[i][0] <= middle <= spans[i][1] else min(abs(middle - spans[i][0]), abs(middle - spans[i][1]))
        ),
    )


def _aligned_table(bands: list[list[_Run]]) -> PageTable | None:
    spans = _columns(bands)
    if len(spans) < 2:
        return None
    rows: list[list[str]] = []
    bold: list[bool] = []
    for band in bands:
        cells: list[list[_Run]] = [[] for _ in spans]
        for run in sorted(band, key=lambda r: (r.top, r.x0)):
            cells[_column_of(run, spans)].append(run)
        row = [_cell("\n".join(r.text for r in cell)) for cell in cells]
        filled = sum(1 for c in row if c)
        if rows and filled <= max(1, (len(spans) - 1) // 2) and not (bold[-1] and not all(r.bold for r in band)):
            rows[-1] = [f"{a} {b}".strip() if b else a for a, b in zip(rows[-1], row, strict=True)]  # a wrapped cell
        else:
            rows.append(row)
            bold.append(all(r.bold for r in band))
    texts = [c for row in rows for c in row if c]
    if len(rows) < 2 or median(len(c.split()) for c in texts) > PROSE_WORDS:
        return None
    if any(sum(1 for row in rows if row[i]) < 2 for i in range(len(spans))):
        return None
    runs = [r for band in bands for r in band]
    bbox = (min(r.x0 for r in runs), min(r.top for r in runs), max(r.x1 for r in runs), max(r.bottom for r in runs))
    sizes: Counter[float] = Counter()
    for r in runs:
        sizes[round(r.size * 2) / 2] += len(r.text.replace(" ", ""))
    return _finish(bbox, rows, bool(bold[0]) and not all(bold[1:]), sizes)


def _fits(run: _Run, spans: list[tuple[float, float]]) -> bool:
    """Whether a run lies in one column: from its start to before the next column (a wrapped cell may be wider)."""
    for i, (start, _) in enumerate(spans):
        after = spans[i - 1][1] if i else float("-inf")
        before = spans[i + 1][0] if i + 1 < len(spans) else float("inf")
        if start - 2 <= run.x0 and after < run.x0 and run.x1 < before:
            return True
    return False


def _bands(lines: list[list[_Run]]) -> list[list[_Run]]:
    """Lines whose boxes touch or overlap vertically, together: the lines of one table row."""
    bands: list[list[_Run]] = []
    for line in lines:
        if bands and min(r.top for r in line) - max(r.bottom for r in bands[-1]) <= 1:
            bands[-1].extend(line)
        else:
            bands.append(list(line))
    return bands


def _multi(band: list[_Run]) -> bool:
    """Whether a band holds runs side by side (two cells or more), not only lines above one another."""
    intervals = sorted((r.x0, r.x1) for r in band)
    end = intervals[0][1]
    for x0, x1 in intervals[1:]:
        if x0 > end + 2:
            return True
        end = max(end, x1)
    return False


def _gap(upper: list[_Run], lower: list[_Run]) -> float:
    return min(r.top for r in lower) - max(r.bottom for r in upper)


def aligned_tables(page, skip: list[BBox]) -> list[PageTable]:
    """Tables drawn without lines: three or more rows of cells in shared columns, outside the skip boxes."""
    chars = [
        c
        for c in page.chars
        if not any(b[0] - 1 <= c["x0"] and c["x1"] <= b[2] + 1 and b[1] - 1 <= c["top"] <= b[3] + 1 for b in skip)
    ]
    bands = _bands(_lines(chars))
    multi = [_multi(band) for band in bands]
    found: list[PageTable] = []
    i = 0
    while i < len(bands):
        if not multi[i]:
            i += 1
            continue
        j = i + 1  # rows of cells, with up to two wrapped lines between them
        while j < len(bands) and _gap(bands[j - 1], bands[j]) <= 2.5 * bands[j][0].size:
            if not (multi[j] or (j + 1 < len(bands) and multi[j + 1]) or (j + 2 < len(bands) and multi[j + 2])):
                break
            j += 1
        while j > i and not multi[j - 1]:
            j -= 1
        block = bands[i:j]
        if sum(1 for band in block if _multi(band)) >= MIN_ALIGNED_LINES:
            spans = _columns(block)
            while (
                j < len(bands)
                and all(_fits(r, spans) for r in bands[j])
                and (multi[j] or (len(bands[j]) == 1 and _gap(block[-1], bands[j]) <= 0.5 * bands[j][0].size))
                and _gap(block[-1], bands[j]) <= 2.5 * bands[j][0].size
            ):
                block.append(bands[j])  # a last row whose cells are all on the lines of one band, or a wrapped cell
                j += 1
            if table := _aligned_table(block):
                found.append(table)
                i = j
                continue
        i += 1
    return found


class TableFinder:
    """pdfplumber over the same file, opened on the first page worth a look; any failure means "no tables"."""

    def __init__(self, data: bytes, page_count: int, *, limit: int | None = None) -> None:
        self.data, self.page_count = data, page_count
        self.budget = MAX_TABLE_PAGES if limit is None else limit
        self.pdf = None
        self.broken = False

    def tables(self, index: int) -> list[PageTable]:
        """The tables of page index (0-based), in reading order; [] past the page budget or on any error."""
        if self.broken or self.budget <= 0:
            return []
        self.budget -= 1
        try:
            if self.pdf is None:
                self.broken = True  # until it opens with the same pages as pypdf
                self.pdf = pdfplumber.open(io.BytesIO(self.data))
                if len(self.pdf.pages) != self.page_count:
                    raise ValueError("pdfplumber and pypdf disagree on the page count")
                self.broken = False
            page = self.pdf.pages[index]
            try:
                ruled = ruled_tables(page)
                found = ruled + aligned_tables(page, [t.bbox for t in ruled])
            finally:
                page.close()
        except Exception as exc:  # a table step that fails leaves the page to the plain text path
            log.info("table detection skipped on page %d: %s", index + 1, type(exc).__name__)
            return []
        return sorted(found, key=lambda t: (t.bbox[1], t.bbox[0]))

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
