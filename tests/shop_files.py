"""The built-in sports shop written as a shop's exports (orders, catalogue, customers files), for
the command-line tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_exports(folder: Path, n_customers: int, seed: int, *, catalog: str = ".csv", customers: str = ".parquet") -> tuple[Any, dict[str, Path]]:
    """``(tables, paths)``: ``sports_shop_tables(n_customers, seed)`` and where its orders (CSV),
    catalogue and customers (``catalog`` / ``customers``: ``".csv"`` or ``".parquet"``) were written."""
    from recokit.datasets import sports_shop_tables

    tables = sports_shop_tables(n_customers, seed=seed)
    paths = {"orders": folder / "orders.csv", "catalog": folder / f"catalog{catalog}", "customers": folder / f"customers{customers}"}
    tables.interactions.write_csv(paths["orders"])
    for frame, path in ((tables.catalog, paths["catalog"]), (tables.customers, paths["customers"])):
        frame.write_parquet(path) if path.suffix == ".parquet" else frame.write_csv(path)
    return tables, paths
