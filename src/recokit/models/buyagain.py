"""BuyAgain: the customer's own items again -- how often and how lately they bought each, weighted
by how often the item is bought again at all. The strong baseline of next-basket research
("repeat" models: a customer's next basket is largely their past ones).

For a known customer and each item they bought (purchases only, at or before the data's end):

    score = (sum over their purchases of 0.5 ** (age_days / half_life_days)) x propensity(item)

``propensity(item) = (r + prior x p) / (b + prior)``: the share of the item's buyers who bought
it on two days or more (``r`` of ``b`` buyers), shrunk towards the shop's overall share ``p`` by
``prior`` pseudo-buyers, so an item bought again by one of its two buyers is not ranked as a
staple. Items the customer never bought get no opinion (NaN, filled by the back-fill); a
customer without history (anonymous, no consent, new) gets no opinion at all. With
``propensity=False`` the score is the recency-weighted count alone ("the customer's own
most-bought items").

Examples
--------
>>> import polars as pl
>>> from recokit import BuyAgain, Dataset
>>> orders = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2], "item_id": ["milk", "milk", "bike", "milk", "milk"],
...                        "t": ["2024-05-01", "2024-05-20", "2024-05-20", "2024-05-03", "2024-05-25"]})
>>> model = BuyAgain().fit(Dataset(orders, time_col="t"))
>>> [(r.item_id, r.reason) for r in model.recommend(customer_id=1, k=2, backfill=False)]
[('milk', 'buy again: you bought this 2 times, last 5 days ago (2 of its 2 buyers buy it again)'), ('bike', 'buy again: you bought this 5 days ago')]
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recokit.core import Batch, CountModel, ScoreBlock
from recokit.data import DAY_US, CountTables, Dataset, TableSpec, ago, purchase_lines
from recokit.params import Boolean, Interval, Optional, param

__all__ = ["BuyAgain"]


def _sums_in_order(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sum of each run ``values[starts[j] : starts[j] + lengths[j]]``, added one value after
    the other from the first (``np.add.reduceat`` adds pairwise): a float sum in a fixed, stated
    order. One vectorised step per position, over the runs at least that long."""
    out = np.zeros(len(starts))
    by_length = np.argsort(-lengths, kind="stable")
    longest = int(lengths[by_length[0]]) if len(lengths) else 0
    n_longer = np.searchsorted(-lengths[by_length], -np.arange(1, longest + 1), side="right")  # runs with more than k values
    for k in range(longest):
        runs = by_length[: n_longer[k]]
        out[runs] += values[starts[runs] + k]
    return out


