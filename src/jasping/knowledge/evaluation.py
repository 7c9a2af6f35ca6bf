"""Offline retrieval evaluation: corpus/queries in JSONL, the dev/test split rule, MRR@10 and hit@k.

Data format (see shared/data/README.md): a corpus line is `{"id", "text"}` (optionally `"language"`), a
query line is `{"id", "text", "relevant_ids": [...]}`. A query whose 0-based position in its file is a
multiple of 5 is in the **test** split, the others are **dev**; tune on dev only.
No web or database code here: this module backs `jasping kb eval`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypedDict

__all__ = ["Document", "Query", "evaluate", "load_corpus", "load_queries", "select_split", "split_of"]

SPLITS = ("dev", "test", "all")


class Document(TypedDict):
    id: str
    text: str
    language: str | None


class Query(TypedDict):
    id: str
    text: str
    relevant_ids: list[str]
    position: int  # 0-based line position in the file: decides the split


def _read_jsonl(path: str | Path) -> Iterable[tuple[int, dict]]:
    with open(path, encoding="utf-8") as handle:
        position = 0
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_number}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "id" not in row or "text" not in row:
                raise ValueError(f"{path}:{line_number}: expected an object with 'id' and 'text'")
            yield position, row
            position += 1


def load_corpus(path: str | Path, language: str | None = None) -> list[Document]:
    """Documents of a corpus JSONL file; `language` is the default when a line has no "language"."""
    return [
        Document(id=str(row["id"]), text=str(row["text"]), language=row.get("language") or language)
        for _, row in _read_jsonl(path)
    ]


def load_queries(path: str | Path) -> list[Query]:
    """Queries of a JSONL file, with their 0-based position (which decides their split)."""
    queries = []
    for position, row in _read_jsonl(path):
        relevant = row.get("relevant_ids")
        if not isinstance(relevant, list):
            raise ValueError(f"{path}: query {row['id']!r} has no 'relevant_ids' list")
        queries.append(
            Query(id=str(row["id"]), text=str(row["text"]), relevant_ids=[str(r) for r in relevant], position=position)
        )
    return queries


def split_of(position: int) -> str:
    """ "test" for a query whose position is a multiple of 5, else "dev"."""
    return "test" if position % 5 == 0 else "dev"


def select_split(queries: Sequence[Query], split: str) -> list[Query]:
    """The queries of a split ("dev", "test" or "all"); a query without "position" takes its list index."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return [q for i, q in enumerate(queries) if split == "all" or split_of(q.get("position", i)) == split]


def evaluate(
    search_fn: Callable[[str], Sequence], queries: Sequence[Query], split: str = "all", k: int = 10
) -> dict[str, float]:
    """Run `search_fn(text)` (returning hits with `chunk_id`, or ids, best first) on the split's queries.

    Returns {"mrr@10", "hit@1", "hit@5", "queries"}: mean reciprocal rank of the first relevant result in
    the top `k` (0 when absent), and the share of queries with a relevant result at rank 1 / in the top 5.
    """
    selected = select_split(queries, split)
    rr = hit1 = hit5 = 0.0
    for query in selected:
        relevant = set(query["relevant_ids"])
        for rank, result in enumerate(list(search_fn(query["text"]))[:k], 1):
            if getattr(result, "chunk_id", result) in relevant:
                rr += 1.0 / rank
                hit1 += rank == 1
                hit5 += rank <= 5
                break
    n = len(selected)
    return {
        f"mrr@{k}": rr / n if n else 0.0,
        "hit@1": hit1 / n if n else 0.0,
        "hit@5": hit5 / n if n else 0.0,
        "queries": n,
    }
