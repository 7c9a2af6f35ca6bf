"""Hybrid ranking: the lexical score plus a weighted cosine, and a confidence that uses both.

`fuse(lexical_scores, dense_scores, ids, k, params=...)` ranks by `lexical + alpha * cosine`. The lexical score
(`LexicalIndex.scores`) is already comparable across queries (about 1.0 for a chunk holding every query term
once), so no per-query normalisation is needed; when the query's words are not in the knowledge base (another
language) the lexical scores are all small and the cosine decides. Without dense scores the result is exactly
the lexical order (`LexicalIndex.search`). `params_for(embedder_name, language)` gives the weights measured for
an embedder on a language. `fused_confidence` mixes the lexical `confidence()` with a calibrated cosine.

Measured with bench/retrieval_dense.py (MRR@10 on the DEV split; the test split confirms, see the bench):
- Reciprocal-rank fusion (k = 10 or 60, dense weight 0.25..32, BM25 list cut at 20 or not) is worse than the
  better of its two inputs wherever one input is much stronger: MiniLM en .931 vs dense alone .964;
  USE ar .661 vs lexical .807. Not used.
- `lexical + alpha * cosine`, per-query min-max and z-score mixes, min(lexical, 1), sqrt(lexical) and
  lexical / its top score all land within .005 of each other once tuned; the plain weighted sum is kept
  (simplest, keeps the lexical scale, handles "no lexical match"). Best alpha per embedder and language:
  MiniLM en 24 (.967; 8..64 all .965-.967), fr 0.5 (.586 vs lexical .585), ar 0.25 (.810 vs .807: MiniLM
  is English-only, dense alone .018); USE en 3 (.858 vs .807), fr 1.5 (.588 vs .585), ar 0.5 (.808; .811 at
  0.1: the larger weight within .003 is kept for questions asked in another language).
- Confidence, ROC AUC of right vs wrong first hits (dev), lexical confidence on the lexical ranking -> fused
  confidence on the fused ranking: MiniLM en .70 -> .76, fr .73 -> .74, ar .76 -> .76; USE en .70 -> .69,
  fr .73 -> .75, ar .76 -> .75; queries of the other corpora get a mean fused confidence of .01-.13. The
  cosine alone separates less well except MiniLM on English (.75); hence the per-language `conf_weight`.
  The `(1 - coverage) ** 2` floor (see `fused_confidence`) costs at most .01 AUC here and lets the embedding
  speak on the bench's bilingual probe (English questions, French passages, hardly a word in common).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .dense import top_k
from .lexical import confidence
from .types import Hit

__all__ = ["FusionParams", "fuse", "fuse_with_confidence", "fused_confidence", "params_for"]


@dataclass(frozen=True)
class FusionParams:
    """Weights of the fusion for one embedder and language (see the module docstring for the measurements)."""

    alpha: float = 1.0  # weight of the cosine against the lexical score
    conf_weight: float = 0.2  # share of the calibrated cosine in the confidence (the rest: lexical confidence)
    cos_floor: float = 0.25  # cosine of the first hit mapped to confidence 0 (about the best unrelated passage)
    cos_ceiling: float = 0.6  # cosine mapped to confidence 1 (about a typical right first hit)


# (embedder family, language) -> params; language None = any other language (unmeasured: a cautious guess).
_MINILM = {
    "en": FusionParams(24.0, 0.8, 0.35, 0.75),
    "fr": FusionParams(0.5, 0.0, 0.35, 0.75),
    "ar": FusionParams(0.25, 0.0, 0.35, 0.75),
    None: FusionParams(0.25, 0.0, 0.35, 0.75),
}
_USE = {
    "en": FusionParams(3.0, 0.25),
    "fr": FusionParams(1.5, 0.2),
    "ar": FusionParams(0.5, 0.2),
    None: FusionParams(1.0, 0.2),
}
# OpenAI embeddings could not be measured offline: a middle weight and typical cosine ranges of text-embedding-3.
_OTHER = {None: FusionParams(2.0, 0.5, 0.2, 0.6)}
LEXICAL_ONLY = FusionParams(alpha=0.0, conf_weight=0.0)


def params_for(embedder_name: str | None, language: str | None = None) -> FusionParams:
    """Fusion weights for an embedder (`Embedder.name`) on a language (the query's, else the documents')."""
    if not embedder_name:
        return LEXICAL_ONLY
    name = embedder_name.lower()
    table = _MINILM if "minilm" in name else _USE if name.startswith("use") else _OTHER
    lang = (language or "").lower().replace("_", "-").split("-")[0] or None
    return table.get(lang, table[None])


def _rank(
    lexical_scores: np.ndarray, dense_scores: np.ndarray | None, ids: Sequence[str], k: int, params: FusionParams
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the top `k` chunks and the fused scores of all chunks."""
    if len(lexical_scores) != len(ids) or (dense_scores is not None and len(dense_scores) != len(ids)):
        raise ValueError("lexical scores, dense scores and ids must be aligned (one entry per chunk)")
    lexical = np.asarray(lexical_scores, dtype=np.float64)
    if dense_scores is None or params.alpha == 0:
        scores, eligible = lexical, lexical > 0
    else:
        dense = np.asarray(dense_scores, dtype=np.float64)
        scores, eligible = lexical + params.alpha * dense, (lexical > 0) | (dense > 0)
    positions = np.flatnonzero(eligible)
    return positions[top_k(scores[positions], k)], scores


