"""Ranking a :class:`~recokit.core.batch.ScoreBlock` under a
:class:`~recokit.core.batch.Restriction`, and back-filling short lists: the select stage's parts.

Every ranking in recokit goes through :func:`~recokit.core.topk.top_k` (dense) or
:func:`~recokit.core.topk.top_k_coo` (sparse), so the order is the same everywhere: higher score
first, then the smaller tie rank (a model's: its shop's best sellers first), else the smaller item
index.
"""

from __future__ import annotations

import numpy as np

from recokit.core.batch import Restriction, ScoreBlock
from recokit.core.topk import top_k, top_k_blocked, top_k_coo
from recokit.data import entry_rows

__all__ = ["apply_restriction", "fill_from_order", "rank"]

#: A sparse block storing more than this share of its cells is ranked dense (measured faster).
DENSE_ABOVE = 0.1


def apply_restriction(values: np.ndarray, restriction: Restriction) -> np.ndarray:
    """Set the disallowed cells of a dense ``rows x items`` array to NaN, in place; returns it."""
    if restriction.item_mask is not None and not restriction.item_mask.all():
        np.copyto(values, np.nan, where=~restriction.item_mask[None, :])
    rows, cols = restriction.blocked_pairs()
    values[rows, cols] = np.nan
    return values


def rank(block: ScoreBlock, restriction: Restriction, k: int, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best allowed scored items of each row: ``(picked, scores)``, -1 / NaN padded;
    equal scores in the order of ``tie`` (each item's rank, e.g. among the best sellers; None:
    the item index)."""
    n = block.shape[0]
    got = block.ranked(restriction, k, tie)  # a lazy block ranks itself
    if got is not None:
        return got
    if block.is_sparse and (n == 1 or block.density < DENSE_ABOVE):
        m = block.to_csr()
        rows = entry_rows(m.indptr)
        cols = m.indices.astype(np.int64)
        vals = m.data
        ok = np.isfinite(vals) & restriction.allows(rows, cols)
        if n == 1:  # one request: rank its own entries, whatever their density
            return _rank_one(cols[ok], vals[ok], k, tie)
        return top_k_coo(rows[ok], cols[ok], vals[ok], n, k, tie)
    if restriction.item_mask is None or restriction.item_mask.all():
        # only per-row blocked items (owned, context, exclusions): ranked without a copy
        return top_k_blocked(block.to_dense(), *restriction.blocked_pairs(), k, tie)
    values = apply_restriction(block.to_dense(copy=True), restriction)
    picked = top_k(values, None, k, tie)
    scores = np.where(picked >= 0, np.take_along_axis(values, np.maximum(picked, 0), axis=1), np.nan)
    return picked, scores


def _rank_one(cols: np.ndarray, vals: np.ndarray, k: int, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of one row's entries, in :func:`top_k`'s order (higher score, then the
    smaller tie rank or item index): the entries at or above the k-th best score, sorted."""
    if len(vals) > 4 * k:  # keep every entry tied with the k-th best, so the order stays exact
        neg = np.negative(vals)
        keep = neg <= np.partition(neg, k - 1)[k - 1]
        cols, vals = cols[keep], vals[keep]
    best = np.lexsort((cols if tie is None else tie[cols], -vals))[:k]
    picked = np.full((1, k), -1, dtype=np.int64)
    scores = np.full((1, k), np.nan)
    picked[0, : len(best)] = cols[best]
    scores[0, : len(best)] = vals[best]
    return picked, scores


def fill_from_order(
    picked: np.ndarray, allowed: np.ndarray, order_score: np.ndarray, rows: np.ndarray, tie: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the empty (-1) trailing slots of ``picked[rows]`` with the best allowed items by
    ``order_score`` (one row of scores per entry of ``rows``, NaN = not a candidate) that are not
    already in the row. ``allowed`` is the dense allowed mask of those rows. Modifies ``picked``
    in place; returns the ``(row, slot)`` positions that were filled. Equal scores: by ``tie``
    (see :func:`rank`).
    """
    k = picked.shape[1]
    sub = picked[rows]
    need = (sub < 0).sum(axis=1)
    if not need.any():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ok = allowed.copy()
    r_idx, c_idx = np.nonzero(sub >= 0)
    ok[r_idx, sub[r_idx, c_idx]] = False
    cand = top_k(order_score, ok, int(need.max()), tie)
    filled_r: list[np.ndarray] = []
    filled_c: list[np.ndarray] = []
    for j in np.flatnonzero(need).tolist():
        have = k - int(need[j])
        got = cand[j][cand[j] >= 0][: need[j]]
        sub[j, have : have + len(got)] = got
        filled_r.append(np.full(len(got), rows[j], dtype=np.int64))
        filled_c.append(np.arange(have, have + len(got), dtype=np.int64))
    picked[rows] = sub
    if not filled_r:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(filled_r), np.concatenate(filled_c)
