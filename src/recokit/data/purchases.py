"""What a reason may say about a customer's purchases: whether they bought an item, and how long
ago, at day granularity at most.

A purchase is what :attr:`Dataset.purchases` holds (event ``"purchase"``, or every interaction
without an event column); views and cart adds are interest, never purchases.

Examples
--------
>>> import datetime as dt
>>> import numpy as np
>>> import polars as pl
>>> from recokit import Dataset
>>> from recokit.data import ago, last_purchase
>>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1], "item_id": ["gel", "bike"],
...                            "event": ["purchase", "view"], "t": ["2024-05-01", "2024-05-20"]}),
...              time_col="t", event_col="event")
>>> bought, days = last_purchase(ds, np.array([0, 0]), ds.item_ids.index(["gel", "bike"]), dt.datetime(2024, 5, 31))
>>> bought.tolist(), days.tolist()[0], ago(days[0])
([True, False], 30.0, '4 weeks ago')
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recokit.data.time import DAY_US

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset

__all__ = ["ago", "last_purchase"]


def last_purchase(
    dataset: Dataset, customer_idx: np.ndarray, item_idx: np.ndarray, now: dt.datetime | None
) -> tuple[np.ndarray, np.ndarray]:
    """For each pair ``(customer_idx[j], item_idx[j])``: whether the customer bought the item at
    or before ``now`` (any time, without timestamps), and the days since the latest such
    purchase (NaN where not bought, or without timestamps). ``customer_idx`` -1 = no history.

    Reads only the rows of the customers asked (their purchases), never the whole log.
    """
    cust = np.asarray(customer_idx, dtype=np.int64)
    items = np.asarray(item_idx, dtype=np.int64)
    bought = np.zeros(len(cust), dtype=bool)
    days = np.full(len(cust), np.nan)
    known = np.flatnonzero(cust >= 0)
    if not len(known):
        return bought, days
    log = dataset.purchases
    now_us = float(np.datetime64(now if now is not None else dataset.last_time, "us").astype(np.int64)) if dataset.has_time else np.inf
    first = cust[known[0]]
    if bool((cust[known] == first).all()) and (log.indptr[first + 1] - log.indptr[first]) * len(known) <= _ONE_CUSTOMER_CELLS:
        latest = _one_customer_latest(log, int(first), items[known], now_us)
    else:
        latest = _latest(log, cust[known], items[known], now_us)
    bought[known] = np.isfinite(latest)
    if dataset.has_time:
        days[known] = np.where(bought[known], (now_us - latest) / DAY_US, np.nan)
    return bought, days


#: One customer's purchases x the pairs asked, compared as one block up to this many cells (one
#: request: a handful of items against a history, cheaper than the general gather).
_ONE_CUSTOMER_CELLS = 1 << 18


def _one_customer_latest(log: sp.csr_array, customer: int, items: np.ndarray, now_us: float) -> np.ndarray:
    """Per item: the latest purchase time (us) at or before ``now_us`` by one customer, -inf if none."""
    lo, hi = int(log.indptr[customer]), int(log.indptr[customer + 1])
    when = log.data[lo:hi]
    hit = log.indices[lo:hi, None] == items[None, :]
    hit &= (when <= now_us)[:, None]
    if not hit.any():
        return np.full(len(items), -np.inf)
    return np.where(hit, when[:, None], -np.inf).max(axis=0)


def _latest(log: sp.csr_array, cust: np.ndarray, items: np.ndarray, now_us: float) -> np.ndarray:
    """Per pair ``(cust[j], items[j])``: the latest purchase time (us) at or before ``now_us``, -inf if none.

    A row's entries are sorted by item, then time: one binary search per pair, all pairs at
    once, finds the first entry after ``(item, now)``; the entry before it is the answer when it
    is that item (a batch of lists costs a few passes over the pairs, not over their histories).
    """
    row_lo = log.indptr[cust].astype(np.int64)
    lo, hi = row_lo.copy(), log.indptr[cust + 1].astype(np.int64)
    last = max(len(log.indices) - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            break
        mid = np.minimum((lo + hi) // 2, last)
        at_item = log.indices[mid]
        after = (at_item > items) | ((at_item == items) & (log.data[mid] > now_us))
        hi = np.where(active & after, mid, hi)
        lo = np.where(active & ~after, mid + 1, lo)
    before = np.maximum(lo - 1, 0)
    hit = (lo > row_lo) & (log.indices[before] == items) if len(log.indices) else np.zeros(len(cust), dtype=bool)
    return np.where(hit, log.data[before] if len(log.indices) else 0.0, -np.inf)


def ago(days: float) -> str:
    """How long ago, in the words a shop would use, never finer than a day: ``"today"``,
    ``"yesterday"``, ``"5 days ago"``, ``"3 weeks ago"``, ``"7 months ago"``, ``"2 years ago"``.

    >>> [ago(d) for d in (0.4, 1.2, 5, 20, 213, 430, 600)]
    ['today', 'yesterday', '5 days ago', '3 weeks ago', '7 months ago', '14 months ago', '2 years ago']
    """
    if not math.isfinite(days):
        raise ValueError(f"ago() needs a finite number of days; got {days!r}.")
    if days < 1:
        return "today"
    if days < 2:
        return "yesterday"
    if days < 14:
        return f"{int(days)} days ago"
    if days < 61:
        return f"{round(days / 7)} weeks ago"
    if days < 548:  # up to a year and a half: "17 months ago"; beyond, years
        return f"{round(days / (365.25 / 12))} months ago"
    return f"{round(days / 365.25)} years ago"
