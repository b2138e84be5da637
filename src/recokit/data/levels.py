"""Catalogue levels: association between the values of a product-hierarchy column.

A shop's catalogue groups its products (``sport`` > ``category`` > product). Where each product
sells a few times, the pairs of *products* stay under any sensible minimum count, but the pairs
of their *categories* do not: "adult bike" and "helmet" share hundreds of baskets even when each
helmet shares only a handful with each bike. This module counts baskets per value of one
catalogue column (a *level*) and per pair of values, mines the rules between values with exact
thresholds, and gives the catalogue facts a bundle needs to pick one product inside a value
(stock, price tier). The counts are additive tables over baskets, derived again from the
Dataset's baskets on every fit and update.

Examples
--------
>>> import numpy as np
>>> import polars as pl
>>> import scipy.sparse as sp
>>> from recokit.data.levels import level_codes, level_rules, level_tables
>>> cat = pl.DataFrame({"item_id": ["b1", "b2", "h1", "h2"], "category": ["bike", "bike", "helmet", "helmet"]})
>>> codes, names = level_codes(cat, "category", "example")
>>> codes.tolist(), names
([0, 0, 1, 1], ['bike', 'helmet'])
>>> baskets = sp.csr_array(np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 0]]))  # b1+h1, b2+h2, b1
>>> counts, pairs = level_tables(baskets, codes, len(names))
>>> counts.tolist(), pairs.toarray().tolist()
([3, 2], [[0, 2], [2, 0]])
>>> rules = level_rules(counts, pairs, 3, min_count=2, min_confidence=0.5, min_lift=None)
>>> [(names[a], names[c], int(n)) for a, c, n in zip(rules["antecedent"], rules["consequent"], rules["count"])]
[('helmet', 'bike', 2), ('bike', 'helmet', 2)]
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import DataError
from recokit.data.arrays import entry_rows, ragged_ranges

__all__ = [
    "backoff_scores",
    "fired_level_rules",
    "level_codes",
    "level_label",
    "level_rules",
    "level_tables",
    "pick_in_level",
    "price_tiers",
    "stock_mask",
]


def level_codes(catalog: pl.DataFrame, column: str, where: str) -> tuple[np.ndarray, list[str]]:
    """Each item's value of ``column`` as a code (``int64``, -1 where null), and the values.

    Values are numbered in order of first appearance in the catalogue (``item_idx`` order).

    Raises
    ------
    DataError
        When the catalogue has no such column.
    """
    if column not in catalog.columns:
        raise DataError(
            f"{where}: the catalog has no column {column!r}.",
            column=column,
            hint=f"name a product-hierarchy column of the catalogue, one of {[c for c in catalog.columns if c != 'item_id']}.",
        )
    values = catalog[column].cast(pl.String)
    names = values.drop_nulls().unique(maintain_order=True).to_list()
    lookup = {v: i for i, v in enumerate(names)}
    codes = np.fromiter((-1 if v is None else lookup[v] for v in values.to_list()), dtype=np.int64, count=len(values))
    return codes, names


def _membership(codes: np.ndarray, n_levels: int) -> sp.csr_array:
    """Items x levels, 1 where the item has the value (items without one have an empty row)."""
    has = codes >= 0
    rows = np.flatnonzero(has)
    return sp.csr_array((np.ones(len(rows), dtype=np.int64), (rows, codes[has])), shape=(len(codes), n_levels))


def level_tables(baskets: sp.csr_array, codes: np.ndarray, n_levels: int) -> tuple[np.ndarray, sp.csr_array]:
    """Baskets holding each level value, and baskets holding both values of each pair.

    Parameters
    ----------
    baskets : scipy.sparse.csr_array
        Baskets x items (any positive value where the item is in the basket).
    codes : np.ndarray
        Each item's level code (-1: no value; such items are not counted).
    n_levels : int
        Number of values.

    Returns
    -------
    counts : np.ndarray
        ``int64``, baskets per value.
    pairs : scipy.sparse.csr_array
        Values x values, ``int64``, symmetric, zero diagonal: baskets holding both.
    """
    by_level = sp.csr_array(sp.csr_array(baskets, dtype=np.int64) @ _membership(codes, n_levels))  # type: ignore[call-overload]  # scipy-stubs: no csr_array(<sparse>, dtype=...) overload
    by_level.sum_duplicates()
    by_level.eliminate_zeros()
    by_level.data[:] = 1
    counts = np.bincount(by_level.indices, minlength=n_levels).astype(np.int64)
    pairs = sp.csr_array(sp.csr_array(by_level.T) @ by_level).tocoo()
    off = pairs.row != pairs.col
    out = sp.csr_array((pairs.data[off].astype(np.int64), (pairs.row[off], pairs.col[off])), shape=(n_levels, n_levels))
    out.sort_indices()
    return counts, out


def _as_fraction(value: float | int) -> Fraction:
    """The rational a person meant: 0.1 is 1/10, not the binary float nearest to it."""
    return Fraction(int(value)) if isinstance(value, (int, np.integer)) else Fraction(repr(float(value)))


def level_rules(
    counts: np.ndarray,
    pairs: sp.csr_array,
    n_baskets: int,
    *,
    min_count: int,
    min_confidence: float,
    min_lift: float | None,
) -> dict[str, np.ndarray]:
    """The rules "baskets with value A also hold value C" that meet the thresholds, exactly.

    A rule is kept when ``count >= min_count``, ``count / count(A) >= min_confidence`` and (unless
    ``min_lift`` is None) ``count * n_baskets / (count(A) * count(C)) >= min_lift``, compared
    in integers (a rule exactly at a threshold is kept).

    Returns
    -------
    dict
        ``antecedent``, ``consequent`` (level codes), ``count``, ``antecedent_count``,
        ``consequent_count`` (``int64`` arrays), sorted by confidence, then count (descending),
        then antecedent and consequent code.
    """
    c = pairs.tocoo()
    keep = c.data >= min_count
    ante, cons, cab = c.row[keep].astype(np.int64), c.col[keep].astype(np.int64), c.data[keep].astype(np.int64)
    ca, cc = counts[ante], counts[cons]
    conf = _as_fraction(min_confidence)
    # Python integers (object arrays): exact at any size, and the tables of a catalogue level are small
    big_ab, big_a, big_c = cab.astype(object), ca.astype(object), cc.astype(object)
    ok = big_ab * conf.denominator >= big_a * conf.numerator
    if min_lift is not None:
        lift = _as_fraction(min_lift)
        ok &= big_ab * int(n_baskets) * lift.denominator >= big_a * big_c * lift.numerator
    ok = np.asarray(ok, dtype=bool)
    ante, cons, cab, ca, cc = ante[ok], cons[ok], cab[ok], ca[ok], cc[ok]
    order = np.lexsort((cons, ante, -cab, -(cab / np.maximum(ca, 1))))
    return {"antecedent": ante[order], "consequent": cons[order], "count": cab[order], "antecedent_count": ca[order], "consequent_count": cc[order]}


def stock_mask(catalog: pl.DataFrame, column: str | None, where: str) -> np.ndarray | None:
    """Which items are in stock (``item_idx`` order), or None when there is no such column.

    A numeric value is in stock when > 0, a boolean when True; null (and NaN) is out of stock.

    Raises
    ------
    DataError
        When the column is neither numeric nor boolean.
    """
    if column is None or column not in catalog.columns:
        return None
    s = catalog[column]
    if s.dtype == pl.Boolean:
        return s.fill_null(False).to_numpy().astype(bool)
    if not s.dtype.is_numeric():
        raise DataError(
            f"{where}: the stock column {column!r} must be numeric or boolean; got {s.dtype}.",
            column=column,
            hint="cast it to a number (units in stock) or a boolean, or pass stock_column=None.",
        )
    return np.asarray((s.cast(pl.Float64).fill_null(0.0).fill_nan(0.0) > 0).to_numpy(), dtype=bool)


def price_tiers(catalog: pl.DataFrame, column: str | None, codes: np.ndarray, where: str = "price_tiers") -> np.ndarray:
    """Each item's price third inside its level value: 0 cheapest, 1 middle, 2 dearest.

    An item's tier is ``floor(3 * cheaper / priced)``, ``cheaper`` the items of its value with a
    strictly lower price and ``priced`` those with a price (equal prices share a tier). -1 where
    there is no price column, no price (null, NaN) or no level value.

    Raises
    ------
    DataError
        When the column exists but is not numeric (a price read as text).
    """
    tiers = np.full(len(codes), -1, dtype=np.int64)
    if column is None or column not in catalog.columns:
        return tiers
    if not catalog[column].dtype.is_numeric():
        raise DataError(
            f"{where}: the price column {column!r} must be numeric; got {catalog[column].dtype}.",
            column=column,
            hint="cast it to a number (a CSV read may have kept a currency sign), or pass price_column=None.",
        )
    price = catalog[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    ok = np.flatnonzero((codes >= 0) & np.isfinite(price))
    g, p = codes[ok], price[ok]
    order = np.lexsort((p, g))
    gs, ps = g[order], p[order]
    pos = np.arange(len(order))
    first_of_price = np.r_[True, (gs[1:] != gs[:-1]) | (ps[1:] != ps[:-1])] if len(order) else np.empty(0, dtype=bool)
    cheaper = np.maximum.accumulate(np.where(first_of_price, pos, 0)) - np.searchsorted(gs, gs, side="left")
    priced = np.bincount(gs, minlength=int(codes.max()) + 1 if len(codes) else 0)[gs]
    tiers[ok[order]] = (3 * cheaper) // np.maximum(priced, 1)
    return tiers


def level_label(value: str) -> str:
    """A level value as a reason writes it: ``"adult_bike"`` -> ``"adult bike"``."""
    return str(value).replace("_", " ")


def fired_level_rules(context: sp.csr_array, codes: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, rule)`` pairs: the level rules whose antecedent is the value of a context item.

    ``ptr`` indexes rules sorted by antecedent code: those of value ``c`` are
    ``ptr[c]:ptr[c + 1]``. A value held by several context items of a row fires once.
    """
    n_levels = len(ptr) - 1
    rows = entry_rows(context.indptr)
    levels = codes[context.indices]
    has = levels >= 0
    keys = np.unique(rows[has] * n_levels + levels[has])  # numpy, not a sparse product: a request is a few items
    rows, levels = keys // n_levels, keys % n_levels
    starts, stops = ptr[levels], ptr[levels + 1]
    return np.repeat(rows, stops - starts), ragged_ranges(starts, stops)


