"""ItemKNN (cosine) against implicit's CosineRecommender, side by side in one process.

Measures, on a synthetic Zipf-ish shop (default 100,000 customers x 20,000 items x 2,000,000
interactions, generated here) and on MovieLens 100k when present:

* fit time, recokit ``ItemKNN(similarity="cosine", k_neighbours=K)`` vs implicit
  ``CosineRecommender(K=K+1)`` (implicit counts the item itself among its K neighbours; recokit
  drops it, so both compute the same K+1 lists) -- ratio recokit / implicit, target <= 1.1;
* batch throughput (customers/s): recokit ``recommend_many(customers, k=10,
  exclude_purchased=True)`` with ``reasons=False`` and ``reasons=True`` vs implicit's batched
  ``model.recommend(userids, user_items[userids], N=10)`` (which filters purchased items too);
* p50 latency of one ``recommend`` call for a known customer, both libraries.

Medians of ``--repeats`` runs. Usage::

    PYTHONPATH=src python benchmarks/itemknn.py [--data ../shared/data] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit import Dataset, ItemKNN, Query


def synthetic(n_customers: int, n_items: int, n_interactions: int, seed: int = 0) -> Dataset:
    """Zipf-ish popularity over items, geometric-ish activity over customers."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.9
    item_p /= item_p.sum()
    cust_p = rng.pareto(1.5, n_customers) + 1.0
    cust_p /= cust_p.sum()
    items = rng.permutation(n_items)[rng.choice(n_items, n_interactions, p=item_p)]
    customers = rng.choice(n_customers, n_interactions, p=cust_p)
    frame = pl.DataFrame({"customer_id": customers.astype(np.int64), "item_id": items.astype(np.int64)})
    return Dataset(frame)


def movielens(path: Path) -> Dataset | None:
    f = path / "ml-100k" / "u.data"
    if not f.exists():
        return None
    frame = pl.read_csv(f, separator="\t", has_header=False, new_columns=["customer_id", "item_id", "rating", "ts"])
    return Dataset(frame.select("customer_id", "item_id"))


def median_times(fn_a, fn_b, repeats: int) -> tuple[float, float]:
    """Median seconds of two functions run alternately (A, B, A, B, ...), so that load from other
    processes on a shared machine hits both alike."""
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, out in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(times_a), statistics.median(times_b)


