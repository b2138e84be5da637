"""Embedded data sets: a deterministic synthetic sports shop for demos, tests and benchmarks."""

from __future__ import annotations

from recokit.datasets.synthetic import ShopTables, sports_shop, sports_shop_tables

__all__ = ["ShopTables", "sports_shop", "sports_shop_tables"]