class BuyAgain(CountModel):
    """Recommend what the customer bought before, by frequency, recency and re-purchase propensity.

    Parameters
    ----------
    half_life_days : float, optional
        Each past purchase counts ``0.5 ** (age_days / half_life_days)`` (default 90: a purchase of
        three months ago counts half). None: every purchase counts 1 (no timestamps needed).
    propensity : bool
        Weight each item by its learnt re-purchase propensity (default True).
    prior : float
        Pseudo-buyers shrinking an item's repeat share towards the shop's (default 5).
    """

    half_life_days: float | None = param(
        default=90.0,
        check=Optional(Interval(float, low=0, low_open=True)),
        doc="Each past purchase counts ``0.5 ** (age_days / half_life_days)`` (default 90). None: every purchase counts 1.",
    )
    propensity: bool = param(default=True, check=Boolean(), doc="Weight each item by its learnt re-purchase propensity.")
    prior: float = param(
        default=5.0, check=Interval(float, low=0), doc="Pseudo-buyers shrinking an item's repeat share towards the shop's."
    )

    #: its reasons tell the purchase themselves ("you bought this 3 times")
    explains_owned: ClassVar[bool] = True
    specificity: ClassVar[int] = 40

    def signal(self) -> str:
        return "buy again"

    def table_spec(self) -> TableSpec:
        """The tables the fit derives from (:class:`recokit.data.FitsFromTables`): the purchase
        lines (:class:`recokit.data.PurchaseLines`), whatever the parameters."""
        return TableSpec(buyers=False, purchase_lines=True)

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        self._fit_tables(dataset, CountTables(None, purchase_lines=purchase_lines(dataset)))

    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        """The state from the purchase lines, read in their order (customer, item, time): each
        (customer, item)'s purchases, last time and distinct times; the decayed weights summed
        line by line, so tables counted elsewhere give the same bits."""
        lines = tables.purchase_lines
        assert lines is not None  # check_tables
        c, i, t, n = lines.customer_idx, lines.item_idx, lines.time_us, lines.count
        new = np.r_[True, (c[1:] != c[:-1]) | (i[1:] != i[:-1])] if len(c) else np.zeros(0, dtype=bool)
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], len(c)] - 1
        times = t.astype(np.float64)  # whole µs, far below 2**53: exact
        count = np.add.reduceat(n, starts) if len(starts) else np.zeros(0, dtype=np.int64)
        if self.half_life_days is not None and dataset.has_time:
            end = float(np.datetime64(dataset.last_time, "us").astype(np.int64))
            weights = np.power(0.5, np.maximum(end - times, 0.0) / DAY_US / self.half_life_days)
            total = _sums_in_order(np.repeat(weights, n), np.r_[0, np.cumsum(count)[:-1]] if len(count) else count, count)
        else:
            total = count.astype(np.float64)
        distinct = ends - starts + 1  # lines: distinct purchase times
        rows, cols = c[starts], i[starts]
        shape = (dataset.n_customers, dataset.n_items)
        self.weight_ = sp.csr_array((total.astype(np.float64), (rows, cols)), shape=shape)
        self.count_ = sp.csr_array((count.astype(np.float64), (rows, cols)), shape=shape)
        self.last_us_ = sp.csr_array((times[ends], (rows, cols)), shape=shape)
        for m in (self.weight_, self.count_, self.last_us_):
            m.sort_indices()
        buyers = np.bincount(cols, minlength=dataset.n_items).astype(np.float64)
        repeaters = np.bincount(cols[distinct >= 2], minlength=dataset.n_items).astype(np.float64)
        overall = repeaters.sum() / buyers.sum() if buyers.sum() else 0.0
        self.buyers_, self.repeaters_ = buyers, repeaters
        self.propensity_ = (repeaters + self.prior * overall) / np.maximum(buyers + self.prior, 1e-12)
        self.as_of_us_ = float(np.datetime64(dataset.last_time, "us").astype(np.int64)) if dataset.has_time else None

    def _score(self, batch: Batch) -> ScoreBlock:
        """Sparse: a known customer's own items; nothing for anyone else (no opinion)."""
        known = batch.customer_idx >= 0
        idx = np.where(known, batch.customer_idx, 0)
        block = sp.csr_array(self.weight_[idx])
        if not known.all():  # rows without a visible history: no opinion at all
            lens = np.diff(block.indptr) * known
            keep = np.repeat(known, np.diff(block.indptr))
            block = sp.csr_array((block.data[keep], block.indices[keep], np.concatenate([[0], np.cumsum(lens)])), shape=block.shape)
        if self.propensity:
            block = sp.csr_array((block.data * self.propensity_[block.indices], block.indices, block.indptr), shape=block.shape)
        return ScoreBlock.sparse(block)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        cust = batch.customer_idx[np.asarray(rows, dtype=np.int64)]
        timed = self.as_of_us_ is not None and batch.now is not None
        now_us = float(np.datetime64(batch.now, "us").astype(np.int64)) if timed else 0.0  # once per request
        out: list[str | None] = []
        for c, i in zip(cust.tolist(), np.asarray(items, dtype=np.int64).tolist(), strict=True):
            n = float(self.count_[c, i]) if c >= 0 else 0.0
            if n <= 0:
                out.append(None)
                continue
            when = ago(max(now_us - float(self.last_us_[c, i]), 0.0) / DAY_US) if timed else ""
            if n > 1:
                times = f"{n:.0f} times, last {when}" if when else f"{n:.0f} times"
            else:
                times = when or "before"
            text = f"buy again: you bought this {times}"
            if self.propensity and self.repeaters_[i] > 0 and n > 1:
                text += f" ({self.repeaters_[i]:.0f} of its {self.buyers_[i]:.0f} buyers buy it again)"
            out.append(text)
        return out