def backoff_scores(
    fired: tuple[np.ndarray, np.ndarray],
    shape: tuple[int, int],
    cons: np.ndarray,
    value: np.ndarray,
    weight: np.ndarray,
    members: sp.csr_array,
    aggregate: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The level estimate of each (row, item) cell: sorted flat keys ``row * n_items + item``
    and their values.

    The fired rules' values are aggregated per (row, consequent value) -- ``max``, ``sum``, or
    the mean weighted by ``weight`` -- then spread over the value's items, each times its entry
    in ``members`` (values x items: an item's share of its value's sales for confidence, 1 for
    lift; an item without an entry gets no opinion).
    """
    rows, rules = fired
    n_rows, n_items = shape
    n_levels = members.shape[0]
    cell_keys, cell = np.unique(rows * n_levels + cons[rules], return_inverse=True)
    v = value[rules]
    if aggregate == "max":
        agg = np.full(len(cell_keys), -np.inf)
        np.maximum.at(agg, cell, v)
    elif aggregate == "sum":
        agg = np.bincount(cell, weights=v, minlength=len(cell_keys))
    else:
        w = weight[rules]
        agg = np.bincount(cell, weights=w * v, minlength=len(cell_keys)) / np.maximum(np.bincount(cell, weights=w, minlength=len(cell_keys)), 1e-300)
    cell_row, cell_level = cell_keys // n_levels, cell_keys % n_levels
    starts, stops = members.indptr[cell_level], members.indptr[cell_level + 1]
    lengths = (stops - starts).astype(np.int64)
    pos = ragged_ranges(starts, stops)
    keys = np.repeat(cell_row, lengths) * n_items + members.indices[pos].astype(np.int64)
    values = np.repeat(agg, lengths) * members.data[pos]
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]


def pick_in_level(
    candidates: np.ndarray, together: np.ndarray, sold: np.ndarray, same_tier: np.ndarray, min_count: int
) -> tuple[int, str]:
    """The one item of a level value to offer with an anchor, and why it was chosen.

    In order: the item bought with the anchor most often, when that pair has at least
    ``min_count`` baskets (enough evidence, ``"together"``); else the best seller among the
    items of the anchor's price tier (``"tier"``); else the value's best seller (``"best"``).
    Ties go to more sales, then to the lower ``item_idx``.

    Parameters
    ----------
    candidates : np.ndarray
        The allowed items of the value (``item_idx``, increasing); at least one.
    together, sold : np.ndarray
        Per candidate: baskets shared with the anchor; baskets holding it.
    same_tier : np.ndarray
        Per candidate: whether its price tier is the anchor's.
    """
    key = np.lexsort((candidates, -sold, -together))
    best = key[0]
    if together[best] >= min_count:
        return int(candidates[best]), "together"
    in_tier = np.flatnonzero(same_tier)
    if len(in_tier):
        pick = in_tier[np.lexsort((candidates[in_tier], -sold[in_tier]))[0]]
        if sold[pick] > 0:
            return int(candidates[pick]), "tier"
    return int(candidates[np.lexsort((candidates, -sold))[0]]), "best"
