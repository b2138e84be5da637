"""Recommendation quality against the peers, on the protocols the peers are scored on.

For each real dataset under ``--data`` and each protocol that applies to it, every recokit model
(default settings), **recokit's tuned pipeline** and the peers are evaluated on the same cases with
the same exclusions and back-fill (recokit's ``evaluate``):

* peers: implicit's Cosine, BM25, ALS and BPR; mlxtend's association rules (fpgrowth +
  association_rules, the cart -- or the customer's last training basket -- as antecedent; basket
  datasets only); popularity (distinct buyers, numpy); personal frequency (the customer's own
  items by purchase count, numpy) on the repeat-inclusive protocol. Each peer is written here
  from its library or from numpy, not from recokit's models.
* recokit tuned: ``recokit.evaluation.tune`` on a validation split carved from the training data
  only (never the test): each candidate model's settings (a few configurations each), then the
  blend weights of a Hybrid of the tuned candidates; the pipeline is whichever of those scored
  best **on validation**. The test split is read once, to score it.

Protocols: ``new items`` = a global temporal cut-off (last 20 % of rows), items the customer had
before dropped from the test (repeat=drop); ``next basket`` = each customer's last basket, owned
items kept (repeat=keep, lists may hold owned items); ``basket completion`` = hide one item of
each test basket (the anonymous Groceries baskets, which have no customers or dates).

Prints, per dataset and protocol: NDCG@10, recall@10 (95 % bootstrap intervals over cases),
coverage, and the paired bootstrap of per-case NDCG@10 of the tuned pipeline against the best
peer (difference, 95 % interval, p-value). Run::

    PYTHONPATH=src python benchmarks/quality.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recokit  # noqa: E402
from compare_models import ImplicitPeer, _cap  # noqa: E402
from recokit import Recommender  # noqa: E402
from recokit.core import Batch, ScoreBlock  # noqa: E402
from recokit.data import Dataset  # noqa: E402
from recokit.evaluation import (  # noqa: E402
    Split,
    basket_completion_split,
    evaluate,
    leave_last_basket_out,
    paired_test,
    temporal_split,
    tune,
)

REPO = Path(__file__).resolve().parents[1]


# -- peers written from their library or numpy -------------------------------------------------
class BPRPeer(ImplicitPeer):
    """implicit's BayesianPersonalizedRanking, as users call it (64 factors, 100 iterations)."""

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(kind="als", seed=seed)

    def _fit(self, dataset: Dataset) -> None:
        import implicit
        from threadpoolctl import threadpool_limits

        ui = sp.csr_matrix(dataset.user_items, dtype=np.float32)
        with threadpool_limits(1, "blas"):
            model = implicit.cpu.bpr.BayesianPersonalizedRanking(factors=64, iterations=100, random_state=self.seed, num_threads=1)
            model.fit(ui, show_progress=False)
        self.model_, self.ui_ = model, ui

    def _score_row(self, batch: Batch, r: int) -> np.ndarray:
        """implicit's BPR cannot recalculate a user from a cart: a cart is the mean of its
        items' factors (the usual fold-in for BPR), scored against every item."""
        items = batch.context_items(r)
        if not len(items):
            return super()._score_row(batch, r)
        f = np.asarray(self.model_.item_factors)
        return f @ f[items].mean(axis=0)


class CountPeer(Recommender):
    """Popularity (distinct buyers) or personal frequency (the customer's own purchase counts,
    then popularity), from the training matrix with numpy."""

    def __init__(self, *, personal: bool = False) -> None:
        self.personal = personal

    def _fit(self, dataset: Dataset) -> None:
        ui = sp.csr_array(dataset.user_items)
        self.buyers_ = np.bincount(ui.indices, minlength=dataset.n_items).astype(np.float64)
        self.ui_ = ui

    def _score(self, batch: Batch) -> ScoreBlock:
        n_items = self.dataset_.n_items
        out = np.broadcast_to(self.buyers_ / (self.buyers_.max() + 1.0), (batch.n, n_items)).copy()
        if self.personal:
            for r, c in enumerate(batch.customer_idx.tolist()):
                if c >= 0:
                    lo, hi = self.ui_.indptr[c], self.ui_.indptr[c + 1]
                    out[r, self.ui_.indices[lo:hi]] += self.ui_.data[lo:hi]  # own counts >= 1 > any popularity share
        return ScoreBlock.dense(out)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        return ["personal frequency" if self.personal else "popularity"] * len(rows)


