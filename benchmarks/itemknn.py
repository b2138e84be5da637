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


def alternated(fns, repeats: int) -> list[list[float]]:
    """Seconds of each function in each of ``repeats`` runs, run alternately (A, B, C, A, B, C,
    ...), so that load from other processes on a shared machine hits them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return times


def median_times(fn_a, fn_b, repeats: int) -> tuple[float, float]:
    """Median seconds of two functions run alternately (see :func:`alternated`)."""
    times_a, times_b = alternated([fn_a, fn_b], repeats)
    return statistics.median(times_a), statistics.median(times_b)


def sample_customers(ds: Dataset, n: int, seed: int = 1) -> tuple[np.ndarray, list]:
    """``n`` customers drawn without replacement (sorted): their row numbers and their ids."""
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(ds.n_customers, min(n, ds.n_customers), replace=False))
    return users, ds.customer_ids.ids(users)


def cosine_pair(k_neighbours: int, threads: int):
    """recokit's cosine ItemKNN and implicit's CosineRecommender computing the same K+1 lists
    (implicit counts the item itself among its K neighbours; recokit drops it). Unfitted."""
    from implicit.nearest_neighbours import CosineRecommender

    return ItemKNN(similarity="cosine", k_neighbours=k_neighbours, num_threads=threads), CosineRecommender(K=k_neighbours + 1, num_threads=threads)


def batch_runs(model, peer, ui, users: np.ndarray, customer_ids: list, n_reasons: int, repeats: int, k: int = 10) -> dict[str, tuple[int, list[float]]]:
    """recokit ``recommend_many(exclude_purchased=True)`` without and with reasons (the latter
    on the first ``n_reasons`` customers) against implicit's batched ``recommend(userids,
    user_items[userids], N=k)`` (which filters purchased items too), run alternately. Returns
    ``{side: (customers per call, seconds per run)}``."""
    few = customer_ids[:n_reasons]
    plain, why, theirs = alternated(
        [
            lambda: model.recommend_many(customer_ids, k=k, exclude_purchased=True, reasons=False),
            lambda: model.recommend_many(few, k=k, exclude_purchased=True, reasons=True),
            lambda: peer.recommend(users, ui[users], N=k),
        ],
        repeats,
    )
    return {"reasons=False": (len(customer_ids), plain), "reasons=True": (len(few), why), "implicit": (len(users), theirs)}


def same_top(model, peer, ds: Dataset, ui, users: np.ndarray, customer_ids: list, n: int = 200, k: int = 10) -> float:
    """Share of the first ``n`` customers for whom recokit (reasons and back-fill off) and
    implicit give the same top-``k`` set: both sides compute the same lists."""
    ours = model.recommend_many(customer_ids[:n], k=k, exclude_purchased=True, reasons=False, backfill=False)
    ids, _ = peer.recommend(users[:n], ui[users[:n]], N=k)
    return float(np.mean(
        [
            set(ours.filter(pl.col("customer_id") == c)["item_id"].to_list()) == set(ds.item_ids.ids(ids[i][ids[i] >= 0]))
            for i, c in enumerate(customer_ids[:n])
        ]
    ))


def run(name: str, ds: Dataset, k_neighbours: int, repeats: int, n_batch: int, n_reasons: int, n_single: int, threads: int) -> list[dict]:
    from implicit.nearest_neighbours import CosineRecommender

    ui = sp.csr_matrix(ds.user_items)  # implicit wants scipy's csr_matrix, float64
    users, customer_ids = sample_customers(ds, n_batch)
    print(f"\n## {name}: {ds}", flush=True)

    model, peer = cosine_pair(k_neighbours, threads)
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

    runs = batch_runs(model, peer, ui, users, customer_ids, n_reasons, repeats)
    n_impl, t_impl = runs["implicit"][0], statistics.median(runs["implicit"][1])
    for side in ("reasons=False", "reasons=True"):
        n_reco, t_reco = runs[side][0], statistics.median(runs[side][1])
        rows.append(
            {"measure": f"recommend_many, {side} (customers/s)", "recokit": n_reco / t_reco, "implicit": n_impl / t_impl,
             "ratio": (n_reco / t_reco) / (n_impl / t_impl), "target": ">= 1"}
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

    agree = same_top(model, peer, ds, ui, users, customer_ids)
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