def fuse(
    lexical_scores: np.ndarray,
    dense_scores: np.ndarray | None,
    ids: Sequence[str],
    k: int,
    *,
    params: FusionParams = LEXICAL_ONLY,
) -> list[Hit]:
    """Top `k` chunks by `lexical + alpha * cosine`, best first, ties in insertion order.

    Scores are aligned with `ids` (insertion order). A chunk with no lexical match and a cosine <= 0 (for
    instance no stored vector) is never returned. Without dense scores (or alpha 0): the lexical ranking.
    """
    chosen, scores = _rank(lexical_scores, dense_scores, ids, k, params)
    return [Hit(ids[i], float(scores[i])) for i in chosen]


def fused_confidence(
    lexical_confidence: float, lexical_coverage: float, dense_top: float | None, *, params: FusionParams = LEXICAL_ONLY
) -> float:
    """How likely the first hit answers the query, in [0, 1].

    `lexical_confidence` is `lexical.confidence()` of the lexical hits, `lexical_coverage` the top lexical score
    (the share of the query's attainable score the best chunk reaches), `dense_top` the cosine of the fused
    first hit (None without embeddings). The mix `(1 - w) * lexical + w * dense` is raised to at least
    `dense * (1 - coverage) ** 2`: where the query's words are not in the knowledge base (another language),
    the embedding alone speaks.
    """
    lexical = min(1.0, max(0.0, lexical_confidence))
    if dense_top is None:
        return lexical
    span = max(1e-6, params.cos_ceiling - params.cos_floor)
    dense = min(1.0, max(0.0, (dense_top - params.cos_floor) / span))
    coverage = min(1.0, max(0.0, lexical_coverage))
    mixed = (1.0 - params.conf_weight) * lexical + params.conf_weight * dense
    return min(1.0, max(mixed, dense * (1.0 - coverage) ** 2))


def fuse_with_confidence(
    lexical_scores: np.ndarray,
    dense_scores: np.ndarray | None,
    ids: Sequence[str],
    k: int,
    *,
    params: FusionParams = LEXICAL_ONLY,
) -> tuple[list[Hit], float]:
    """`fuse(...)` and the `fused_confidence` of its first hit, from the same score arrays."""
    chosen, scores = _rank(lexical_scores, dense_scores, ids, k, params)
    hits = [Hit(ids[i], float(scores[i])) for i in chosen]
    lexical = np.asarray(lexical_scores, dtype=np.float64)
    positives = np.flatnonzero(lexical > 0)
    lexical_hits = [Hit(ids[i], float(lexical[i])) for i in positives[top_k(lexical[positives], 10)]]
    lexical_conf = confidence(lexical_hits) if lexical_hits else 0.0
    if dense_scores is None or not hits or params.alpha == 0:
        return hits, lexical_conf
    coverage = float(lexical.max())
    return hits, fused_confidence(lexical_conf, coverage, float(dense_scores[chosen[0]]), params=params)
