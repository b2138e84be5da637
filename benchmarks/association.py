"""Pair-rule mining: recokit's exact sparse counting vs mlxtend fpgrowth + association_rules.

Runs both in the same process on
  (a) the Groceries baskets (``<data>/groceries.csv``: one basket per line, items comma-separated);
  (b) a synthetic shop: 1,000,000 baskets x 20,000 items (Zipf-like popularity, 1-8 items per
      basket, 1,000 planted bundles), where mlxtend runs in a subprocess under a time limit and a
      memory cap (it densifies its input), and on a subsample of (b) that mlxtend can hold;
and reports recokit's peak memory when mining (b) (a subprocess, ``ru_maxrss``) and the p50 / p95
latency of scoring one 5-item cart at 20,000 items.

Timings are medians of ``--repeat`` runs; rule sets are checked identical (every metric to 1e-9;
the only tolerated difference is a rule exactly at a threshold, which recokit keeps by design).

    python benchmarks/association.py                      # everything (about 10 minutes)
    python benchmarks/association.py --baskets 100000     # a smaller (b)
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from recokit.models.association import mine_rules, rule_metrics  # noqa: E402

METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift", "leverage", "conviction"]


# -- data -------------------------------------------------------------------------------------
def load_groceries(path: Path) -> tuple[sp.csr_array, list[str]]:
    rows, cols, vocab = [], [], {}
    for r, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        for item in {x.strip() for x in line.split(",") if x.strip()}:
            rows.append(r)
            cols.append(vocab.setdefault(item, len(vocab)))
    n = r + 1
    b = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, len(vocab)))
    return b, list(vocab)


def synthetic(n_baskets: int, n_items: int, seed: int = 0, *, sizes: tuple[int, int] = (1, 8), dtype: type = np.float64) -> sp.csr_array:
    """``sizes[0]``-``sizes[1]`` items per basket drawn by a Zipf-like popularity, plus planted
    3-item bundles; 0/1 data of ``dtype`` (int8 keeps a 1M-basket matrix small)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(n_items) + 10.0) ** 1.1
    p /= p.sum()
    sizes_ = rng.integers(sizes[0], sizes[1] + 1, n_baskets)
    rows = np.repeat(np.arange(n_baskets), sizes_)
    cols = rng.choice(n_items, size=int(sizes_.sum()), p=p)
    # planted bundles: 30% of baskets also hold a bundle of 2-3 items (bike -> helmet, pump, lock)
    bundles = rng.choice(n_items, size=(1000, 3), replace=True, p=p)
    with_bundle = np.flatnonzero(rng.random(n_baskets) < 0.3)
    chosen = bundles[rng.integers(0, 1000, len(with_bundle))]
    keep = rng.random(chosen.shape) < np.array([1.0, 0.8, 0.6])
    b_rows = np.repeat(with_bundle, 3).reshape(-1, 3)[keep]
    rows = np.concatenate([rows, b_rows])
    cols = np.concatenate([cols, chosen[keep]])
    b = sp.csr_array((np.ones(len(rows), dtype=dtype), (rows, cols)), shape=(n_baskets, n_items))
    b.sum_duplicates()
    b.data[:] = 1
    return b


def basket_frame(b: sp.csr_array):
    """mlxtend's input: a baskets x items sparse boolean pandas DataFrame, columns 0..n_items-1."""
    import pandas as pd

    return pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(b, dtype=bool), columns=list(range(b.shape[1])))


def mlxtend_version() -> str:
    import mlxtend

    return mlxtend.__version__


# -- the two miners ---------------------------------------------------------------------------
def mine_recokit(b, min_support, min_confidence):
    """What is timed: exact pair counts, thresholds, and every mlxtend metric."""
    mined = mine_rules(b, min_support=min_support, min_confidence=min_confidence, min_lift=None, max_len=2)
    r = mined["rules"]
    return mined, rule_metrics(r["count"], r["antecedent_count"], r["consequent_count"], mined["n_baskets"])


def recokit_dict(mined, m):
    r = mined["rules"]
    out = {}
    for k, (a, c) in enumerate(zip(r["antecedent"].tolist(), r["consequent"].tolist(), strict=True)):
        out[(a, c)] = [m[name.replace(" ", "_")][k] for name in METRICS] + [int(r["count"][k]), int(r["antecedent_count"][k])]
    return out


