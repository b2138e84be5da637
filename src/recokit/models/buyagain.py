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
import polars as pl
import scipy.sparse as sp

from recokit.core import Batch, Recommender, ScoreBlock
from recokit.data import DAY_US, Dataset, ago
from recokit.params import Boolean, Interval, Optional, param

__all__ = ["BuyAgain"]


class BuyAgain(Recommender):
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

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        log = dataset.purchases  # customers x items, one entry per purchase, its time in us
        rows = np.repeat(np.arange(log.shape[0], dtype=np.int64), np.diff(log.indptr))
        items = log.indices.astype(np.int64)
        times = log.data
        if self.half_life_days is not None and dataset.has_time:
            end = float(np.datetime64(dataset.last_time, "us").astype(np.int64))
            weights = np.power(0.5, np.maximum(end - times, 0.0) / DAY_US / self.half_life_days)
        else:
            weights = np.ones(len(items))
        frame = pl.DataFrame({"c": rows, "i": items, "w": weights, "t": times})
        per = frame.group_by("c", "i").agg(pl.col("w").sum(), pl.len().alias("n"), pl.col("t").max(), pl.col("t").n_unique().alias("days")).sort("c", "i")
        c, i = per["c"].to_numpy(), per["i"].to_numpy()
        shape = (dataset.n_customers, dataset.n_items)
        self.weight_ = sp.csr_array((per["w"].to_numpy().astype(np.float64), (c, i)), shape=shape)
        self.count_ = sp.csr_array((per["n"].to_numpy().astype(np.float64), (c, i)), shape=shape)
        self.last_us_ = sp.csr_array((per["t"].to_numpy().astype(np.float64), (c, i)), shape=shape)
        for m in (self.weight_, self.count_, self.last_us_):
            m.sort_indices()
        buyers = np.bincount(i, minlength=dataset.n_items).astype(np.float64)
        repeaters = np.bincount(i[per["days"].to_numpy() >= 2], minlength=dataset.n_items).astype(np.float64)
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
