"""Frequent itemsets of any size, counted exactly from a sparse basket matrix (level-wise Apriori).

Level ``L + 1`` is counted from the frequent itemsets of level ``L`` only (support is
anti-monotone: an itemset is at most as frequent as any of its subsets, so a frequent
``(L + 1)``-itemset is a frequent ``L``-itemset plus one item after its last). The baskets are
read as CSR rows with sorted items. An *occurrence* of an itemset is a basket holding it, written
as the position of its last item in ``indices``: the occurrences of level ``L`` come from those of
level ``L - 1`` by taking each basket's later items and keeping the extensions that are frequent
(a look-up among sorted keys), and every occurrence of a frequent ``L``-itemset extended by each
later item of its basket is one basket holding a candidate ``(L + 1)``-itemset. Those are
counted -- in dense int64 counters over a block of ``L``-itemsets and the items still in play, or
as sorted keys when few -- and the counts at or above the threshold are the next level.

Every count is an integer, exact; no baskets x items array is ever dense. Memory is bounded by
``budget`` occurrences extended at a time and ``cells`` counters per block (the level's
itemsets are taken a block at a time, each block's occurrences found from the positions of its
first items), besides the basket matrix and the levels themselves. Items in no frequent
itemset of a level, and baskets too small for the next, are dropped before it.

An itemset of level ``L`` is a row of :attr:`ItemsetLevel.items` (increasing item indices;
rows in lexicographic order). Its *parent* is the row of its first ``L - 1`` items in the level
below, and ``keys = parent * n_items + last item`` (increasing) finds it again: see
:func:`itemset_rows`.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> b = sp.csr_array(np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]]))
>>> levels = frequent_itemsets(b, min_count=2, max_len=None)
>>> [lv.items.tolist() for lv in levels[2:]], [lv.counts.tolist() for lv in levels[2:]]
([[[0, 1, 2], [1, 2, 3]]], [[2, 2]])
>>> itemset_rows(levels, np.array([[1, 2, 3], [0, 2, 3]])).tolist()
[1, -1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recokit.data.arrays import entry_rows, ragged_ranges

__all__ = ["DEFAULT_BUDGET", "ItemsetLevel", "frequent_itemsets", "itemset_rows"]

#: itemset occurrences (an itemset in a basket) extended at a time when counting a level: about
#: 40 bytes each at the peak, so ~80 MB
DEFAULT_BUDGET = 1 << 21
#: cells of one block of dense counts (int64: 16 MB)
CELLS = 1 << 21


@dataclass(frozen=True)
class ItemsetLevel:
    """The frequent itemsets of one size.

    Attributes
    ----------
    items : np.ndarray
        ``(n, size)`` int64 item indices, each row increasing, rows in lexicographic order.
    counts : np.ndarray
        ``(n,)`` int64: baskets holding each itemset.
    keys : np.ndarray
        ``(n,)`` int64, increasing: ``parent row * n_items + last item`` (level 1: the item).
    n_items : int
        Items of the basket matrix (the base of ``keys``).
    """

    items: np.ndarray
    counts: np.ndarray
    keys: np.ndarray
    n_items: int

    def __len__(self) -> int:
        return len(self.counts)


def frequent_itemsets(
    baskets: sp.csr_array,
    *,
    min_count: int,
    max_len: int | None,
    pairs: sp.csr_array | None = None,
    budget: int = DEFAULT_BUDGET,
    cells: int = CELLS,
) -> list[ItemsetLevel]:
    """Every itemset held by at least ``min_count`` baskets, with its exact count, by size.

    Parameters
    ----------
    baskets : scipy.sparse.csr_array
        Baskets x items; any stored value counts as "in the basket" (duplicates are merged).
    min_count : int
        The support threshold as a number of baskets (>= 1).
    max_len : int or None
        Largest itemset size (None: as large as the data allow).
    pairs : scipy.sparse.csr_array, optional
        The upper triangle (``i < j``) of the co-occurrence counts of (at least) every pair of
        frequent items, as pair mining computes it; counted here when not given.
    budget : int
        Itemset occurrences extended at a time (about 40 bytes each at the peak). The
        occurrences starting at one position of a basket are never split, so a basket with a
        huge number of frequent itemsets can exceed it (``max_basket_size`` is the cure).
    cells : int
        Counters of one block (int64) when a level's counts are kept dense: the rows of the
        level below are taken a block at a time.

    Returns
    -------
    list of ItemsetLevel
        ``levels[k]`` holds the frequent itemsets of ``k + 1`` items; the list stops at
        ``max_len`` or at the first empty level (the single items' level is always there).
    """
    b = _pattern(baskets)
    n_items = b.shape[1]
    counts1 = np.bincount(b.indices, minlength=n_items).astype(np.int64)
    frequent = np.flatnonzero(counts1 >= min_count).astype(np.int64)
    levels = [ItemsetLevel(frequent[:, None], counts1[frequent], frequent.copy(), n_items)]
    b = _keep_items(b, counts1 >= min_count)
    while max_len is None or len(levels) < max_len:
        if len(levels) == 1 and pairs is not None:
            nxt = _pair_level(pairs, levels[0], min_count)
        else:
            nxt = _next_level(b, levels, min_count, budget, cells)
        if not len(nxt):
            break
        levels.append(nxt)
        # every item of a frequent (L + 1)-itemset is in a frequent L-itemset: drop the others
        in_sets = np.zeros(n_items, dtype=bool)
        in_sets[nxt.items.ravel()] = True
        b = _keep_items(b, in_sets)
        b = _keep_baskets(b, len(levels) + 1)
    return levels


def itemset_rows(levels: list[ItemsetLevel], items: np.ndarray) -> np.ndarray:
    """The row of each itemset (a row of ``items``: increasing item indices) in its level of
    ``levels``, -1 for one that is not frequent."""
    items = np.asarray(items, dtype=np.int64)
    n, size = items.shape
    rows = _find(levels[0].keys, items[:, 0])
    for level in range(1, size):
        if level >= len(levels):
            return np.full(n, -1, dtype=np.int64)
        lv = levels[level]
        found = _find(lv.keys, rows * lv.n_items + items[:, level])
        rows = np.where(rows >= 0, found, -1)
    return rows


# -- internals ------------------------------------------------------------------------------
def _find(keys: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Position of each ``want`` in the increasing ``keys``, -1 where absent."""
    if not len(keys):
        return np.full(len(want), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[pos] == want, pos, -1).astype(np.int64)


def _pattern(baskets: sp.csr_array) -> sp.csr_array:
    """0/1 int32 CSR with sorted, distinct indices: a stored entry is an item in the basket
    (whatever its value, as in pair mining)."""
    b = sp.csr_array(baskets, copy=True)
    b.sum_duplicates()
    b.sort_indices()
    return sp.csr_array((np.ones(b.nnz, dtype=np.int32), b.indices.astype(np.int32), b.indptr.astype(np.int64)), shape=b.shape)


def _keep_items(b: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    """``b`` without the entries of the items outside ``keep`` (same shape; sorted indices)."""
    mask = keep[b.indices]
    if mask.all():
        return b
    indptr = np.zeros(b.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_rows(b.indptr)[mask], minlength=b.shape[0]), out=indptr[1:])
    return sp.csr_array((b.data[mask], b.indices[mask], indptr), shape=b.shape)


def _keep_baskets(b: sp.csr_array, size: int) -> sp.csr_array:
    """The baskets of ``b`` that hold at least ``size`` items (the others hold no itemset of
    ``size`` items); the matrix's rows are renumbered, which the counts do not see."""
    keep = np.flatnonzero(np.diff(b.indptr) >= size)
    return b if len(keep) == b.shape[0] else sp.csr_array(b[keep])


def _pair_level(pairs: sp.csr_array, singles: ItemsetLevel, min_count: int) -> ItemsetLevel:
    """Level 2 from a pair table (upper triangle, item coordinates)."""
    c = sp.csr_array(pairs)
    c.sort_indices()
    rows = entry_rows(c.indptr)
    keep = (c.data >= min_count) & (c.indices > rows)
    i, j = rows[keep], c.indices[keep].astype(np.int64)
    parent = np.searchsorted(singles.keys, i)  # the pair of frequent items: i is frequent
    items = np.stack([i, j], axis=1)
    return ItemsetLevel(items, c.data[keep].astype(np.int64), parent * singles.n_items + j, singles.n_items)


def _first_rows(lv: ItemsetLevel, lo: int, hi: int) -> tuple[int, int]:
    """The rows of ``lv`` whose first item is in ``lo .. hi`` (contiguous: rows are sorted)."""
    first = lv.items[:, 0]
    return int(np.searchsorted(first, lo)), int(np.searchsorted(first, hi, side="right"))


def _pieces(starts: np.ndarray, cost: np.ndarray, budget: int) -> list[np.ndarray]:
    """``starts`` cut into consecutive pieces of at most ~``budget`` total ``cost`` (a start
    costing more is a piece of its own)."""
    cum = np.cumsum(cost)
    out, lo = [], 0
    while lo < len(starts):
        base = cum[lo - 1] if lo else 0.0
        hi = max(int(np.searchsorted(cum, base + budget, side="right")), lo + 1)
        out.append(starts[lo:hi])
        lo = hi
    return out


class _Lookup:
    """The rows of one level by (parent row, last item), among its itemsets whose first item is in
    an inclusive range: a dense table over (parent, item still in play) when it has at most
    ``cells`` cells, else a search among the level's sorted keys."""

    def __init__(self, below: ItemsetLevel, lv: ItemsetLevel, first: tuple[int, int], compact: np.ndarray, cells: int) -> None:
        self.k0, k1 = _first_rows(lv, *first)
        self.keys, self.n_items, self.compact = lv.keys[self.k0 : k1], lv.n_items, compact
        self.p0, p1 = _first_rows(below, *first)
        self.width = int(compact.max(initial=-1)) + 1
        self.table: np.ndarray | None = None
        if (p1 - self.p0) * self.width <= cells:
            last = compact[self.keys % lv.n_items]
            ok = np.flatnonzero(last >= 0)  # an itemset with an item no longer in play is never looked up
            self.table = np.full((p1 - self.p0) * self.width, -1, dtype=np.int64)
            self.table[(self.keys[ok] // lv.n_items - self.p0) * self.width + last[ok]] = ok + self.k0

    def rows(self, parents: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The row of each (parent row, item): -1 where that itemset is not frequent."""
        if self.table is not None:
            return self.table[(parents - self.p0) * self.width + self.compact[items]]
        found = _find(self.keys, parents * self.n_items + items)
        return np.where(found >= 0, found + self.k0, -1)


def _occurrences(b: sp.csr_array, row_end: np.ndarray, levels: list[ItemsetLevel], lookups: list[_Lookup], pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(itemset row, position)`` of the frequent itemsets of the top level of ``levels`` that
    start at the positions ``pos`` of ``b.indices`` (``lookups``: one per level above the first,
    for the items of ``pos``); ``position`` is that of the itemset's last item, ``row_end`` the
    end of each position's basket."""
    set_rows = _find(levels[0].keys, b.indices[pos].astype(np.int64))
    for lookup in lookups:
        stops = row_end[pos]
        nxt = ragged_ranges(pos + 1, stops)
        found = lookup.rows(np.repeat(set_rows, stops - pos - 1), b.indices[nxt].astype(np.int64))
        hit = found >= 0
        set_rows, pos = found[hit], nxt[hit]
    return set_rows, pos


def _next_level(b: sp.csr_array, levels: list[ItemsetLevel], min_count: int, budget: int, cells: int) -> ItemsetLevel:
    """The frequent itemsets one item larger than the top level of ``levels``.

    The candidates (top itemset, later item) of a block of the top level's rows are counted over
    the occurrences of the block's itemsets, found ``budget`` at a time from the positions of
    their first items, in at most ``cells`` counters (:class:`_Cells`). Every count is exact;
    a counter's index is (row in the block, item in play), so the frequent candidates come out
    in lexicographic order of the larger itemsets.
    """
    top = levels[-1]
    size = top.items.shape[1]
    active = np.unique(top.items)
    compact = np.full(b.shape[1], -1, dtype=np.int64)
    compact[active] = np.arange(len(active))
    small: Any = np.int32 if b.nnz < 2**31 - 1 else np.int64  # positions fit int32 below 2**31 entries
    row_end = np.repeat(b.indptr[1:].astype(small), np.diff(b.indptr))
    later = row_end - np.arange(b.nnz, dtype=small) - 1  # the basket's items after each position
    cost = np.ones(b.nnz, dtype=np.float32)
    for k in range(size):  # the (size + 1)-subsets starting at each position: C(later, size)
        cost *= np.maximum(later - k, 0).astype(np.float32) / (k + 1)
    del later
    # the positions grouped by item (a counting sort: scipy's CSR -> CSC of the positions)
    by_pos = sp.csc_array(sp.csr_array((np.arange(b.nnz, dtype=small), b.indices, b.indptr), shape=b.shape))
    by_item, item_ptr = by_pos.data, by_pos.indptr
    per_block = max(1, cells // max(len(active), 1))
    parents, lasts, counts = [], [], []
    for r0 in range(0, len(top), per_block):
        r1 = min(len(top), r0 + per_block)
        first = (int(top.items[r0, 0]), int(top.items[r1 - 1, 0]))
        starts = by_item[item_ptr[first[0]] : item_ptr[first[1] + 1]]
        starts = starts[cost[starts] > 0].astype(np.int64)
        counter = _Cells((r1 - r0) * len(active))
        lookups = [_Lookup(below, lv, first, compact, cells) for below, lv in zip(levels, levels[1:], strict=False)]
        for piece in _pieces(starts, cost[starts].astype(np.float64) + 1, budget):
            set_rows, pos = _occurrences(b, row_end, levels, lookups, piece)
            inside = (set_rows >= r0) & (set_rows < r1)
            set_rows, pos = set_rows[inside], pos[inside]
            stops = row_end[pos]
            ext = ragged_ranges(pos + 1, stops)
            owner = np.repeat(set_rows - r0, stops - pos - 1)
            counter.add(owner * len(active) + compact[b.indices[ext]])
        hit, count = counter.at_least(min_count)
        parents.append(r0 + hit // len(active))
        lasts.append(active[hit % len(active)])
        counts.append(count)
    parent = np.concatenate(parents) if parents else np.empty(0, np.int64)
    last = np.concatenate(lasts) if lasts else np.empty(0, np.int64)
    items = np.concatenate([top.items[parent], last[:, None]], axis=1)
    return ItemsetLevel(items, np.concatenate(counts) if counts else last, parent * top.n_items + last, top.n_items)


class _Cells:
    """Counts of integer keys in ``0 .. n - 1``: sparse (sorted unique keys and their counts)
    while the keys are few for the cells, dense (``np.bincount`` into ``n`` int64 counters) once
    they are not, so a block costs at most about ``n`` counters either way."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.dense: np.ndarray | None = None
        self.keys: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.held = 0

    def add(self, keys: np.ndarray) -> None:
        if self.dense is None and 16 * (self.held + len(keys)) < self.n:
            u, c = np.unique(keys, return_counts=True)
            self.keys.append(u)
            self.counts.append(c.astype(np.int64))
            self.held += len(u)
            return
        if self.dense is None:
            self.dense = np.zeros(self.n, dtype=np.int64)
        self.dense += np.bincount(keys, minlength=self.n)

    def at_least(self, min_count: int) -> tuple[np.ndarray, np.ndarray]:
        """The keys counted at least ``min_count`` times (increasing) and their counts."""
        if self.dense is not None:
            for u, c in zip(self.keys, self.counts, strict=True):
                self.dense[u] += c
            hit = np.flatnonzero(self.dense >= min_count)
            return hit, self.dense[hit]
        if not self.keys:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        keys, counts = self.keys[0], self.counts[0]
        if len(self.keys) > 1:
            keys, where = np.unique(np.concatenate(self.keys), return_inverse=True)
            # float64 sums of integer counts are exact below 2**53
            counts = np.bincount(where, weights=np.concatenate(self.counts), minlength=len(keys)).astype(np.int64)
        frequent = counts >= min_count
        return keys[frequent].astype(np.int64), counts[frequent]
