"""Dense and hybrid retrieval benchmark: lexical vs embeddings vs their fusion on the shared en/fr/ar data.

    .venv/bin/python bench/retrieval_dense.py [--data DIR] [--embedders minilm,use] [--tune] [--json]
                                              [--no-speed | --speed-only] [--threads 1,2]

For each installed embedder (MiniLM: en and fr, ar for information; USE multilingual: en, fr, ar): MRR@10, hit@1,
hit@5 on the dev and test splits (test = query position % 5 == 0) of lexical only, dense only, reciprocal-rank
fusion (k=60, for reference) and the chosen fusion (`fusion.params_for`), plus how well the confidence separates
right from wrong first hits and in-domain from unrelated queries. `--tune` prints the dev sweep of the fusion
weight. A hand-written bilingual probe (English questions about French passages of a clinic, alone and hidden
among the French corpus) shows what lexical search cannot do. Speed: load time (fresh process), passages/s and
query latency per thread count (best of two runs: the machine may be shared). Corpus and query embeddings are
cached in bench/.cache/ (keyed by model and text hash).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from jasping.knowledge.dense import EmbeddingsUnavailable, MiniLMEmbedder, MultilingualUSEEmbedder
from jasping.knowledge.evaluation import evaluate, load_corpus, load_queries
from jasping.knowledge.fusion import FusionParams, fuse, fuse_with_confidence, params_for
from jasping.knowledge.lexical import LexicalIndex
from jasping.knowledge.types import Hit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retrieval_eval import _auc  # noqa: E402

DATASETS = {"stackfaq_en": "en", "covid19faq_fr": "fr", "arcd_ar": "ar"}
EMBEDDERS = {
    "minilm": (MiniLMEmbedder, ("stackfaq_en", "covid19faq_fr", "arcd_ar")),
    "use": (MultilingualUSEEmbedder, ("stackfaq_en", "covid19faq_fr", "arcd_ar")),
}
ALPHAS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "retrieval"
CACHE = Path(__file__).resolve().parent / ".cache"

# Bilingual probe: French passages of an imaginary clinic, English questions written without translating them.
PROBE_FR = {
    "p-hours": "Horaires d'ouverture : le cabinet est ouvert du lundi au vendredi de 8h30 à 19h et le samedi de 9h "
    "à 12h. Il est fermé le dimanche et les jours fériés.",
    "p-prices": "Tarifs : une consultation de médecine générale coûte 30 euros, une consultation de pédiatrie 35 "
    "euros. Le tiers payant est appliqué sur présentation de la carte Vitale.",
    "p-booking": "Prise de rendez-vous : réservez en ligne sur notre site ou appelez le secrétariat au 01 23 45 67 "
    "89. Merci de prévenir au moins 24 heures à l'avance en cas d'annulation.",
    "p-access": "Accès : la clinique se trouve au 12 rue des Lilas, à deux minutes à pied de la station de métro "
    "Bastille. Un parking payant se trouve juste en face de l'entrée.",
    "p-emergency": "Urgences : en dehors des heures d'ouverture, composez le 15 pour joindre le SAMU ou rendez-vous "
    "au service des urgences de l'hôpital Saint-Antoine.",
    "p-flu": "Vaccination : nous vaccinons contre la grippe d'octobre à février, sans rendez-vous, le mercredi "
    "matin. Pensez à apporter votre bon de prise en charge de l'Assurance maladie.",
    "p-results": "Résultats d'analyses : les résultats de prise de sang sont disponibles sous 48 heures dans votre "
    "espace patient. Le médecin vous rappelle si un résultat demande un suivi.",
    "p-payment": "Moyens de paiement : nous acceptons les cartes bancaires, les chèques et les espèces. Une "
    "facture vous est remise après chaque consultation.",
    "p-documents": "Première visite : apportez votre carte Vitale, votre attestation de mutuelle, une pièce "
    "d'identité et vos dernières ordonnances.",
    "p-video": "Téléconsultation : le suivi des traitements peut se faire à distance par vidéo. Le lien de "
    "connexion vous est envoyé par SMS dix minutes avant l'heure prévue.",
}
PROBE_EN = [
    ("What time do you open on Saturday?", "p-hours"),
    ("How much does it cost to see a doctor?", "p-prices"),
    ("How can I book an appointment?", "p-booking"),
    ("Where are you located and is there somewhere to park?", "p-access"),
    ("Who should I call at night if it's urgent?", "p-emergency"),
    ("Can I get a flu shot without booking?", "p-flu"),
    ("When will my blood test results be ready?", "p-results"),
    ("Do you take credit cards?", "p-payment"),
    ("What do I need to bring the first time I come?", "p-documents"),
    ("Is it possible to talk to the doctor online instead of coming in?", "p-video"),
]


def cached_embeddings(embedder, key: str, texts: list[str]) -> np.ndarray:
    """Embeddings of `texts`, read from bench/.cache/ when this model already embedded exactly these texts."""
    digest = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:16]
    path = CACHE / embedder.name / f"{key}-{digest}.npy"
    if path.exists():
        return np.load(path)
    matrix = embedder.embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    return matrix


def rrf(lexical: np.ndarray, dense: np.ndarray, ids: list[str], k: int = 60) -> list[Hit]:
    """Reciprocal-rank fusion of the unfiltered lexical list (every chunk with a score > 0) and the dense list."""
    n = len(ids)
    score = np.zeros(n)
    for scores, keep in ((lexical, lexical > 0), (dense, np.ones(n, bool))):
        rank = np.empty(n)
        rank[np.lexsort((np.arange(n), -scores))] = np.arange(1, n + 1)
        score += np.where(keep, 1.0 / (k + rank), 0.0)
    order = np.lexsort((np.arange(n), -score))[:10]
    return [Hit(ids[i], float(score[i])) for i in order]


def load_dataset(data: Path, name: str) -> dict:
    """Documents, queries, the lexical index and the lexical score matrix of a dataset."""
    lang = DATASETS[name]
    docs = load_corpus(data / name / "corpus.jsonl", language=lang)
    queries = load_queries(data / name / "queries.jsonl")
    index = LexicalIndex.build([(d["id"], d["text"], d["language"]) for d in docs])
    lexical = np.stack([index.scores(q["text"]) for q in queries])
    return {
        "name": name,
        "lang": lang,
        "docs": docs,
        "queries": queries,
        "index": index,
        "lexical": lexical,
        "ids": [d["id"] for d in docs],
    }


def splits(queries: list, ranked: list[list[Hit]]) -> dict:
    """Dev and test metrics of a ranking given per query (position-aligned with `queries`)."""
    by_position = {q["position"]: hits for q, hits in zip(queries, ranked, strict=True)}
    out = {}
    for split in ("dev", "test"):
        chosen = [q for q in queries if (q["position"] % 5 == 0) == (split == "test")]
        texts = {}
        for q in chosen:
            texts.setdefault(q["text"], by_position[q["position"]])
        out[split] = evaluate(lambda text, texts=texts: texts[text], chosen, split="all")
    return out


def run_embedder(label: str, embedder, datasets: dict, names: tuple[str, ...], tune: bool) -> list[dict]:
    """The quality rows of one embedder over its datasets."""
    rows = []
    for name in names:
        ds = datasets[name]
        ids, lexical, queries = ds["ids"], ds["lexical"], ds["queries"]
        corpus = cached_embeddings(embedder, f"{name}-corpus", [d["text"] for d in ds["docs"]])
        vectors = cached_embeddings(embedder, f"{name}-queries", [q["text"] for q in queries])
        dense = vectors @ corpus.T
        params = params_for(embedder.name, ds["lang"])
        fused = [fuse_with_confidence(lexical[i], dense[i], ids, 10, params=params) for i in range(len(queries))]
        methods = {
            "lexical only": [fuse(lexical[i], None, ids, 10) for i in range(len(queries))],
            "dense only": [fuse(np.zeros(len(ids)), dense[i], ids, 10, params=params) for i in range(len(queries))],
            "RRF k=60": [rrf(lexical[i], dense[i], ids) for i in range(len(queries))],
            f"fusion (alpha={params.alpha:g})": [hits for hits, _ in fused],
        }
        for method, ranked in methods.items():
            rows.append({"embedder": label, "dataset": name, "method": method, **splits(queries, ranked)})
        rows[-1]["confidence"] = confidence_report(ds, datasets, embedder, corpus, fused, params)
        if tune:
            sweep = {}
            for alpha in ALPHAS:
                ranked = [fuse(lexical[i], dense[i], ids, 10, params=FusionParams(alpha)) for i in range(len(queries))]
                sweep[alpha] = splits(queries, ranked)["dev"]["mrr@10"]
            rows[-1]["dev_sweep"] = sweep
    return rows


def confidence_report(ds: dict, datasets: dict, embedder, corpus: np.ndarray, fused: list, params) -> dict:
    """AUC of the fused confidence (right vs wrong first hit, dev) and its mean on the other corpora's queries."""
    right, wrong, lex_right, lex_wrong = [], [], [], []
    for i, (q, (hits, conf)) in enumerate(zip(ds["queries"], fused, strict=True)):
        if q["position"] % 5:
            (right if hits and hits[0].chunk_id in q["relevant_ids"] else wrong).append(conf)
            lex_hits, lex_conf = fuse_with_confidence(ds["lexical"][i], None, ds["ids"], 10)
            (lex_right if lex_hits and lex_hits[0].chunk_id in q["relevant_ids"] else lex_wrong).append(lex_conf)
    others = [q["text"] for o, other in datasets.items() if o != ds["name"] for q in other["queries"][::10]]
    dense = cached_embeddings(embedder, f"{ds['name']}-unrelated", others) @ corpus.T
    unrelated = [
        fuse_with_confidence(ds["index"].scores(t), dense[i], ds["ids"], 10, params=params)[1]
        for i, t in enumerate(others)
    ]
    return {
        "auc": _auc(right, wrong),
        "lexical_auc": _auc(lex_right, lex_wrong),
        "right": statistics.fmean(right),
        "wrong": statistics.fmean(wrong),
        "unrelated": statistics.fmean(unrelated),
    }


