"""Serving (issue 10): latency, batch cost and memory of the README pipeline, PASS / MISS per target.

The pipeline is the README's home page with the four components of the issue::

    Ruled(Hybrid({"because": ItemKNN(), "together": AssociationRules(), "tastes": ALS(),
                  "trending": Popularity(half_life_days=30)}),
          load_rules("docs/examples/sports_shop_rules.toml"), fallback=Popularity(half_life_days=30))

on the built-in sports shop scaled up (:func:`scaled_shop`: the shop's customers, orders, bundles,
renewals and consent, each of its 503 products split into about 100 variants, default 50,000
items and 100,000 customers). Targets:

(a) one request, a mix of known customers, anonymous visitors with a product on screen and
    logged-in carts (``Query(customer_id=..., items=[...])``), k = 10, with reasons:
    a1 p50 <= 1.5x the sum of the four components' own single-request p50 (same requests);
    a2 p50 <= 2x one implicit ALS ``model.recommend(userid, user_items[userid], N=k)`` on the
       same matrix and the same fitted factors (the pipeline's own ALS; the product page and
       the cart go through ``recalculate_user=True`` with the item rows);
    a3 p99 <= 3x p50;
    a4 cost independent of k up to 100: p50 at k = 1, 10, 40, 100, each <= 1.25x p50 at k = 1
       (the 25 % is room for noise; a cost proportional to k is far above it).
(b) ``recommend_many`` (k = 10, reasons on: the default): b1 pipeline <= 1.5x the unruled
    hybrid; b2 unruled hybrid <= 1.3x the sum of its four components' batches; b3 reasons add
    <= 25 % (pipeline reasons=True / reasons=False).
(c) ItemKNN (cosine) and ALS ``recommend_many(exclude_purchased=True)`` throughput over
    implicit's batched ``recommend(userids, user_items[userids], N=10)``, on ml-100k and a
    synthetic 100k customers x 20k items x 2M interactions set (``itemknn.synthetic``):
    >= 1.0 without reasons, >= 0.8 with reasons. implicit's side is CosineRecommender(K=k+1)
    (``itemknn.cosine_pair``) and, for ALS, the very model recokit's ALS fitted (same factors),
    so the ratio is serving overhead only.
(d) in a fresh subprocess under an address-space cap, at 200,000 items: d1 peak extra memory of
    the pipeline's ``recommend_many`` with default settings (it sizes its batches to the catalogue) <= 1 GB (tracemalloc,
    which traces numpy's buffers, and RSS sampled in a thread); d2 one ``recommend`` at
    k = 10**8 needs no more memory than at k = the catalogue size.

Every timing alternates the sides (request by request for (a), call by call for (b) and (c))
over ``--runs`` runs; medians and the min-max over runs are printed. BLAS and OpenMP are bounded
to one thread (threadpoolctl) for both libraries. A missed target is followed by a cProfile of
the recokit functions it spends its time in (``--no-profile`` to skip). Run::

    PYTHONPATH=src python benchmarks/serving.py                   # everything, about 15 minutes
    PYTHONPATH=src python benchmarks/serving.py --quick           # small sizes, seconds
    PYTHONPATH=src python benchmarks/serving.py --only a,b --items 20000
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import linecache
import os
import platform
import pstats
import resource
import shlex
import statistics
import sys
import threading
import time
import traceback
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit import (
    ALS,
    AssociationRules,
    Dataset,
    Hybrid,
    ItemKNN,
    Popularity,
    Query,
    Ruled,
    load_rules,
)
from recokit.datasets import sports_shop_tables

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RULES = ROOT / "docs" / "examples" / "sports_shop_rules.toml"
sys.path.insert(0, str(HERE))  # the sibling benchmarks, whose helpers are reused here

from itemknn import (  # noqa: E402
    alternated,
    batch_runs,
    cosine_pair,
    movielens,
    same_top,
    sample_customers,
    synthetic,
)

KINDS = ("customer", "product page", "cart")
K_SWEEP = (1, 10, 40, 100)
#: --quick: small sizes for a smoke run (explicit flags still win).
QUICK = {
    "items": 3_000, "customers": 3_000, "requests": 30, "k_requests": 12, "batch_customers": 64,
    "knn_customers": 3_000, "knn_items": 1_000, "knn_interactions": 30_000, "c_batch": 1_000, "reasons_batch": 200,
    "memory_items": 5_000, "memory_customers": 2_000, "memory_batches": "8,32", "memory_cap_gb": 1.0,
}


# -- data and pipeline --------------------------------------------------------------------------
def scaled_shop(n_customers: int, n_items: int, seed: int = 0) -> Dataset:
    """The synthetic sports shop with its catalogue scaled to ``n_items``.

    Customers, orders, baskets, timestamps, quantities and consent are the shop's own
    (``sports_shop_tables(n_customers, seed=seed)``). Each of its 503 products becomes about
    ``n_items / 503`` variants (same name with a suffix, category, sport, brand, age group and
    consumable flag; price within +-10 %; stock and eco label drawn again, 8 % out of stock, 20 %
    eco), and each order line buys one variant of its product, Zipf-like (the first variant
    about 15 % of the lines at 100 variants). So the rules file of the shop applies unchanged.
    """
    t = sports_shop_tables(n_customers, seed=seed)
    base = t.catalog
    rng = np.random.default_rng(seed + 1)
    per = np.full(base.height, n_items // base.height)
    per[: n_items % base.height] += 1
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    src = np.repeat(np.arange(base.height), per)
    variant = np.arange(n_items) - first[src]
    stock = np.minimum(1 + rng.geometric(1 / 40, size=n_items), 500).astype(np.int64)
    stock[rng.random(n_items) < 0.08] = 0
    catalog = base[src].with_columns(
        pl.Series("item_id", [f"{i}-{v:03d}" for i, v in zip(base["item_id"].gather(src).to_list(), variant.tolist(), strict=True)]),
        (pl.col("name") + pl.Series([f" v{v}" for v in variant.tolist()])).alias("name"),
        (pl.col("price") * np.exp(rng.uniform(-0.1, 0.1, n_items))).round(2).alias("price"),
        pl.Series("stock", stock),
        pl.Series("eco_label", rng.random(n_items) < 0.2),
    )
    product = np.asarray(t.interactions["item_id"].str.slice(1).cast(pl.Int64)) - 1  # "P0001" -> 0
    chosen = np.floor(per[product] ** rng.random(len(product))).astype(np.int64) - 1  # 0 .. per - 1
    interactions = t.interactions.with_columns(catalog["item_id"].gather(first[product] + chosen).alias("item_id"))
    return Dataset(interactions, catalog=catalog, customers=t.customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity")


def readme_pipeline(ds: Dataset) -> Ruled:
    """The README's ruled hybrid with the issue's four components, fitted on ``ds``."""
    hybrid = Hybrid({"because": ItemKNN(), "together": AssociationRules(), "tastes": ALS(), "trending": Popularity(half_life_days=30)})
    return Ruled(hybrid, load_rules(RULES, catalog=ds), fallback=Popularity(half_life_days=30)).fit(ds)


def request_mix(ds: Dataset, n: int, seed: int) -> list[tuple[str, Query, tuple]]:
    """``n`` requests cycling through the three kinds, k = 10: (kind, Query, implicit's
    ``(userid, user_items row, recalculate_user)``). Customers are drawn among those with a
    history, context items by popularity; a cart holds 3 items."""
    rng = np.random.default_rng(seed)
    ui = sp.csr_matrix(ds.user_items)
    buyers = np.flatnonzero(np.diff(ui.indptr) > 0)
    counts = ds.item_counts().astype(np.float64)
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        u = int(rng.choice(buyers))
        customer = ds.customer_ids.id(u)
        if kind == "customer":
            out.append((kind, Query(customer_id=customer, k=10), (u, ui[u], False)))
            continue
        items = rng.choice(ds.n_items, 1 if kind == "product page" else 3, replace=False, p=counts / counts.sum())
        row = sp.csr_matrix((np.ones(len(items)), (np.zeros(len(items), dtype=np.int64), items)), shape=(1, ds.n_items))
        ids = ds.item_ids.ids(items)
        if kind == "product page":
            out.append((kind, Query(items=ids, k=10), (0, row, True)))
        else:
            out.append((kind, Query(customer_id=customer, items=ids, k=10), (u, sp.csr_matrix(ui[u] + row), True)))
    return out


# -- measuring ------------------------------------------------------------------------------------
def latency_runs(sides: dict[str, Callable[[int], object]], n: int, runs: int) -> dict[str, np.ndarray]:
    """Seconds of request ``i`` on each side, as ``runs x n`` arrays. The sides alternate request
    by request (who goes first rotates), so the load of a shared machine hits them alike."""
    names = list(sides)
    out = {s: np.empty((runs, n)) for s in names}
    for r in range(runs):
        for i in range(n):
            for j in range(len(names)):
                side = names[(i + j) % len(names)]
                t0 = time.perf_counter()
                sides[side](i)
                out[side][r, i] = time.perf_counter() - t0
    return out


def spread(values, fmt: str = ".3g") -> str:
    """``median (min-max)`` of a few per-run values."""
    v = list(values)
    return f"{statistics.median(v):{fmt}} ({min(v):{fmt}}-{max(v):{fmt}})"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssPeak:
    """Peak resident memory above the start of the block, sampled every millisecond by a thread
    (a lower bound: the thread runs when the GIL lets it)."""

    def __enter__(self) -> RssPeak:
        self.base = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def peak_memory(fn: Callable[[], object]) -> dict:
    """``fn``'s peak extra memory in MB, traced (tracemalloc: every numpy buffer) and, in a second
    call, resident (RSS sampling). A MemoryError is reported with the recokit line that raised it."""
    out: dict = {}
    for how in ("traced_mb", "rss_mb"):
        gc.collect()
        rss = RssPeak() if how == "rss_mb" else None
        if rss is None:
            tracemalloc.start()
        else:
            rss.__enter__()
        try:
            fn()
        except MemoryError as exc:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if "recokit" in f.filename]
            where = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
            out["error"] = f"MemoryError at {Path(where.filename).name}:{where.lineno} ({where.name}: {where.line})"
        finally:
            if rss is None:
                out[how] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            else:
                rss.__exit__()
                out[how] = rss.extra_mb
        if "error" in out:
            break  # once is enough to know it does not fit
    return out


def profile(label: str, fn: Callable[[], object], top: int = 15, lines: bool = True) -> None:
    """cProfile of ``fn``: the ``top`` recokit functions by cumulative time; then, with
    line_profiler installed, a second call timing the lines of the recokit function with the
    most time of its own."""
    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    buf = io.StringIO()
    stats = pstats.Stats(pr, stream=buf)
    stats.sort_stats("cumulative").print_stats(r"recokit[/\\]", top)
    text = buf.getvalue().replace(str(ROOT / "src") + os.sep, "")
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("   Ordered by", "   List reduced"))]
    print(f"\n#### profile: {label} (cProfile, sorted by cumtime, recokit functions; cProfile inflates Python-heavy code)")
    print("```\n" + "\n".join(kept) + "\n```")
    own = [(v[2], key) for key, v in stats.stats.items() if f"recokit{os.sep}" in key[0]]
    if lines and own:
        line_timing(_function_at(*max(own)[1]), fn)


def _function_at(filename: str, lineno: int, name: str) -> Callable | None:
    """The function whose code starts at ``filename:lineno``: module level or a class's method."""
    for mod in list(sys.modules.values()):
        if getattr(mod, "__file__", None) != filename:
            continue
        for obj in vars(mod).values():
            for f in (obj, *(vars(obj).values() if isinstance(obj, type) else ())):
                code = getattr(getattr(f, "__func__", f), "__code__", None)
                if code is not None and code.co_firstlineno == lineno and code.co_name == name:
                    return getattr(f, "__func__", f)
    return None


