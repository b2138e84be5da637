"""How recokit's defaults are chosen: each studied setting on the validation splits of the shared datasets.

For every (model, setting) below, ``recokit.evaluation.tune`` scores each value on a validation
split carved from the **training** part of each dataset's split (the test parts are never read),
and the script prints NDCG@10 per dataset and each value's mean rank over the datasets (1 =
best). The default is the value with the best mean rank, unless docs/quality.md says why not.

Datasets and protocols (from ``--data``): ml-100k (global temporal cut-off, new items), the
Groceries baskets (basket completion), the Groceries members (temporal new items, and next
basket with re-purchases kept). Run::

    PYTHONPATH=src python benchmarks/defaults.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import rankdata

import recokit
from recokit.evaluation import (
    Split,
    basket_completion_split,
    leave_last_basket_out,
    temporal_split,
    tune,
)

REPO = Path(__file__).resolve().parents[1]

#: (label, model factory, setting, values): the defaults under study
STUDIES: list[tuple[str, Callable[[], recokit.Recommender], str, list]] = [
    ("ItemKNN(similarity='lift')", lambda: recokit.ItemKNN(similarity="lift"), "lift_prior", [0.0, 5.0, 50.0, 300.0, 1000.0, 1e6]),
    ("ItemKNN()", lambda: recokit.ItemKNN(), "shrinkage", [0.0, 10.0, 50.0, 200.0]),
    ("ItemKNN(similarity='bm25')", lambda: recokit.ItemKNN(similarity="bm25"), "shrinkage", [0.0, 10.0, 50.0, 200.0]),
    ("BuyAgain()", lambda: recokit.BuyAgain(), "propensity", [True, False]),
    ("ItemKNN(binary)", lambda: recokit.ItemKNN(), "binary", [False, True]),
    ("ItemKNN(similarity='bm25', binary)", lambda: recokit.ItemKNN(similarity="bm25"), "binary", [False, True]),
    ("ALS()", lambda: recokit.ALS(), "binary", [False, True]),
    ("ALS(factors)", lambda: recokit.ALS(), "factors", [16, 64, 128]),
    ("ALS(regularization)", lambda: recokit.ALS(), "regularization", [0.001, 0.01, 0.1]),
    ("BPR(learning_rate)", lambda: recokit.BPR(), "learning_rate", [0.01, 0.05, 0.1]),
    ("BPR(iterations)", lambda: recokit.BPR(), "iterations", [25, 50, 100, 200]),
    ("Popularity(window_days)", lambda: recokit.Popularity(), "window_days", [None, 30.0, 90.0, 365.0]),
    ("Popularity(half_life_days)", lambda: recokit.Popularity(), "half_life_days", [None, 14.0, 60.0, 180.0]),
    ("AssociationRules(min_support)", lambda: recokit.AssociationRules(), "min_support", [2, 5, 10, 0.001]),
    ("AssociationRules(min_confidence)", lambda: recokit.AssociationRules(), "min_confidence", [0.01, 0.05, 0.1, 0.2]),
    ("ContentBased(half_life_days)", lambda: recokit.ContentBased(), "half_life_days", [None, 30.0, 180.0, 720.0]),
    ("BuyAgain(half_life_days)", lambda: recokit.BuyAgain(), "half_life_days", [None, 30.0, 90.0, 365.0]),
    # what a blend reads of each model: only ml-100k's 1,682 items reach the larger cuts
    ("Hybrid(ItemKNN, ALS, Popularity)", lambda: recokit.Hybrid({"knn": recokit.ItemKNN(), "als": recokit.ALS(), "top": recokit.Popularity()}),
     "depth", [50, 200, 500, 1000, None]),
]


def splits(data: Path) -> list[tuple[str, Callable[[], Split]]]:
    from recokit.datasets import load_basket_lines, load_movielens_100k, load_transactions

    out: list[tuple[str, Callable[[], Split]]] = []
    if (data / "ml-100k" / "u.data").exists():
        out.append(("ml-100k new items", lambda: temporal_split(load_movielens_100k(data / "ml-100k"), repeat="drop")))
    if (data / "groceries.csv").exists():
        out.append(("groceries baskets", lambda: basket_completion_split(load_basket_lines(data / "groceries.csv"), test_fraction=0.2, seed=0, temporal=False)))
    gd = data / "Groceries_dataset.csv"
    if gd.exists():

        def members():
            return load_transactions(gd, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y")

        out.append(("members new items", lambda: temporal_split(members(), repeat="drop")))
        out.append(("members next basket", lambda: leave_last_basket_out(members(), repeat="keep")))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--only", nargs="+", default=None, help="study labels to run (default: all)")
    args = parser.parse_args(argv)
    found = splits(Path(args.data))
    if not found:
        print(f"no dataset under {args.data}: nothing to study", file=sys.stderr)
        return 1
    print("command: PYTHONPATH=src python benchmarks/defaults.py " + " ".join(sys.argv[1:] if argv is None else argv))
    built = [(name, build()) for name, build in found]
    for label, factory, setting, values in STUDIES:
        if args.only and label not in args.only:
            continue
        t0 = time.perf_counter()
        cols: dict[str, list[float]] = {}
        for name, split in built:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", recokit.RecokitWarning)
                res = tune(factory(), split, grid={setting: values})
            scores = dict(res.table.select(setting, "ndcg@10").rows())
            cols[name] = [np.nan if scores.get(v) is None else scores[v] for v in values]  # NaN: the data cannot take it
        table = pl.DataFrame({setting: [str(v) for v in values], **cols})
        # ties share a rank; a value the split cannot take (NaN) leaves that split out of its mean
        per_split = [np.where(np.isnan(c), np.nan, rankdata(np.where(np.isnan(c), np.inf, -np.array(c)), method="average")) for c in map(np.array, cols.values())]
        ranks = np.nanmean(per_split, axis=0)
        table = table.with_columns(pl.Series("mean rank", ranks))
        default = getattr(factory(), setting)
        print(f"\n## {label}: {setting} (validation NDCG@10; current default {default!r}; {time.perf_counter() - t0:.0f} s)\n")
        header = "| " + " | ".join(table.columns) + " |"
        print(header + "\n|" + "---|" * len(table.columns))
        for row in table.iter_rows():
            print("| " + " | ".join(f"{x:.4f}" if isinstance(x, float) else str(x) for x in row) + " |")
        print(f"\nbest mean rank: {setting} = {table.sort('mean rank')[setting][0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
