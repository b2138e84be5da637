"""Reasons about the customer's own purchases, written once for every model.

A model's reason for an item explains the item through *other* items ("because you bought the
gel"). For an item the customer bought themselves that is the wrong story: the honest reason is
the purchase. So the explain stage words every reason for an item the customer bought at or
before the request's ``now`` as a re-purchase: ``"buy again: you bought this 3 days ago"``. Any
purchase counts, not only recent ones: there is no age at which "because you bought another
item" becomes the honest reason for an item the customer already has.

Exempt are models whose reasons for such items already tell the purchase
(:attr:`Recommender.explains_owned`: Renewal's "time to renew your ...: bought 7 months ago")
and composites, whose components' reasons went through this rule already (Hybrid, Ruled).

Only a purchase counts (:attr:`Dataset.purchases`: views and cart adds are interest), only a
customer whose history the models may read (no consent or anonymous: nothing is said), and the
age is given at day granularity at most (:func:`recokit.data.ago`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recokit.core.batch import Batch
from recokit.data import Dataset, ago, last_purchase

__all__ = ["BUY_AGAIN", "repurchase_reasons"]

#: The head of a reason for an item the customer bought before.
BUY_AGAIN = "buy again: you bought this"


def repurchase_reasons(dataset: Dataset, batch: Batch, rows: np.ndarray, items: np.ndarray, reasons: Sequence[str | None]) -> list[str | None]:
    """``reasons`` with the one of every pair whose row's customer bought the item (at or before
    ``batch.now``, history visible) replaced by a re-purchase reason; other reasons unchanged.

    Examples
    --------
    >>> import datetime as dt
    >>> import numpy as np, polars as pl
    >>> from recokit import Dataset, ItemKNN, Query
    >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 2], "item_id": ["gel", "bar", "gel", "bar"],
    ...                            "t": ["2024-05-28", "2024-05-01", "2024-05-02", "2024-05-02"]}), time_col="t")
    >>> model = ItemKNN().fit(ds)
    >>> later, earlier = dt.datetime(2024, 5, 31), dt.datetime(2024, 5, 10)  # customer 1 bought the gel on May 28
    >>> model.explain(Query(customer_id=1, now=later), "gel"), model.explain(Query(customer_id=1, now=earlier), "gel")
    ('buy again: you bought this 3 days ago', 'because you bought bar')
    """
    out = list(reasons)
    rows = np.asarray(rows, dtype=np.int64)
    cust = batch.customer_idx[rows] if len(rows) else np.empty(0, dtype=np.int64)
    if not (cust >= 0).any():
        return out
    bought, days = last_purchase(dataset, cust, np.asarray(items, dtype=np.int64), batch.now)
    for j in np.flatnonzero(bought).tolist():
        when = ago(float(days[j])) if np.isfinite(days[j]) else "before"
        out[j] = f"{BUY_AGAIN} {when}"
    return out
