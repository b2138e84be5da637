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
* ``recokit.customers.cluster(ds)`` (the default two-stage Gaussian mixture of behaviour
  profiles, fitted on a 5,000-customer sample and applied to everyone);
* ``recokit.customers.value(ds)`` (MBG/NBD and Gamma-Gamma fits, then every customer's value);
* ``recokit.customers.contact_plan(ds, on=...)`` (every kind the log supports: renewal, season,
  onboarding, welcome back; no web events in this log, so no abandoned carts), with a customers
  table holding a random e-mail consent (55 %).

Then the value figures (issue 11, deliverable 5) on a temporal split: fitted on the orders up to
the split, compared with the next 365 days -- Spearman rho of the predicted against the
realised spend, AUC of the at-risk score for "no order in the next 365 days", each against a
naive baseline (last year's spend; days since the last order) -- on the sports shop (5,000
customers) and, with ``--data``, on the Groceries shop.

Each step runs in a fresh child process (so one step's freed memory does not hide the next
one's); the parent prints the figures and checks the two R/F/M tables are equal.

    python benchmarks/customers.py                     # 1,000,000 customers
    python benchmarks/customers.py --customers 100000 --repeat 5
    python benchmarks/customers.py --data ../shared/data   # also the Groceries shop (read, never copied)
    python benchmarks/customers.py --steps value contact    # only these million-customer steps
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
from recokit.customers import cluster, contact_plan, rfm, value  # noqa: E402

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


PLAN_ON = "2025-10-06"


def consents(n_customers: int, seed: int) -> pl.DataFrame:
    """A customers table with a random e-mail consent (55 % true), for the contact plan."""
    rng = np.random.default_rng([seed, 11])
    return pl.DataFrame({"customer_id": np.arange(n_customers, dtype=np.int64), "consent_email": rng.random(n_customers) < 0.55})


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
        customers = consents(args.customers, args.seed) if step == "contact" else None
        out["build_seconds"], out["build_mb"], ds = timed(
            lambda: Dataset(lines, catalog, customers, time_col="ts", basket_col="order_id", quantity_col="qty", price_col="price"), 1
        )
        del lines
        if step == "rfm":
            out["seconds"], out["added_mb"], table = timed(lambda: rfm(ds), args.repeat)
            table.write_parquet(args.scratch / "rfm.parquet")
        elif step == "value":
            out["seconds"], out["added_mb"], v = timed(lambda: value(ds), 1)
            out["valued"] = v["ltv"].drop_nulls().len()
        elif step == "contact":
            out["seconds"], out["added_mb"], plan = timed(lambda: contact_plan(ds, on=PLAN_ON), 1)
            out["kinds"] = dict(plan["kind"].value_counts().iter_rows())
        else:
            out["seconds"], out["added_mb"], groups = timed(lambda: cluster(ds, seed=args.seed), 1)
            out["k"] = groups["cluster"].drop_nulls().n_unique()
    out["process_peak_mb"] = _maxrss_mb()
    return out


STEPS = ("bare", "rfm", "cluster", "value", "contact")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-clusters", action="store_true", help="skip the clustering step")
    parser.add_argument("--data", type=Path, default=None, help="folder with Groceries_dataset.csv: also run on that real shop")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="the million-customer steps to run (default: all)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
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
        for step in [s for s in STEPS if s in args.steps and not (s == "cluster" and args.no_clusters)]:
            cmd = [sys.executable, __file__, "--step", step, "--customers", str(args.customers), "--seed", str(args.seed), "--repeat", str(args.repeat), "--scratch", scratch]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[step] = json.loads(done.stdout.strip().splitlines()[-1])
        if "bare" in results and "rfm" in results:
            rfm_lines(results, pl.read_parquet(Path(scratch) / "bare.parquet"), pl.read_parquet(Path(scratch) / "rfm.parquet"), args)
    if "cluster" in results:
        c = results["cluster"]
        print(f"recokit cluster (mixture, {c['k']} clusters): {c['seconds']:7.2f} s  added {c['added_mb']:6.0f} MB  process {c['process_peak_mb']:6.0f} MB")
    if "value" in results:
        v = results["value"]
        print(f"recokit value (MBG/NBD + Gamma-Gamma, {v['valued']:,} customers): {v['seconds']:7.2f} s  added {v['added_mb']:6.0f} MB  process {v['process_peak_mb']:6.0f} MB")
    if "contact" in results:
        c = results["contact"]
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(c["kinds"].items(), key=lambda kv: -kv[1]))
        print(f"recokit contact_plan (on {PLAN_ON}): {c['seconds']:7.2f} s  added {c['added_mb']:6.0f} MB  process {c['process_peak_mb']:6.0f} MB  ({kinds})")
    value_figures(args.data)
    groceries(args.data, args.seed)
    return 0


def rfm_lines(results: dict[str, Any], bare: pl.DataFrame, table: pl.DataFrame, args: argparse.Namespace) -> None:
    b, r = results["bare"], results["rfm"]
    print(f"log: {args.customers:,} customers, {b['orders']:,} orders, {b['lines']:,} lines")
    print(f"Dataset build (once, shared by every model): {r['build_seconds']:7.2f} s  added {r['build_mb']:6.0f} MB")
    print(f"bare polars R/F/M:                  {b['seconds']:7.2f} s  added {b['added_mb']:6.0f} MB  process {b['process_peak_mb']:6.0f} MB")
    print(f"recokit rfm (+segments, reasons):   {r['seconds']:7.2f} s  added {r['added_mb']:6.0f} MB  process {r['process_peak_mb']:6.0f} MB")
    same = table.filter(pl.col("frequency") > 0).select("customer_id", "r", "f", "m").sort("customer_id")
    print(f"same r, f, m as bare polars: {same.equals(bare.join(same.select('customer_id'), on='customer_id', how='semi'))} (customers scored: {same.height:,})")
    print(f"ratio recokit / bare: time {r['seconds'] / b['seconds']:.2f}, added memory {r['added_mb'] / max(b['added_mb'], 1):.2f} (target <= 3)")
    print("segments: " + ", ".join(f"{s} {n:,}" for s, n in table["segment"].value_counts().sort("count", descending=True).iter_rows()))


def split_figures(ds: Dataset, split: str, price: str) -> str:
    """Spearman rho and AUC of value() on the next 365 days after ``split``, with baselines."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    at = dt.datetime.combine(dt.date.fromisoformat(split), dt.time.max)
    rows = ds.interactions.filter((pl.col("timestamp") > at) & (pl.col("timestamp") <= at + dt.timedelta(days=365)))
    unit = pl.col("price") if price == "paid" else pl.lit(1.0)
    spent = rows.group_by("customer_id").agg((pl.col("quantity") * unit).sum().alias("spent"))
    past = rfm(ds, at=split, price=price).select("customer_id", "recency_days", "monetary")
    out = []
    for how in ("gamma_gamma", "shop"):
        t0 = time.perf_counter()
        v = value(ds, at=split, price=price, order_value=how)
        seconds = time.perf_counter() - t0
        t = v.drop_nulls("ltv").join(spent, on="customer_id", how="left").with_columns(pl.col("spent").fill_null(0.0)).join(past, on="customer_id")
        left = (t["spent"] == 0).to_numpy()
        rho = spearmanr(t["ltv"], t["spent"]).statistic
        auc = roc_auc_score(left, t["at_risk"])
        out.append(f"    order_value={how!r}: Spearman rho {rho:.3f}, at-risk AUC {auc:.3f} ({t.height:,} customers, {left.mean():.0%} with no order after; {seconds:.2f} s)")
    t = past.join(spent, on="customer_id", how="left").with_columns(pl.col("spent").fill_null(0.0)).filter(pl.col("recency_days").is_not_null())
    out.append(f"    baselines: last year's spend rho {spearmanr(t['monetary'], t['spent']).statistic:.3f}, days since the last order AUC {roc_auc_score((t['spent'] == 0).to_numpy(), t['recency_days']):.3f}")
    return "\n".join(out)


def value_figures(folder: Path | None) -> None:
    """The temporal-split figures of value() on the sports shop and, when given, Groceries."""
    from recokit.datasets import load_transactions, sports_shop_tables

    t = sports_shop_tables(5000, seed=0)
    shop = Dataset(t.interactions, t.catalog, t.customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity", price_col="price")
    print("value on a temporal split (fit up to the split, realised = the next 365 days):")
    print(f"  sports shop, 5,000 customers, seed 0, split 2024-12-30, price paid:\n{split_figures(shop, '2024-12-30', 'paid')}")
    path = None if folder is None else folder / "Groceries_dataset.csv"
    if path is not None and path.exists():
        ds = load_transactions(path, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y")
        print(f"  {path.name}, split 2014-12-31, no prices (units):\n{split_figures(ds, '2014-12-31', 'units')}")


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
