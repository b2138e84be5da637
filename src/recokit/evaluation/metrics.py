"""Metrics @k, one definition each, written as formulas in docs/evaluation.md.

Accuracy metrics are computed per evaluation case (a customer or a basket) from the ranked list
``L`` (best first, ``|L| <= k``) and the set ``R`` of relevant items (never empty). With
``rel_r = 1`` when the item at rank ``r`` is relevant:

* precision@k  = hits@k / k                       (a short list still divides by k)
* recall@k     = hits@k / |R|                     (ranx, Microsoft Recommenders; LensKit uses min(k, |R|))
* hit_rate@k   = 1 if hits@k > 0 else 0
* ndcg@k       = sum_r rel_r / log2(r + 1)  /  sum_{r <= min(k, |R|)} 1 / log2(r + 1)  (binary gains)
* map@k        = (1 / |R|) * sum_{r <= k} rel_r * precision@r   (ranx's normalisation)
* mrr@k        = 1 / (rank of the first hit within k), 0 without a hit

They agree with ranx to 1e-9 (tests/test_evaluation_metrics.py). The beyond-accuracy and
business metrics are computed over all the lists of a model at one k.

Examples
--------
>>> import numpy as np
>>> recs = np.array([[3, 1, 2]])            # ranked item indices, -1 pads a short list
>>> hits = hit_matrix(recs, [np.array([1, 7])])
>>> hits.tolist()
[[False, True, False]]
>>> m = accuracy(hits, np.array([2]), k=3)
>>> float(m["precision"][0]), float(m["recall"][0]), float(m["mrr"][0])
(0.3333333333333333, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ACCURACY_METRICS",
    "accuracy",
    "average_popularity",
    "catalog_coverage",
    "hit_matrix",
    "intra_list_diversity",
    "novelty",
]

#: The per-case accuracy metrics, in table order.
ACCURACY_METRICS: tuple[str, ...] = ("precision", "recall", "hit_rate", "ndcg", "map", "mrr")


def hit_matrix(recs: np.ndarray, relevant: Sequence[np.ndarray]) -> np.ndarray:
    """``hits[c, r]`` is True when the item at rank ``r + 1`` of case ``c`` is relevant.

    ``recs`` is ``n_cases x K`` item indices (``-1`` pads a short list); ``relevant[c]`` the
    relevant item indices of case ``c``.
    """
    recs = np.atleast_2d(np.asarray(recs, dtype=np.int64))
    n, width = recs.shape
    if n == 0:
        return np.zeros((0, width), dtype=bool)
    lens = np.fromiter((len(r) for r in relevant), dtype=np.int64, count=n)
    rel = np.concatenate([np.asarray(r, dtype=np.int64) for r in relevant]) if lens.sum() else np.empty(0, np.int64)
    case_of_rel = np.repeat(np.arange(n, dtype=np.int64), lens)
    # encode (case, item) pairs as one int64 and look them up
    span = int(max(recs.max(initial=0), rel.max(initial=0))) + 2
    rel_keys = np.unique(case_of_rel * span + rel)
    keys = np.arange(n, dtype=np.int64)[:, None] * span + recs
    hits = np.isin(keys, rel_keys) & (recs >= 0)
    return hits


def accuracy(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-case precision, recall, hit rate, NDCG, MAP and MRR at ``k`` (formulas above).

    ``hits`` comes from :func:`hit_matrix` (at least ``k`` columns are not required: a shorter
    list simply has fewer hits); ``n_relevant`` is ``|R|`` per case (must be >= 1).
    """
    hits = np.asarray(hits, dtype=bool)[:, :k]
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    if (n_rel < 1).any():
        raise ValueError("every case needs at least one relevant item")
    h = hits.astype(np.float64)
    width = h.shape[1]
    ranks = np.arange(1, width + 1, dtype=np.float64)
    n_hits = h.sum(axis=1)
    discounts = 1.0 / np.log2(ranks + 1.0)
    dcg = h @ discounts if width else np.zeros(len(h))
    ideal_cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1, dtype=np.float64) + 1.0))])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    cum_hits = np.cumsum(h, axis=1)
    ap = (h * cum_hits / ranks).sum(axis=1) / n_rel if width else np.zeros(len(h))
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    mrr = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    return {
        "precision": n_hits / k,
        "recall": n_hits / n_rel,
        "hit_rate": (n_hits > 0).astype(np.float64),
        "ndcg": dcg / idcg,
        "map": ap,
        "mrr": mrr,
    }


def catalog_coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list: ``|union of L_c| / n_items``."""
    recs = np.asarray(recs)
    shown = np.unique(recs[recs >= 0])
    return float(len(shown) / n_items) if n_items else float("nan")


def intra_list_diversity(recs: np.ndarray, features: np.ndarray) -> float:
    """Mean over lists of the mean pairwise distance between the list's items.

    ``features`` is either a 1-D array of category codes (one per item: the distance of a pair is
    1 when the categories differ, else 0, so the value is the share of pairs in different
    categories), or a 2-D array of content vectors (distance = 1 - cosine similarity). Lists with
    fewer than two items have no pairs and are left out; NaN when no list has two items.
    """
    recs = np.atleast_2d(np.asarray(recs, dtype=np.int64))
    feats = np.asarray(features)
    values = []
    if feats.ndim == 2:
        norms = np.linalg.norm(feats, axis=1)
        unit = np.divide(feats, norms[:, None], out=np.zeros_like(feats, dtype=np.float64), where=norms[:, None] > 0)
    for row in recs:
        items = row[row >= 0]
        m = len(items)
        if m < 2:
            continue
        iu = np.triu_indices(m, 1)
        if feats.ndim == 1:
            codes = feats[items]
            dist = (codes[:, None] != codes[None, :])[iu]
        else:
            v = unit[items]
            dist = 1.0 - (v @ v.T)[iu]
        values.append(float(np.mean(dist)))
    return float(np.mean(values)) if values else float("nan")


def item_probability(train_counts: np.ndarray, n_customers: int) -> np.ndarray:
    """``p(i) = (n_i + 1) / (N + 1)``: the add-one smoothed share of training customers with item i.

    ``n_i`` is the number of distinct training customers who interacted with ``i`` and ``N`` the
    number of training customers with any interaction; smoothing keeps items unseen in training
    finite (``-log2 p = log2(N + 1)``, the rarest possible).
    """
    return (np.asarray(train_counts, dtype=np.float64) + 1.0) / (n_customers + 1.0)


def novelty(recs: np.ndarray, p: np.ndarray) -> float:
    """Mean self-information of the recommended items, ``mean over (c, r) of -log2 p(L_c[r])``."""
    recs = np.asarray(recs)
    items = recs[recs >= 0]
    return float(np.mean(-np.log2(p[items]))) if len(items) else float("nan")


def average_popularity(recs: np.ndarray, share: np.ndarray) -> float:
    """Mean, over all recommended slots, of the share of training customers who had the item."""
    recs = np.asarray(recs)
    items = recs[recs >= 0]
    return float(np.mean(share[items])) if len(items) else float("nan")
