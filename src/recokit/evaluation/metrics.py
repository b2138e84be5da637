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
from typing import Any

import numpy as np

from recokit._errors import ConfigError, DataError

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


# -- input checks: every bad input is a recokit error naming the function and the fix ---------
def _check_k(k: Any, fn: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"{fn}: the 'k' parameter must be an int >= 1. Got {k!r} instead.", hint="pass the list length to score, e.g. k=10.")
    return int(k)


def _int_array(values: Any, what: str, fn: str) -> np.ndarray:
    """``values`` as an int64 array; floats, strings or objects are a DataError (no silent truncation)."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nesting and the like
        raise DataError(f"{fn}: {what} is not a rectangular array ({exc}).", hint=f"pass {what} as a numpy array of item indices.") from None
    if arr.size and arr.dtype.kind not in "iu":
        raise DataError(
            f"{fn}: {what} must hold integer item indices; got dtype {arr.dtype}.", hint="map item ids to indices first (Dataset.item_ids.index)."
        )
    return arr.astype(np.int64)


def _check_recs(recs: Any, fn: str, n_items: int | None = None, n_items_name: str = "n_items") -> np.ndarray:
    """Validated ``n_cases x K`` ranked item indices: integers, ``>= -1`` (``-1`` pads), below ``n_items``."""
    arr = _int_array(recs, "recs", fn)
    arr = np.atleast_2d(arr) if arr.ndim < 2 else arr
    if arr.ndim != 2:
        raise DataError(f"{fn}: recs must be 2-D (n_cases x K); got shape {arr.shape}.", hint="stack one ranked list per row, -1 padding short lists.")
    if arr.size and arr.min() < -1:
        raise DataError(f"{fn}: recs holds the index {int(arr.min())}; item indices are >= 0 and -1 pads a short list.", hint="pad with -1 only.")
    if n_items is not None and arr.size and arr.max() >= n_items:
        raise DataError(
            f"{fn}: recs holds the item index {int(arr.max())}, outside the {n_items} items of {n_items_name}.", hint="score lists against the catalogue (or the per-item array) they were ranked from."
        )
    return arr


def hit_matrix(recs: np.ndarray, relevant: Sequence[np.ndarray]) -> np.ndarray:
    """``hits[c, r]`` is True when the item at rank ``r + 1`` of case ``c`` is relevant.

    ``recs`` is ``n_cases x K`` item indices (``-1`` pads a short list); ``relevant[c]`` the
    relevant item indices of case ``c``.
    """
    recs = _check_recs(recs, "hit_matrix")
    n, width = recs.shape
    if isinstance(relevant, (str, bytes)) or not isinstance(relevant, Sequence | np.ndarray):
        raise DataError(f"hit_matrix: relevant must be a sequence of index arrays, one per case; got {type(relevant).__name__}.", hint="pass a list.")
    if len(relevant) != n:
        raise DataError(
            f"hit_matrix: recs has {n} case(s) but relevant has {len(relevant)}.", hint="give one array of relevant item indices per row of recs."
        )
    if n == 0:
        return np.zeros((0, width), dtype=bool)
    rel_arrays = [_int_array(r, f"relevant[{c}]", "hit_matrix").ravel() for c, r in enumerate(relevant)]
    lens = np.fromiter((len(r) for r in rel_arrays), dtype=np.int64, count=n)
    rel = np.concatenate(rel_arrays) if lens.sum() else np.empty(0, np.int64)
    if len(rel) and rel.min() < 0:
        raise DataError(f"hit_matrix: relevant holds the index {int(rel.min())}; item indices are >= 0.", hint="drop unknown items before scoring.")
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
    k = _check_k(k, "accuracy")
    hits, n_rel = _check_hits(hits, n_relevant)
    hits = hits[:, :k]
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


def _check_hits(hits: Any, n_relevant: Any) -> tuple[np.ndarray, np.ndarray]:
    """``hits`` as a 2-D bool matrix and ``n_relevant`` as whole counts >= 1, one per row, consistent with it."""
    h = np.asarray(hits)
    if h.ndim != 2 or (h.size and h.dtype.kind != "b"):
        raise DataError(
            f"accuracy: hits must be a 2-D bool matrix (n_cases x K); got shape {h.shape}, dtype {h.dtype}.", hint="build it with hit_matrix(recs, relevant)."
        )
    h = h.astype(bool)
    n_rel = np.asarray(n_relevant)
    if n_rel.ndim != 1 or len(n_rel) != len(h):
        raise DataError(
            f"accuracy: hits has {len(h)} case(s) but n_relevant has shape {n_rel.shape}.", hint="give one count of relevant items per row of hits."
        )
    if n_rel.size and (n_rel.dtype.kind not in "iuf" or not np.all(np.isfinite(n_rel)) or np.any(n_rel != np.round(n_rel))):
        raise DataError(f"accuracy: n_relevant must hold whole counts; got {n_rel[:5].tolist()}...", hint="pass len(relevant) per case.")
    n_rel = n_rel.astype(np.float64)
    if (n_rel < 1).any():
        raise DataError(
            f"accuracy: every case needs at least one relevant item; case {int(np.argmax(n_rel < 1))} has {n_rel[n_rel < 1][0]:g}.", hint="leave cases without relevant items out of the evaluation (a split never makes them)."
        )
    over = h.sum(axis=1) > n_rel
    if over.any():
        c = int(np.argmax(over))
        raise DataError(
            f"accuracy: case {c} has {int(h[c].sum())} hits but only {n_rel[c]:g} relevant item(s).", hint="a ranked list must not repeat an item, and n_relevant must count every relevant item of the case."
        )
    return h, n_rel


def _check_n_items(n_items: Any) -> int:
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
        raise ConfigError(f"catalog_coverage: the 'n_items' parameter must be an int >= 1. Got {n_items!r} instead.", hint="pass the catalogue size.")
    return int(n_items)


def _per_item(values: Any, what: str, fn: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise DataError(f"{fn}: {what} must be a 1-D numeric array, one value per item; got shape {arr.shape}, dtype {arr.dtype}.", hint=None)
    return arr.astype(np.float64)


def catalog_coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list: ``|union of L_c| / n_items``."""
    n_items = _check_n_items(n_items)
    recs = _check_recs(recs, "catalog_coverage", n_items)
    shown = np.unique(recs[recs >= 0])
    return float(len(shown) / n_items)