def line_timing(func: Callable | None, fn: Callable[[], object], top: int = 6) -> None:
    """The ``top`` lines of ``func`` by time while ``fn`` runs (line_profiler, when installed)."""
    try:
        from line_profiler import LineProfiler
    except ImportError:
        print("(line timing skipped: line_profiler is not installed)")
        return
    if func is None:
        return
    lp = LineProfiler()
    lp.add_function(func)
    lp.enable_by_count()
    try:
        fn()
    finally:
        lp.disable_by_count()
    st = lp.get_stats()
    for (fname, first, name), timings in st.timings.items():
        total = sum(t for _, _, t in timings) or 1
        print(f"line timing of {name} ({Path(fname).relative_to(ROOT / 'src') if fname.startswith(str(ROOT)) else fname}:{first}), "
              f"{total * st.unit:.2f} s in all (a second call, line_profiler):")  # fmt: skip
        print("```")
        for lineno, hits, t in sorted(timings, key=lambda x: -x[2])[:top]:
            print(f"{t * st.unit:8.3f} s {100 * t / total:5.1f} % {hits:>10,} hits  line {lineno}: {linecache.getline(fname, lineno).strip()}")
        print("```")


@dataclasses.dataclass
class Target:
    key: str
    what: str
    measured: float | None  # the median over runs (None: could not be measured)
    limit: float
    detail: str  # median (min-max), units
    at_least: bool = False

    @property
    def verdict(self) -> str:
        if self.measured is None or not np.isfinite(self.measured):
            return "NOT MEASURED"
        ok = self.measured >= self.limit if self.at_least else self.measured <= self.limit
        return "PASS" if ok else "MISS"

    def line(self) -> str:
        bound = (">= " if self.at_least else "<= ") + f"{self.limit:g}"
        return f"| {self.key} | {self.what} | {self.detail} | {bound} | {self.verdict} |"


