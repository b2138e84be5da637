"""Per-customer features at a reference date: :func:`features`.

Every column, for customers at the reference moment ``at`` with a window of ``window_days``
(see :mod:`recokit.customers.orders` for days, windows, orders and prices):

==========================  ===================================================================
column                      meaning
==========================  ===================================================================
``customer_id``             every customer of the dataset (customers table included), in id order
``recency_days``            days from the last order (any time up to ``at``) to ``at``; null: none
``frequency``               orders in the window (0 when none)
``monetary``                spent in the window: sum of quantity x unit price (0 when none)
``lifetime_orders``         orders up to ``at``, window or not
``tenure_days``             days from the first order to ``at``; null: no order yet
``median_gap_days``         median of the gaps between consecutive days with an order, over the
                            whole history up to ``at``; null with fewer than two such days
``basket_units``            mean units per order in the window (null without an order)
``basket_value``            mean spend per order in the window (``monetary / frequency``)
``price_level``             the customer's mean unit price paid in the window (spend / units) over
                            the shop's (all customers' spend / units in the window): 1.3 = pays
                            30 % above the shop's mean; null without an order or with
                            ``price="units"``
``season_q1`` .. ``_q4``    share of the window's orders placed in each calendar quarter
``share_<col>_<value>``     share of the window's spend on items whose catalogue column
                            ``<col>`` is ``<value>`` (one column per value; ``(none)`` for items
                            without a value); by default for ``category`` and ``sport`` when the
                            catalogue has them
``events_<type>``           rows of each non-purchase event type (views, cart adds) in the
                            window, when the dataset has an event column
==========================  ===================================================================

Shares and per-order means are null for a customer without an order in the window: no
behaviour, no opinion (never 0, which would read as "buys none of it").
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.customers.orders import (
    Reference,
    order_table,
    purchase_lines,
    purchase_orders,
    reference,
)
from recokit.data import NO_GROUP, Dataset

__all__ = ["DEFAULT_SHARES", "base_from_orders", "base_of", "base_table", "features", "group_shares"]

#: The catalogue columns whose spend shares :func:`features` adds when present.
DEFAULT_SHARES: tuple[str, ...] = ("category", "sport")


def _gap_medians(orders: pl.DataFrame) -> pl.DataFrame:
    days = orders.select("customer_idx", "day").unique().sort("customer_idx", "day")
    gaps = days.with_columns(pl.col("day").diff().over("customer_idx").alias("gap")).drop_nulls("gap")
    return gaps.group_by("customer_idx").agg(pl.col("gap").median().alias("median_gap_days"))


def base_from_orders(dataset: Dataset, ref: Reference, orders: pl.DataFrame, *, gaps: bool = True) -> pl.DataFrame:
    """The per-customer core (every customer, ``customer_idx`` order) from an :func:`order_table`.

    Columns: ``customer_idx, customer_id, recency_days, frequency, monetary, units,
    lifetime_orders, tenure_days`` (+ ``median_gap_days`` when ``gaps``).
    """
    in_window = ref.in_window(pl.col("day"))
    per = orders.group_by("customer_idx").agg(
        (ref.day - pl.col("day").max()).cast(pl.Int64).alias("recency_days"),
        in_window.sum().cast(pl.Int64).alias("frequency"),
        pl.col("value").filter(in_window).sum().alias("monetary"),
        pl.col("units").filter(in_window).sum().alias("units"),
        pl.len().cast(pl.Int64).alias("lifetime_orders"),
        (ref.day - pl.col("day").min()).cast(pl.Int64).alias("tenure_days"),
    )
    if gaps:
        per = per.join(_gap_medians(orders), on="customer_idx", how="left")
    return base_of(dataset.customer_ids.series, per)


def base_of(customer_ids: pl.Series, per: pl.DataFrame) -> pl.DataFrame:
    """Every customer of ``customer_ids`` (their ``customer_idx`` order) with the per-customer
    aggregates ``per`` (keyed by ``customer_idx``; customers without an order absent): the
    table :func:`base_from_orders` returns, zeros filled in (``recokit.spark`` makes ``per``
    with Spark group-bys)."""
    everyone = pl.DataFrame({"customer_idx": np.arange(len(customer_ids), dtype=np.int64), "customer_id": customer_ids})
    return everyone.join(per, on="customer_idx", how="left", maintain_order="left").with_columns(
        pl.col("frequency", "lifetime_orders").fill_null(0),
        pl.col("monetary", "units").fill_null(0.0),
    )


def base_table(dataset: Dataset, ref: Reference, price: str = "auto", *, gaps: bool = True) -> pl.DataFrame:
    """:func:`base_from_orders` of the dataset's orders up to ``ref.at`` (no lines held)."""
    return base_from_orders(dataset, ref, purchase_orders(dataset, ref, price), gaps=gaps)


