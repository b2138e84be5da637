"""Compare every available recokit model, and implicit's models as peers, on the same splits.

Datasets: (a) the synthetic sports shop (always), (b) whatever of ml-100k, groceries.csv and
Groceries_dataset.csv is found under --data (default ../shared/data relative to the repository).
For each dataset and protocol it prints a markdown table (95% bootstrap CIs over cases), a paired
test of the two best models, and writes PNG plots into --out (default benchmarks/out/):

* ``<dataset>_metrics_vs_k.png``: precision, recall, NDCG and MAP against k, one line per model;
* ``<dataset>_ndcg_vs_latency.png``: NDCG@10 against the median single-request latency.

implicit's CosineRecommender, BM25Recommender and AlternatingLeastSquares are wrapped in a small
Recommender adapter (below) so they go through exactly the same ``evaluate()``: same cases, same
exclusions, same back-fill, same metrics.

Run::

    PYTHONPATH=src python benchmarks/compare_models.py            # shop + ../shared/data
    PYTHONPATH=src python benchmarks/compare_models.py --only shop --customers 2000
"""

from __future__ import annotations

import argparse
import dataclasses
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

import recokit
from recokit import Recommender
from recokit.core import Batch, ScoreBlock
from recokit.data import Dataset
from recokit.evaluation import (
    Split,
    basket_completion_split,
    evaluate,
    leave_last_basket_out,
    paired_test,
    random_holdout,
    temporal_split,
    to_markdown,
)

REPO = Path(__file__).resolve().parents[1]


# -- the model registry ------------------------------------------------------------------------
# One line per model. An entry whose class is not in this recokit yet is skipped (and said so),
# so adding a model after its branch is merged is one line here, e.g.
#     ("ItemKNN", _model("ItemKNN", k=50)),
def _model(class_name: str, **params) -> Callable[[], Recommender] | None:
    cls = getattr(recokit, class_name, None)
    if cls is None:
        return None
    return lambda: cls(**params)


REGISTRY: list[tuple[str, Callable[[], Recommender] | None]] = [
    ("Popularity", _model("Popularity")),
    ("Popularity 30d", _model("Popularity", window_days=30)),  # needs timestamps; skipped without
    ("AssociationRules", _model("AssociationRules")),
    ("ItemKNN", _model("ItemKNN")),
    ("ContentBased", _model("ContentBased")),
    ("Renewal", _model("Renewal")),
    ("ALS", _model("ALS")),
    ("BPR", _model("BPR")),
    ("BuyAgain", _model("BuyAgain")),
    # the repeat baseline of next-basket research: the customer's own items by count alone
    ("own most-bought", _model("BuyAgain", propensity=False, half_life_days=None)),
]


def _hybrid() -> Callable[[], Recommender] | None:
    """The cart's cold-start cascade: bought-together rules first, best sellers for the rest."""
    hybrid, rules, popular = (getattr(recokit, n, None) for n in ("Hybrid", "AssociationRules", "Popularity"))
    if hybrid is None or rules is None or popular is None:
        return None
    return lambda: hybrid({"together": rules(), "best": popular()}, method="cascade")


REGISTRY.append(("Hybrid cascade", _hybrid()))


def _home_blend() -> Callable[[], Recommender] | None:
    """The demo's home page blend: renewals due, item neighbours, trending products."""
    names = ("Hybrid", "Renewal", "ItemKNN", "Popularity")
    hybrid, renewal, knn, popular = (getattr(recokit, n, None) for n in names)
    if None in (hybrid, renewal, knn, popular):
        return None
    return lambda: hybrid(
        {"renewal": renewal(), "because": knn(half_life_days=180), "trending": popular(half_life_days=30)},
        weights={"renewal": 2.0, "because": 1.0, "trending": 0.3},
    )


def _knn_rrf() -> Callable[[], Recommender] | None:
    """Item neighbours fused with best sellers by reciprocal rank (works on every dataset)."""
    hybrid, knn, popular = (getattr(recokit, n, None) for n in ("Hybrid", "ItemKNN", "Popularity"))
    if None in (hybrid, knn, popular):
        return None
    return lambda: hybrid([knn(similarity="bm25"), popular()], weights=[1.0, 0.5], method="rrf")


REGISTRY.append(("Hybrid home blend", _home_blend()))
REGISTRY.append(("Hybrid BM25+Popularity rrf", _knn_rrf()))


# Models also evaluated wrapped in the shop's business rules ("<name> + rules"), on the datasets
# that have rules (the sports shop: docs/examples/sports_shop_rules.toml). Their rule_violations
# must be 0; the unwrapped models show how often a raw model would break a rule.
RULED: list[str] = ["Popularity"]
SHOP_RULES = REPO / "docs" / "examples" / "sports_shop_rules.toml"


