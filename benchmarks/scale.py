"""The single machine close to its floor (issue 14, item 2): recokit against the least a correct
computation does, and every model's fit time and peak memory against size.

Four parts, one run (the ratios are printed together):

1. **Dataset build** from a frame of order lines (customer, item, order id, timestamp, quantity; a
   catalogue) against the *floor*: the least a correct build of the customer x item matrix does --
   both id columns factorised with polars ``rank("dense")`` (the fastest correct factorisation
   measured here; ``np.unique(return_inverse=True)`` is also printed), then
   ``scipy.sparse.csr_array((quantity, (row, col)))`` with ``sum_duplicates()``. The floor checks
   nothing, numbers no baskets, parses no time and keeps no sorted interactions table; recokit's
   side is ``Dataset(...)`` followed by ``.user_items``. Target <= 2. Also printed: recokit with
   the sorted interactions table read too (it is built on first read), and the floor with a
   lookup-table factorisation (the one recokit uses for integer ids of a compact range).
2. **Popularity.fit** and **Renewal.fit** against their numpy floors, both *warm* (the Dataset's
   matrices already built, as after a first fit) and *cold* (a fresh Dataset: the fit builds what
   it reads). Popularity's floor: ``np.bincount(user_items.indices)`` (distinct buyers per item;
   cold: plus the coo -> csr build of ``user_items``). Renewal's floor: its repurchase-gap
   statistics -- ``np.lexsort`` by (customer, category, time), ``np.diff``, the gaps of at least
   ``min_gap_days``, per category the buyers, repeaters, interval count and quartiles. Target <= 3.
   Also printed: the cold Popularity fit plus the purchase history (``Dataset.purchases``), which
   is built on first read -- by the first request with a reason about a past purchase.
3. **Every model** (``recokit.models.__all__``, default parameters) fitted in its own subprocess
   (a clean peak RSS: the child's ``VmHWM``, which covers reading the data, building the Dataset
   and fitting; not ``ru_maxrss``, which Linux carries over ``exec`` from the forked parent) at 4 sizes; the log-log slope of fit seconds against
   interactions (least squares over the 4 sizes). Targets at 1M customers / 50k items / 20M
   interactions (``--full``): fit < 5 min, peak RSS < 8 GB; slope <= 1.2.
4. **ItemKNN fit** against implicit's CosineRecommender (``benchmarks/itemknn.py``'s pairing and
   alternation) on ml-100k (from ``--data``), itemknn.py's synthetic 100k x 20k x 2M set and a
   synthetic set shaped like a 9,700-item ratings sample (610 users x 9,700 items x 100,836
   ratings, Zipf items: the real sample the issue names is not in ``--data``). Target <= 1.1.

The data is generated here (seeded): Zipf item popularity over a 50,000-item catalogue with 200
categories, brands and prices; customers with Pareto activity; orders of 1 + Poisson(1.5) lines
at a time drawn over two years; quantities 1 + Poisson(0.3). Sizes are interactions; customers
are interactions / 20. The default sizes are 1.25M, 2.5M, 5M and 10M; ``--full`` runs 2.5M, 5M,
10M and 20M (the issue's size; a few minutes per model). The machine is shared: read medians.

Usage::

    PYTHONPATH=src python benchmarks/scale.py [--full] [--repeats 3] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from itemknn import alternated  # noqa: E402  (the alternating timer, written once)

LINES_PER_CUSTOMER = 20
N_ITEMS = 50_000
DAY_US = 86_400_000_000


# -- data ---------------------------------------------------------------------------------------
def shop(n_lines: int, n_items: int = N_ITEMS, seed: int = 0, days: int = 730, n_categories: int = 200) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(order lines, catalogue)``: ``n_lines`` lines of ``n_lines / 20`` customers. Of the
    lines, 8 % renew an earlier purchase of one of 20 consumable categories (a one-line order
    about one cycle later: 30 to 180 days by category, +-15 %), so Renewal has cycles to find."""
    rng = np.random.default_rng(seed)
    n_customers = max(n_lines // LINES_PER_CUSTOMER, 1)
    category = rng.integers(0, n_categories, n_items)
    rank_p = 1.0 / np.arange(1, n_items + 1)  # Zipf (exponent 1) over a shuffled catalogue
    rank_p /= rank_p.sum()
    item_of_rank = rng.permutation(n_items)
    n_base = n_lines - int(0.08 * n_lines)
    n_orders = int(n_base / 2.5)
    activity = rng.pareto(1.5, n_customers) + 1.0
    order_customer = np.sort(rng.choice(n_customers, n_orders, p=activity / activity.sum()))
    order_time = rng.integers(0, days * 86_400, n_orders)
    line_order = np.repeat(np.arange(n_orders), 1 + rng.poisson(1.5, n_orders))[:n_base]
    items = item_of_rank[rng.choice(n_items, len(line_order), p=rank_p)]
    # renewals: a consumable line bought again one cycle later, in an order of its own
    cycle_days = np.where(np.arange(n_categories) < 20, rng.uniform(30, 180, n_categories), 0.0)
    source = rng.choice(np.flatnonzero(cycle_days[category[items]] > 0), n_lines - n_base)
    when = order_time[line_order[source]] + cycle_days[category[items[source]]] * 86_400 * rng.uniform(0.85, 1.15, len(source))
    when = np.minimum(when, days * 86_400 - 1).astype(np.int64)
    customer = np.r_[order_customer[line_order], order_customer[line_order[source]]]
    order_id = np.r_[line_order, n_orders + np.arange(len(source))]
    seconds = np.r_[order_time[line_order], when]
    start = np.datetime64("2024-01-01T00:00:00", "s")
    lines = pl.DataFrame(
        {
            "customer_id": customer.astype(np.int64),
            "item_id": np.r_[items, items[source]].astype(np.int64),
            "order_id": order_id.astype(np.int64),
            "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
            "quantity": (1 + rng.poisson(0.3, len(customer))).astype(np.int64),
        }
    ).sample(fraction=1.0, shuffle=True, seed=seed)  # an export's row order, not the generator's
    catalog = pl.DataFrame(
        {
            "item_id": np.arange(n_items, dtype=np.int64),
            "category": [f"cat{c:03d}" for c in category.tolist()],
            "brand": [f"brand{b:03d}" for b in rng.integers(0, 500, n_items).tolist()],
            "price": np.round(np.exp(rng.normal(3.5, 1.0, n_items)), 2),
        }
    )
    return lines, catalog


def build(lines: pl.DataFrame, catalog: pl.DataFrame):  # noqa: ANN201 -- a recokit Dataset
    from recokit import Dataset

    return Dataset(lines, catalog, time_col="timestamp", basket_col="order_id", quantity_col="quantity")


# -- part 1: the Dataset against its floor ------------------------------------------------------
def floor_build(lines: pl.DataFrame) -> sp.csr_array:
    """The least a correct customer x item build does: factorise, coo -> csr, sum duplicates."""
    codes = lines.select(pl.col("customer_id").rank("dense") - 1, pl.col("item_id").rank("dense") - 1)
    rows, cols = codes["customer_id"].to_numpy(), codes["item_id"].to_numpy()
    m = sp.csr_array((lines["quantity"].to_numpy().astype(np.float64), (rows, cols)), shape=(int(rows.max()) + 1, int(cols.max()) + 1))
    m.sum_duplicates()
    return m


def floor_build_lut(lines: pl.DataFrame) -> sp.csr_array:
    """The same with a lookup table over each id column's range as the factorisation (integer ids
    of a compact range, as here: what recokit's build uses for such ids)."""
    from recokit.data.arrays import dense_codes

    cu, rows = dense_codes(lines["customer_id"].to_numpy())
    iu, cols = dense_codes(lines["item_id"].to_numpy())
    m = sp.csr_array((lines["quantity"].to_numpy().astype(np.float64), (rows, cols)), shape=(len(cu), len(iu)))
    m.sum_duplicates()
    return m


def floor_build_np(lines: pl.DataFrame) -> sp.csr_array:
    """The same with ``np.unique(return_inverse=True)`` as the factorisation."""
    cu, rows = np.unique(lines["customer_id"].to_numpy(), return_inverse=True)
    iu, cols = np.unique(lines["item_id"].to_numpy(), return_inverse=True)
    m = sp.csr_array((lines["quantity"].to_numpy().astype(np.float64), (rows, cols)), shape=(len(cu), len(iu)))
    m.sum_duplicates()
    return m


def _row(what: str, ours: list[float], floor: list[float], target: float | None) -> dict:
    """One table row: medians, the median of the per-round ratios (min-max), the verdict (none
    for a reference row: ``target`` None)."""
    ratios = [a / b for a, b in zip(ours, floor, strict=True)]
    r = statistics.median(ratios)
    verdict = f"<= {target:g} | {'PASS' if r <= target else 'MISS'}" if target is not None else "(reference) |"
    print(f"| {what} | {statistics.median(ours):.3g} s | {statistics.median(floor):.3g} s | {r:.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {verdict} |", flush=True)
    return {"what": what, "ours": statistics.median(ours), "floor": statistics.median(floor), "ratio": r, "target": target}


def part_dataset(lines: pl.DataFrame, catalog: pl.DataFrame, repeats: int) -> list[dict]:
    def ours() -> None:
        build(lines, catalog).user_items  # noqa: B018

    def ours_table() -> None:
        ds = build(lines, catalog)
        ds.user_items  # noqa: B018
        ds.interactions  # noqa: B018

    runs = alternated([ours, lambda: floor_build(lines), lambda: floor_build_np(lines), ours_table, lambda: floor_build_lut(lines)], repeats)
    t_ours, t_floor, t_np, t_table, t_lut = runs
    out = [_row("Dataset(...) + user_items / floor (rank-dense factorisation)", t_ours, t_floor, 2.0)]
    print(f"| (reference) the floor with np.unique(return_inverse=True) | {statistics.median(t_np):.3g} s | | | | |")
    _row("(reference) Dataset(...) + user_items + the sorted interactions table (built on first read) / the same floor", t_table, t_floor, None)
    _row("(reference) Dataset(...) + user_items / the floor with a lookup-table factorisation", t_ours, t_lut, None)
    return out


# -- part 2: Popularity and Renewal against their floors --------------------------------------
def fresh(ds):  # noqa: ANN001, ANN201 -- the same Dataset without its built matrices (a cold fit)
    new = copy.copy(ds)
    new._matrices = {}
    new._purchases = None
    new._last_time = None
    return new


def floor_popularity(ui: sp.csr_array) -> np.ndarray:
    return np.bincount(ui.indices, minlength=ui.shape[1])


def floor_popularity_cold(ds) -> np.ndarray:  # noqa: ANN001
    inter = ds.interactions
    ui = sp.csr_array((inter["weight"].to_numpy(), (inter["customer_idx"].to_numpy(), inter["item_idx"].to_numpy())), shape=(ds.n_customers, ds.n_items))
    ui.sum_duplicates()
    return floor_popularity(ui)


def floor_renewal(ds, category: str = "category", min_gap_days: float = 14.0) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Renewal's repurchase-gap statistics with numpy: sort, diff, per-category counts and quartiles."""
    names, item_cat = np.unique(ds.catalog[category].to_numpy().astype(str), return_inverse=True)
    inter = ds.interactions
    cat = item_cat[inter["item_idx"].to_numpy()]
    cust = inter["customer_idx"].to_numpy()
    t = inter["timestamp"].cast(pl.Int64).to_numpy()
    o = np.lexsort((t, cat, cust))
    cust, cat, t = cust[o], cat[o], t[o]
    same = (cust[1:] == cust[:-1]) & (cat[1:] == cat[:-1])
    gap = np.diff(t)
    at = np.flatnonzero(same & (gap >= min_gap_days * DAY_US)) + 1
    g_cat, g_gap, g_cust = cat[at], gap[at - 1], cust[at]
    n = len(names)
    buyers = np.bincount(cat[np.r_[True, ~same]], minlength=n)
    repeaters = np.bincount(g_cat[np.r_[True, (g_cust[1:] != g_cust[:-1]) | (g_cat[1:] != g_cat[:-1])]], minlength=n)
    by = np.argsort(g_cat, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(g_cat, minlength=n))]
    q = np.full((3, n), np.nan)
    for c in range(n):
        if bounds[c + 1] > bounds[c]:
            q[:, c] = np.quantile(g_gap[by[bounds[c] : bounds[c + 1]]], [0.25, 0.5, 0.75]) / DAY_US
    return {"buyers": buyers, "repeaters": repeaters, "quartiles": q}