class MlxtendPeer(Recommender):
    """mlxtend's fpgrowth + association_rules (confidence); an item's score is the best
    confidence of a rule whose antecedent is inside the cart (or the customer's last basket)."""

    def __init__(self, *, min_support: float = 0.001, min_confidence: float = 0.01) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence

    def _fit(self, dataset: Dataset) -> None:
        import pandas as pd
        from mlxtend.frequent_patterns import association_rules, fpgrowth

        b = sp.csr_array(dataset.basket_items)
        dense = pd.DataFrame(b.toarray() > 0, columns=[str(i) for i in range(dataset.n_items)])
        freq = fpgrowth(dense, min_support=self.min_support, use_colnames=True, max_len=2)
        rules = association_rules(freq, metric="confidence", min_threshold=self.min_confidence)
        self.ante_ = np.array([int(next(iter(a))) for a in rules["antecedents"]], dtype=np.int64)
        self.cons_ = np.array([int(next(iter(c))) for c in rules["consequents"]], dtype=np.int64)
        self.conf_ = rules["confidence"].to_numpy(dtype=np.float64)
        cust = np.asarray(dataset.basket_customer_idx)
        when = dataset.basket_time if dataset.basket_time is not None else np.arange(len(cust))
        last: dict[int, int] = {}
        for basket in np.lexsort((np.arange(len(cust)), when)).tolist():  # in time order: the last one wins
            if cust[basket] >= 0:
                last[int(cust[basket])] = basket
        self.last_ = last
        self.b_ = b

    def _score(self, batch: Batch) -> ScoreBlock:
        n = self.dataset_.n_items
        out = np.full((batch.n, n), np.nan)
        for r in range(batch.n):
            items = batch.context_items(r)
            c = int(batch.customer_idx[r])
            if not len(items) and c in self.last_:
                bk = self.last_[c]
                items = self.b_.indices[self.b_.indptr[bk] : self.b_.indptr[bk + 1]]
            fire = np.isin(self.ante_, items)
            if fire.any():
                np.fmax.at(out[r], self.cons_[fire], self.conf_[fire])
        return ScoreBlock.dense(out)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        return ["mlxtend rule"] * len(rows)


def peers(protocol: str, baskets: bool) -> dict[str, Callable[[], Recommender]]:
    out: dict[str, Callable[[], Recommender]] = {
        "implicit Cosine": lambda: ImplicitPeer(kind="cosine"),
        "implicit BM25": lambda: ImplicitPeer(kind="bm25"),
        "implicit ALS": lambda: ImplicitPeer(kind="als"),
        "implicit BPR": lambda: BPRPeer(),
        "popularity": lambda: CountPeer(),
    }
    if baskets:
        out["mlxtend rules"] = lambda: MlxtendPeer()
    if protocol == "next basket":
        out["personal frequency"] = lambda: CountPeer(personal=True)
    return out


# -- recokit: every model, and the tuned pipeline ----------------------------------------------
def recokit_models(protocol: str, timed: bool) -> dict[str, Callable[[], Recommender]]:
    m: dict[str, Callable[[], Recommender]] = {
        "Popularity": lambda: recokit.Popularity(),
        "ItemKNN": lambda: recokit.ItemKNN(),
        "AssociationRules": lambda: recokit.AssociationRules(),
        "ContentBased": lambda: recokit.ContentBased(),
        "ALS": lambda: recokit.ALS(),
        "BPR": lambda: recokit.BPR(),
        "BuyAgain": lambda: recokit.BuyAgain(),
    }
    if timed:
        m["Popularity 30d"] = lambda: recokit.Popularity(window_days=30)
        m["Renewal"] = lambda: recokit.Renewal()
    return m


CANDIDATES = {  # what the tuned pipeline may be made of, per protocol (all tuned on validation)
    "new items": ["ItemKNN", "Popularity", "ALS"],
    "next basket": ["BuyAgain", "ItemKNN", "Popularity"],
    "basket completion": ["AssociationRules", "ItemKNN", "Popularity"],
}


def tuned_pipeline(split: Split, protocol: str, budget: int, seed: int, log: Callable[[str], None]) -> tuple[Recommender, pl.DataFrame]:
    """Tune each candidate, then a Hybrid of the tuned ones; the validation-best of all of them."""
    found: dict[str, tuple[Recommender, float]] = {}
    for name in CANDIDATES[protocol]:
        base = getattr(recokit, name)()
        try:
            res = tune(base, split, budget=budget, seed=seed)
        except recokit.RecokitError as exc:
            log(f"  tune {name}: skipped ({str(exc).splitlines()[0]})")
            continue
        found[name] = (res.best, res.score)
        log(f"  tune {name}: validation ndcg@10 {res.score:.4f} with {res.best_params}")
    blend = recokit.Hybrid({n.lower(): m.clone() for n, (m, _) in found.items()})
    res = tune(blend, split, budget=budget * 2, seed=seed)
    found["Hybrid"] = (res.best, res.score)
    log(f"  tune Hybrid of the tuned: validation ndcg@10 {res.score:.4f} with weights {res.best_params['weights']}")
    table = pl.DataFrame({"candidate": list(found), "validation_ndcg@10": [s for _, s in found.values()]})
    best = max(found, key=lambda n: (found[n][1], n != "Hybrid"))  # a tie: the single model (simpler)
    log(f"  chosen on validation: {best}")
    return found[best][0].clone(), table