def run(name: str, ds: Dataset, k_neighbours: int, repeats: int, n_batch: int, n_reasons: int, n_single: int, threads: int) -> list[dict]:
    from implicit.nearest_neighbours import CosineRecommender

    ui = sp.csr_matrix(ds.user_items)  # implicit wants scipy's csr_matrix, float64
    rng = np.random.default_rng(1)
    users = np.sort(rng.choice(ds.n_customers, min(n_batch, ds.n_customers), replace=False))
    customer_ids = ds.customer_ids.ids(users)
    print(f"\n## {name}: {ds}", flush=True)

    model = ItemKNN(similarity="cosine", k_neighbours=k_neighbours, num_threads=threads)
    peer = CosineRecommender(K=k_neighbours + 1, num_threads=threads)
    rows = []

    # Also time implicit's own fit *inside* recokit's fit: total / inner is recokit's overhead,
    # measured in the same call, so immune to the load of a shared machine.
    inner: list[float] = []
    totals: list[float] = []
    kernel = CosineRecommender.fit

    def timed_kernel(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = kernel(self, *args, **kwargs)
        inner.append(time.perf_counter() - t0)
        return out

    def reco_fit():
        CosineRecommender.fit = timed_kernel
        try:
            t0 = time.perf_counter()
            model.fit(ds)
            totals.append(time.perf_counter() - t0)
        finally:
            CosineRecommender.fit = kernel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Method expects CSR input")  # implicit about its own COO
        t_reco, t_impl = median_times(reco_fit, lambda: peer.fit(ui, show_progress=False), repeats)
    rows.append({"measure": "fit time (s)", "recokit": t_reco, "implicit": t_impl, "ratio": t_reco / t_impl, "target": "<= 1.1"})
    same_call = statistics.median(t / i for t, i in zip(totals, inner, strict=True))
    rows.append(
        {"measure": "fit: recokit total / implicit kernel in the same call", "recokit": statistics.median(totals),
         "implicit": statistics.median(inner), "ratio": same_call, "target": "<= 1.1"}
    )

    def impl_batch():
        peer.recommend(users, ui[users], N=10)

    t_reco, t_impl = median_times(
        lambda: model.recommend_many(customer_ids, k=10, exclude_purchased=True, reasons=False), impl_batch, repeats
    )
    rows.append(
        {"measure": "recommend_many, reasons=False (customers/s)", "recokit": len(users) / t_reco, "implicit": len(users) / t_impl,
         "ratio": t_impl / t_reco, "target": ">= 1"}
    )
    few = customer_ids[:n_reasons]
    t_reco, _ = median_times(lambda: model.recommend_many(few, k=10, exclude_purchased=True, reasons=True), lambda: None, repeats)
    rows.append(
        {"measure": "recommend_many, reasons=True (customers/s)", "recokit": len(few) / t_reco, "implicit": len(users) / t_impl,
         "ratio": (len(few) / t_reco) / (len(users) / t_impl), "target": ">= 1"}
    )

    single = users[:n_single]
    lat_reco, lat_impl = [], []
    for u, c in zip(single.tolist(), ds.customer_ids.ids(single), strict=True):
        t0 = time.perf_counter()
        model.recommend(Query(customer_id=c, k=10, exclude_purchased=True))
        lat_reco.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        peer.recommend(u, ui[u], N=10)
        lat_impl.append(time.perf_counter() - t0)
    p50r, p50i = statistics.median(lat_reco) * 1e3, statistics.median(lat_impl) * 1e3
    rows.append({"measure": "recommend p50 latency (ms), with reasons", "recokit": p50r, "implicit": p50i, "ratio": p50r / p50i, "target": "-"})

    # sanity: both give the same top-10 for these customers when reasons and back-fill are off
    ours = model.recommend_many(customer_ids[:200], k=10, exclude_purchased=True, reasons=False, backfill=False)
    ids, _ = peer.recommend(users[:200], ui[users[:200]], N=10)
    agree = np.mean(
        [
            set(ours.filter(pl.col("customer_id") == c)["item_id"].to_list()) == set(ds.item_ids.ids(ids[i][ids[i] >= 0]))
            for i, c in enumerate(customer_ids[:200])
        ]
    )
    print(f"same top-10 set as implicit for {agree:.1%} of 200 customers (differences: ties, implicit's zero-score padding)")
    for r in rows:
        print(f"| {name} | {r['measure']} | {r['recokit']:.4g} | {r['implicit']:.4g} | {r['ratio']:.3f} | {r['target']} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    root = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=root.parent / "shared" / "data", help="folder with ml-100k/ (default ../shared/data)")
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--items", type=int, default=20_000)
    p.add_argument("--interactions", type=int, default=2_000_000)
    p.add_argument("--k-neighbours", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="implicit's num_threads for both (1: least sensitive to a shared machine)")
    p.add_argument("--batch", type=int, default=20_000, help="customers in the recommend_many batch")
    p.add_argument("--reasons-batch", type=int, default=2_000, help="customers in the reasons=True batch")
    p.add_argument("--single", type=int, default=200, help="single-customer calls for the latency")
    args = p.parse_args(argv)
    print("command: PYTHONPATH=src python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]))
    import implicit

    print(f"implicit {implicit.__version__}, numpy {np.__version__}, scipy {sp.__name__ and __import__('scipy').__version__}")
    print("| data | measure | recokit | implicit | ratio | target |\n|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    ds = synthetic(args.customers, args.items, args.interactions)
    print(f"(synthetic data built in {time.perf_counter() - t0:.1f} s)")
    run("synthetic", ds, args.k_neighbours, args.repeats, args.batch, args.reasons_batch, args.single, args.threads)
    ml = movielens(args.data)
    if ml is None:
        print(f"\nml-100k: absent under {args.data} (skipped)")
    else:
        run("ml-100k", ml, args.k_neighbours, args.repeats, ml.n_customers, min(args.reasons_batch, ml.n_customers), args.single, args.threads)


if __name__ == "__main__":
    main()
