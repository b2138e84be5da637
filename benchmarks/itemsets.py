"""Itemsets longer than pairs (max_len=3): recokit's level-wise sparse counting vs mlxtend
fpgrowth + association_rules.

Runs both in the same process, alternating, on
  (a) the Groceries baskets (``<data>/groceries.csv``: one basket per line, items comma-separated);
  (b) a synthetic shop of ``--baskets-small`` baskets x 20,000 items (Zipf-like popularity, 3-10
      items per basket, 30 % of baskets also hold one of 1,000 planted 3-item bundles);
then mines (c) the same synthetic shop at ``--baskets`` (default 1,000,000) baskets with recokit
alone, in a fresh subprocess, reporting its time, peak resident memory (VmHWM) and the traced peak
of the mining itself (tracemalloc), against the size of the dense one-hot matrix mlxtend's
fpgrowth would build (computed, never allocated).

Timings are medians (min-max) of ``--repeat`` alternating runs; rule sets are checked identical:
the same (antecedent, consequent) sets and every metric within 1e-9; the only tolerated difference
is a rule exactly at a threshold, which recokit keeps by design (mlxtend compares floats).

    python benchmarks/itemsets.py --data /work/shared/data
    python benchmarks/itemsets.py --baskets 200000         # a smaller (c)
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from association import _vm_hwm_mb, basket_frame, load_groceries, mlxtend_version, spawn  # noqa: E402
from association import synthetic as association_synthetic  # noqa: E402
from recokit.models.association import mine_rules, rule_metrics  # noqa: E402

METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift", "leverage", "conviction"]


def synthetic(n_baskets: int, n_items: int, seed: int = 0) -> sp.csr_array:
    """3-10 items per basket drawn by a Zipf-like popularity, plus planted 3-item bundles
    (benchmarks/association.py's generator, int8 data)."""
    return association_synthetic(n_baskets, n_items, seed, sizes=(3, 10), dtype=np.int8)


# -- the two miners ---------------------------------------------------------------------------
def mine_recokit(b, min_support, min_confidence, max_len):
    """What is timed: exact level-wise counts, thresholds, rule order and every mlxtend metric."""
    mined = mine_rules(b, min_support=min_support, min_confidence=min_confidence, min_lift=None, max_len=max_len)
    r = mined["rules"]
    return mined, rule_metrics(r["count"], r["antecedent_count"], r["consequent_count"], mined["n_baskets"])


def mine_mlxtend(frame, n, min_support, min_confidence, max_len):
    """What is timed: mlxtend fpgrowth + association_rules (metric confidence), by keyword."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    itemsets = fpgrowth(frame, min_support=min_support, use_colnames=False, max_len=max_len)
    if not len(itemsets):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=min_confidence)


def recokit_dict(mined, m) -> dict:
    r = mined["rules"]
    ap, cp = r["antecedent_ptr"].tolist(), r["consequent_ptr"].tolist()
    a, c = r["antecedent"].tolist(), r["consequent"].tolist()
    values = np.stack([m[name.replace(" ", "_")] for name in METRICS], axis=1)
    return {
        (frozenset(a[ap[k] : ap[k + 1]]), frozenset(c[cp[k] : cp[k + 1]])): (values[k], int(r["count"][k]), int(r["antecedent_count"][k]))
        for k in range(len(ap) - 1)
    }


def mlxtend_dict(rules) -> dict:
    if rules is None:
        return {}
    keys = zip(rules["antecedents"], rules["consequents"], strict=True)
    values = rules[METRICS].to_numpy(dtype=float)
    return {(frozenset(int(i) for i in a), frozenset(int(i) for i in c)): v for (a, c), v in zip(keys, values, strict=True)}


def compare(ours: dict, theirs: dict, n: int, min_support: float, min_confidence: float) -> tuple[bool, str]:
    only_theirs = set(theirs) - set(ours)
    only_ours = set(ours) - set(theirs)
    ties = sum(
        Fraction(ours[k][1], n) == Fraction(repr(min_support)) or Fraction(ours[k][1], ours[k][2]) == Fraction(repr(min_confidence))
        for k in only_ours
    )
    worst = 0.0
    for key in set(ours) & set(theirs):
        a, t = ours[key][0], theirs[key]
        finite = np.isfinite(t)
        if not np.array_equal(np.isfinite(a), finite):
            worst = np.inf
            continue
        worst = max(worst, float(np.max(np.abs(a[finite] - t[finite]) / np.maximum(1.0, np.abs(t[finite])))))
    sizes = np.bincount([len(a) + len(c) for a, c in ours], minlength=4)[2:]
    ok = not only_theirs and ties == len(only_ours) and worst <= 1e-9
    text = (
        f"{'IDENTICAL' if ok else 'DIFFERENT'}: {len(ours):,} rules (recokit; from itemsets of 2 / 3 items: "
        f"{' / '.join(f'{x:,}' for x in sizes)}) vs {len(theirs):,} (mlxtend); {ties} kept only by recokit, exactly at a "
        f"threshold; {len(only_theirs)} only in mlxtend; max relative metric difference {worst:.1e}"
    )
    return ok, text


def side_by_side(label: str, b: sp.csr_array, min_support: float, min_confidence: float, max_len: int, repeat: int) -> dict:
    n = b.shape[0]
    frame = basket_frame(b)  # not timed: mlxtend's input format
    ours_t, theirs_t = [], []
    mined = rules = None
    for _ in range(repeat):  # alternating, so both see the same machine
        t0 = time.perf_counter()
        mined = mine_recokit(b, min_support, min_confidence, max_len)
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rules = mine_mlxtend(frame, n, min_support, min_confidence, max_len)
        theirs_t.append(time.perf_counter() - t0)
    ok, verdict = compare(recokit_dict(*mined), mlxtend_dict(rules), n, min_support, min_confidence)
    med_o, med_t = statistics.median(ours_t), statistics.median(theirs_t)
    print(f"\n[{label}] {n:,} baskets x {b.shape[1]:,} items, {b.nnz:,} item occurrences; "
          f"min_support={min_support:g}, min_confidence={min_confidence:g}, max_len={max_len}")  # fmt: skip
    print(f"  {'miner':<44}{'median s':>10}{'min-max s':>20}")
    print(f"  {'recokit mine_rules (level-wise sparse counts)':<44}{med_o:>10.4f}{f'{min(ours_t):.4f}-{max(ours_t):.4f}':>20}")
    print(f"  {'mlxtend fpgrowth + association_rules':<44}{med_t:>10.4f}{f'{min(theirs_t):.4f}-{max(theirs_t):.4f}':>20}")
    print(f"  ratio mlxtend / recokit (medians): {med_t / med_o:,.1f}x")
    print(f"  {verdict}")
    return {"ratio": med_t / med_o, "identical": ok}


# -- (c): recokit alone at full size, in a fresh subprocess ------------------------------------
def child(argv: list[str]) -> None:
    n_baskets, n_items, min_support, min_confidence = int(argv[0]), int(argv[1]), float(argv[2]), float(argv[3])
    b = synthetic(n_baskets, n_items)
    before = _vm_hwm_mb()
    t0 = time.perf_counter()
    mined, _ = mine_recokit(b, min_support, min_confidence, 3)
    seconds = time.perf_counter() - t0
    import tracemalloc

    tracemalloc.start()  # a second, traced run: numpy/scipy buffers are traced, so this is the mining's own peak
    mine_recokit(b, min_support, min_confidence, 3)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t0 = time.perf_counter()
    mine_recokit(b, min_support, min_confidence, 2)  # pairs only, for scale
    pairs_seconds = time.perf_counter() - t0
    r = mined["rules"]
    sizes = np.diff(r["antecedent_ptr"]) + np.diff(r["consequent_ptr"])
    print(json.dumps({
        "seconds": seconds, "pairs_only_seconds": pairs_seconds, "rules": len(r["count"]),
        "rules_of_triples": int((sizes == 3).sum()), "nnz": int(b.nnz),
        "mining_peak_traced_mb": traced, "peak_rss_mb_before_mining": before, "peak_rss_mb": _vm_hwm_mb(),
    }))  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder with groceries.csv")
    ap.add_argument("--baskets-small", type=int, default=100_000, help="baskets of (b), mined by both")
    ap.add_argument("--baskets", type=int, default=1_000_000, help="baskets of (c), mined by recokit alone")
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--min-support", type=float, default=0.0001, help="for (b) and (c); (a) uses 0.001")
    ap.add_argument("--min-confidence", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    print(f"mlxtend {mlxtend_version()}, numpy {np.__version__}, scipy {__import__('scipy').__version__}")

    path = args.data / "groceries.csv"
    if path.exists():
        groceries, _ = load_groceries(path)
        side_by_side("a: groceries.csv", groceries, 0.001, args.min_confidence, 3, args.repeat)
    else:
        print(f"\n[a] {path} is absent: the Groceries comparison is skipped.")

    small = synthetic(args.baskets_small, args.items)
    side_by_side("b: synthetic", small, args.min_support, args.min_confidence, 3, args.repeat)

    dense_gib = args.baskets * args.items / 2**30  # one byte per bool cell
    ours = spawn([str(args.baskets), str(args.items), str(args.min_support), str(args.min_confidence)], timeout=3600, script=__file__)
    print(f"\n[c: {args.baskets:,} baskets x {args.items:,} items] min_support={args.min_support:g} "
          f"({int(np.ceil(args.min_support * args.baskets))} baskets), max_len=3, recokit in a fresh subprocess")  # fmt: skip
    print(f"  recokit: {ours}")
    if "seconds" in ours:
        print(f"  recokit mined {ours['rules']:,} rules ({ours['rules_of_triples']:,} from triples) in {ours['seconds']:.1f} s; "
              f"(pairs only: {ours['pairs_only_seconds']:.1f} s); mining's traced peak {ours['mining_peak_traced_mb']:,.0f} MB, "
              f"process peak RSS {ours['peak_rss_mb']:,.0f} MB")  # fmt: skip
    print(f"  mlxtend not run: its fpgrowth densifies the one-hot input, {args.baskets:,} x {args.items:,} bools = "
          f"{dense_gib:.1f} GiB (computed, not allocated)")  # fmt: skip


if __name__ == "__main__":
    main()
