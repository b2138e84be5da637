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
from recokit.models import AssociationRules, Popularity


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


def _adult_bike(shop: Dataset):
    """The best-selling bike that is not a kids' bike (by category, else by name)."""
    cat = shop.catalog
    col = "category" if "category" in cat.columns else ("name" if "name" in cat.columns else "item_id")
    text = pl.col(col).cast(pl.String).str.to_lowercase()
    bikes = cat.filter(text == "adult_bike")["item_id"].to_list() or cat.filter(
        text.str.contains("bike") & ~text.str.contains("kid|child|junior|balance|light|pump|lock|helmet|tube")
    )["item_id"].to_list()
    if not bikes:
        return None
    sold = shop.item_counts()
    return max(bikes, key=lambda i: (sold[shop.item_ids.get(i)], str(i)))


def section_bought_together(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["association"]
    print("== Product page: frequently bought together (AssociationRules)", file=out)
    print(f"  {model.rules_.height} rules mined from {model.n_baskets_} baskets", file=out)
    bike = _adult_bike(shop)
    if bike is None:
        print("  (no adult bike in this catalogue)", file=out)
        return
    print(f"\n  The pack for {_name(shop, bike)}:", file=out)
    _print_recs(shop, model.bundle(bike, k=3, one_per="category" if "category" in shop.catalog.columns else None), out)
    pack = model.bundle(bike, k=1).item_ids
    cart = [bike, *pack]
    print(f"\n  Cart completion for {' + '.join(_name(shop, i) for i in cart)}:", file=out)
    _print_recs(shop, model.recommend(Query(items=cart, k=3), backfill=False), out)


SECTIONS = [section_customers, section_bought_together]


def run_demo(n_customers: int = 5000, seed: int = 0, show: int = 3, out: TextIO | None = None) -> None:
    """Build the synthetic shop, fit every model, print recommendations with reasons."""
    import sys

    from recokit.datasets import sports_shop

    out = out or sys.stdout
    t0 = time.perf_counter()
    shop = sports_shop(n_customers, seed=seed)
    print(f"recokit demo -- synthetic sports shop: {shop} (built in {time.perf_counter() - t0:.1f} s)\n", file=out)
    models = {
        "popularity": Popularity().fit(shop),
        "association": AssociationRules(min_support=5, min_confidence=0.1).fit(shop),
    }
    for section in SECTIONS:
        section(shop, models, out, show)
        print(file=out)