def part_counts(ds, repeats: int) -> list[dict]:  # noqa: ANN001
    from recokit import Popularity, Renewal

    ds.interactions  # noqa: B018 -- the sorted table the floors read (built on first read)
    ds.user_items  # noqa: B018 -- warm: built once, as after a first fit
    Popularity().fit(ds)
    rows = []
    ours, floor = alternated([lambda: Popularity().fit(ds), lambda: floor_popularity(ds.user_items)], repeats)
    rows.append(_row("Popularity.fit, warm / np.bincount(user_items.indices)", ours, floor, 3.0))
    ours, floor = alternated([lambda: Popularity().fit(fresh(ds)), lambda: floor_popularity_cold(ds)], repeats)
    rows.append(_row("Popularity.fit, cold / coo->csr + bincount", ours, floor, 3.0))

    def cold_then_history() -> None:
        Popularity().fit(new := fresh(ds))
        new.purchases  # noqa: B018 -- what the first reason about a past purchase adds (built on first read)

    ours, floor = alternated([cold_then_history, lambda: floor_popularity_cold(ds)], repeats)
    _row("(reference) Popularity.fit, cold, + Dataset.purchases (the first request with a reason builds it)", ours, floor, None)
    model = Renewal().fit(ds)
    check = floor_renewal(ds)
    assert np.array_equal(check["buyers"], model.intervals_["buyers"].to_numpy()), "the Renewal floor counts other buyers"
    assert np.array_equal(check["repeaters"], model.intervals_["repeaters"].to_numpy()), "the Renewal floor counts other repeaters"
    ours, floor = alternated([lambda: Renewal().fit(ds), lambda: floor_renewal(ds)], repeats)
    rows.append(_row("Renewal.fit, warm / numpy lexsort + diff gap statistics", ours, floor, 3.0))
    ours, floor = alternated([lambda: Renewal().fit(fresh(ds)), lambda: floor_renewal(ds)], repeats)
    rows.append(_row("Renewal.fit, cold / numpy lexsort + diff gap statistics", ours, floor, 3.0))
    return rows


