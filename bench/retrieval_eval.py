"""Lexical retrieval benchmark: quality on the shared en/fr/ar data, speed, and a 20,000-chunk scale test.

    .venv/bin/python bench/retrieval_eval.py [--data DIR] [--json] [--scale 20000] [--no-scale]

For each dataset in shared/data/retrieval/ (the dataset's language is passed as the documents' language,
queries go without a language, as the agent sends them): MRR@10, hit@1 and hit@5 on the dev and test
splits (test = query position % 5 == 0), index build time, query latency p50/p95, and how well
`confidence()` separates right from wrong top hits (ROC AUC) and in-domain from unrelated queries (mean
confidence of the other datasets' queries). The scale test builds synthetic ~500-character chunks by
recombining sentences of the three corpora (realistic vocabulary) and times 1,000 queries against them.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

from jasping.knowledge.evaluation import evaluate, load_corpus, load_queries
from jasping.knowledge.lexical import LexicalIndex, confidence

DATASETS = {"stackfaq_en": "en", "covid19faq_fr": "fr", "arcd_ar": "ar"}
TARGETS = {"stackfaq_en": 0.83, "covid19faq_fr": 0.55, "arcd_ar": 0.76}  # test MRR@10
BASELINES = {"stackfaq_en": 0.812, "covid19faq_fr": 0.471, "arcd_ar": 0.731}  # bm25s + snowball, all queries
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "retrieval"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def _timed_searches(index: LexicalIndex, texts: list[str]) -> tuple[list, list[float]]:
    results, times = [], []
    for text in texts:
        start = time.perf_counter()
        results.append(index.search(text, k=10))
        times.append((time.perf_counter() - start) * 1000.0)
    return results, times


def _auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    ranked = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(label for _, label in ranked[i:j]) * (i + j + 1) / 2.0
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def run_dataset(folder: Path, lang: str, others: list[str]) -> dict:
    docs = load_corpus(folder / "corpus.jsonl", language=lang)
    queries = load_queries(folder / "queries.jsonl")
    items = [(d["id"], d["text"], d["language"]) for d in docs]
    builds = []
    for _ in range(3):
        start = time.perf_counter()
        index = LexicalIndex.build(items)
        builds.append(time.perf_counter() - start)
    results, times = _timed_searches(index, [q["text"] for q in queries])
    by_text = {q["text"]: hits for q, hits in zip(queries, results, strict=True)}
    row: dict = {
        "dataset": folder.name,
        "language": lang,
        "documents": len(docs),
        "queries": len(queries),
        "build_s": min(builds),
        "index_mb": index.nbytes / 1e6,
        "p50_ms": statistics.median(times),
        "p95_ms": _percentile(times, 0.95),
    }
    for split in ("dev", "test"):
        row[split] = evaluate(lambda text: by_text[text], queries, split)
    right, wrong = [], []
    for q, hits in zip(queries, results, strict=True):
        (right if hits and hits[0].chunk_id in q["relevant_ids"] else wrong).append(confidence(hits))
    unrelated = [confidence(index.search(text, k=10)) for text in others]
    row["confidence"] = {
        "auc_top1": _auc(right, wrong),
        "mean_in_domain": statistics.fmean(right + wrong),
        "mean_unrelated": statistics.fmean(unrelated) if unrelated else float("nan"),
        "below_0.3_wrong": sum(c < 0.3 for c in wrong) / max(1, len(wrong)),
        "below_0.3_right": sum(c < 0.3 for c in right) / max(1, len(right)),
    }
    return row


def scale_test(data: Path, n_chunks: int, n_queries: int = 1000, seed: int = 7) -> list[dict]:
    """Synthetic chunks of ~500 characters made of random sentences of the real corpora."""
    rng = random.Random(seed)
    sentences, queries = {}, []
    for name, lang in DATASETS.items():
        texts = [d["text"] for d in load_corpus(data / name / "corpus.jsonl")]
        sentences[lang] = [s for t in texts for s in re.split(r"(?<=[.!?؟])\s+|\n+", t) if len(s) > 20]
        queries += [q["text"] for q in load_queries(data / name / "queries.jsonl")]
    rows = []
    for label, langs in (("mixed en/fr/ar", list(DATASETS.values())), ("English only", ["en"])):
        items = []
        for i in range(n_chunks):
            lang = langs[i % len(langs)]
            parts: list[str] = []
            while sum(map(len, parts)) < 450:
                parts.append(rng.choice(sentences[lang]))
            items.append((f"c{i}", " ".join(parts), lang))
        pool = queries if len(langs) > 1 else [q for q in queries if q.isascii()]
        sample = rng.sample(pool, min(n_queries, len(pool)))
        start = time.perf_counter()
        index = LexicalIndex.build(items)
        build = time.perf_counter() - start
        _timed_searches(index, sample[:50])  # warm-up
        _, times = _timed_searches(index, sample)
        rows.append(
            {
                "dataset": f"synthetic {n_chunks:,} chunks, {label}",
                "documents": n_chunks,
                "queries": len(sample),
                "avg_chars": statistics.fmean(len(t) for _, t, _ in items),
                "build_s": build,
                "index_mb": index.nbytes / 1e6,
                "p50_ms": statistics.median(times),
                "p95_ms": _percentile(times, 0.95),
            }
        )
    return rows


def markdown(rows: list[dict], scale: list[dict]) -> str:
    out = [
        "| dataset | split | queries | MRR@10 | hit@1 | hit@5 | target (test) | baseline (all) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for split in ("dev", "test"):
            r = row[split]
            target = f"≥ {TARGETS[row['dataset']]:.2f}" if split == "test" else ""
            out.append(
                f"| {row['dataset']} | {split} | {r['queries']} | {r['mrr@10']:.3f} | {r['hit@1']:.3f} | "
                f"{r['hit@5']:.3f} | {target} | {BASELINES[row['dataset']]:.3f} |"
            )
    out += [
        "",
        "| index | docs | queries | build (s) | postings (MB) | query p50 (ms) | query p95 (ms) | confidence "
        "AUC (top-1 right vs wrong) | mean confidence in-domain / unrelated | below 0.3: wrong / right top-1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows + scale:
        c = row.get("confidence")
        conf = (
            f"{c['auc_top1']:.2f} | {c['mean_in_domain']:.2f} / {c['mean_unrelated']:.2f} | "
            f"{c['below_0.3_wrong']:.0%} / {c['below_0.3_right']:.0%}"
            if c
            else " | | "
        )
        out.append(
            f"| {row['dataset']} | {row['documents']:,} | {row['queries']:,} | {row['build_s']:.2f} | "
            f"{row['index_mb']:.1f} | "
            f"{row['p50_ms']:.3f} | {row['p95_ms']:.3f} | {conf} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the datasets")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--scale", type=int, default=20_000, help="chunks in the synthetic scale test")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale test")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    all_queries = {name: [q["text"] for q in load_queries(args.data / name / "queries.jsonl")] for name in DATASETS}
    rows = []
    for name, lang in DATASETS.items():
        others = [t for other, texts in all_queries.items() if other != name for t in texts[::10]]
        rows.append(run_dataset(args.data / name, lang, others))
    scale = [] if args.no_scale else scale_test(args.data, args.scale)
    if args.json:
        print(json.dumps({"datasets": rows, "scale": scale}, indent=2))
    else:
        print(markdown(rows, scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