def _shop_rules(split: Split):
    """The sports shop's rule set fitted on the training data, or None without the rules engine."""
    load_rules = getattr(recokit, "load_rules", None)
    if load_rules is None or not SHOP_RULES.exists():
        return None
    return load_rules(SHOP_RULES, split.train).fit(split.train)


# -- implicit peers --------------------------------------------------------------------------
class ImplicitPeer(Recommender):
    """implicit's models behind recokit's Recommender interface (benchmark-only adapter).

    Scores come from implicit's own ``recommend`` (N = all items, no filtering), so the peer is
    implicit as users call it. Items implicit scores exactly 0 (the padding of its item-item
    lists, not an opinion) become NaN, so recokit's exclusions and back-fill treat them like any
    model's "no opinion".
    """

    def __init__(self, *, kind: str = "cosine", K: int = 100, factors: int = 64, iterations: int = 15, regularization: float = 0.01, seed: int = 0):
        self.kind = kind
        self.K = K
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.seed = seed

    def _fit(self, dataset: Dataset) -> None:
        import implicit
        from threadpoolctl import threadpool_limits

        ui = sp.csr_matrix(dataset.user_items, dtype=np.float64)  # item-item models need float64 CSR
        if self.kind not in ("cosine", "bm25", "als"):
            raise recokit.ConfigError(f"The 'kind' parameter of ImplicitPeer must be 'cosine', 'bm25' or 'als'. Got {self.kind!r} instead.")
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # BM25's own weighting hands a COO matrix to its fit, which then warns about it: implicit's wart, not ours
            warnings.simplefilter("ignore", implicit.utils.ParameterWarning)
            if self.kind == "cosine":
                model = implicit.nearest_neighbours.CosineRecommender(K=self.K)
            elif self.kind == "bm25":
                model = implicit.nearest_neighbours.BM25Recommender(K=self.K)
            else:
                model = implicit.cpu.als.AlternatingLeastSquares(
                    factors=self.factors, iterations=self.iterations, regularization=self.regularization, random_state=self.seed, num_threads=1
                )
                ui = ui.astype(np.float32)
            model.fit(ui, show_progress=False)
        self.model_ = model
        self.ui_ = ui

    def _fill(self, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        out = np.full((ids.shape[0], self.dataset_.n_items), np.nan)
        rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
        ok = (ids.ravel() >= 0) & np.isfinite(scores.ravel()) & (scores.ravel() != 0)
        out[rows[ok], ids.ravel()[ok]] = scores.ravel()[ok]
        return out

    def _score_row(self, batch: Batch, r: int) -> np.ndarray:
        """One request the way implicit answers it: the cart when there is one, else the history."""
        n = self.dataset_.n_items
        items = batch.context_items(r)
        c = int(batch.customer_idx[r])
        if len(items):
            row = sp.csr_matrix((np.ones(len(items), dtype=self.ui_.dtype), (np.zeros(len(items), dtype=np.int64), items)), shape=(1, n))
        elif c >= 0:
            row = self.ui_[c]
        else:
            row = sp.csr_matrix((1, n), dtype=self.ui_.dtype)
        if row.nnz == 0 and self.kind != "als":
            return np.full(n, np.nan)
        recalc = self.kind == "als" and (len(items) > 0 or c < 0)
        ids, scores = self.model_.recommend(0 if recalc else max(c, 0), row, N=n, filter_already_liked_items=False, recalculate_user=recalc)
        return self._fill(np.atleast_2d(ids), np.atleast_2d(scores))[0]

    def _score(self, batch: Batch) -> ScoreBlock:
        out = np.full((batch.n, self.dataset_.n_items), np.nan)
        plain = np.flatnonzero(batch.known & ~batch.has_context)  # customer-only rows: one batched call
        if len(plain):
            cidx = batch.customer_idx[plain]
            ids, scores = self.model_.recommend(cidx, self.ui_[cidx], N=self.dataset_.n_items, filter_already_liked_items=False)
            out[plain] = self._fill(np.atleast_2d(ids), np.atleast_2d(scores))
        for r in np.flatnonzero(~(batch.known & ~batch.has_context)).tolist():
            out[r] = self._score_row(batch, r)
        return ScoreBlock.dense(out)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        return [f"implicit {self.kind}"] * len(rows)


PEERS: list[tuple[str, Callable[[], Recommender]]] = [
    ("implicit Cosine", lambda: ImplicitPeer(kind="cosine")),
    ("implicit BM25", lambda: ImplicitPeer(kind="bm25")),
    ("implicit ALS", lambda: ImplicitPeer(kind="als")),
]


# -- datasets and protocols --------------------------------------------------------------------
def _cap(split: Split, max_cases: int | None, seed: int) -> Split:
    """A seeded sample of the cases, so a big dataset stays within minutes (said in the output)."""
    if max_cases is None or split.cases.height <= max_cases:
        return split
    cases = split.cases.sample(max_cases, seed=seed).sort("case")
    return dataclasses.replace(split, cases=cases)


def datasets(args) -> list[tuple[str, str, Callable[[], Split]]]:
    """(name, protocol description, split builder) for every dataset found."""
    from recokit.datasets import (
        load_basket_lines,
        load_movielens_100k,
        load_transactions,
        sports_shop,
    )

    data = Path(args.data)
    found: list[tuple[str, str, Callable[[], Split]]] = []

    def shop_next():
        return temporal_split(sports_shop(args.customers, seed=args.seed), test_fraction=0.2, repeat="drop")

    def shop_cart():
        return basket_completion_split(sports_shop(args.customers, seed=args.seed), test_fraction=0.2, seed=args.seed)

    found.append(("shop", f"sports_shop({args.customers}, seed={args.seed}); temporal cut-off, last 20% of rows test, repeat=drop (new items)", shop_next))
    found.append(("shop_cart", f"sports_shop({args.customers}, seed={args.seed}); basket completion, last 20% of baskets, one hidden item", shop_cart))
    ml = data / "ml-100k"
    if (ml / "u.data").exists():
        found.append(("ml-100k", "MovieLens 100k, all ratings as interactions; random 75/25 holdout per user (seed 0)", lambda: random_holdout(load_movielens_100k(ml), test_fraction=0.25, seed=args.seed)))
    else:
        print(f"absent: {ml}/u.data -- skipping ml-100k", file=sys.stderr)
    g = data / "groceries.csv"
    if g.exists():
        found.append(("groceries", "Groceries (arules), 9,835 anonymous baskets; basket completion on a random 20% of baskets (seed 0)", lambda: basket_completion_split(load_basket_lines(g), test_fraction=0.2, seed=args.seed, temporal=False)))
    else:
        print(f"absent: {g} -- skipping groceries", file=sys.stderr)
    gd = data / "Groceries_dataset.csv"
    if gd.exists():
        found.append(
            (
                "groceries_members",
                "Groceries_dataset (member-day baskets); leave last basket out per member, repeat=keep",
                lambda: leave_last_basket_out(
                    load_transactions(gd, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y"),
                    repeat="keep",
                ),
            )
        )
    else:
        print(f"absent: {gd} -- skipping Groceries_dataset", file=sys.stderr)
    if args.only:
        found = [f for f in found if f[0] in args.only]
    return found


# -- plots ------------------------------------------------------------------------------------
def plot(table: pl.DataFrame, name: str, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    paths = []
    models = table["model"].unique(maintain_order=True).to_list()
    palette = plt.cm.tab10(np.arange(10))
    color = {m: palette[n % 10] for n, m in enumerate(models)}  # one colour per model in both plots
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for ax, metric in zip(axes.ravel(), ("precision", "recall", "ndcg", "map"), strict=True):
        for m in models:
            rows = table.filter(pl.col("model") == m).sort("k")
            k = rows["k"].to_numpy()
            ax.plot(k, rows[metric], marker="o", color=color[m], label=m, linestyle="--" if m.startswith("implicit") else "-")
            ax.fill_between(k, rows[f"{metric}_lo"], rows[f"{metric}_hi"], color=color[m], alpha=0.15)
        ax.set_title(f"{metric}@k")
        ax.set_xlabel("k")
        ax.set_xticks(sorted(table["k"].unique().to_list()))
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # one legend under the panels, so it never hides a line however many models there are
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=9, frameon=False)
    fig.suptitle(f"{name}: accuracy vs k (bands: bootstrap 95% CI over cases; dashed: implicit peers)")
    fig.tight_layout(rect=(0, 0.04 + 0.03 * ((len(labels) - 1) // 5), 1, 1))
    p = out / f"{name}_metrics_vs_k.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    k10 = table.filter(pl.col("k") == (10 if 10 in table["k"].to_list() else table["k"].max()))
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for row in k10.iter_rows(named=True):
        err = [[row["ndcg"] - row["ndcg_lo"]], [row["ndcg_hi"] - row["ndcg"]]]
        ax.errorbar(row["latency_p50_ms"], row["ndcg"], yerr=err, fmt="s" if row["model"].startswith("implicit") else "o", color=color[row["model"]], capsize=4, label=row["model"])
        ax.annotate(row["model"], (row["latency_p50_ms"], row["ndcg"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("median latency of one recommend() request, ms (log scale)")
    ax.set_ylabel(f"NDCG@{k10['k'][0]}")
    ax.set_title(f"{name}: accuracy vs request latency (up and left is better)")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    p = out / f"{name}_ndcg_vs_latency.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    return paths


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="folder with ml-100k/, groceries.csv, Groceries_dataset.csv (default ../shared/data)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out"), help="folder for the PNG plots and tables (default benchmarks/out/)")
    parser.add_argument("--customers", type=int, default=5000, help="sports shop size (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--max-cases", type=int, default=3000, help="seeded sample of at most this many cases per dataset (default 3000; 0 = all)")
    parser.add_argument("--only", nargs="+", default=None, help="dataset names to run (shop shop_cart ml-100k groceries groceries_members)")
    parser.add_argument("--no-peers", action="store_true", help="skip implicit's models")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.data is None:
        # ../shared/data next to the repository; a git worktree one level deeper looks one level up too
        candidates = [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
        args.data = str(next((c for c in candidates if c.exists()), candidates[0]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    skipped = [name for name, factory in REGISTRY if factory is None]
    print(f"Data folder: {args.data}\n")
    print(f"# recokit model comparison ({dt.date.today()}, Python {platform.python_version()}, recokit {recokit.__version__})\n")
    if skipped:
        print(f"Not in this recokit yet (skipped): {', '.join(skipped)}\n")
    for name, protocol, build in datasets(args):
        t0 = time.perf_counter()
        split = _cap(build(), args.max_cases or None, args.seed)
        print(f"## {name}\n\nProtocol: {protocol}.  \nSplit: {split.report}.  \nEvaluated cases: {split.cases.height}" + (f" (seeded sample of {split.report.n_cases})" if split.cases.height < split.report.n_cases else "") + f". Split built in {time.perf_counter() - t0:.1f} s.\n")
        models: dict[str, Recommender] = {}
        for mname, factory in REGISTRY:
            if factory is None:
                continue
            try:
                models[mname] = factory()
            except (recokit.RecokitError, TypeError) as exc:  # a registry line whose parameters no longer fit
                print(f"- skipped {mname}: cannot build it with the registry's parameters: {str(exc).splitlines()[0]}")
        rules = _shop_rules(split) if name.startswith("shop") else None
        if rules is not None:
            for base in RULED:
                factory = dict(REGISTRY).get(base)
                if factory is not None:
                    models[f"{base} + rules"] = recokit.Ruled(factory(), recokit.load_rules(SHOP_RULES, split.train))
        if not args.no_peers:
            models.update({pname: f() for pname, f in PEERS})
        usable: dict[str, Recommender] = {}
        fit_seconds: dict[str, float] = {}
        for mname, model in models.items():
            try:
                t1 = time.perf_counter()
                model.fit(split.train)
                fit_seconds[mname] = time.perf_counter() - t1
                usable[mname] = model
            except recokit.RecokitError as exc:  # e.g. a time window on data without a clock
                print(f"- skipped {mname} on {name}: {str(exc).splitlines()[0]}")
        table = evaluate(usable, split, k=args.k, fit=False, n_boot=args.n_boot, seed=args.seed, rules=rules, progress=not args.no_progress)
        table = table.with_columns(pl.col("model").replace_strict(fit_seconds, return_dtype=pl.Float64).alias("fit_seconds"))
        table = table.sort(["k", "ndcg", "model"], descending=[False, True, False], maintain_order=True)
        extra = ["coverage", "diversity", "novelty", "fit_seconds", "latency_p50_ms", "latency_p99_ms"]
        if rules is not None:
            extra[3:3] = ["rule_violations", "revenue_share"]
            print(f"Rules: {SHOP_RULES.relative_to(REPO)} ({len(rules)} rules), checked on every list of every model.\n")
        print(to_markdown(table, extra=extra))
        kk = 10 if 10 in args.k else max(args.k)
        at_k = table.filter(pl.col("k") == kk).sort(["ndcg", "model"], descending=[True, False])
        # the best model against the runner-up, skipping models whose lists score exactly like the
        # best (e.g. a model that fell back to best sellers everywhere): that test says nothing
        best = [at_k["model"][0]] + [m for m, v in zip(at_k["model"], at_k["ndcg"], strict=True) if v != at_k["ndcg"][0]][:1]
        if len(best) >= 2:
            res = paired_test(usable[best[0]], usable[best[1]], split, k=kk, n_boot=2000, seed=args.seed)
            print(
                f"\nPaired bootstrap on per-case NDCG@{kk}: {best[0]} - {best[1]} = {res['diff']:+.4f} "
                f"[{res['diff_lo']:+.4f}, {res['diff_hi']:+.4f}], p = {res['p_value']:.4f} (n = {int(res['n'])})."
            )
        table.write_csv(out / f"{name}.csv")
        paths = plot(table, name, out)
        print(f"\nPlots: {', '.join(str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in paths)}. Dataset done in {time.perf_counter() - t0:.0f} s.\n")
        sys.stdout.flush()
    print("Command: PYTHONPATH=src python benchmarks/compare_models.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