def report(targets: list[Target]) -> None:
    print("\n| target | what | measured: median (min-max over runs) | target | result |\n|---|---|---|---|---|")
    for t in targets:
        print(t.line(), flush=True)


# -- (a) one request ------------------------------------------------------------------------------
def single_requests(pipe: Ruled, ds: Dataset, args) -> list[Target]:
    hybrid = pipe.model_
    als = hybrid.components_[hybrid.names_.index("tastes")]
    peer = als.model_  # implicit's model object holding the very factors recokit's ALS serves
    mix = request_mix(ds, args.requests, args.seed + 2)
    queries = [q for _, q, _ in mix]
    sides: dict[str, Callable[[int], object]] = {"pipeline": lambda i: pipe.recommend(queries[i])}
    for name, comp in zip(hybrid.names_, hybrid.components_, strict=True):
        sides[f"{name}: {type(comp).__name__}"] = lambda i, m=comp: m.recommend(queries[i])
    sides["implicit ALS recommend"] = lambda i: peer.recommend(mix[i][2][0], mix[i][2][1], N=10, recalculate_user=mix[i][2][2])
    for fn in sides.values():  # warm-up
        fn(0)
    t = latency_runs(sides, len(mix), args.runs)
    comps = [s for s in sides if ":" in s]
    kinds = np.array([kind for kind, _, _ in mix])
    print(f"\n{len(mix)} requests x {args.runs} runs, k = 10, sides alternating request by request; ms")
    print("| side | p50: median (min-max over runs) | p99 (median) | " + " | ".join(f"p50 {k}" for k in KINDS) + " |")
    print("|---|---|---|" + "---|" * len(KINDS))
    for side, a in t.items():
        by_kind = " | ".join(f"{np.median(a[:, kinds == k]) * 1e3:.3f}" for k in KINDS)
        print(f"| {side} | {spread(np.median(a, axis=1) * 1e3, '.3f')} | {np.median(np.percentile(a, 99, axis=1)) * 1e3:.2f} | {by_kind} |")
    p50 = {s: np.median(a, axis=1) for s, a in t.items()}
    comp_sum = np.sum([p50[s] for s in comps], axis=0)
    print(f"sum of the four components' p50: {spread(comp_sum * 1e3, '.3f')} ms")
    a1 = p50["pipeline"] / comp_sum
    a2 = p50["pipeline"] / p50["implicit ALS recommend"]
    a3 = np.percentile(t["pipeline"], 99, axis=1) / p50["pipeline"]

    qs = {k: [dataclasses.replace(q, k=k) for q in queries[: args.k_requests]] for k in K_SWEEP}
    sweep = latency_runs({f"k={k}": (lambda i, k=k: pipe.recommend(qs[k][i])) for k in K_SWEEP}, args.k_requests, args.runs)
    ks = {k: np.median(sweep[f"k={k}"], axis=1) for k in K_SWEEP}
    print(f"\npipeline p50 by k ({args.k_requests} requests x {args.runs} runs, the k values alternating request by request): "
          + ", ".join(f"k={k}: {spread(v * 1e3, '.2f')} ms" for k, v in ks.items()))  # fmt: skip
    worst = max(K_SWEEP[1:], key=lambda k: statistics.median(ks[k] / ks[1]))
    a4 = ks[worst] / ks[1]
    targets = [
        Target("a1", "pipeline p50 / sum of the 4 components' p50", statistics.median(a1), 1.5, f"{spread(a1)}x"),
        Target("a2", "pipeline p50 / implicit ALS recommend p50", statistics.median(a2), 2.0, f"{spread(a2)}x"),
        Target("a3", "pipeline p99 / p50", statistics.median(a3), 3.0, f"{spread(a3)}x"),
        Target("a4", f"pipeline p50(k) / p50(k=1), worst k <= 100 (k={worst})", statistics.median(a4), 1.25,
               f"{spread(a4)}x; p50 " + ", ".join(f"k={k} {statistics.median(v) * 1e3:.1f}" for k, v in ks.items()) + " ms"),
    ]
    report(targets)
    if args.profile and any(t.verdict == "MISS" for t in targets[:3]):
        profile(f"{len(queries)} pipeline requests (the mix, k = 10)", lambda: [pipe.recommend(q) for q in queries])
    if args.profile and targets[3].verdict == "MISS":
        profile(f"{args.k_requests} pipeline requests at k = 100", lambda: [pipe.recommend(q) for q in qs[100]])
    return targets