def intra_list_diversity(recs: np.ndarray, features: np.ndarray) -> float:
    """Mean over lists of the mean pairwise distance between the list's items.

    ``features`` is either a 1-D array of category codes (one per item: the distance of a pair is
    1 when the categories differ, else 0, so the value is the share of pairs in different
    categories), or a 2-D array of content vectors (distance = 1 - cosine similarity). Lists with
    fewer than two items have no pairs and are left out; NaN when no list has two items.
    """
    feats = np.asarray(features)
    if feats.ndim not in (1, 2) or (feats.ndim == 2 and feats.dtype.kind not in "iuf"):
        raise DataError(
            f"intra_list_diversity: features must be 1-D category codes or a 2-D numeric (n_items x d) array; got shape {feats.shape}, dtype {feats.dtype}.", hint="pass a catalogue column's codes or content vectors."
        )
    recs = _check_recs(recs, "intra_list_diversity", len(feats), "features")
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
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or n_customers < 0:
        raise ConfigError(f"item_probability: the 'n_customers' parameter must be an int >= 0. Got {n_customers!r} instead.")
    counts = _per_item(train_counts, "train_counts", "item_probability")
    if counts.size and (counts.min() < 0 or counts.max() > n_customers):
        raise DataError(
            f"item_probability: train_counts must lie in [0, n_customers={n_customers}]; got values in [{counts.min():g}, {counts.max():g}].", hint="count distinct training customers per item, and pass the number of customers with any interaction."
        )
    return (counts + 1.0) / (n_customers + 1.0)


def novelty(recs: np.ndarray, p: np.ndarray) -> float:
    """Mean self-information of the recommended items, ``mean over (c, r) of -log2 p(L_c[r])``."""
    prob = _per_item(p, "p", "novelty")
    if prob.size and not ((prob > 0) & (prob <= 1)).all():
        raise DataError("novelty: p must hold probabilities in (0, 1].", hint="compute it with item_probability(train_counts, n_customers).")
    recs = _check_recs(recs, "novelty", len(prob), "p")
    items = recs[recs >= 0]
    return float(np.mean(-np.log2(prob[items]))) if len(items) else float("nan")


def average_popularity(recs: np.ndarray, share: np.ndarray) -> float:
    """Mean, over all recommended slots, of the share of training customers who had the item."""
    shares = _per_item(share, "share", "average_popularity")
    recs = _check_recs(recs, "average_popularity", len(shares), "share")
    items = recs[recs >= 0]
    return float(np.mean(shares[items])) if len(items) else float("nan")
