"""Lifecycle stages from each customer's own rhythm (:func:`lifecycle`), segment transitions
between two dates (:func:`transitions`) and changes of practice (:func:`practice_changes`).

Stages
------
At the reference moment, in this order:

==========  ==========================================================================
stage       rule
==========  ==========================================================================
prospect    no order up to ``at``
new         first order at most ``new_days`` (90) days ago
active      days since the last order <= ``overdue_factor`` (1.5) x their typical gap
at_risk     <= 2 x ``overdue_factor`` x the gap: overdue
dormant     <= 4 x ``overdue_factor`` x the gap
lost        beyond
==========  ==========================================================================

The **typical gap** is the median of the customer's gaps between consecutive days with an
order (the ``median_gap_days`` of :func:`~recokit.customers.features`), at least
``min_gap_days`` (14: two orders on consecutive days do not make a daily rhythm). A customer
with orders on one day only has no rhythm of their own: the shop's typical gap is used (the
median of the customers' own gaps, at least ``min_gap_days``; ``new_days`` when no customer
ordered twice), and the reason says so. Lifecycle reads no prices.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.customers.features import base_table
from recokit.customers.orders import purchase_lines, purchase_orders, reference
from recokit.customers.rfm import rfm
from recokit.data import NO_GROUP, Dataset

__all__ = ["STAGES", "lifecycle", "practice_changes", "transitions"]

#: The lifecycle stages, from the first order to the last.
STAGES: tuple[str, ...] = ("prospect", "new", "active", "at_risk", "dormant", "lost")


def _positive(name: str, value: Any, *, integer: bool) -> None:
    kinds = (int,) if integer else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{name} must be {'an int' if integer else 'a number'} > 0. Got {value!r}.")


def lifecycle(
    dataset: Dataset,
    *,
    at: Any = None,
    overdue_factor: float = 1.5,
    new_days: int = 90,
    min_gap_days: int = 14,
) -> pl.DataFrame:
    """The lifecycle stage of every customer at a reference date, from their own rhythm.

    Parameters
    ----------
    dataset : Dataset
        With times.
    at : datetime, date, ISO text or None
        The reference moment (default: the last timestamp); nothing later is read.
    overdue_factor : float, default 1.5
        A customer is overdue (``at_risk``) once the days since their last order exceed this
        many typical gaps; ``dormant`` beyond twice that, ``lost`` beyond four times.
    new_days : int, default 90
        Customers whose first order is at most this old are ``new``.
    min_gap_days : int, default 14
        The smallest typical gap.

    Returns
    -------
    polars.DataFrame
        ``customer_id, stage, recency_days, typical_gap_days, welcome_back, reason``, one row per
        customer. ``welcome_back`` is true for an active customer whose last order came after more
        than a dormant spell (``2 x overdue_factor`` typical gaps): greet them back.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import lifecycle
    >>> orders = pl.DataFrame({"customer_id": ["ann"] * 4 + ["bob"],
    ...     "item_id": ["gel"] * 5, "day": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-06-20"]})
    >>> stages = lifecycle(Dataset(orders, time_col="day"), at="2025-06-30")
    >>> stages.select("customer_id", "stage", "recency_days", "typical_gap_days").rows()
    [('ann', 'at_risk', 90, 31.0), ('bob', 'new', 10, 31.0)]
    >>> stages["reason"][0]
    'at_risk: last order 90 days ago, 2.9x their typical gap of 31 days (overdue after 46 days)'
    """
    _positive("overdue_factor", overdue_factor, integer=False)
    _positive("new_days", new_days, integer=True)
    _positive("min_gap_days", min_gap_days, integer=True)
    ref = reference(dataset, at, None)
    base = base_table(dataset, ref, "units")
    own = base["median_gap_days"].drop_nulls()
    shop_gap = max(float(own.median()), min_gap_days) if own.len() else float(new_days)  # type: ignore[arg-type]
    own_gap = pl.max_horizontal(pl.col("median_gap_days"), pl.lit(float(min_gap_days)))
    gap = pl.when(pl.col("recency_days").is_null()).then(None).when(pl.col("median_gap_days").is_null()).then(pl.lit(shop_gap)).otherwise(own_gap)
    ratio = pl.col("recency_days") / pl.col("typical_gap_days")
    f = float(overdue_factor)
    stage = (
        pl.when(pl.col("recency_days").is_null()).then(pl.lit("prospect"))
        .when(pl.col("tenure_days") <= new_days).then(pl.lit("new"))
        .when(ratio <= f).then(pl.lit("active"))
        .when(ratio <= 2 * f).then(pl.lit("at_risk"))
        .when(ratio <= 4 * f).then(pl.lit("dormant"))
        .otherwise(pl.lit("lost"))
    )
    table = base.with_columns(gap.alias("typical_gap_days")).with_columns(stage.alias("stage"))
    table = table.join(_last_gaps(dataset, ref), on="customer_idx", how="left", maintain_order="left")
    # back after a dormant spell: their last order came after more than a dormant gap (2 x factor
    # x their typical gap), and they are active again
    back = (pl.col("stage") == "active") & (pl.col("last_gap_days") > 2 * f * pl.col("typical_gap_days"))
    table = table.with_columns(back.fill_null(False).alias("welcome_back"))
    reason = _reason(ref.at, f, new_days, shop_gap)
    reason = pl.when(pl.col("welcome_back")).then(pl.format("{}; welcome back: this order came after {} days away", reason, pl.col("last_gap_days"))).otherwise(reason)
    return table.select("customer_id", "stage", "recency_days", "typical_gap_days", "welcome_back", reason.alias("reason"))


def _last_gaps(dataset: Dataset, ref: Any) -> pl.DataFrame:
    """``customer_idx, last_gap_days``: the days between each customer's last two order days."""
    days = purchase_orders(dataset, ref, "units").select("customer_idx", "day").unique()
    last = days.group_by("customer_idx").agg(pl.col("day").sort().tail(2).alias("d"))
    return last.filter(pl.col("d").list.len() == 2).select(
        "customer_idx", (pl.col("d").list.get(1) - pl.col("d").list.get(0)).cast(pl.Int64).alias("last_gap_days")
    )


def _reason(at: dt.datetime, factor: float, new_days: int, shop_gap: float) -> pl.Expr:
    days = pl.col("recency_days")
    ago = pl.when(days == 0).then(pl.lit("today")).when(days == 1).then(pl.lit("1 day ago")).otherwise(pl.format("{} days ago", days))
    gap = pl.col("typical_gap_days").round(0).cast(pl.Int64)
    whose = pl.when(pl.col("median_gap_days").is_null()).then(pl.lit("the shop's typical gap (one order day only)")).otherwise(pl.lit("their typical gap"))
    ratio = (days / pl.col("typical_gap_days")).round(1).cast(pl.String)
    overdue = (pl.col("typical_gap_days") * factor).floor().cast(pl.Int64)  # overdue from the next day on
    rhythm = pl.format("{}: last order {}, {}x {} of {} days (overdue after {} days)", pl.col("stage"), ago, ratio, whose, gap, overdue)
    first = pl.col("tenure_days")
    new = pl.format("new: first order {} (within {} days)", pl.when(first == 0).then(pl.lit("today")).otherwise(pl.format("{} days ago", first)), pl.lit(new_days))
    return (
        pl.when(pl.col("stage") == "prospect").then(pl.lit(f"prospect: no order up to {at.date().isoformat()}"))
        .when(pl.col("stage") == "new").then(new)
        .otherwise(rhythm)
    )


def transitions(dataset: Dataset, start: Any, end: Any, *, by: str = "rfm", **options: Any) -> pl.DataFrame:
    """Who moved where between two dates: each customer's RFM segment (``by="rfm"``) or
    lifecycle stage (``by="lifecycle"``) at ``start`` and at ``end``.

    ``options`` go to :func:`~recokit.customers.rfm` or :func:`lifecycle` (``window_days``,
    ``segments``, ``overdue_factor``, ...). Customers whose first order comes after ``start``
    are ``prospect`` there.

    Returns
    -------
    polars.DataFrame
        ``customer_id, before, after, moved`` (``moved``: ``before != after``), one row per
        customer; ``group_by("before", "after").len()`` gives the transition counts.

    Examples
    --------
    >>> from recokit.datasets import sports_shop
    >>> from recokit.customers import transitions
    >>> moves = transitions(sports_shop(300, seed=1), "2025-01-01", "2025-06-30", by="lifecycle")
    >>> moves.columns, moves.height
    (['customer_id', 'before', 'after', 'moved'], 300)
    """
    if by not in ("rfm", "lifecycle"):
        raise ConfigError(f"by must be 'rfm' or 'lifecycle'. Got {by!r}.")
    start_ref, end_ref = reference(dataset, start, None), reference(dataset, end, None)
    if not start_ref.at < end_ref.at:
        raise ConfigError(f"start must come before end. Got start={start!r}, end={end!r}.")
    column = "segment" if by == "rfm" else "stage"
    measure = rfm if by == "rfm" else lifecycle
    before = measure(dataset, at=start_ref.at, **options).select("customer_id", pl.col(column).alias("before"))
    after = measure(dataset, at=end_ref.at, **options).select(pl.col(column).alias("after"))
    return pl.concat([before, after], how="horizontal").with_columns((pl.col("before") != pl.col("after")).alias("moved"))


def practice_changes(
    dataset: Dataset,
    *,
    at: Any = None,
    window_days: int = 180,
    column: str = "sport",
    min_share: float = 0.25,
    min_lines: int = 2,
) -> pl.DataFrame:
    """Customers taking up something new: in the last ``window_days``, at least ``min_lines``
    purchase lines and ``min_share`` of their lines in a value of catalogue ``column`` (a sport,
    a category) they never bought before the window. Only customers who bought something
    before the window can change practice (a new customer is not changing).

    Returns
    -------
    polars.DataFrame
        ``customer_id, <column>, share, lines, since, reason``, one row per (customer, new
        value), sorted by customer and value; ``since`` is the date of the first such line.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import practice_changes
    >>> orders = pl.DataFrame({"customer_id": ["ann"] * 4, "item_id": ["shoe", "shoe", "bike", "tube"],
    ...     "day": ["2024-06-01", "2025-05-01", "2025-05-20", "2025-06-10"]})
    >>> catalog = pl.DataFrame({"item_id": ["shoe", "bike", "tube"], "sport": ["running", "cycling", "cycling"]})
    >>> practice_changes(Dataset(orders, catalog, time_col="day"), at="2025-06-30")["reason"].to_list()
    ['started cycling: 67 % of purchases in the last 180 days (2 lines since 2025-05-20), none before']
    """
    _positive("window_days", window_days, integer=True)
    _positive("min_lines", min_lines, integer=True)
    if not isinstance(min_share, int | float) or isinstance(min_share, bool) or not 0 <= min_share <= 1:
        raise ConfigError(f"min_share must be a number between 0 and 1. Got {min_share!r}.")
    if column not in dataset.catalog.columns:
        raise DataError(f"practice_changes: the catalogue has no column {column!r}.", hint=f"choose among {dataset.catalog.columns}.")
    ref = reference(dataset, at, window_days)
    groups = pl.DataFrame({"item_idx": pl.int_range(dataset.n_items, dtype=pl.Int64, eager=True), column: dataset.catalog[column].cast(pl.String).fill_null(NO_GROUP)})
    lines = purchase_lines(dataset, ref, "units").join(groups, on="item_idx", how="left")
    recent = ref.in_window(pl.col("day"))
    before = lines.filter(~recent).select("customer_idx", column).unique()
    window = lines.filter(recent).with_columns(pl.len().over("customer_idx").alias("__total"))
    new = window.join(before, on=["customer_idx", column], how="anti").join(before.select("customer_idx").unique(), on="customer_idx", how="semi")
    changes = new.group_by("customer_idx", column).agg(pl.len().alias("lines"), (pl.len() / pl.col("__total").first()).alias("share"), pl.col("day").min().cast(pl.Date).alias("since"))
    changes = changes.filter((pl.col("lines") >= min_lines) & (pl.col("share") >= min_share)).sort("customer_idx", column)
    ids = pl.DataFrame({"customer_idx": pl.int_range(dataset.n_customers, dtype=pl.Int64, eager=True), "customer_id": dataset.customer_ids.series})
    reason = pl.format(
        "started {}: {} % of purchases {} ({} lines since {}), none before",
        pl.col(column), (pl.col("share") * 100).round(0).cast(pl.Int64), pl.lit(ref.window_text), pl.col("lines"), pl.col("since").cast(pl.String),
    )
    return changes.join(ids, on="customer_idx", how="left").select("customer_id", column, "share", pl.col("lines").cast(pl.Int64), "since", reason.alias("reason"))