def mine_mlxtend(frame, n, min_support, min_confidence):
    """What is timed: mlxtend fpgrowth (max_len=2) + association_rules, called by keyword."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    itemsets = fpgrowth(frame, min_support=min_support, use_colnames=False, max_len=2)
    if not len(itemsets):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=min_confidence)


def mlxtend_dict(rules):
    if rules is None:
        return {}
    keys = zip(rules["antecedents"], rules["consequents"], strict=True)
    values = rules[METRICS].to_numpy()
    return {(next(iter(a)), next(iter(c))): v for (a, c), v in zip(keys, values, strict=True)}


def compare(ours, theirs, n, min_support, min_confidence) -> str:
    only_theirs = set(theirs) - set(ours)
    only_ours = set(ours) - set(theirs)
    ties = 0
    for key in only_ours:
        count, ante = ours[key][-2], ours[key][-1]
        if Fraction(count, n) == Fraction(repr(min_support)) or Fraction(count, ante) == Fraction(repr(min_confidence)):
            ties += 1
    worst = 0.0
    for key in set(ours) & set(theirs):
        a, t = np.array(ours[key][:7], dtype=float), np.asarray(theirs[key], dtype=float)
        finite = np.isfinite(t)
        if not np.array_equal(np.isfinite(a), finite):
            worst = np.inf
            continue
        worst = max(worst, float(np.max(np.abs(a[finite] - t[finite]) / np.maximum(1.0, np.abs(t[finite])))))
    ok = not only_theirs and ties == len(only_ours) and worst <= 1e-9
    return (
        f"{'IDENTICAL' if ok else 'DIFFERENT'}: {len(ours)} rules (recokit) vs {len(theirs)} (mlxtend); "
        f"{ties} kept only by recokit, exactly at a threshold; {len(only_theirs)} only in mlxtend; "
        f"max relative metric difference {worst:.1e}"
    )


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def side_by_side(label, b, min_support, min_confidence, repeat) -> dict:
    n = b.shape[0]
    t_ours, mined = timed(lambda: mine_recokit(b, min_support, min_confidence), repeat)
    ours = recokit_dict(*mined)
    t0 = time.perf_counter()
    frame = basket_frame(b)  # not timed: mlxtend's input format
    t_frame = time.perf_counter() - t0
    t_theirs, rules = timed(lambda: mine_mlxtend(frame, n, min_support, min_confidence), repeat)
    theirs = mlxtend_dict(rules)
    verdict = compare(ours, theirs, n, min_support, min_confidence)
    print(f"\n[{label}] {n:,} baskets x {b.shape[1]:,} items, {b.nnz:,} item occurrences; "
          f"min_support={min_support}, min_confidence={min_confidence}, max_len=2")  # fmt: skip
    print(f"  {'miner':<40}{'median s':>12}")
    print(f"  {'recokit mine_rules (sparse counts)':<40}{t_ours:>12.4f}")
    print(f"  {'mlxtend fpgrowth + association_rules':<40}{t_theirs:>12.4f}")
    print(f"  (building mlxtend's sparse DataFrame input, not counted above: {t_frame:.4f} s)")
    print(f"  ratio mlxtend / recokit: {t_theirs / t_ours:,.1f}x")
    print(f"  {verdict}")
    return {"recokit_s": t_ours, "mlxtend_s": t_theirs, "ratio": t_theirs / t_ours, "check": verdict}


# -- subprocess children (memory, time limit) -------------------------------------------------
def child(argv: list[str]) -> None:
    kind, path, min_support, min_confidence = argv[0], argv[1], float(argv[2]), float(argv[3])
    if kind == "mlxtend":
        cap = int(float(argv[4]) * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    b = sp.load_npz(path).tocsr()
    before = _vm_hwm_mb()
    t0 = time.perf_counter()
    extra: dict = {}
    seconds = 0.0
    try:
        if kind == "recokit":
            import tracemalloc

            mined, _ = mine_recokit(b, min_support, min_confidence)
            seconds = time.perf_counter() - t0
            tracemalloc.start()  # a second, traced run: numpy/scipy buffers are traced, so this is the mining's own peak
            mine_recokit(b, min_support, min_confidence)
            extra = {"mining_peak_traced_mb": tracemalloc.get_traced_memory()[1] / 2**20}
            tracemalloc.stop()
            rules = mined["rules"]["count"]
        else:
            rules = mlxtend_dict(mine_mlxtend(basket_frame(b), b.shape[0], min_support, min_confidence))
        result = {"ok": True, "seconds": seconds if kind == "recokit" else time.perf_counter() - t0, "rules": len(rules)}
    except MemoryError:
        result = {"ok": False, "error": "MemoryError", "seconds": time.perf_counter() - t0}
    result |= extra | {"peak_rss_mb_after_loading": before, "peak_rss_mb": _vm_hwm_mb()}
    print(json.dumps(result))


def _vm_hwm_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited from the
    parent across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spawn(args: list[str], timeout: float, script: str = __file__) -> dict:
    """Run ``script --child ARGS`` in a fresh interpreter; its last JSON line as a dict."""
    cmd = [sys.executable, script, "--child", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"did not finish within {timeout:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"ok": False, "error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def as_dataset(b: sp.csr_array):
    import polars as pl

    from recokit import Dataset

    coo = b.tocoo()
    frame = pl.DataFrame({"customer_id": coo.row % 200_000, "order_id": coo.row, "item_id": coo.col})
    return Dataset(frame, pl.DataFrame({"item_id": np.arange(b.shape[1])}), basket_col="order_id")


def fit_time(b, min_support, min_confidence, repeat) -> None:
    from recokit import AssociationRules

    ds = as_dataset(b)
    model = AssociationRules(min_support=min_support, min_confidence=min_confidence, min_lift=None)
    t, _ = timed(lambda: model.fit(ds), repeat)
    print(f"  recokit AssociationRules.fit on a Dataset (mining + rules_ table + scoring index): median {t:.4f} s")


# -- latency ----------------------------------------------------------------------------------
def cart_latency(b: sp.csr_array, min_support, min_confidence, n_queries: int = 300) -> None:
    from recokit import AssociationRules, Query

    t0 = time.perf_counter()
    ds = as_dataset(b)
    t_ds = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = AssociationRules(min_support=min_support, min_confidence=min_confidence, min_lift=None).fit(ds)
    t_fit = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    counts = np.asarray(b.sum(axis=0)).ravel()
    p = counts / counts.sum()
    carts = [rng.choice(b.shape[1], size=5, replace=False, p=p).tolist() for _ in range(n_queries)]
    score_t, rec_t = [], []
    for cart in carts:
        t0 = time.perf_counter()
        model.score(Query(items=cart))
        score_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.recommend(Query(items=cart, k=10))
        rec_t.append(time.perf_counter() - t0)
    ms = lambda xs, q: 1000 * float(np.quantile(xs, q))  # noqa: E731
    print(f"\n[latency] Dataset of {ds.n_interactions:,} rows built in {t_ds:.1f} s; "
          f"AssociationRules.fit {t_fit:.1f} s -> {model.rules_.height:,} rules over {ds.n_items:,} items")  # fmt: skip
    print(f"  one 5-item cart, {n_queries} carts drawn by popularity: score p50 {ms(score_t, .5):.2f} ms "
          f"(p95 {ms(score_t, .95):.2f}); recommend(k=10, reasons) p50 {ms(rec_t, .5):.2f} ms (p95 {ms(rec_t, .95):.2f})")  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder with groceries.csv")
    ap.add_argument("--baskets", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--subsample", type=int, default=100_000, help="baskets of (b) given to mlxtend in-process")
    ap.add_argument("--min-support", type=float, default=0.0001, help="for (b); (a) uses 0.001")
    ap.add_argument("--min-confidence", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mlxtend-timeout", type=float, default=600.0)
    ap.add_argument("--mlxtend-memory-gb", type=float, default=6.0, help="address-space cap of mlxtend's subprocess")
    args = ap.parse_args()
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    print(f"mlxtend {mlxtend_version()}, numpy {np.__version__}, scipy {sp.__name__ and __import__('scipy').__version__}")

    # (a) Groceries
    path = args.data / "groceries.csv"
    if path.exists():
        groceries, _ = load_groceries(path)
        side_by_side("a: groceries.csv", groceries, 0.001, args.min_confidence, args.repeat)
        fit_time(groceries, 0.001, args.min_confidence, args.repeat)
    else:
        print(f"\n[a] {path} is absent: the Groceries comparison is skipped.")

    # (b) synthetic
    t0 = time.perf_counter()
    big = synthetic(args.baskets, args.items)
    print(f"\n[b] synthetic {big.shape[0]:,} baskets x {big.shape[1]:,} items, {big.nnz:,} occurrences "
          f"(generated in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    sub_n = min(args.subsample, args.baskets)
    sub_support = max(args.min_support, 10 / sub_n)
    side_by_side(f"b-subsample: first {sub_n:,} baskets of (b)", sp.csr_array(big[:sub_n]), sub_support, args.min_confidence, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        npz = str(Path(tmp) / "b.npz")
        sp.save_npz(npz, sp.csr_matrix(big))
        ms, mc = str(args.min_support), str(args.min_confidence)
        ours = spawn(["recokit", npz, ms, mc], timeout=args.mlxtend_timeout)
        print(f"\n[b: full] min_support={args.min_support} ({int(np.ceil(args.min_support * args.baskets))} baskets), "
              f"min_confidence={args.min_confidence}, max_len=2, each miner in a fresh subprocess")  # fmt: skip
        print(f"  recokit: {ours}")
        theirs = spawn(["mlxtend", npz, ms, mc, str(args.mlxtend_memory_gb)], timeout=args.mlxtend_timeout)
        print(f"  mlxtend (address space capped at {args.mlxtend_memory_gb:g} GB, {args.mlxtend_timeout:.0f} s limit): {theirs}")
        if ours.get("ok") and theirs.get("ok"):
            print(f"  ratio mlxtend / recokit: {theirs['seconds'] / ours['seconds']:,.1f}x (single runs)")
        else:
            dense_gb = args.baskets * args.items / 2**30
            print(f"  no ratio at full size: mlxtend did not complete (its fpgrowth densifies the one-hot input: "
                  f"{args.baskets:,} x {args.items:,} bools = {dense_gb:.1f} GiB)")  # fmt: skip
    cart_latency(big, args.min_support, args.min_confidence)


if __name__ == "__main__":
    main()