# -- (b) recommend_many ---------------------------------------------------------------------------
def batches(pipe: Ruled, ds: Dataset, args) -> list[Target]:
    hybrid = pipe.model_
    _, customers = sample_customers(ds, args.batch_customers, args.seed + 3)
    sides: dict[str, Callable[[], object]] = {
        "pipeline": lambda: pipe.recommend_many(customers, k=10),
        "pipeline, reasons=False": lambda: pipe.recommend_many(customers, k=10, reasons=False),
        "hybrid (unruled)": lambda: hybrid.recommend_many(customers, k=10),
    }
    for name, comp in zip(hybrid.names_, hybrid.components_, strict=True):
        sides[f"{name}: {type(comp).__name__}"] = lambda m=comp: m.recommend_many(customers, k=10)
    times = dict(zip(sides, (np.asarray(t) for t in alternated(list(sides.values()), args.runs)), strict=True))
    n = len(customers)
    print(f"\nrecommend_many of {n:,} customers (k = 10, reasons on unless said), {args.runs} runs alternating call by call")
    if n < ds.n_customers:
        full = statistics.median(times["pipeline"]) / n * ds.n_customers
        print(f"SCALED DOWN: {n:,} of the {ds.n_customers:,} customers (the whole set would take about {full / 60:.0f} min "
              f"per pipeline call at this rate; recommend_many runs batches of 2,048, so the cost per customer is that of one batch)")  # fmt: skip
    print("| side | seconds: median (min-max) | ms per customer |\n|---|---|---|")
    for side, t in times.items():
        print(f"| {side} | {spread(t)} | {statistics.median(t) / n * 1e3:.3f} |")
    comp_sum = np.sum([t for s, t in times.items() if ":" in s], axis=0)
    b1 = times["pipeline"] / times["hybrid (unruled)"]
    b2 = times["hybrid (unruled)"] / comp_sum
    b3 = times["pipeline"] / times["pipeline, reasons=False"]
    targets = [
        Target("b1", f"pipeline recommend_many / unruled hybrid's ({n:,} customers)", statistics.median(b1), 1.5, f"{spread(b1)}x"),
        Target("b2", "unruled hybrid / sum of its 4 components' batches", statistics.median(b2), 1.3, f"{spread(b2)}x"),
        Target("b3", "pipeline reasons=True / reasons=False", statistics.median(b3), 1.25, f"{spread(b3)}x"),
    ]
    report(targets)
    if args.profile and any(t.verdict == "MISS" for t in targets):
        profile(f"pipeline recommend_many of {n:,} customers, reasons on", lambda: pipe.recommend_many(customers, k=10))
    return targets


