"""RFM and behavioural clusters for a million customers: recokit.customers against a bare polars
computation of the same R/F/M scores, in the same process.

A simple purchase log is generated with numpy (the sports-shop generator is not used at this
size): ``--customers`` customers, Poisson(4) orders each over two years, 1-3 lines per order
from 500 items in 20 categories, quantities 1-3, the catalogue price paid. Then, timed (median
of ``--repeat`` runs) with the peak resident memory each step adds (sampled every 5 ms):

* building the ``Dataset`` (once; every model and customer measure shares it);
* ``recokit.customers.rfm(ds)``: scores, segments and a reason per customer;
* the bare polars R/F/M on the raw order lines (group-by, 'min' ranks, ceil(5 rank / n)),
  checked equal to recokit's r, f, m; the ratio recokit / bare is the figure (target <= 3);
* ``recokit.customers.cluster(ds)`` (k-means, k by silhouette on a 5,000-customer sample).

Each step runs in a fresh child process (so one step's freed memory does not hide the next
one's); the parent prints the figures and checks the two R/F/M tables are equal.

    python benchmarks/customers.py                     # 1,000,000 customers
    python benchmarks/customers.py --customers 100000 --repeat 5
    python benchmarks/customers.py --data ../shared/data   # also the Groceries shop (read, never copied)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from recokit import Dataset  # noqa: E402
from recokit.customers import cluster, rfm  # noqa: E402

START = dt.datetime(2024, 1, 1)
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 1024**2


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_MB


class Peak:
    """The peak RSS above the start while the block runs (a sampling thread, every 5 ms)."""

    def __enter__(self) -> Peak:
        self.start = _rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def added_mb(self) -> float:
        return self.peak - self.start


def generate(n_customers: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Order lines ``customer_id, order_id, item_id, ts, qty, price`` and the catalogue."""
    rng = np.random.default_rng(seed)
    n_items = 500
    catalog = pl.DataFrame(
        {
            "item_id": np.arange(n_items, dtype=np.int64),
            "category": [f"cat{c:02d}" for c in rng.integers(0, 20, n_items)],
            "price": np.round(rng.lognormal(3.0, 1.0, n_items), 2),
        }
    )
    orders_per = rng.poisson(4.0, n_customers)
    order_customer = np.repeat(np.arange(n_customers, dtype=np.int64), orders_per)
    n_orders = order_customer.size
    seconds = rng.integers(0, 730 * 86_400, n_orders)
    lines_per = rng.integers(1, 4, n_orders)
    line_order = np.repeat(np.arange(n_orders, dtype=np.int64), lines_per)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, size=line_order.size, p=popularity / popularity.sum())
    lines = pl.DataFrame(
        {
            "customer_id": order_customer[line_order],
            "order_id": line_order,
            "item_id": items.astype(np.int64),
            "ts": (np.datetime64(START, "us") + seconds[line_order].astype("timedelta64[s]")).astype("datetime64[us]"),
            "qty": rng.integers(1, 4, line_order.size),
        }
    )
    lines = lines.join(catalog.select("item_id", "price"), on="item_id", how="left")
    return lines, catalog


