"""Renewal: "your running shoes are 7 months old" -- repurchase timing learnt from the data.

For each category (``category_column``), :class:`Renewal` measures how long customers wait between
two consecutive purchases of that category: the *intervals*. A category is *renewable* when the
data shows a real cycle:

* at least ``min_support`` intervals were observed;
* at least ``min_repeat_share`` of the category's buyers bought it again (durable one-offs --
  child bikes, tents, adult bikes -- fail here: most buyers buy once);
* the interquartile range of the intervals is at most ``max_spread`` times their median (a
  second purchase at random times is not a cycle).

At request time the customer's last purchase of each renewable category is aged against the learnt
interval (median ``m``, quartiles ``q25``, ``q75``); ``elapsed`` is the time since that purchase:

* ``elapsed < early * q25``: too early -- no opinion (NaN);
* from there up to ``m``: the score rises to 1 (a Gaussian in ``log(elapsed / m)`` whose width
  comes from the quartiles);
* from ``m`` to ``q75``: 1 (due now);
* from ``q75`` to ``late * q75``: falls linearly (in log time) from 1 to 0.25 (overdue);
* later: the customer has probably stopped -- NaN.

A due category's items are scored ``due x appeal``: ``appeal`` is the product's share of the
category's recent buyers (best sellers of the last ``popularity_days`` days first); with
``prefer_previous`` the product the customer bought last in the category gets the full appeal of
1, products they bought earlier 0.95 and other products at most 0.9, because a runner who liked a
shoe model usually buys it again.
Items of categories that are not due are NaN.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recokit._errors import DataError, DataWarning
from recokit.core import Batch, CountModel, ScoreBlock
from recokit.data import (
    DAY_US,
    CategoryEvents,
    CategoryRepeats,
    CategorySpec,
    CountTables,
    Dataset,
    TableSpec,
    category_codes,
    category_events,
    category_tables,
    item_label,
    ragged_ranges,
    stable_order,
)
from recokit.params import Boolean, InstanceOf, Interval, param

__all__ = ["Renewal"]

_MONTH_DAYS = 365.25 / 12



def _unit(q25: float, q75: float) -> tuple[str, float]:
    """The unit a shopper would use for an interval of ``q25``..``q75`` days."""
    if q25 >= 60 or q75 >= 90:
        return "months", _MONTH_DAYS
    if q25 >= 14:
        return "weeks", 7.0
    return "days", 1.0


def _duration(days: float, unit: tuple[str, float]) -> str:
    n = max(round(days / unit[1]), 1)
    return f"{n} {unit[0] if n != 1 else unit[0][:-1]}"


def _every(q25: float, q75: float, unit: tuple[str, float]) -> str:
    a = max(round(q25 / unit[1]), 1)
    b = max(round(q75 / unit[1]), a)
    if a == b:
        return f"every {unit[0][:-1]}" if a == 1 else f"every {a} {unit[0]}"
    return f"every {a}\u2013{b} {unit[0]}"


class Renewal(CountModel):
    """Suggest renewing what a customer buys on a cycle (running shoes, inner tubes, socks...).

    Parameters
    ----------
    category_column : str
        Catalogue column whose values are renewed (default ``'category'``).
    min_support : int
        Fewest observed repurchase intervals for a category to be renewable (default 20).
    min_repeat_share : float
        Fewest share of a category's buyers who bought it again (default 0.25).
    max_spread : float
        Largest interquartile range of the intervals, as a multiple of their median (default 1.0).
    min_gap_days : float
        Purchases of one category closer than this are the same need (a top-up, two sizes), not a
        renewal: such gaps are not intervals (default 14).
    early, late : float
        The due window: from ``early * q25`` to ``late * q75`` days after the last purchase
        (defaults 0.9 and 2.5).
    popularity_days : float
        Window of "current best products" (distinct recent buyers) before the data's end (default 180).
    prefer_previous : bool
        Put the product the customer bought last first in its category, then the ones bought
        earlier, then the best sellers (default True).
    event : str
        With an event column in the data, only this event type counts as a purchase (default
        ``'purchase'``).

    Attributes
    ----------
    intervals_ : polars.DataFrame
        One row per category: ``category, buyers, repeaters, repeat_share, intervals, q25_days,
        median_days, q75_days, renewable, why`` (``why`` says why a category is not renewable).

    Examples
    --------
    >>> from recokit import Renewal
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(1000, seed=2)
    >>> model = Renewal().fit(shop)
    >>> t = model.intervals_
    >>> t.filter(category="child_bike")["renewable"].to_list()
    [False]
    """

    category_column: str = param(
        default="category",
        check=InstanceOf(str),
        doc="Catalogue column whose values are renewed (a column name).",
    )
    min_support: int = param(
        default=20,
        check=Interval(int, low=1),
        doc="Fewest observed repurchase intervals for a category to be renewable.",
    )
    min_repeat_share: float = param(
        default=0.25,
        check=Interval(float, low=0, high=1),
        doc="Fewest share of a category's buyers who bought it again.",
    )
    max_spread: float = param(
        default=1.0,
        check=Interval(float, low=0, low_open=True),
        doc="Largest interquartile range of the intervals, as a multiple of their median.",
    )
    min_gap_days: float = param(
        default=14.0,
        check=Interval(float, low=0),
        doc="Purchases of one category closer than this are the same need (a top-up, two sizes), not a renewal: "
        "such gaps are not intervals.",
    )
    early: float = param(
        default=0.9,
        check=Interval(float, low=0, high=1, low_open=True),
        doc="Start of the due window: ``early * q25`` days after the last purchase.",
    )
    late: float = param(
        default=2.5,
        check=Interval(float, low=1),
        doc="End of the due window: ``late * q75`` days after the last purchase.",
    )
    popularity_days: float = param(
        default=180.0,
        check=Interval(float, low=0, low_open=True),
        doc='Window of "current best products" (distinct recent buyers) before the data\'s end.',
    )
    prefer_previous: bool = param(
        default=True,
        check=Boolean(),
        doc="Put the product the customer bought last first in its category, then the ones bought earlier, then "
        "the best sellers.",
    )
    event: str = param(
        default="purchase",
        check=InstanceOf(str),
        doc="With an event column in the data, only this event type counts as a purchase.",
    )

    specificity: ClassVar[int] = 40
    #: its reasons for a product the customer bought say so ("time to renew your ...")
    explains_owned: ClassVar[bool] = True

    def signal(self) -> str:
        return "due for renewal"

    # -- fitting -----------------------------------------------------------------------------
    def table_spec(self) -> TableSpec:
        """The tables the fit derives from (:class:`recokit.data.FitsFromTables`): the category
        repeat tables (:class:`recokit.data.CategoryRepeats`) of ``category_column``, ``event``,
        ``min_gap_days`` and ``popularity_days``; the purchase histories requests read come from
        the Dataset."""
        return TableSpec(buyers=False, categories=CategorySpec(self.category_column, self.event, max(math.ceil(self.min_gap_days * DAY_US), 1), self.popularity_days))

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        self._check_time(dataset)
        spec = self.table_spec().categories
        assert spec is not None
        names, item_cat, ev, repeats = category_tables(dataset, spec, "Renewal")
        self._derive(dataset, names, item_cat, repeats, ev, stacklevel=5)

    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        self._check_time(dataset)
        assert tables.category_repeats is not None  # check_tables
        names, item_cat = category_codes(dataset, self.category_column, "Renewal")
        if len(tables.category_repeats.buyers) != len(names):
            raise DataError(
                f"Renewal.fit_from_tables: the tables have {len(tables.category_repeats.buyers)} categories, the catalog's column {self.category_column!r} {len(names)}.",
                hint="count the tables of this model's table_spec() on the rows the Dataset was built from.",
            )
        self._derive(dataset, names, item_cat, tables.category_repeats, None, stacklevel=7)

    def _check_time(self, dataset: Dataset) -> None:
        if not dataset.has_time:
            raise DataError("Renewal needs purchase timestamps.", hint="build the Dataset with time_col=...")

    def _derive(self, dataset: Dataset, names: list[str], item_cat: np.ndarray, repeats: CategoryRepeats, ev: CategoryEvents | None, stacklevel: int) -> None:
        """The fitted state from the repeat tables (the same code for a fit and for tables
        counted elsewhere); ``ev``: the sorted categorised purchases when the caller has them,
        else those of the renewable categories are read from the Dataset (the histories)."""
        if "event" in dataset.interactions.columns and repeats.n_event_rows == 0:
            raise DataError(f"Renewal: no interaction has event type {self.event!r}.", hint="pass event=... naming the purchase event of your data.")
        self.categories_ = names
        self.item_category_ = item_cat
        ok = self._fit_intervals(repeats, names)
        if not ok.any():
            self._warn_nothing_learnt(stacklevel)
        if ev is None:
            ev = category_events(dataset, item_cat, len(names), self.event, keep=ok)[0]
        self._fit_purchases(ev, ok, dataset.n_customers)
        self._fit_appeal(repeats, item_cat, len(names))

    def _fit_intervals(self, repeats: CategoryRepeats, names: list[str]) -> np.ndarray:
        """Repurchase intervals and their quartiles per category, and which categories are
        renewable (returned as a mask over the category codes)."""
        n_cat = len(names)
        g_cust, g_cat, g_gap = repeats.gap_customer, repeats.gap_category, repeats.gap_us
        #: every observed interval (customer_idx, category code, days): the sufficient statistics
        #: an exact incremental update or erasure of a customer would recompute the quartiles from
        per_us = 1.0 / DAY_US  # days as polars computes ``gap / DAY_US``: times the reciprocal
        self.gaps_ = pl.DataFrame({"customer_idx": g_cust, "cat": g_cat, "days": g_gap * per_us})
        g_new = np.r_[True, (g_cust[1:] != g_cust[:-1]) | (g_cat[1:] != g_cat[:-1])] if len(g_cat) else np.zeros(0, dtype=bool)
        intervals = np.bincount(g_cat, minlength=n_cat).astype(np.int64)
        quartiles = np.full((3, n_cat), np.nan)
        by_cat = g_gap[stable_order(g_cat, n_cat)].astype(np.float64)  # exact: gaps in µs are far below 2**53
        bounds = np.r_[0, np.cumsum(intervals)]
        for c in np.flatnonzero(intervals).tolist():
            quartiles[:, c] = np.quantile(by_cat[bounds[c] : bounds[c + 1]], [0.25, 0.5, 0.75], method="linear") * per_us
        table = pl.DataFrame(
            {
                "cat": np.arange(n_cat, dtype=np.int64),
                "category": names,
                "buyers": repeats.buyers,
                "repeaters": np.bincount(g_cat[g_new], minlength=n_cat).astype(np.int64),
                "intervals": intervals,
                "q25_days": pl.Series(quartiles[0]).fill_nan(None),  # null: no interval
                "median_days": pl.Series(quartiles[1]).fill_nan(None),
                "q75_days": pl.Series(quartiles[2]).fill_nan(None),
            }
        ).with_columns((pl.col("repeaters") / pl.col("buyers").clip(lower_bound=1)).alias("repeat_share"))
        table = table.with_columns(self._why_not_renewable().alias("why")).with_columns(pl.col("why").is_null().alias("renewable"))
        self.intervals_ = table.select(
            "category", "buyers", "repeaters", "repeat_share", "intervals", "q25_days", "median_days", "q75_days", "renewable", "why"
        )
        ok = table["renewable"].to_numpy()
        self._renewable = ok
        self._q25 = table["q25_days"].fill_null(np.nan).to_numpy().astype(np.float64)
        self._med = table["median_days"].fill_null(np.nan).to_numpy().astype(np.float64)
        self._q75 = table["q75_days"].fill_null(np.nan).to_numpy().astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._sigma = np.maximum(np.log(self._q75 / self._q25) / 1.349, 0.1)
        return ok

    def _warn_nothing_learnt(self, stacklevel: int) -> None:
        """A DataWarning: no category is renewable, so every score is NaN (back-fill only)."""
        table = self.intervals_.sort(["intervals", "category"], descending=[True, False])
        reasons = [f"{c!r}: {w}" for c, w in table.select("category", "why").head(3).iter_rows()]
        warnings.warn(
            f"Renewal learnt nothing: none of the {table.height} categories of column {self.category_column!r} is renewable "
            f"({'; '.join(reasons) or 'no categorised purchase'}), so every score is NaN and recommendations come from the back-fill only. "
            "Hint: fit on a longer history, or lower min_support / min_repeat_share (see the model's intervals_ table).",
            DataWarning,
            stacklevel=stacklevel,
        )

    def _why_not_renewable(self) -> pl.Expr:
        """Over the interval table: why a category is not renewable (null when it is)."""
        spread = (pl.col("q75_days") - pl.col("q25_days")) / pl.col("median_days")
        return (
            pl.when(pl.col("repeat_share") < self.min_repeat_share)
            .then(pl.format("bought again by {}% of buyers (min_repeat_share={})", (pl.col("repeat_share") * 100).round(0).cast(pl.Int64), pl.lit(self.min_repeat_share)))
            .when(pl.col("intervals") < self.min_support)
            .then(pl.format("only {} repurchase intervals (min_support={})", pl.col("intervals"), pl.lit(self.min_support)))
            .when((pl.col("median_days") <= 0) | (spread > self.max_spread))
            .then(pl.format("irregular: spread {} x the median (max_spread={})", spread.round(2), pl.lit(self.max_spread)))
            .otherwise(None)
        )

    def _fit_purchases(self, ev: CategoryEvents, ok: np.ndarray, n_customers: int) -> None:
        """Purchases of renewable categories, per customer (request time ages them at ``now``)."""
        keep = np.flatnonzero(ok[ev.cat]) if len(ev.cat) else np.zeros(0, dtype=np.int64)
        self._ptr = np.searchsorted(ev.cust[keep], np.arange(n_customers + 1)).astype(np.int64)
        self._cat = ev.cat[keep]
        self._t = ev.t[keep]
        self._item = ev.item[keep]

    def _fit_appeal(self, repeats: CategoryRepeats, item_cat: np.ndarray, n_categories: int) -> None:
        """Appeal of each product within its category: recent distinct buyers, all-time as tie-break."""
        pop_all = repeats.item_buyers.astype(np.float64)
        pop_recent = repeats.recent_buyers.astype(np.float64)
        pop = pop_recent + pop_all / (1.0 + pop_all.max(initial=0.0))
        best = np.zeros(n_categories)
        has = item_cat >= 0
        np.maximum.at(best, item_cat[has], pop[has])
        appeal = np.zeros(len(item_cat))
        appeal[has] = (1.0 + pop[has]) / (1.0 + best[item_cat[has]])
        self.appeal_ = appeal * (0.9 if self.prefer_previous else 1.0)

    # -- scoring -----------------------------------------------------------------------------
    def _due(self, cat: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
        """Due score in (0, 1] of each (category, elapsed days) pair, NaN outside the window."""
        q25, med, q75, sig = self._q25[cat], self._med[cat], self._q75[cat], self._sigma[cat]
        out = np.full(len(cat), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = (elapsed >= self.early * q25) & (elapsed < med)
            out[rising] = np.exp(-0.5 * (np.log(elapsed[rising] / med[rising]) / sig[rising]) ** 2)
            out[(elapsed >= med) & (elapsed <= q75)] = 1.0
            falling = (elapsed > q75) & (elapsed <= self.late * q75)
            span = math.log(self.late) if self.late > 1 else 1.0
            out[falling] = 1.0 - 0.75 * np.log(elapsed[falling] / q75[falling]) / span
        return out

    def _last_purchases(self, customer_idx: np.ndarray, now: dt.datetime | None) -> tuple[np.ndarray, ...]:
        """For each (batch row, renewable category) bought before ``now``: row, category, last
        time, last item; plus every (row, item) bought before ``now`` in those categories."""
        when = now if now is not None else self.dataset_.last_time
        now_us = int(np.datetime64(when, "us").astype(np.int64))
        starts, stops = self._ptr[customer_idx], self._ptr[customer_idx + 1]
        lengths = stops - starts
        take = ragged_ranges(starts, stops)
        rows = np.repeat(np.arange(len(customer_idx)), lengths)
        before = self._t[take] <= now_us
        take, rows = take[before], rows[before]
        cat = self._cat[take]
        key = rows * max(len(self.categories_), 1) + cat
        last = np.flatnonzero(np.r_[key[1:] != key[:-1], True]) if len(key) else np.empty(0, dtype=np.int64)
        elapsed = (now_us - self._t[take[last]]) / DAY_US
        return rows[last], cat[last], elapsed, self._item[take[last]], rows, self._item[take]

    def _score_customers(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        """Dense scores (NaN = not due) of known customers, one row each."""
        scores = np.full((len(customer_idx), self.dataset_.n_items), np.nan)
        if len(customer_idx) == 0 or len(self.categories_) == 0:
            return scores
        r, c, elapsed, last_item, all_rows, all_items = self._last_purchases(customer_idx, now)
        due = np.full((len(customer_idx), len(self.categories_) + 1), np.nan)  # last column: no category
        due[r, c] = self._due(c, elapsed)
        scores = due[:, self.item_category_] * self.appeal_[None, :]
        if self.prefer_previous and len(all_rows):
            # products bought before rank above the others, the last one bought first
            scores[all_rows, all_items] = 0.95 * due[all_rows, self.item_category_[all_items]]
            scores[r, last_item] = due[r, c]
        return scores

    def _score(self, batch: Batch) -> ScoreBlock:
        # only a known customer's history says what is due; context items play no part
        known = np.flatnonzero(batch.known)
        scores = np.full((batch.n, self.dataset_.n_items), np.nan)
        scores[known] = self._score_customers(batch.customer_idx[known], batch.now)
        return ScoreBlock.dense(scores)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        rows, items = np.asarray(rows, np.int64), np.asarray(items, np.int64)
        out: list[str | None] = [None] * len(rows)
        cat = self.item_category_[items]
        ok = batch.customer_idx[rows] >= 0
        ok[ok] = (cat[ok] >= 0) & self._renewable[np.maximum(cat[ok], 0)]
        if not ok.any():
            return out
        uniq, local = np.unique(rows[ok], return_inverse=True)
        r, c, elapsed, last_item, _, _ = self._last_purchases(batch.customer_idx[uniq], batch.now)
        # each (row, category) appears once in (r, c), sorted by row then category
        n_cat = max(len(self.categories_), 1)
        keys, want = r * n_cat + c, local * n_cat + cat[ok]
        pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
        hit = keys[pos] == want if len(keys) else np.zeros(len(want), dtype=bool)
        due = np.full(len(want), np.nan)
        due[hit] = self._due(cat[ok][hit], elapsed[pos[hit]])
        for j, p, d in zip(np.flatnonzero(ok).tolist(), pos.tolist(), due.tolist(), strict=True):
            if math.isfinite(d):
                out[j] = self._reason(int(cat[j]), int(last_item[p]), float(elapsed[p]), int(items[j]))
        return out

    def _reason(self, cat: int, prev: int, elapsed: float, item_idx: int) -> str:
        unit = _unit(self._q25[cat], self._q75[cat])
        every = _every(self._q25[cat], self._q75[cat], unit)
        what = self.categories_[cat].replace("_", " ")
        age = _duration(elapsed, unit)
        head = f"time to renew your {self._name(prev)}" if prev == item_idx else f"your {self._name(prev)}"
        return f"{head}: bought {age} ago; customers renew {what} {every}"

    def _name(self, item_idx: int) -> str:
        return item_label(self.dataset_, item_idx, with_id=True)

    def due_categories(self, customer_id: Any, now: dt.datetime | None = None) -> pl.DataFrame:
        """The customer's renewable categories at ``now`` with elapsed days and due score.

        Columns ``category, last_item_id, elapsed_days, median_days, due`` (``due`` null when not
        due: too early or lapsed), most due first. Empty for an unknown customer.

        Examples
        --------
        >>> from recokit import Renewal
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(1000, seed=2)
        >>> model = Renewal().fit(shop)
        >>> model.due_categories("no-such-customer").height
        0
        """
        self._check_fitted()
        ds = self.dataset_
        cidx = ds.customer_ids.get(customer_id)
        schema: dict[str, pl.DataType] = {
            "category": pl.String(), "last_item_id": ds.item_ids.dtype, "elapsed_days": pl.Float64(), "median_days": pl.Float64(), "due": pl.Float64()
        }
        if cidx is None:
            return pl.DataFrame(schema=schema)
        _, c, elapsed, last_item, _, _ = self._last_purchases(np.array([cidx]), now)
        due = self._due(c, elapsed)
        return pl.DataFrame(
            {
                "category": [self.categories_[i] for i in c.tolist()],
                "last_item_id": ds.item_ids.ids(last_item),
                "elapsed_days": elapsed,
                "median_days": self._med[c],
                "due": due,
            },
            schema=schema,
        ).with_columns(pl.col("due").fill_nan(None)).sort(["due", "category"], descending=[True, False], nulls_last=True)