def probe(embedders: dict, french: dict | None) -> list[dict]:
    """Hit@1 and mean confidence of the bilingual probe: alone, and hidden among the French FAQ corpus."""
    rows = []
    settings = [("10 FR passages", list(PROBE_FR.items()))]
    if french:
        settings.append(
            (
                f"10 FR passages + {len(french['docs'])} FR FAQ",
                list(PROBE_FR.items()) + [(d["id"], d["text"]) for d in french["docs"]],
            )
        )
    for setting, items in settings:
        ids = [i for i, _ in items]
        index = LexicalIndex.build([(i, t, "fr") for i, t in items])
        lexical = [index.scores(q) for q, _ in PROBE_EN]
        variants = [("lexical only", None, None, False)] + [(label, e, None, True) for label, e in embedders.items()]
        variants += [(label, e, None, False) for label, e in embedders.items()]
        variants += [(label, e, "en", False) for label, e in embedders.items()]
        for label, embedder, query_lang, dense_only in variants:
            hit1, confs = 0, []
            if embedder is not None:
                corpus = cached_embeddings(embedder, f"probe-{len(ids)}", [t for _, t in items])
                queries = embedder.embed([q for q, _ in PROBE_EN])
            for i, (_, want) in enumerate(PROBE_EN):
                dense = None if embedder is None else corpus @ queries[i]
                params = params_for(embedder.name if embedder else None, query_lang or "fr")
                lex = np.zeros(len(ids)) if dense_only else lexical[i]
                hits, conf = fuse_with_confidence(lex, dense, ids, 10, params=params)
                hit1 += bool(hits) and hits[0].chunk_id == want
                confs.append(conf)
            method = (
                "lexical only"
                if embedder is None
                else f"dense only, {label}"
                if dense_only
                else f"fusion, {label} ({query_lang or 'fr'} weights)"
            )
            rows.append(
                {
                    "probe": setting,
                    "method": method,
                    "hit@1": hit1 / len(PROBE_EN),
                    "mean confidence": statistics.fmean(confs),
                }
            )
    return rows


