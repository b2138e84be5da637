"""Baskets: which interactions were bought together, numbered independently of row order.

With a basket column, a basket is one of its values (one customer's order); without one, a
customer's purchases on one day (when times are known), else the customer's whole history.

Examples
--------
>>> import polars as pl
>>> from recokit.data import assign_baskets
>>> rows = pl.DataFrame({"customer_id": ["b", "a", "b"], "customer_idx": [1, 0, 1]})
>>> rows, baskets = assign_baskets(rows, customer_col="customer_id", basket_col=None, time_col=None)
>>> rows.sort("customer_id")["basket_idx"].to_list(), baskets["__bc"].to_list()
([0, 1, 1], [0, 1])
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recokit._errors import DataError
from recokit.data.arrays import dense_codes, stable_order
from recokit.data.validation import EXAMPLES, check_no_nulls

__all__ = ["assign_baskets", "interaction_order"]


def _check_one_owner(rows: pl.DataFrame, basket_col: str, customer_col: str, basket_name: str) -> None:
    """Raise naming the baskets that belong to more than one customer (called once a cheaper
    count said there are some: this pass only builds the message)."""
    owners = rows.group_by(basket_col, maintain_order=True).agg(pl.col(customer_col).n_unique().alias("n"))
    shared = owners.filter(pl.col("n") > 1)
    if len(shared):
        raise DataError(
            f"interactions: {len(shared)} basket(s) in column {basket_name!r} belong to more than one customer, e.g. "
                f"{shared[basket_col].head(EXAMPLES).to_list()}.", column=basket_name, rows=len(shared), hint="an order id must identify one customer's order; check the join that built the table."
        )


def assign_baskets(
    rows: pl.DataFrame, *, customer_col: str, basket_col: str | None, time_col: str | None, basket_name: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the baskets of ``rows`` (which hold ``customer_idx``) and add a ``basket_idx`` column.

    Baskets are ordered by their first time (when ``time_col`` is given), then by their key, so
    the indices do not depend on row order. ``basket_name`` is what error messages call the
    basket column (the user's name when ``rows`` use internal ones; default ``basket_col``).

    Returns
    -------
    rows : pl.DataFrame
        The input rows plus ``basket_idx`` (``Int64``).
    baskets : pl.DataFrame
        One row per basket in ``basket_idx`` order: ``__bc`` its customer index and, with
        times, ``__bt`` its first time.
    """
    if basket_col is not None:
        check_no_nulls(rows, basket_col, "interactions")
        key = [basket_col]
        codes = _dense_rank(rows[basket_col])
    elif time_col is not None:
        rows = rows.with_columns(pl.col(time_col).dt.date().alias("__day"))
        key = ["customer_idx", "__day"]
        day = pl.col("__day").cast(pl.Int64)
        codes = _dense_rank(rows.select((pl.col("customer_idx") * (day.max() - day.min() + 1) + day - day.min()).alias("k")).to_series())  # (customer, day) as one integer
    else:
        key = ["customer_idx"]
        codes = _dense_rank(rows["customer_idx"])
    # the basket keys numbered in their sorted order, then each basket's customer and first time
    n = int(codes.max(initial=-1)) + 1
    cust = rows["customer_idx"].to_numpy().astype(np.int64)
    # a basket's key (and, with one owner, its customer) is that of any of its rows: the last
    # row written wins, then every row is compared with its basket's value
    any_row, owner = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    any_row[codes] = np.arange(len(codes), dtype=np.int64)
    owner[codes] = cust
    if basket_col is not None and not np.array_equal(owner[codes], cust):
        _check_one_owner(rows, basket_col, customer_col, basket_name or basket_col)
    by = np.arange(n, dtype=np.int64)  # sorted by key; with times, by first time (stable: then by key)
    columns: dict[str, pl.Series] = {}
    if time_col is not None:
        t = rows[time_col]
        first_t = _first_times(codes, t.to_physical().to_numpy().astype(np.int64), n)
        by = pl.DataFrame({"t": first_t}).with_row_index("i").sort("t", maintain_order=True)["i"].to_numpy().astype(np.int64)
        columns["__bt"] = pl.Series("__bt", first_t[by]).cast(t.dtype)
    basket_of_code = np.empty(n, dtype=np.int64)
    basket_of_code[by] = np.arange(n, dtype=np.int64)
    baskets = rows.select(pl.col(key).gather(any_row[by])).with_columns(pl.Series("__bc", owner[by]), *columns.values())
    baskets = baskets.with_row_index("basket_idx").with_columns(pl.col("basket_idx").cast(pl.Int64))
    return rows.with_columns(pl.Series("basket_idx", basket_of_code[codes])), baskets


def _dense_rank(key: pl.Series) -> np.ndarray:
    """``key.rank("dense") - 1`` as ``int64``: by a lookup table for integer keys of a compact
    range (order numbers), else polars' rank (a sort)."""
    values = key.to_numpy() if key.dtype.is_integer() else None
    found = dense_codes(values) if values is not None else None
    if found is not None:
        return found[1]
    return key.rank("dense").to_numpy().astype(np.int64) - 1


def _first_times(codes: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    """The earliest of the times ``t`` of each basket ``codes``: when every row holds its
    basket's time (an order's lines share its time) one write and one comparison, else a
    minimum over the rows."""
    first = np.zeros(n, dtype=np.int64)
    first[codes] = t
    if np.array_equal(first[codes], t):
        return first
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, t)
    return first


def interaction_order(rows: pl.DataFrame, basket_time: np.ndarray | None, n_baskets: int, n_items: int) -> np.ndarray:
    """The positions of ``rows`` (with ``basket_idx``, ``item_idx`` and, with times,
    ``timestamp``) in the Dataset's order: by time, basket, item; rows equal on all three keep
    their order (stable).

    ``basket_time`` is each basket's first time (``datetime64[us]``, None without times) and
    ``n_baskets`` their number. When every row has its basket's first time -- an order id's
    lines share its time -- the order is by basket, then item (baskets are numbered by first
    time), which two counting sorts give; otherwise a stable sort on the three keys.
    """
    basket = rows["basket_idx"].to_numpy()
    if basket_time is not None:
        t = rows["timestamp"].to_numpy()
        if not np.array_equal(t, basket_time[basket]):
            sorted_rows = rows.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("__row"), "timestamp", "basket_idx", "item_idx")
            return sorted_rows.sort(["timestamp", "basket_idx", "item_idx"], maintain_order=True)["__row"].to_numpy()
    by_item = stable_order(rows["item_idx"].to_numpy(), n_items)
    return by_item[stable_order(basket[by_item], n_baskets)]