# -- (c) ItemKNN and ALS throughput vs implicit ------------------------------------------------
def throughput(label: str, ds: Dataset, args) -> list[Target]:
    ui = sp.csr_matrix(ds.user_items)  # float64 CSR: implicit's item-item models need exactly that
    users, customers = sample_customers(ds, args.c_batch)
    reps = -(-args.c_batch // len(users))  # a small set (ml-100k: 943) is listed several times per call:
    users, customers = np.tile(users, reps), customers * reps  # calls of ~0.1 s or more, less timer noise
    knn, cosine = cosine_pair(args.k_neighbours, args.threads)
    t0 = time.perf_counter()
    knn.fit(ds)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Method expects CSR input")  # implicit about its own COO
        cosine.fit(ui, show_progress=False)
    t1 = time.perf_counter()
    als = ALS(num_threads=args.threads, **({} if args.als_factors is None else {"factors": args.als_factors})).fit(ds)
    print(f"\n## {label}: {ds}; fits: ItemKNN(k_neighbours={knn.k_neighbours}) + implicit cosine {t1 - t0:.1f} s, "
          f"ALS(factors={als.factors}) {time.perf_counter() - t1:.1f} s"
          + (f"; each of the {len(users) // reps:,} sampled customers listed {reps}x per call" if reps > 1 else ""))  # fmt: skip
    targets, misses = [], []
    for name, model, peer in (("ItemKNN", knn, cosine), ("ALS", als, als.model_)):
        print(f"{name}: same top-10 set as implicit for {same_top(model, peer, ds, ui, users, customers):.1%} of 200 customers")
        runs = batch_runs(model, peer, ui, users, customers, args.reasons_batch, args.runs)
        n_impl, t_impl = runs["implicit"][0], np.asarray(runs["implicit"][1])
        print(f"| {label} {name} | implicit: {spread(n_impl / t_impl, ',.0f')} customers/s ({n_impl:,} per call) |")
        for side, limit in (("reasons=False", 1.0), ("reasons=True", 0.8)):
            n_reco, t_reco = runs[side][0], np.asarray(runs[side][1])
            ratio = (n_reco / t_reco) / (n_impl / t_impl)
            print(f"| {label} {name} | recokit {side}: {spread(n_reco / t_reco, ',.0f')} customers/s ({n_reco:,} per call) |")
            targets.append(
                Target(f"c {label} {name} {side}", f"{name} recommend_many / implicit, customers/s", statistics.median(ratio), limit, f"{spread(ratio)}x", at_least=True)
            )
            if targets[-1].verdict == "MISS":
                misses.append((f"{label} {name} recommend_many of {n_reco:,} customers, {side}", model, customers[:n_reco], side == "reasons=True"))
    report(targets)
    for what, model, few, why in misses if args.profile else ():
        profile(what, lambda m=model, few=few, why=why: m.recommend_many(few, k=10, exclude_purchased=True, reasons=why))
    return targets


# -- (d) memory, in a capped subprocess ---------------------------------------------------------
def memory_child(argv: list[str]) -> None:
    """``--child memory ITEMS CUSTOMERS SEED CAP_GB BATCHES HUGE_K``: measure (d), print one JSON line."""
    from threadpoolctl import threadpool_limits

    n_items, n_customers, seed, cap_gb = int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
    sizes, huge = [int(x) for x in argv[5].split(",")], int(argv[6])
    mid = max(n_items, huge // 100)  # a k between the catalogue and the huge one, for every model
    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = vm + int(cap_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    out: dict = {"cap_gb_above_start": cap_gb}
    with threadpool_limits(1):
        t0 = time.perf_counter()
        ds = scaled_shop(n_customers, n_items, seed)
        pipe = readme_pipeline(ds)
        out["built"] = f"{ds} and the pipeline fitted in {time.perf_counter() - t0:.0f} s"
        _, customers = sample_customers(ds, max(sizes), seed + 3)
        out["batch"] = {n: peak_memory(lambda n=n: pipe.recommend_many(customers[:n], k=10)) for n in sizes}
        small = min(sizes)
        hybrid = pipe.model_
        models = {"hybrid (unruled)": hybrid, **{f"{n}: {type(m).__name__}": m for n, m in zip(hybrid.names_, hybrid.components_, strict=True)}}
        out["batch_by_model"] = {name: peak_memory(lambda m=m: m.recommend_many(customers[:small], k=10))["traced_mb"] for name, m in models.items()}
        out["batch_by_model_customers"] = small
        customer = customers[0]
        out["single"] = {k: peak_memory(lambda k=k: pipe.recommend(Query(customer_id=customer, k=k))) for k in sorted({10, n_items, mid, huge})}
        out["single_by_model"] = {name: peak_memory(lambda m=m: m.recommend(Query(customer_id=customer, k=mid)))["traced_mb"] for name, m in models.items()}
        out["single_by_model_k"] = mid
    print(json.dumps(out))


def memory(args) -> list[Target]:
    from association import spawn  # its subprocess runner (a fresh interpreter, JSON back)

    child_args = ["memory", str(args.memory_items), str(args.memory_customers), str(args.seed), str(args.memory_cap_gb), args.memory_batches, str(args.huge_k)]
    print(f"\n(d) in a fresh subprocess, address space capped at {args.memory_cap_gb:g} GB above its start: "
          f"scaled_shop({args.memory_customers:,} customers, {args.memory_items:,} items) + the pipeline", flush=True)  # fmt: skip
    res = spawn(child_args, timeout=args.memory_timeout, script=__file__)
    if "batch" not in res:
        print(f"  the child failed: {res}")
        return [Target("d1", "peak extra memory of recommend_many", None, 1024, f"not measured: {res.get('error')}"),
                Target("d2", "memory at k=10**8 / at k=catalogue", None, 1.2, f"not measured: {res.get('error')}")]  # fmt: skip
    print(f"  {res['built']}")
    print("| call | traced peak MB | RSS peak MB (sampled) | note |\n|---|---|---|---|")
    batch = {int(n): v for n, v in res["batch"].items()}
    for n, v in batch.items():
        print(f"| pipeline recommend_many, {n:,} customers | {v['traced_mb']:,.0f} | {v.get('rss_mb', float('nan')):,.0f} | {v.get('error', '')} |")
    for k, v in res["single"].items():
        print(f"| pipeline recommend, one customer, k = {int(k):,} | {v['traced_mb']:,.1f} | {v.get('rss_mb', float('nan')):,.1f} | {v.get('error', '')} |")
    print(f"traced peak of recommend_many by model ({res['batch_by_model_customers']} customers): "
          + ", ".join(f"{m} {mb:,.0f} MB" for m, mb in res["batch_by_model"].items()))  # fmt: skip
    print(f"traced peak of one recommend at k = {res['single_by_model_k']:,} by model: " + ", ".join(f"{m} {mb:,.1f} MB" for m, mb in res["single_by_model"].items()))
    ok = {n: v["traced_mb"] for n, v in batch.items() if "error" not in v}
    # recommend_many sizes its own batches to the catalogue: the largest call is the honest figure
    default_chunk = min(max(int(n) for n in args.memory_batches.split(",")), args.memory_customers)
    if default_chunk in ok:
        d1, how = ok[default_chunk], f"{ok[default_chunk]:,.0f} MB traced for recommend_many over {default_chunk:,} customers (default settings)"
    elif len(ok) >= 2:  # a straight line through the two largest measured sizes, to one default batch
        (n0, m0), (n1, m1) = sorted(ok.items())[-2:]
        d1 = m1 + (m1 - m0) / (n1 - n0) * (default_chunk - n1)
        how = f"{m0:,.0f} MB at {n0} customers, {m1:,.0f} MB at {n1}: about {d1:,.0f} MB at one default batch of {default_chunk:,} (linear)"
        failed = [f"{n:,}: {v['error']}" for n, v in batch.items() if "error" in v]
        how += "; " + "; ".join(failed) if failed else ""
    else:
        d1, how = None, "not measured (" + "; ".join(v.get("error", "") for v in batch.values()) + ")"
    single = {int(k): v for k, v in res["single"].items()}
    at_cat, at_huge = single[args.memory_items], single[args.huge_k]
    d2 = at_huge["traced_mb"] / max(at_cat["traced_mb"], 1e-9)  # a lower bound when k=10**8 ran out of memory
    d2_detail = (f"{'at least ' if 'error' in at_huge else ''}{d2:,.0f}x: k={args.huge_k:,} {at_huge['traced_mb']:,.0f} MB traced"
                 + (f" when the cap stopped it ({at_huge['error']})" if "error" in at_huge else "")
                 + f"; k={args.memory_items:,}: {at_cat['traced_mb']:,.1f} MB")  # fmt: skip
    targets = [
        Target("d1", f"peak extra memory of recommend_many at {args.memory_items:,} items (MB)", d1, 1024, how),
        Target("d2", f"one recommend's peak memory, k={args.huge_k:,} / k=catalogue", d2, 1.2, d2_detail),
    ]
    report(targets)
    return targets


# -- main -----------------------------------------------------------------------------------------
def machine() -> str:
    import implicit
    import scipy

    return (f"{platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, polars {pl.__version__}, implicit {implicit.__version__}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["--child"]:
        memory_child(given[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder with ml-100k/ (default ../shared/data)")
    p.add_argument("--only", default="a,b,c,d", help="targets to measure, e.g. a,b (default all)")
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run (seconds)")
    p.add_argument("--items", type=int, default=50_000, help="catalogue of (a) and (b)")
    p.add_argument("--customers", type=int, default=100_000, help="customers of the scaled shop of (a) and (b)")
    p.add_argument("--runs", type=int, default=5, help="alternating runs of every timing (>= 5 for the figures)")
    p.add_argument("--requests", type=int, default=150, help="(a) single requests per run")
    p.add_argument("--k-requests", type=int, default=60, help="(a) requests per run for each k of the k sweep")
    p.add_argument("--batch-customers", type=int, default=256, help="(b) customers per recommend_many call")
    p.add_argument("--knn-customers", type=int, default=100_000, help="(c) synthetic set")
    p.add_argument("--knn-items", type=int, default=20_000)
    p.add_argument("--knn-interactions", type=int, default=2_000_000)
    p.add_argument("--k-neighbours", type=int, default=ItemKNN().k_neighbours, help="(c) ItemKNN neighbours (default: recokit's)")
    p.add_argument("--threads", type=int, default=1, help="(c) implicit's num_threads for both sides")
    p.add_argument("--als-factors", type=int, default=None, help="(c) ALS factors (default: recokit's, 16)")
    p.add_argument("--c-batch", type=int, default=10_000, help="(c) customers per recommend_many call, reasons off")
    p.add_argument("--reasons-batch", type=int, default=2_000, help="(c) customers per recommend_many call, reasons on")
    p.add_argument("--memory-items", type=int, default=200_000, help="(d) catalogue")
    p.add_argument("--memory-customers", type=int, default=100_000, help="(d) customers of the scaled shop")
    p.add_argument("--memory-batches", default="16,64,2048", help="(d) recommend_many sizes whose peak is measured")
    p.add_argument("--memory-cap-gb", type=float, default=6.0, help="(d) address-space cap of the subprocess, above its start")
    p.add_argument("--memory-timeout", type=float, default=900.0)
    p.add_argument("--huge-k", type=int, default=10**8, help="(d) the k whose memory is compared with k = catalogue")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-profile", dest="profile", action="store_false", help="no cProfile after a MISS")
    args = p.parse_args(given)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == p.get_default(key):
                setattr(args, key, value)
    only = set(args.only.split(","))
    print("command: PYTHONPATH=src python benchmarks/serving.py " + " ".join(shlex.quote(a) for a in given))
    print(f"machine: {machine()}; load average at start {os.getloadavg()[0]:.2f} (shared: other processes run too)")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}; BLAS and OpenMP limited to 1 thread (threadpoolctl) for both libraries")
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    targets: list[Target] = []
    with threadpool_limits(1):
        if only & {"a", "b"}:
            t0 = time.perf_counter()
            ds = scaled_shop(args.customers, args.items, args.seed)
            t1 = time.perf_counter()
            pipe = readme_pipeline(ds)
            print(f"\ndata: scaled_shop({args.customers:,}, {args.items:,}) = {ds}, built in {t1 - t0:.1f} s; "
                  f"pipeline fitted in {time.perf_counter() - t1:.1f} s")  # fmt: skip
            if "a" in only:
                targets += single_requests(pipe, ds, args)
            if "b" in only:
                targets += batches(pipe, ds, args)
            del ds, pipe
        if "c" in only:
            ml = movielens(args.data)
            if ml is None:
                print(f"\nml-100k: absent under {args.data} (skipped)")
            else:
                targets += throughput("ml-100k", ml, args)
            t0 = time.perf_counter()
            syn = synthetic(args.knn_customers, args.knn_items, args.knn_interactions)
            print(f"\n(synthetic set built in {time.perf_counter() - t0:.1f} s)")
            targets += throughput("synthetic", syn, args)
            del syn
    if "d" in only:
        targets += memory(args)
    print(f"\n## Summary ({time.perf_counter() - start:.0f} s; load average at the end {os.getloadavg()[0]:.2f})")
    report(targets)
    print(f"{sum(t.verdict == 'PASS' for t in targets)} PASS, {sum(t.verdict == 'MISS' for t in targets)} MISS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