def speed(label: str, data: Path, threads: int) -> dict:
    """Load time in a fresh process, then passages/s (first 100 of each corpus) and query latency."""
    cls = EMBEDDERS[label][0].__name__
    script = (
        f"import time; t=time.perf_counter(); from jasping.knowledge.dense import {cls}; e={cls}(threads={threads}); "
        "e.model(); print(time.perf_counter()-t)"
    )
    load = float(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()[-1]
    )
    embedder = EMBEDDERS[label][0](threads=threads)
    embedder.model()
    embedder.embed(["warm up", "échauffement"])
    row = {"embedder": f"{label}, {threads} thread(s)", "model": embedder.name, "dim": embedder.dim, "load_s": load}
    for name, lang in DATASETS.items():
        passages = [d["text"] for d in load_corpus(data / name / "corpus.jsonl")[:100]]
        best = float("inf")
        for _ in range(2):  # best of two: the machine may be shared
            start = time.perf_counter()
            embedder.embed(passages)
            best = min(best, time.perf_counter() - start)
        row[f"passages_per_s_{lang}"] = len(passages) / best
        row[f"chars_{lang}"] = statistics.fmean(map(len, passages))
    queries = [q["text"] for name in DATASETS for q in load_queries(data / name / "queries.jsonl")[:30]]
    times = []
    for text in queries:
        start = time.perf_counter()
        embedder.embed_query(text)
        times.append((time.perf_counter() - start) * 1000)
    row["query_ms_p50"] = statistics.median(times)
    return row


