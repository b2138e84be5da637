"""``recokit demo``: the library at work on the built-in synthetic sports shop.

Each section is a small function taking the shop and the fitted models, so a new model adds a
section without touching the others.
"""

from __future__ import annotations

import time
from typing import TextIO

import polars as pl

from recokit.base import Query
from recokit.data import Dataset
from recokit.models import ContentBased, Popularity, Renewal


def _name(shop: Dataset, item_id) -> str:
    if "name" not in shop.catalog.columns:
        return str(item_id)
    row = shop.catalog.filter(pl.col("item_id") == item_id)
    return f"{row['name'][0]} [{item_id}]" if row.height else str(item_id)


def _print_recs(shop: Dataset, recs, out: TextIO, indent: str = "    ") -> None:
    if not len(recs):
        print(f"{indent}(nothing to recommend)", file=out)
    for r in recs:
        print(f"{indent}{r.rank}. {_name(shop, r.item_id)} -- {r.reason}", file=out)


def _pick_customers(shop: Dataset, show: int) -> list:
    """Customers with the longest histories first (the most interesting to look at), by id on ties."""
    counts = (
        shop.interactions.group_by("customer_id")
        .agg(pl.len().alias("n"))
        .sort(["n", "customer_id"], descending=[True, False])
    )
    return counts["customer_id"].head(show).to_list()


def section_customers(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["popularity"]
    print("== Home page: what this customer may want next", file=out)
    for c in _pick_customers(shop, show):
        hist = shop.history(c).sort("timestamp", descending=True).head(4)
        print(f"\n  Customer {c}, recent purchases:", file=out)
        for row in hist.iter_rows(named=True):
            print(f"    {row['timestamp']:%Y-%m-%d}  {_name(shop, row['item_id'])}", file=out)
        print("  Recommended:", file=out)
        _print_recs(shop, model.recommend(Query(customer_id=c, k=5, exclude_purchased=True)), out)


def section_out_of_stock(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["content"]
    print("== Product page, item out of stock: comparable products in stock", file=out)
    if "stock" not in shop.catalog.columns:
        print("  (the catalogue has no stock column)", file=out)
        return
    # the out-of-stock products customers buy most (the substitutions that matter), by id on ties
    counts = pl.DataFrame({"item_id": shop.item_ids.series, "n": shop.item_counts()})
    gone = shop.catalog.filter(pl.col("stock") <= 0).select("item_id").join(counts, on="item_id")
    for item in gone.sort(["n", "item_id"], descending=[True, False])["item_id"].head(max(1, show - 1)).to_list():
        print(f"\n  {_name(shop, item)} is out of stock. Instead:", file=out)
        _print_recs(shop, model.alternatives(item, k=3), out)


def section_renewal(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["renewal"]
    print("== Newsletter: time to renew", file=out)
    renewable = model.intervals_.filter(pl.col("renewable"))
    for row in renewable.head(6).iter_rows(named=True):
        print(
            f"  {row['category']}: renewed by {row['repeat_share']:.0%} of buyers, typically after "
            f"{row['q25_days']:.0f}-{row['q75_days']:.0f} days (median {row['median_days']:.0f})",
            file=out,
        )
    # never suggest what cannot be sold today (the in-stock rule, applied by hand here)
    sold_out = shop.catalog.filter(pl.col("stock") <= 0)["item_id"].to_list() if "stock" in shop.catalog.columns else []
    table = model.recommend_many(shop.customer_ids.to_list(), k=1, backfill=False, reasons=False)
    cats = shop.catalog.select("item_id", pl.col(model.category_column).alias("category"))
    table = table.join(cats, on="item_id").filter(pl.col("score") >= 1.0)
    # one fully due customer per renewable category, the longest cycles first (running shoes before gels)
    for row in renewable.sort(["median_days", "category"], descending=[True, False]).head(show).iter_rows(named=True):
        due = table.filter(pl.col("category") == row["category"]).sort("customer_id")
        if due.height == 0:
            continue
        c = due["customer_id"][0]
        print(f"\n  Customer {c}:", file=out)
        _print_recs(shop, model.recommend(Query(customer_id=c, k=2, exclude=sold_out), backfill=False), out)


SECTIONS = [section_customers, section_out_of_stock, section_renewal]


def run_demo(n_customers: int = 5000, seed: int = 0, show: int = 3, out: TextIO | None = None) -> None:
    """Build the synthetic shop, fit every model, print recommendations with reasons."""
    import sys

    from recokit.datasets import sports_shop

    out = out or sys.stdout
    t0 = time.perf_counter()
    shop = sports_shop(n_customers, seed=seed)
    print(f"recokit demo -- synthetic sports shop: {shop} (built in {time.perf_counter() - t0:.1f} s)\n", file=out)
    models = {"popularity": Popularity().fit(shop)}
    models["content"] = ContentBased().fit(shop)
    models["renewal"] = Renewal().fit(shop)
    for section in SECTIONS:
        section(shop, models, out, show)
        print(file=out)
