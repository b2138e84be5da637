"""Sufficient statistics: additive count tables of a Dataset, per group of customers.

Every table is a sum over customers (a customer's own rows give their share), so the tables of
two disjoint groups of customers add up to the tables of both, and removing a customer is a
subtraction -- exact, since the tables hold integer counts. The count-based models derive their
fitted state from them; ``forget`` subtracts the forgotten customers' share, ``partial_fit``
replaces the share of the customers the new rows belong to. The same tables are what a
distributed engine computes with a group-by (``item, count(distinct customer)``; pairs by a
self-join on the customer or the basket).

============================  ================================================================
table                         what it counts
============================  ================================================================
``item_buyers``               customers who interacted with each item (int64, per item)
``customer_pairs``            customers who interacted with both items (items x items,
                              symmetric, zero diagonal; float64 holding integers)
``item_baskets``              baskets holding each item (int64, per item)
``basket_pairs``              baskets holding both items (items x items, symmetric, zero
                              diagonal; float64 holding integers)
``n_baskets``                 baskets
============================  ================================================================

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 2], "item_id": ["a", "b", "a", "b"]}))
>>> both = count_tables(ds, pairs=True)
>>> first = count_tables(ds, customers=[0], pairs=True)
>>> (both - first).item_buyers.tolist(), (both - first).customer_pairs.toarray().tolist()
([1, 1], [[0.0, 1.0], [1.0, 0.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recokit.data.arrays import csr_rows

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset
    from recokit.data.update import DataChange

__all__ = ["CountTables", "count_tables", "pair_counts", "updated_tables"]


def pair_counts(rows: sp.csr_array) -> sp.csr_array:
    """Items x items: how many rows (customers, baskets) hold both items -- ``BᵀB`` of the 0/1
    pattern, diagonal and zeros dropped, indices sorted (float64 holding integers)."""
    b = sp.csr_array(rows, copy=True)
    b.data[:] = 1.0
    co = sp.csr_array((b.T @ b).tocsr())
    co.setdiag(0)
    co.eliminate_zeros()
    co.sort_indices()
    return co


def _canonical(m: sp.csr_array) -> sp.csr_array:
    m = sp.csr_array(m)
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _reindex_matrix(m: sp.csr_array, item_map: np.ndarray, n_items: int) -> sp.csr_array:
    c = m.tocoo()
    keep = (item_map[c.row] >= 0) & (item_map[c.col] >= 0)
    out = sp.csr_array((c.data[keep], (item_map[c.row[keep]], item_map[c.col[keep]])), shape=(n_items, n_items))
    return _canonical(out)


def _reindex_vector(v: np.ndarray, item_map: np.ndarray, n_items: int) -> np.ndarray:
    out = np.zeros(n_items, dtype=v.dtype)
    keep = item_map >= 0
    out[item_map[keep]] = v[keep]
    return out


@dataclass(frozen=True)
class CountTables:
    """The count tables of a group of customers (see the module docstring); ``None`` for a
    table that was not asked for. ``a + b`` and ``a - b`` combine tables of the same items."""

    item_buyers: np.ndarray
    customer_pairs: sp.csr_array | None = None
    item_baskets: np.ndarray | None = None
    basket_pairs: sp.csr_array | None = None
    n_baskets: int = 0

    def _combine(self, other: CountTables, sign: int) -> CountTables:
        def vec(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else a + sign * b

        def mat(a: sp.csr_array | None, b: sp.csr_array | None) -> sp.csr_array | None:
            return None if a is None or b is None else _canonical(a + b if sign > 0 else a - b)

        buyers = vec(self.item_buyers, other.item_buyers)
        assert buyers is not None
        return CountTables(
            buyers, mat(self.customer_pairs, other.customer_pairs), vec(self.item_baskets, other.item_baskets),
            mat(self.basket_pairs, other.basket_pairs), self.n_baskets + sign * other.n_baskets,
        )  # fmt: skip

    def __add__(self, other: CountTables) -> CountTables:
        return self._combine(other, 1)

    def __sub__(self, other: CountTables) -> CountTables:
        return self._combine(other, -1)

    def reindexed(self, item_map: np.ndarray, n_items: int) -> CountTables:
        """The tables over another item numbering (``item_map``: old index -> new, -1 gone;
        a gone item must have no count left)."""
        return CountTables(
            _reindex_vector(self.item_buyers, item_map, n_items),
            None if self.customer_pairs is None else _reindex_matrix(self.customer_pairs, item_map, n_items),
            None if self.item_baskets is None else _reindex_vector(self.item_baskets, item_map, n_items),
            None if self.basket_pairs is None else _reindex_matrix(self.basket_pairs, item_map, n_items),
            self.n_baskets,
        )


def count_tables(
    dataset: Dataset, customers: Sequence[int] | np.ndarray | None = None, *, pairs: bool = False, baskets: bool = False
) -> CountTables:
    """The count tables of ``customers`` (indices; default: every customer) in ``dataset``:
    ``item_buyers`` always, ``customer_pairs`` with ``pairs``, the basket tables with ``baskets``."""
    ui = dataset.user_items
    rows = ui if customers is None else csr_rows(ui, np.asarray(customers, dtype=np.int64))
    n = dataset.n_items
    buyers = np.bincount(rows.indices, minlength=n).astype(np.int64)
    out = CountTables(buyers, pair_counts(rows) if pairs else None)
    if not baskets:
        return out
    bi = dataset.basket_items
    if customers is not None:
        mine = np.isin(dataset.basket_customer_idx, np.asarray(customers, dtype=np.int64))
        bi = csr_rows(bi, np.flatnonzero(mine))
    item_baskets = np.bincount(bi.indices, minlength=n).astype(np.int64)
    return CountTables(buyers, out.customer_pairs, item_baskets, pair_counts(bi), int(bi.shape[0]))


def updated_tables(before: CountTables, change: DataChange, *, pairs: bool = False, baskets: bool = False) -> CountTables:
    """``before`` (the tables of ``change.before``) carried through ``change``: the forgotten
    customers' share subtracted, or the touched customers' old share replaced by their new one;
    equal to :func:`count_tables` of ``change.after``, at the cost of the customers that moved."""
    if change.kind == "forget":
        gone = count_tables(change.before, change.customers, pairs=pairs, baskets=baskets)
        return (before - gone).reindexed(change.item_map, change.after.n_items)
    old = count_tables(change.before, change.old_customers, pairs=pairs, baskets=baskets)
    kept = (before - old).reindexed(change.item_map, change.after.n_items)
    return kept + count_tables(change.after, change.customers, pairs=pairs, baskets=baskets)
