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
``n_baskets_excluded``        baskets left out of the basket tables (more distinct items than
                              the model's ``max_basket_size``)
``purchase_lines``            per (customer, item, purchase time): purchases
                              (:class:`~recokit.data.repeats.PurchaseLines`; BuyAgain)
``category_repeats``          per category its buyers, per repurchase interval its length in
                              µs, per item its buyers of all time and of late
                              (:class:`~recokit.data.repeats.CategoryRepeats`; Renewal)
============================  ================================================================

The last two are per-customer integer tables (:mod:`recokit.data.repeats`): a fit reads them in
their sorted order, so any engine that counts them exactly gives the same model.

A model that derives its fitted state from these tables says which it needs as a
:class:`TableSpec` and takes them through :class:`FitsFromTables` (``table_spec`` /
``fit_from_tables``): a backend that counts them elsewhere -- Spark, :mod:`recokit.spark` --
hands the model exactly what :func:`tables_for` counts from a Dataset.

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

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError
from recokit.data.arrays import csr_rows
from recokit.data.repeats import (
    CategoryRepeats,
    CategorySpec,
    PurchaseLines,
    category_tables,
    purchase_lines,
)

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset
    from recokit.data.update import DataChange

__all__ = [
    "CountTables",
    "FitsFromTables",
    "TableSpec",
    "check_tables",
    "count_tables",
    "min_count_for",
    "pair_counts",
    "tables_for",
    "updated_tables",
]


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
    table that was not asked for. ``a + b`` and ``a - b`` combine tables of the same items (the
    per-item and per-pair counts; the per-customer tables are recounted, not combined)."""

    item_buyers: np.ndarray | None
    customer_pairs: sp.csr_array | None = None
    item_baskets: np.ndarray | None = None
    basket_pairs: sp.csr_array | None = None
    n_baskets: int = 0
    n_baskets_excluded: int = 0
    purchase_lines: PurchaseLines | None = None
    category_repeats: CategoryRepeats | None = None

    def _per_item_only(self, what: str) -> None:
        if self.purchase_lines is not None or self.category_repeats is not None:
            raise ConfigError(
                f"CountTables {what}: the per-customer tables (purchase_lines, category_repeats) are not combined.",
                hint="count them again from the changed Dataset (recokit.data.tables_for).",
            )

    def _combine(self, other: CountTables, sign: int) -> CountTables:
        self._per_item_only("+ / -")
        other._per_item_only("+ / -")
        def vec(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else a + sign * b

        def mat(a: sp.csr_array | None, b: sp.csr_array | None) -> sp.csr_array | None:
            return None if a is None or b is None else _canonical(a + b if sign > 0 else a - b)

        return CountTables(
            vec(self.item_buyers, other.item_buyers), mat(self.customer_pairs, other.customer_pairs), vec(self.item_baskets, other.item_baskets),
            mat(self.basket_pairs, other.basket_pairs), self.n_baskets + sign * other.n_baskets,
            self.n_baskets_excluded + sign * other.n_baskets_excluded,
        )  # fmt: skip

    def __add__(self, other: CountTables) -> CountTables:
        return self._combine(other, 1)

    def __sub__(self, other: CountTables) -> CountTables:
        return self._combine(other, -1)

    def reindexed(self, item_map: np.ndarray, n_items: int) -> CountTables:
        """The tables over another item numbering (``item_map``: old index -> new, -1 gone;
        a gone item must have no count left)."""
        self._per_item_only("reindexed")
        return CountTables(
            None if self.item_buyers is None else _reindex_vector(self.item_buyers, item_map, n_items),
            None if self.customer_pairs is None else _reindex_matrix(self.customer_pairs, item_map, n_items),
            None if self.item_baskets is None else _reindex_vector(self.item_baskets, item_map, n_items),
            None if self.basket_pairs is None else _reindex_matrix(self.basket_pairs, item_map, n_items),
            self.n_baskets,
            self.n_baskets_excluded,
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


# -- what a model fits from -----------------------------------------------------------------
@dataclass(frozen=True)
class TableSpec:
    """Which count tables a model's fitted state is derived from.

    Attributes
    ----------
    pairs : bool
        ``customer_pairs`` (customers who interacted with both items).
    baskets : bool
        ``item_baskets``, ``basket_pairs``, ``n_baskets`` and ``n_baskets_excluded``.
    max_basket_size : int, optional
        Baskets with more distinct items are left out of the basket tables (counted in
        ``n_baskets_excluded``).
    pair_min_support : float or int, optional
        ``basket_pairs`` only between items held by at least :func:`min_count_for`
        ``(pair_min_support, n_baskets)`` baskets (support is anti-monotone: a pair of a rarer
        item cannot reach it); None: every pair.
    buyers : bool
        ``item_buyers`` (default True; False for a model that reads only per-customer tables).
    purchase_lines : bool
        ``purchase_lines`` (:class:`~recokit.data.repeats.PurchaseLines`).
    categories : CategorySpec, optional
        ``category_repeats`` over these categories, event, shortest interval and recent window.
    """

    pairs: bool = False
    baskets: bool = False
    max_basket_size: int | None = None
    pair_min_support: float | int | None = None
    buyers: bool = True
    purchase_lines: bool = False
    categories: CategorySpec | None = None


@runtime_checkable
class FitsFromTables(Protocol):
    """A model whose fitted state is derived from count tables (Popularity of distinct buyers,
    the count-based ItemKNN flavours, pair AssociationRules; BuyAgain and Renewal from their
    per-customer repeat tables).

    ``table_spec()`` says which tables (None: this configuration is not derived from tables --
    a window, a recency weight, implicit's kernels, itemsets longer than pairs); and
    ``fit_from_tables(dataset, tables)`` fits from tables counted elsewhere, atomically like
    ``fit``, ending exactly as ``fit(dataset)`` when ``tables == tables_for(dataset, spec)``.
    ``dataset`` still gives the id maps, the catalogue and the histories requests read.
    """

    def table_spec(self) -> TableSpec | None: ...

    def fit_from_tables(self, dataset: Dataset, tables: CountTables) -> Self: ...


def min_count_for(min_support: float | int, n_baskets: int) -> int:
    """Smallest basket count that meets ``min_support`` exactly (at least 1): an int is a count,
    a float a share of ``n_baskets`` read as the decimal a person wrote (0.1 is 1/10).

    >>> min_count_for(0.1, 25), min_count_for(3, 25)
    (3, 3)
    """
    if isinstance(min_support, (int, np.integer)) and not isinstance(min_support, bool):
        return max(1, int(min_support))
    return max(1, math.ceil(Fraction(repr(float(min_support))) * n_baskets))


def _only_items(m: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    """``m`` with the entries of the other items' columns dropped (same shape)."""
    out = sp.csr_array(m, copy=True)
    out.data[~keep[out.indices]] = 0.0
    out.eliminate_zeros()
    return out


def tables_for(dataset: Dataset, spec: TableSpec) -> CountTables:
    """The count tables ``spec`` asks for, counted from ``dataset`` (every customer): what a
    model's ``fit`` derives its state from, and what another engine must count to equal it.

    >>> import polars as pl
    >>> from recokit import Dataset
    >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 2, 2], "item_id": ["a", "b", "a", "b", "c"]}))
    >>> t = tables_for(ds, TableSpec(baskets=True, max_basket_size=2))
    >>> t.item_baskets.tolist(), t.n_baskets, t.n_baskets_excluded
    ([1, 1, 0], 1, 1)
    """
    out = _item_tables(dataset, spec) if spec.buyers or spec.pairs or spec.baskets else CountTables(None)
    lines = purchase_lines(dataset) if spec.purchase_lines else None
    repeats = category_tables(dataset, spec.categories, "tables_for")[3] if spec.categories is not None else None
    return replace(out, purchase_lines=lines, category_repeats=repeats)


def _item_tables(dataset: Dataset, spec: TableSpec) -> CountTables:
    """The per-item and per-pair tables of ``spec``."""
    out = count_tables(dataset, pairs=spec.pairs)
    if not spec.baskets:
        return out
    bi = dataset.basket_items
    sizes = np.diff(bi.indptr)
    keep = sizes <= spec.max_basket_size if spec.max_basket_size is not None else np.ones(len(sizes), dtype=bool)
    mined = bi if keep.all() else csr_rows(bi, np.flatnonzero(keep))
    item_baskets = np.bincount(mined.indices, minlength=dataset.n_items).astype(np.int64)
    n = int(mined.shape[0])
    if spec.pair_min_support is not None:
        mined = _only_items(mined, item_baskets >= min_count_for(spec.pair_min_support, n))
    return CountTables(out.item_buyers, out.customer_pairs, item_baskets, pair_counts(mined), n, int((~keep).sum()))


def check_tables(tables: CountTables, dataset: Dataset, spec: TableSpec, owner: str) -> None:
    """Raise a DataError unless ``tables`` hold what ``spec`` asks for, over ``dataset``'s items."""
    n = dataset.n_items
    wanted = {
        "item_buyers": spec.buyers, "customer_pairs": spec.pairs, "item_baskets": spec.baskets, "basket_pairs": spec.baskets,
        "purchase_lines": spec.purchase_lines, "category_repeats": spec.categories is not None,
    }  # fmt: skip
    for name, needed in wanted.items():
        table = getattr(tables, name)
        if not needed:
            continue
        if table is None:
            raise DataError(f"{owner}.fit_from_tables: the tables have no {name!r}, which this model derives its state from.", hint=f"count the tables of {owner}.table_spec() ({spec}).")
        if isinstance(table, (PurchaseLines, CategoryRepeats)):
            _check_per_customer(table, dataset, name, owner)
            continue
        shape = tuple(table.shape)
        if shape != ((n,) if table.ndim == 1 else (n, n)):
            raise DataError(
                f"{owner}.fit_from_tables: {name!r} has shape {shape}, but the dataset has {n} items.",
                hint="count the tables over the dataset's items, in its item_idx order (the tables and the Dataset must come from the same rows).",
            )


def _check_per_customer(table: PurchaseLines | CategoryRepeats, dataset: Dataset, name: str, owner: str) -> None:
    """Raise a DataError unless a per-customer table's columns agree in length and its indices
    are the dataset's customers and items."""
    if isinstance(table, PurchaseLines):
        columns = [table.customer_idx, table.item_idx, table.time_us, table.count]
        customers, items, per_item = table.customer_idx, table.item_idx, []
    else:
        columns = [table.gap_customer, table.gap_category, table.gap_us]
        customers, items, per_item = table.gap_customer, np.zeros(0, dtype=np.int64), [table.item_buyers, table.recent_buyers]
    lengths = sorted({len(v) for v in columns})
    fits = len(lengths) == 1 and all(v.shape == (dataset.n_items,) for v in per_item)
    fits = fits and int(customers.max(initial=-1)) < dataset.n_customers and int(items.max(initial=-1)) < dataset.n_items
    if not fits:
        raise DataError(
            f"{owner}.fit_from_tables: {name!r} does not fit the dataset ({dataset.n_customers} customers, {dataset.n_items} items; columns of lengths {lengths}).",
            hint="count the tables over the dataset's customers and items, in their index order (the tables and the Dataset must come from the same rows).",
        )