def markdown(rows: list[dict], probes: list[dict], speeds: list[dict]) -> str:
    out = [
        "| embedder | dataset | method | dev MRR@10 | dev hit@1 | dev hit@5 | test MRR@10 | test hit@1 | test hit@5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d, t = r["dev"], r["test"]
        out.append(
            f"| {r['embedder']} | {r['dataset']} | {r['method']} | {d['mrr@10']:.3f} | {d['hit@1']:.3f} | "
            f"{d['hit@5']:.3f} | {t['mrr@10']:.3f} | {t['hit@1']:.3f} | {t['hit@5']:.3f} |"
        )
    out += [
        "",
        "| embedder | dataset | confidence AUC right vs wrong first hit (dev): lexical / fused | fused "
        "confidence, mean: right / wrong / unrelated queries |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if "confidence" in r:
            c = r["confidence"]
            out.append(
                f"| {r['embedder']} | {r['dataset']} | {c['lexical_auc']:.2f} / {c['auc']:.2f} | "
                f"{c['right']:.2f} / {c['wrong']:.2f}"
                f" / {c['unrelated']:.2f} |"
            )
    sweeps = [r for r in rows if "dev_sweep" in r]
    if sweeps:
        out += [
            "",
            "| embedder | dataset | " + " | ".join(f"α={a:g}" for a in ALPHAS) + " |",
            "|---|---|" + "---|" * len(ALPHAS),
        ]
        out += [
            f"| {r['embedder']} | {r['dataset']} | " + " | ".join(f"{v:.3f}" for v in r["dev_sweep"].values()) + " |"
            for r in sweeps
        ]
    if probes:
        out += ["", "| bilingual probe (10 EN questions) | method | hit@1 | mean confidence |", "|---|---|---|---|"]
        out += [f"| {p['probe']} | {p['method']} | {p['hit@1']:.1f} | {p['mean confidence']:.2f} |" for p in probes]
    if speeds:
        langs = list(DATASETS.values())
        out += [
            "",
            "| embedder | model | dim | load (s, fresh process) | "
            + " | ".join(f"passages/s {x} (avg chars)" for x in langs)
            + " | query p50 (ms) |",
            "|---|---|---|---|" + "---|" * len(langs) + "---|",
        ]
        out += [
            f"| {s['embedder']} | {s['model']} | {s['dim']} | {s['load_s']:.1f} | "
            + " | ".join(f"{s[f'passages_per_s_{x}']:.1f} ({s[f'chars_{x}']:.0f})" for x in langs)
            + f" | {s['query_ms_p50']:.1f} |"
            for s in speeds
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the datasets")
    parser.add_argument("--embedders", default="minilm,use", help="comma-separated: minilm, use")
    parser.add_argument("--tune", action="store_true", help="print the dev sweep of the fusion weight")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--no-speed", action="store_true", help="skip the load time and throughput measurements")
    parser.add_argument("--speed-only", action="store_true", help="only the load time and throughput")
    parser.add_argument(
        "--threads",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1],
        help="BLAS / torch threads for the speed test, comma-separated (default 1)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    datasets = {} if args.speed_only else {name: load_dataset(args.data, name) for name in DATASETS}
    rows, embedders, speeds = [], {}, []
    for label in [x.strip() for x in args.embedders.split(",") if x.strip()]:
        cls, names = EMBEDDERS[label]
        try:
            embedder = cls()
        except EmbeddingsUnavailable as exc:
            print(f"skipping {label}: {exc}", file=sys.stderr)
            continue
        embedders[label] = embedder
        if not args.speed_only:
            rows += run_embedder(label, embedder, datasets, names, args.tune)
        if not args.no_speed:
            speeds += [speed(label, args.data, threads) for threads in args.threads]
    probes = [] if args.speed_only else probe(embedders, datasets.get("covid19faq_fr"))
    if args.json:
        print(json.dumps({"quality": rows, "probe": probes, "speed": speeds}, indent=2, default=str))
    else:
        print(markdown(rows, probes, speeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