def _values_of(dataset: Dataset, column: str, max_values: int, spend: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each item's group code for catalogue ``column`` and the group names; beyond
    ``max_values`` groups the least-spent ones become ``(other)``, with a DataWarning."""
    values = dataset.catalog[column].cast(pl.String).fill_null(NO_GROUP)
    names = sorted(values.unique().to_list())
    lookup = {v: i for i, v in enumerate(names)}
    codes = np.fromiter((lookup[v] for v in values.to_list()), dtype=np.int64, count=len(values))
    if len(names) <= max_values:
        return codes, names
    per_group = np.bincount(codes, weights=spend, minlength=len(names))
    keep = np.sort(np.argsort(-per_group, kind="stable")[:max_values])
    warnings.warn(
        f"catalogue column {column!r} has {len(names)} values: shares kept for the {max_values} with the most spend, "
        f"the other {len(names) - max_values} summed as '(other)' (pass max_values= to keep more).",
        DataWarning,
        stacklevel=4,
    )
    remap = np.full(len(names), len(keep), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    return remap[codes], [names[i] for i in keep] + ["(other)"]


def group_shares(
    dataset: Dataset, lines: pl.DataFrame, column: str, *, weight: str = "value", max_values: int = 50
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Customers x groups of catalogue ``column``: each customer's share of ``weight`` (``"value"``
    = spend, ``"lines"`` = order lines) per group, over ``lines``.

    Returns the share matrix (rows: ``customer_idx``; NaN where the customer has no weight),
    the group names and each customer's total weight.
    """
    w = lines["value"].to_numpy() if weight == "value" else np.ones(lines.height)
    item = lines["item_idx"].to_numpy()
    spend_per_item = np.bincount(item, weights=w, minlength=dataset.n_items)
    codes, names = _values_of(dataset, column, max_values, spend_per_item)
    n, g = dataset.n_customers, len(names)
    cell = lines["customer_idx"].to_numpy() * g + codes[item]
    totals = np.bincount(lines["customer_idx"].to_numpy(), weights=w, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.bincount(cell, weights=w, minlength=n * g).reshape(n, g) / totals[:, None]
    shares[totals <= 0] = np.nan
    return shares, names, totals


def _share_columns(dataset: Dataset, lines: pl.DataFrame, shares: Sequence[str] | None, max_values: int) -> list[pl.Series]:
    if shares is None:
        columns = [c for c in DEFAULT_SHARES if c in dataset.catalog.columns]
    else:
        if isinstance(shares, str):
            raise ConfigError(f"shares must be a list of catalogue columns. Got the text {shares!r}.", hint=f"pass shares=[{shares!r}].")
        columns = list(shares)
        missing = [c for c in columns if c not in dataset.catalog.columns]
        if missing:
            raise DataError(f"shares: the catalogue has no column(s) {missing}.", hint=f"choose among {dataset.catalog.columns}.")
    out = []
    for column in columns:
        matrix, names, _ = group_shares(dataset, lines, column, max_values=max_values)
        out += [pl.Series(f"share_{column}_{name}", matrix[:, j]).fill_nan(None) for j, name in enumerate(names)]
    return out


def _season_columns(orders_w: pl.DataFrame, n: int) -> list[pl.Series]:
    quarter = orders_w["day"].cast(pl.Date).dt.quarter().cast(pl.Int64).to_numpy() - 1
    cust = orders_w["customer_idx"].to_numpy()
    counts = np.bincount(cust * 4 + quarter, minlength=n * 4).reshape(n, 4).astype(np.float64)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / total[:, None]
    return [pl.Series(f"season_q{q + 1}", share[:, q]).fill_nan(None) for q in range(4)]


def _event_columns(dataset: Dataset, ref: Reference) -> list[pl.Series]:
    if "event" not in dataset.interactions.columns:
        return []
    day = pl.col("timestamp").dt.date().cast(pl.Int32)
    rows = dataset.interactions.filter((pl.col("timestamp") <= ref.at) & ref.in_window(day) & (pl.col("event") != "purchase"))
    kinds = sorted(dataset.interactions.filter(pl.col("event") != "purchase")["event"].unique().to_list())
    n = dataset.n_customers
    out = []
    for kind in kinds:  # one pass per event type (a handful), not per customer
        idx = rows.filter(pl.col("event") == kind)["customer_idx"].to_numpy()
        out.append(pl.Series(f"events_{kind}", np.bincount(idx, minlength=n).astype(np.int64)))
    return out


def features(
    dataset: Dataset,
    *,
    at: Any = None,
    window_days: int | None = 365,
    price: str = "auto",
    shares: Sequence[str] | None = None,
    max_values: int = 50,
) -> pl.DataFrame:
    """Per-customer features at a reference date, one row per customer of the dataset.

    Parameters
    ----------
    dataset : Dataset
        With times (``time_col``); prices from ``price_col`` or the catalogue (see ``price``).
    at : datetime, date, ISO text or None
        The reference moment (inclusive; a date counts its whole day). Default: the dataset's
        last timestamp. Nothing after it is read.
    window_days : int or None, default 365
        The window of frequency, monetary, baskets, price level, seasons, shares and events
        (the last ``window_days`` calendar days up to ``at``); None = all history.
    price : {'auto', 'paid', 'catalog', 'units'}
        Where a line's unit price comes from (:mod:`recokit.customers.orders`).
    shares : list of str, optional
        Catalogue columns whose spend shares are added; default ``category`` and ``sport`` when
        present; ``[]`` for none. A named column that is absent is a DataError.
    max_values : int, default 50
        At most this many share columns per catalogue column (the rest summed as ``(other)``,
        with a DataWarning).

    Returns
    -------
    polars.DataFrame
        The columns of the table in :mod:`recokit.customers.features`.

    Examples
    --------
    >>> from recokit.datasets import sports_shop
    >>> from recokit.customers import features
    >>> f = features(sports_shop(300, seed=1))
    >>> f.columns[:6]
    ['customer_id', 'recency_days', 'frequency', 'monetary', 'lifetime_orders', 'tenure_days']
    >>> f.height, "share_sport_cycling" in f.columns
    (300, True)
    """
    if not isinstance(max_values, int) or isinstance(max_values, bool) or max_values < 1:
        raise ConfigError(f"max_values must be an int >= 1. Got {max_values!r}.")
    ref = reference(dataset, at, window_days)
    lines = purchase_lines(dataset, ref, price)
    orders = order_table(lines)
    base = base_from_orders(dataset, ref, orders)
    in_window = ref.in_window(pl.col("day"))
    lines_w, orders_w = lines.filter(in_window), orders.filter(in_window)
    shop_units = float(lines_w["quantity"].sum())
    shop_price = float(lines_w["value"].sum()) / shop_units if shop_units > 0 else float("nan")
    has_orders = pl.col("frequency") > 0
    level = (pl.col("monetary") / pl.col("units") / shop_price) if price != "units" and shop_price > 0 else pl.lit(None, dtype=pl.Float64)
    table = base.with_columns(
        pl.when(has_orders).then(pl.col("units") / pl.col("frequency")).alias("basket_units"),
        pl.when(has_orders).then(pl.col("monetary") / pl.col("frequency")).alias("basket_value"),
        pl.when(has_orders & (pl.col("units") > 0)).then(level).alias("price_level"),
    ).drop("customer_idx", "units")
    extra = _season_columns(orders_w, dataset.n_customers) + _share_columns(dataset, lines_w, shares, max_values) + _event_columns(dataset, ref)
    return table.with_columns(extra)
