"""docs/serving.md's FastAPI app: latency through the HTTP stack against the model called directly.

The app is docs/serving.md's own code (its python blocks, run in order), on the built-in sports
shop; requests go through FastAPI's ``TestClient`` (routing, validation, JSON in and out; no
network socket). For each kind of request (product page of an anonymous visitor, a cart of two
items, a known customer's home page) the same requests are sent through the app and to
``model.recommend`` alternately, and the medians and their ratio are printed. No external data.
Run::

    PYTHONPATH=src python benchmarks/serving_http.py [--customers 5000] [--requests 300]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import types
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def build_app(n_customers: int):
    """docs/serving.md's blocks, run as written (the shop size replaced)."""
    import os

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "serving.md").read_text(), re.S)
    module = types.ModuleType("served_app")
    sys.modules["served_app"] = module
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for code in blocks:
            code = code.replace("sports_shop(2000, seed=0)", f"sports_shop({n_customers}, seed=0)")
            exec(compile(code, "docs/serving.md", "exec", dont_inherit=True), module.__dict__)  # the project's own docs
    finally:
        os.chdir(cwd)
    return module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--customers", type=int, default=5000)
    p.add_argument("--requests", type=int, default=300, help="requests of each kind")
    args = p.parse_args(argv)
    print("command: PYTHONPATH=src python benchmarks/serving_http.py " + " ".join(sys.argv[1:] if argv is None else argv))
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    t0 = time.perf_counter()
    app = build_app(args.customers)
    client = TestClient(app.app)
    shop, model = app.shop, app.model
    print(f"data: {shop}; pipeline fitted, saved and loaded in {time.perf_counter() - t0:.1f} s")
    items = shop.catalog.filter(pl.col("stock") > 0)["item_id"].to_list()
    customers = shop.customer_ids.to_list()
    n = args.requests
    pages = [items[j % len(items)] for j in range(n)]
    carts = [(customers[j % len(customers)], [items[j % len(items)], items[(7 * j + 3) % len(items)]]) for j in range(n)]
    homes = [customers[(3 * j) % len(customers)] for j in range(n)]
    kinds = {
        "product page (anonymous)": (
            pages, lambda i: client.get(f"/product/{i}"), lambda i: model.recommend(items=[i], k=4)),
        "cart of 2 (known customer)": (
            carts, lambda cb: client.post("/cart", json={"items": cb[1], "customer_id": cb[0]}),
            lambda cb: model.recommend(customer_id=cb[0], items=cb[1], k=4)),
        "home page (known customer)": (
            homes, lambda c: client.get(f"/home/{c}"), lambda c: model.recommend(customer_id=c, k=8, exclude_purchased=True)),
    }
    print("\n| request | through the app p50 ms | model alone p50 ms | ratio | HTTP overhead ms |")
    print("|---|---:|---:|---:|---:|")
    for label, (requests, http, direct) in kinds.items():
        for r in requests[:20]:  # warm-up
            http(r), direct(r)
        t_http, t_direct = [], []
        for r in requests:
            t = time.perf_counter()
            response = http(r)
            t1 = time.perf_counter()
            direct(r)
            t2 = time.perf_counter()
            assert response.status_code == 200, response.text
            t_http.append(t1 - t)
            t_direct.append(t2 - t1)
        a, b = statistics.median(t_http) * 1e3, statistics.median(t_direct) * 1e3
        print(f"| {label} | {a:.2f} | {b:.2f} | {a / b:.2f}x | {a - b:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
