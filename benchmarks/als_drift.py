"""How far ALS drifts from a refit when new orders are folded in with ``partial_fit``.

On the synthetic sports shop (3,000 customers), ALS is fitted on the older orders and the newest
``share`` of the order lines is folded in over five "nights" (``partial_fit`` five times); the
top-10 lists of every customer are compared with those of a refit on all orders (share of the
10 items in common). For scale, the same figure for a refit with another seed: ALS itself
moves that much between two fits. Usage::

    PYTHONPATH=src python benchmarks/als_drift.py [--customers 3000]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings

import numpy as np
import polars as pl

from recokit import ALS, Dataset
from recokit.datasets import sports_shop_tables


def overlap(a: pl.DataFrame, b: pl.DataFrame) -> float:
    """Mean share of each customer's top-10 the two tables have in common."""
    j = a.group_by("customer_id").agg(pl.col("item_id")).join(b.group_by("customer_id").agg(pl.col("item_id")), on="customer_id", suffix="_b")
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(j["item_id"].to_list(), j["item_id_b"].to_list(), strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=3000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t = sports_shop_tables(args.customers, seed=5)
    rows = t.interactions.sort("timestamp")

    def build(r: pl.DataFrame) -> Dataset:
        return Dataset(r, t.catalog, time_col="timestamp", basket_col="order_id", quantity_col="quantity")

    def als(seed: int = 0) -> ALS:
        return ALS(factors=32, iterations=15, random_state=seed, num_threads=1)

    def top10(model: ALS, ids: list) -> pl.DataFrame:
        return model.recommend_many(ids, k=10, exclude_purchased=True, reasons=False)

    ref = als().fit(build(rows))
    ids = ref.dataset_.customer_ids.to_list()
    want = top10(ref, ids)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    for share in (0.02, 0.05, 0.10, 0.20, 0.40):
        cut = int(rows.height * (1 - share))
        model = als().fit(build(rows[:cut]))
        edges = np.linspace(cut, rows.height, 6).astype(int)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            model.partial_fit(build(rows[a:b]))
        print(f"new rows {share:4.0%} folded in over 5 nights: top-10 overlap with a refit {overlap(top10(model, ids), want):.2f}")
    print(f"a refit with another seed:                   top-10 overlap with a refit {overlap(top10(als(1).fit(build(rows)), ids), want):.2f}")


if __name__ == "__main__":
    main()