def bare_rfm(lines: pl.DataFrame, window_days: int = 365) -> pl.DataFrame:
    """R, F, M by plain polars on the raw lines: the same definitions as recokit.customers.rfm."""
    day = pl.col("ts").dt.date().cast(pl.Int32)
    at_day = lines.select(day.max()).item()
    per_order = lines.group_by("order_id").agg(
        pl.col("customer_id").first(), day.min().alias("day"), (pl.col("qty") * pl.col("price")).sum().alias("value")
    )
    recent = pl.col("day") > at_day - window_days
    per = per_order.group_by("customer_id").agg(
        (at_day - pl.col("day").max()).alias("recency"),
        recent.sum().alias("frequency"),
        pl.col("value").filter(recent).sum().round(2).alias("monetary"),
    )
    ranked = pl.col("frequency") > 0
    n = per.select(ranked.sum()).item()

    def score(key: pl.Expr) -> pl.Expr:
        rank = pl.when(ranked).then(key).rank("min").cast(pl.Int64)
        return pl.when(ranked).then((5 * rank + n - 1) // n).otherwise(1)

    return per.select(
        "customer_id", score(-pl.col("recency")).alias("r"), score(pl.col("frequency")).alias("f"), score(pl.col("monetary")).alias("m")
    ).sort("customer_id")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median seconds, the peak MB the first run added above the RSS before it, last result."""
    seconds, peaks, result = [], [], None
    for _ in range(repeat):
        result = None
        with Peak() as peak:
            t0 = time.perf_counter()
            result = fn()
            seconds.append(time.perf_counter() - t0)
        peaks.append(peak.added_mb)
    return statistics.median(seconds), peaks[0], result


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, args: argparse.Namespace) -> dict[str, Any]:
    """One measured step in this (fresh) process: the log, the Dataset when needed, the step."""
    lines, catalog = generate(args.customers, args.seed)
    out: dict[str, Any] = {"orders": lines["order_id"].n_unique(), "lines": lines.height}
    if step == "bare":
        out["seconds"], out["added_mb"], table = timed(lambda: bare_rfm(lines), args.repeat)
        table.write_parquet(args.scratch / "bare.parquet")
    else:
        out["build_seconds"], out["build_mb"], ds = timed(
            lambda: Dataset(lines, catalog, time_col="ts", basket_col="order_id", quantity_col="qty", price_col="price"), 1
        )
        del lines
        if step == "rfm":
            out["seconds"], out["added_mb"], table = timed(lambda: rfm(ds), args.repeat)
            table.write_parquet(args.scratch / "rfm.parquet")
        else:
            out["seconds"], out["added_mb"], groups = timed(lambda: cluster(ds, seed=args.seed), 1)
            out["k"] = groups["cluster"].drop_nulls().n_unique()
    out["process_peak_mb"] = _maxrss_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-clusters", action="store_true", help="skip the clustering step")
    parser.add_argument("--data", type=Path, default=None, help="folder with Groceries_dataset.csv: also run on that real shop")
    parser.add_argument("--step", choices=("bare", "rfm", "cluster"), help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:  # a child process: print one JSON line
        print(json.dumps(run_step(args.step, args)))
        return 0

    print(f"command: {Path(sys.executable).name} {shlex.join(sys.argv)}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}")
    print("each step runs in a fresh process; 'added' = peak RSS during the step above the RSS before it, 'process' = the process's peak")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for step in ("bare", "rfm") + (() if args.no_clusters else ("cluster",)):
            cmd = [sys.executable, __file__, "--step", step, "--customers", str(args.customers), "--seed", str(args.seed), "--repeat", str(args.repeat), "--scratch", scratch]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[step] = json.loads(done.stdout.strip().splitlines()[-1])
        bare = pl.read_parquet(Path(scratch) / "bare.parquet")
        table = pl.read_parquet(Path(scratch) / "rfm.parquet")
    b, r = results["bare"], results["rfm"]
    print(f"log: {args.customers:,} customers, {b['orders']:,} orders, {b['lines']:,} lines")
    print(f"Dataset build (once, shared by every model): {r['build_seconds']:7.2f} s  added {r['build_mb']:6.0f} MB")
    print(f"bare polars R/F/M:                  {b['seconds']:7.2f} s  added {b['added_mb']:6.0f} MB  process {b['process_peak_mb']:6.0f} MB")
    print(f"recokit rfm (+segments, reasons):   {r['seconds']:7.2f} s  added {r['added_mb']:6.0f} MB  process {r['process_peak_mb']:6.0f} MB")
    same = table.filter(pl.col("frequency") > 0).select("customer_id", "r", "f", "m").sort("customer_id")
    print(f"same r, f, m as bare polars: {same.equals(bare.join(same.select('customer_id'), on='customer_id', how='semi'))} (customers scored: {same.height:,})")
    print(f"ratio recokit / bare: time {r['seconds'] / b['seconds']:.2f}, added memory {r['added_mb'] / max(b['added_mb'], 1):.2f} (target <= 3)")
    print("segments: " + ", ".join(f"{s} {n:,}" for s, n in table["segment"].value_counts().sort("count", descending=True).iter_rows()))
    if "cluster" in results:
        c = results["cluster"]
        print(f"recokit cluster (kmeans, k={c['k']} by silhouette): {c['seconds']:7.2f} s  added {c['added_mb']:6.0f} MB  process {c['process_peak_mb']:6.0f} MB")
    groceries(args.data, args.seed)
    return 0


def groceries(folder: Path | None, seed: int) -> None:
    """RFM, lifecycle and clusters of the Groceries shop (no prices: units; no categories: items)."""
    path = None if folder is None else folder / "Groceries_dataset.csv"
    if path is None or not path.exists():
        where = "not given" if folder is None else f"{path} not found"
        print(f"real data: skipped ({where}; pass --data DIR with Groceries_dataset.csv)")
        return
    from recokit.customers import lifecycle
    from recokit.datasets import load_transactions

    ds = load_transactions(path, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y")
    t0 = time.perf_counter()
    table = rfm(ds, price="units")
    rfm_s = time.perf_counter() - t0
    stages = lifecycle(ds)
    t0 = time.perf_counter()
    groups = cluster(ds, seed=seed)
    cluster_s = time.perf_counter() - t0
    print(f"real data: {path.name}: {ds}")
    print(f"  rfm (price='units') {rfm_s:.2f} s: " + ", ".join(f"{s} {n:,}" for s, n in table["segment"].value_counts().sort("count", descending=True).iter_rows()))
    print("  lifecycle: " + ", ".join(f"{s} {n:,}" for s, n in stages["stage"].value_counts().sort("count", descending=True).iter_rows()))
    print(f"  cluster (by items) {cluster_s:.2f} s:")
    for number, text in groups.drop_nulls("cluster").unique("cluster").sort("cluster").select("cluster", "description").iter_rows():
        print(f"    {number}: {text}")


if __name__ == "__main__":
    raise SystemExit(main())
