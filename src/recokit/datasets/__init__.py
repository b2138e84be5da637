"""Embedded data sets: a deterministic synthetic sports shop for demos, tests and benchmarks.

Loaders (MovieLens 100k, one-basket-per-line files, transaction CSVs) read a path you give.
"""

from __future__ import annotations

from recokit.datasets.loaders import load_basket_lines, load_movielens_100k, load_transactions
from recokit.datasets.synthetic import ShopTables, sports_shop, sports_shop_tables

__all__ = [
    "ShopTables",
    "load_basket_lines",
    "load_movielens_100k",
    "load_transactions",
    "sports_shop",
    "sports_shop_tables",
]