def splits(data: Path) -> list[tuple[str, str, bool, Callable[[], Split]]]:
    """(dataset, protocol, has baskets, split builder) for every dataset found and protocol that applies."""
    from recokit.datasets import load_basket_lines, load_movielens_100k, load_transactions

    out: list[tuple[str, str, bool, Callable[[], Split]]] = []
    ml = data / "ml-100k"
    if (ml / "u.data").exists():
        out.append(("ml-100k", "new items", False, lambda: temporal_split(load_movielens_100k(ml), test_fraction=0.2, repeat="drop")))
    else:
        print(f"absent: {ml}/u.data -- skipping ml-100k", file=sys.stderr)
    g = data / "groceries.csv"
    if g.exists():
        out.append(("groceries baskets", "basket completion", True, lambda: basket_completion_split(load_basket_lines(g), test_fraction=0.2, seed=0, temporal=False)))
    else:
        print(f"absent: {g} -- skipping groceries", file=sys.stderr)
    gd = data / "Groceries_dataset.csv"
    if gd.exists():

        def members() -> Dataset:
            return load_transactions(gd, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y")

        out.append(("groceries members", "new items", True, lambda: temporal_split(members(), test_fraction=0.2, repeat="drop")))
        out.append(("groceries members", "next basket", True, lambda: leave_last_basket_out(members(), repeat="keep")))
    else:
        print(f"absent: {gd} -- skipping Groceries_dataset", file=sys.stderr)
    return out


def run_one(dataset: str, protocol: str, baskets: bool, split: Split, args) -> list[str]:
    lines: list[str] = []

    def log(s: str) -> None:
        print(s, flush=True)
        lines.append(s)

    log(f"\n## {dataset}, {protocol}\n\nSplit: {split.report}. Evaluated cases: {split.cases.height}.\n")
    timed = split.train.has_time
    t0 = time.perf_counter()
    pipeline, _ = tuned_pipeline(split, protocol, args.budget, args.seed, log)
    log(f"  (tuning took {time.perf_counter() - t0:.0f} s)\n")
    models: dict[str, Recommender] = {"recokit tuned": pipeline}
    models.update({f"recokit {n}": f() for n, f in recokit_models(protocol, timed).items()})
    peer_names = set()
    for n, f in peers(protocol, baskets).items():
        models[n] = f()
        peer_names.add(n)
    usable: dict[str, Recommender] = {}
    for name, model in models.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", recokit.RecokitWarning)
                model.fit(split.train)
            usable[name] = model
        except (recokit.RecokitError, MemoryError) as exc:
            log(f"- skipped {name}: {str(exc).splitlines()[0]}")
    table = evaluate(usable, split, k=[10], fit=False, n_boot=args.n_boot, seed=args.seed, latency_queries=0, progress=False)
    table = table.sort(["ndcg", "model"], descending=[True, False])
    log("| model | NDCG@10 [95% CI] | recall@10 [95% CI] | coverage |")
    log("|---|---|---|---|")
    for r in table.iter_rows(named=True):
        who = r["model"] if r["model"] not in peer_names else f"*{r['model']}* (peer)"
        log(f"| {who} | {r['ndcg']:.4f} [{r['ndcg_lo']:.4f}, {r['ndcg_hi']:.4f}] | {r['recall']:.4f} [{r['recall_lo']:.4f}, {r['recall_hi']:.4f}] | {r['coverage']:.3f} |")
    peer_rows = table.filter(pl.col("model").is_in(sorted(peer_names)))
    best_peer = peer_rows["model"][0]
    res = paired_test(usable["recokit tuned"], usable[best_peer], split, k=10, n_boot=args.n_boot_test, seed=args.seed)
    verdict = "better" if res["diff_lo"] > 0 else ("worse" if res["diff_hi"] < 0 else "not significantly different")
    log(
        f"\nrecokit tuned - best peer ({best_peer}), per-case NDCG@10: {res['diff']:+.4f} [{res['diff_lo']:+.4f}, {res['diff_hi']:+.4f}], "
        f"p = {res['p_value']:.4f}, n = {int(res['n'])}: {verdict}."
    )
    if protocol == "next basket" and "personal frequency" in usable:
        pf = paired_test(usable["recokit tuned"], usable["personal frequency"], split, k=10, n_boot=args.n_boot_test, seed=args.seed)
        log(f"recokit tuned - personal frequency: {pf['diff']:+.4f} [{pf['diff_lo']:+.4f}, {pf['diff_hi']:+.4f}], p = {pf['p_value']:.4f}.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder with ml-100k/, groceries.csv, Groceries_dataset.csv")
    parser.add_argument("--budget", type=int, default=6, help="configurations tried per candidate model (the Hybrid: twice that)")
    parser.add_argument("--max-cases", type=int, default=0, help="seeded sample of at most this many test cases (0 = all)")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-boot-test", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None, help="datasets to run (ml-100k, 'groceries baskets', 'groceries members')")
    args = parser.parse_args(argv)
    data = Path(args.data)
    print(f"# recokit quality vs peers ({dt.date.today()}, Python {platform.python_version()}, recokit {recokit.__version__})")
    print("command: PYTHONPATH=src python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv))
    found = splits(data)
    if not found:
        print(f"no dataset found under {data}: nothing to compare", file=sys.stderr)
        return 1
    for dataset, protocol, baskets, build in found:
        if args.only and dataset not in args.only:
            continue
        split = _cap(build(), args.max_cases or None, args.seed)
        run_one(dataset, protocol, baskets, split, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