# -- part 3: every model, one subprocess each --------------------------------------------------
def _peak_mb() -> float:
    """This process's peak resident set size in MB: ``VmHWM`` of /proc/self/status where there is
    one -- Linux carries ``ru_maxrss`` over ``exec`` from the forked parent, so a child of a big
    parent would report the parent's size -- else ``getrusage(RUSAGE_SELF).ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def child(model_name: str, lines_path: str, catalog_path: str) -> None:
    """In a fresh process: read, build, fit ``model_name`` with its defaults; print one JSON line."""
    import recokit.models as models

    lines, catalog = pl.read_parquet(lines_path), pl.read_parquet(catalog_path)
    t0 = time.perf_counter()
    ds = build(lines, catalog)
    del lines
    built = time.perf_counter() - t0
    rss_built = _peak_mb()
    model = getattr(models, model_name)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. Renewal's "learnt nothing" on random timing
        t0 = time.perf_counter()
        model.fit(ds)
        fit = time.perf_counter() - t0
    print(json.dumps({"model": model_name, "build_s": built, "fit_s": fit, "rss_built_mb": rss_built, "peak_mb": _peak_mb()}))


def run_child(model_name: str, lines_path: Path, catalog_path: Path, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", model_name, str(lines_path), str(catalog_path)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": model_name, "error": f"not done after {timeout:.0f} s (build + fit; stopped)"}
    if done.returncode != 0:
        return {"model": model_name, "error": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def slope(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def part_models(sizes: list[int], names: list[str], tmp: Path, timeout: float) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for n in sizes:
        lines, catalog = shop(n)
        lp, cp = tmp / f"lines_{n}.parquet", tmp / f"catalog_{n}.parquet"
        lines.write_parquet(lp)
        catalog.write_parquet(cp)
        print(f"\n### {lines.height:,} interactions, {n // LINES_PER_CUSTOMER:,} customers, {N_ITEMS:,} items", flush=True)
        print("| model | build (s) | fit (s) | peak RSS after build (MB) | peak RSS (MB) |\n|---|---|---|---|---|")
        del lines, catalog
        for name in names:
            r = run_child(name, lp, cp, timeout)
            r["size"] = n
            runs[name].append(r)
            if "error" in r:
                print(f"| {name} | error: {r['error']} | | | |", flush=True)
            else:
                print(f"| {name} | {r['build_s']:.1f} | {r['fit_s']:.2f} | {r['rss_built_mb']:.0f} | {r['peak_mb']:.0f} |", flush=True)
        lp.unlink()
        cp.unlink()
    return runs


def summarise_models(runs: dict[str, list[dict]], full: bool) -> None:
    print("\n| model | fit at the largest size (s) | peak RSS there (MB) | log-log slope of fit time | targets |\n|---|---|---|---|---|")
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if len(ok) < 2:
            print(f"| {name} | failed | | | |")
            continue
        s = slope([r["size"] for r in ok], [max(r["fit_s"], 1e-4) for r in ok])
        last = ok[-1]
        verdicts = [f"slope {'PASS' if s <= 1.2 else 'MISS'}"]
        if full:
            verdicts.append(f"5 min {'PASS' if last['fit_s'] < 300 else 'MISS'}")
            verdicts.append(f"8 GB {'PASS' if last['peak_mb'] < 8 * 1024 else 'MISS'}")
        print(f"| {name} | {last['fit_s']:.2f} | {last['peak_mb']:.0f} | {s:.2f} | {', '.join(verdicts)} |")


# -- part 4: ItemKNN against implicit -----------------------------------------------------------
def part_itemknn(data: Path, repeats: int) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import itemknn
    from recokit import Dataset

    sets = {"synthetic 100k x 20k x 2M": lambda: itemknn.synthetic(100_000, 20_000, 2_000_000), "ratings-shaped 610 x 9,700 x 100,836": lambda: itemknn.synthetic(610, 9_700, 100_836, seed=7)}
    ml = data / "ml-100k" / "u.data"
    if ml.exists():
        sets["ml-100k"] = lambda: itemknn.movielens(data)
    else:
        print(f"ml-100k: absent under {data} (skipped)")
    from implicit.nearest_neighbours import CosineRecommender

    kernel = CosineRecommender.fit
    inner: list[float] = []

    def timed_kernel(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 -- implicit's own fit, timed inside recokit's
        t0 = time.perf_counter()
        out = kernel(self, *args, **kwargs)
        inner.append(time.perf_counter() - t0)
        return out

    rows = []
    for name, make in sets.items():
        ds: Dataset = make()
        ui = sp.csr_matrix(ds.user_items)
        model, peer = itemknn.cosine_pair(20, 1)
        inner.clear()

        def ours(m=model, d=ds) -> None:  # noqa: ANN001
            CosineRecommender.fit = timed_kernel
            try:
                m.fit(d)
            finally:
                CosineRecommender.fit = kernel

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            t_ours, theirs = alternated([ours, lambda p=peer, u=ui: p.fit(u, show_progress=False)], repeats)
        rows.append(_row(f"ItemKNN cosine fit / implicit CosineRecommender, {name} ({ds.n_items:,} items)", t_ours, theirs, 1.1))
        # load on a shared machine moves the alternated ratio; recokit's total over implicit's
        # kernel timed inside the same call does not move with it
        rows.append(_row(f"ItemKNN cosine fit / implicit's kernel inside the same call, {name}", t_ours, list(inner), 1.1))
    return rows


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--child"]:
        child(*args_in[1:4])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="sizes 2.5M, 5M, 10M and 20M interactions (the issue's 1M customers x 50k items x 20M)")
    p.add_argument("--sizes", type=str, default=None, help="comma-separated interaction counts (overrides --full's)")
    p.add_argument("--repeats", type=int, default=3, help="alternating rounds of the ratio parts (default 3)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder with ml-100k/ (default ../shared/data)")
    p.add_argument("--models", type=str, default=None, help="comma-separated model names (default: recokit.models.__all__)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds a model's subprocess may take (read + build + fit; default 900)")
    p.add_argument("--skip", type=str, default="", help="comma-separated parts to skip: dataset,counts,models,itemknn")
    args = p.parse_args(args_in)
    import recokit.models

    print("command: PYTHONPATH=src python " + shlex.join([sys.argv[0], *args_in]))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, numpy {np.__version__}, polars {pl.__version__}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.2f} at the start")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([2_500_000, 5_000_000, 10_000_000, 20_000_000] if args.full else [1_250_000, 2_500_000, 5_000_000, 10_000_000])
    skip = set(filter(None, args.skip.split(",")))
    t_start = time.perf_counter()
    if not {"dataset", "counts"} <= skip:
        lines, catalog = shop(sizes[-1])
        print(f"\n## Ratios at {lines.height:,} interactions ({sizes[-1] // LINES_PER_CUSTOMER:,} customers, {N_ITEMS:,} items), medians of {args.repeats} alternating rounds (min-max of the per-round ratios)")
        print("| what | recokit | floor | ratio | target | |\n|---|---|---|---|---|---|")
        if "dataset" not in skip:
            part_dataset(lines, catalog, args.repeats)
        if "counts" not in skip:
            part_counts(build(lines, catalog), args.repeats)
        del lines, catalog
    if "itemknn" not in skip:
        print(f"\n## ItemKNN fit vs implicit, medians of {max(args.repeats, 5)} alternating fits, one thread each")
        print("| what | recokit | implicit | ratio | target | |\n|---|---|---|---|---|---|")
        part_itemknn(args.data, max(args.repeats, 5))
    if "models" not in skip:
        names = args.models.split(",") if args.models else list(recokit.models.__all__)
        with tempfile.TemporaryDirectory(prefix="recokit-scale-") as tmp:
            runs = part_models(sizes, names, Path(tmp), args.timeout)
        summarise_models(runs, full=sizes[-1] >= 20_000_000)
    print(f"\n{time.perf_counter() - t_start:.0f} s in all; load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
