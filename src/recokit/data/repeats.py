"""Per-customer repeat-purchase tables: what BuyAgain and Renewal derive their state from.

Both are integer tables, so another engine (Spark, :mod:`recokit.spark`) computes them exactly
in any order, and every float the models derive from them (decayed weights, quartiles in days,
appeal) is computed afterwards by the model's own code, in the tables' sorted order:

==============================  ==============================================================
table                           what it holds
==============================  ==============================================================
:class:`PurchaseLines`          one row per (customer, item, purchase time): how many
                                purchases; sorted by customer, item and time (BuyAgain)
:class:`CategoryRepeats`        per category, its distinct buyers; per repurchase interval of
                                a customer in a category, its length in µs (sorted by
                                customer, category and time); per item, its distinct buyers of
                                all time and since a recent cut (Renewal)
==============================  ==============================================================

A *purchase* is a row whose event is ``"purchase"`` (:attr:`Dataset.purchases`' rule) for
the purchase lines, a row of the model's ``event`` for the category tables (any row when the
data has no event column). An *interval* is the time between two consecutive purchases of one
customer in one category, when it is at least :attr:`CategorySpec.min_gap_us`.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> rows = pl.DataFrame({"customer_id": [1, 1, 1, 2], "item_id": ["a", "a", "b", "a"],
...                      "t": ["2024-01-01", "2024-01-01", "2024-03-01", "2024-02-01"]})
>>> lines = purchase_lines(Dataset(rows, time_col="t"))
>>> lines.customer_idx.tolist(), lines.item_idx.tolist(), lines.count.tolist()
([0, 0, 1], [0, 1, 0], [2, 1, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import DataError
from recokit.data.arrays import stable_order
from recokit.data.time import DAY_US

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset

__all__ = [
    "CategoryEvents",
    "CategoryRepeats",
    "CategorySpec",
    "PurchaseLines",
    "category_codes",
    "category_events",
    "category_repeats",
    "category_tables",
    "event_rows",
    "purchase_lines",
    "recent_from_us",
]


# -- purchase lines (BuyAgain) -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PurchaseLines:
    """One row per distinct (customer, item, time) of the purchases, sorted by customer_idx,
    item_idx and time_us; ``count`` purchases at that time (int64 columns; times 0 when the data
    has no timestamps)."""

    customer_idx: np.ndarray
    item_idx: np.ndarray
    time_us: np.ndarray
    count: np.ndarray

    def __len__(self) -> int:
        return len(self.count)


def purchase_lines(dataset: Dataset) -> PurchaseLines:
    """The purchase lines of ``dataset``: its :attr:`~recokit.Dataset.purchases`, one entry per
    purchase sorted by customer, item and time, with equal neighbours counted together."""
    log = dataset.purchases
    cust = np.repeat(np.arange(log.shape[0], dtype=np.int64), np.diff(log.indptr))
    item = log.indices.astype(np.int64)
    t = log.data.astype(np.int64)  # whole microseconds, far below 2**53: exact
    if len(t) == 0:
        return PurchaseLines(cust, item, t, np.zeros(0, dtype=np.int64))
    new = np.r_[True, (cust[1:] != cust[:-1]) | (item[1:] != item[:-1]) | (t[1:] != t[:-1])]
    starts = np.flatnonzero(new)
    count = np.diff(np.r_[starts, len(t)]).astype(np.int64)
    return PurchaseLines(cust[starts], item[starts], t[starts], count)


# -- category repeats (Renewal) ---------------------------------------------------------------
@dataclass(frozen=True)
class CategorySpec:
    """What :class:`CategoryRepeats` are counted over.

    Attributes
    ----------
    column : str
        The catalogue column whose values are the categories (sorted: category code ``k`` is
        the ``k``-th value; items without a value are left out).
    event : str
        With an event column, only rows of this event type are purchases.
    min_gap_us : int
        Shortest interval, in µs (>= 1: purchases at the same time are not a repurchase).
    recent_days : float
        ``recent_buyers`` counts purchases at or after :func:`recent_from_us`.
    """

    column: str
    event: str
    min_gap_us: int
    recent_days: float


@dataclass(frozen=True, eq=False)
class CategoryRepeats:
    """The repeat-purchase tables of categorised purchases (int64 throughout).

    Attributes
    ----------
    n_event_rows : int
        Rows of the spec's event (on any item; every row without an event column).
    buyers : np.ndarray
        Per category code: distinct customers who bought in it.
    gap_customer, gap_category, gap_us : np.ndarray
        Per interval: the customer_idx, the category code and its length in µs, sorted by
        customer, category and the time of the purchase that ends it.
    item_buyers, recent_buyers : np.ndarray
        Per item: distinct customers who bought it (0 for an item without a category), of all
        time and since :func:`recent_from_us`.
    """

    n_event_rows: int
    buyers: np.ndarray
    gap_customer: np.ndarray
    gap_category: np.ndarray
    gap_us: np.ndarray
    item_buyers: np.ndarray
    recent_buyers: np.ndarray


class CategoryEvents(NamedTuple):
    """Categorised purchases, one array per column (customer and item indices, time in µs,
    category code), sorted by customer, category, time and item."""

    cust: np.ndarray
    item: np.ndarray
    t: np.ndarray
    cat: np.ndarray


def category_codes(dataset: Dataset, column: str, owner: str) -> tuple[list[str], np.ndarray]:
    """The category names of catalogue column ``column`` (sorted, as strings) and each item's
    category code (-1: none). A DataError names ``owner`` when the catalogue has no such column."""
    if column not in dataset.catalog.columns:
        raise DataError(
            f"{owner}(category_column={column!r}): the catalog has no column {column!r}.",
            hint=f"choose one of {[c for c in dataset.catalog.columns if c != 'item_id']}.",
        )
    cats = dataset.catalog[column].cast(pl.String)
    names = sorted(cats.drop_nulls().unique().to_list())
    lookup = {v: i for i, v in enumerate(names)}
    return names, np.array([-1 if v is None else lookup[v] for v in cats.to_list()], dtype=np.int64)


def event_rows(dataset: Dataset, event: str) -> int:
    """The rows of ``event`` in ``dataset`` (every row without an event column): what
    :attr:`CategoryRepeats.n_event_rows` counts."""
    inter = dataset.interactions
    return int((inter["event"] == event).sum()) if "event" in inter.columns else inter.height


def recent_from_us(dataset: Dataset, days: float) -> int:
    """The first µs of the last ``days`` days before the data's last time: a purchase at ``t``
    is recent when ``t >= recent_from_us`` (the integer form of ``t >= end - days * DAY_US``)."""
    end = int(np.datetime64(dataset.last_time, "us").astype(np.int64))
    return math.ceil(end - days * DAY_US)


def _event_order(cust: np.ndarray, cat: np.ndarray, t: np.ndarray, item: np.ndarray, n_customers: int, n_items: int, n_cat: int) -> np.ndarray:
    """The positions of the purchases sorted by customer, category, time and item. The rows come
    in time order (the Dataset's), so four stable counting sorts give it: item, the rank of the
    time, category, customer (least significant first)."""
    if len(t) > 1 and not bool(np.all(t[1:] >= t[:-1])):
        return np.lexsort((item, t, cat, cust))
    t_rank = np.r_[0, np.cumsum(t[1:] != t[:-1])] if len(t) else np.zeros(0, dtype=np.int64)
    order = stable_order(item, n_items)
    for key, n_keys in ((t_rank, int(t_rank[-1]) + 1 if len(t) else 0), (cat, n_cat), (cust, n_customers)):
        order = order[stable_order(key[order], n_keys)]
    return order


def category_events(dataset: Dataset, item_cat: np.ndarray, n_categories: int, event: str, keep: np.ndarray | None = None) -> tuple[CategoryEvents, int]:
    """The purchases (rows of ``event``) of items with a category (``item_cat``: each item's
    code, -1 none) -- of the categories where ``keep`` (a mask over the codes) holds, when given
    -- sorted by customer, category, time and item; and the number of rows of ``event`` (every
    row without an event column)."""
    inter = dataset.interactions
    if "event" in inter.columns:
        inter = inter.filter(pl.col("event") == event)
    item = inter["item_idx"].to_numpy().astype(np.int64)
    cat = item_cat[item]
    mine = np.flatnonzero(cat >= 0 if keep is None else (cat >= 0) & keep[np.maximum(cat, 0)])
    item, cat = item[mine], cat[mine]
    cust = inter["customer_idx"].to_numpy().astype(np.int64)[mine]
    t = inter["timestamp"].cast(pl.Datetime("us")).cast(pl.Int64).to_numpy()[mine]
    order = _event_order(cust, cat, t, item, dataset.n_customers, dataset.n_items, n_categories)
    return CategoryEvents(cust[order], item[order], t[order], cat[order]), inter.height


def _distinct_buyers(cust: np.ndarray, item: np.ndarray, n_customers: int, n_items: int) -> np.ndarray:
    """How many distinct customers bought each item (int64): the columns' stored entries of the
    customer x item pattern."""
    pattern = sp.csr_array((np.ones(len(cust), dtype=np.int8), (cust, item)), shape=(n_customers, n_items))
    pattern.sum_duplicates()
    return np.bincount(pattern.indices, minlength=n_items).astype(np.int64)


def category_repeats(dataset: Dataset, ev: CategoryEvents, n_event_rows: int, n_categories: int, spec: CategorySpec) -> CategoryRepeats:
    """The :class:`CategoryRepeats` of the sorted events ``ev`` (:func:`category_events`)."""
    same = (ev.cust[1:] == ev.cust[:-1]) & (ev.cat[1:] == ev.cat[:-1])  # row j + 1 follows row j in its (customer, category)
    gap = ev.t[1:] - ev.t[:-1]
    at = np.flatnonzero(same & (gap >= spec.min_gap_us)) + 1
    first = np.r_[True, ~same] if len(ev.cat) else np.zeros(0, dtype=bool)  # a customer's first row in a category
    recent = ev.t >= recent_from_us(dataset, spec.recent_days) if len(ev.t) else np.zeros(0, dtype=bool)
    n, n_items = dataset.n_customers, dataset.n_items
    return CategoryRepeats(
        n_event_rows=n_event_rows,
        buyers=np.bincount(ev.cat[first], minlength=n_categories).astype(np.int64),
        gap_customer=ev.cust[at],
        gap_category=ev.cat[at],
        gap_us=gap[at - 1],
        item_buyers=_distinct_buyers(ev.cust, ev.item, n, n_items),
        recent_buyers=_distinct_buyers(ev.cust[recent], ev.item[recent], n, n_items),
    )


def category_tables(dataset: Dataset, spec: CategorySpec, owner: str) -> tuple[list[str], np.ndarray, CategoryEvents, CategoryRepeats]:
    """The category names and item codes (:func:`category_codes`), the sorted categorised
    purchases (:func:`category_events`) and their :class:`CategoryRepeats`: one pass over the
    Dataset for both the tables and the histories built from the events."""
    if not dataset.has_time:
        raise DataError(f"{owner}: the category repeat tables need purchase timestamps.", hint="build the Dataset with time_col=...")
    names, item_cat = category_codes(dataset, spec.column, owner)
    ev, n_rows = category_events(dataset, item_cat, len(names), spec.event)
    return names, item_cat, ev, category_repeats(dataset, ev, n_rows, len(names), spec)
