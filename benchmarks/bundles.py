"""Bundles at category level (issue 13): is the sports shop's planted pack found?

On the built-in sports shop (``recokit.datasets.sports_shop``), an adult bike is sold with a
helmet, a pump and a lock, each split over 8-14 products. For every adult bike of the catalogue
(``category == "adult_bike"``) this prints how many of the 30 get exactly one helmet, one pump and
one lock from

  (a) ``AssociationRules().bundle(bike, 3)`` -- item rules (before issue 13),
  (b) the same with ``one_per="category"``,
  (c) ``AssociationRules(level="category").bundle(bike, 3)`` -- category rules, one product each;

then the anonymous bike page (``recommend(Query(items=[bike], k))``) of the pipeline file
docs/examples/sports_shop_pipeline.toml, as written and with ``level_scores=True`` on its
AssociationRules, and the two on a basket-completion split (the cart screen) and a temporal split
(the home page), with bootstrap 95 % intervals; and the median time of one ``bundle`` call and
of one product-page request (``level_scores=True`` against the item rules, alternating).

    python benchmarks/bundles.py                       # the demo's shop: 5,000 customers, seed 0
    python benchmarks/bundles.py --customers 2000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from recokit import AssociationRules, Dataset, Query, Recommender  # noqa: E402
from recokit.datasets import sports_shop  # noqa: E402
from recokit.evaluation import basket_completion_split, evaluate, temporal_split  # noqa: E402
from recokit.pipeline import load_pipeline  # noqa: E402

PACK = ["helmet", "lock", "pump"]
PIPELINE = ROOT / "docs" / "examples" / "sports_shop_pipeline.toml"


def bikes_and_categories(shop: Dataset) -> tuple[list, dict]:
    cat = shop.catalog
    category = dict(zip(cat["item_id"].to_list(), cat["category"].to_list(), strict=True))
    return [i for i, c in category.items() if c == "adult_bike"], category


def packs_found(shop: Dataset) -> dict[str, tuple[int, int]]:
    """Bikes whose bundle is exactly the pack, and bikes that get anything, per variant."""
    bikes, category = bikes_and_categories(shop)
    items = AssociationRules().fit(shop)
    level = AssociationRules(level="category").fit(shop)
    variants = {
        "item rules: bundle(bike, 3)": lambda b: items.bundle(b, 3),
        "item rules: bundle(bike, 3, one_per='category')": lambda b: items.bundle(b, 3, one_per="category"),
        "level='category': bundle(bike, 3)": lambda b: level.bundle(b, 3),
    }
    out = {}
    for name, fn in variants.items():
        got = [sorted(category[i] for i in fn(b).item_ids) for b in bikes]
        out[name] = (sum(g == PACK for g in got), sum(bool(g) for g in got))
    return out


def pipeline(level: bool) -> Recommender:
    p = load_pipeline(PIPELINE)
    if level:
        p.models["together"] = p.models["together"].set_params(level="category", level_scores=True)
    return p.build()


def bike_pages(shop: Dataset) -> dict[str, dict[int, int]]:
    bikes, category = bikes_and_categories(shop)
    out = {}
    for name, level in (("pipeline file", False), ("pipeline file + level_scores", True)):
        model = pipeline(level).fit(shop)
        out[name] = {k: sum(set(PACK) <= {category[i] for i in model.recommend(Query(items=[b], k=k)).item_ids} for b in bikes) for k in (3, 4, 10)}
    return out


def quality(shop: Dataset) -> pl.DataFrame:
    frames = []
    splits = {"basket completion": basket_completion_split(shop, seed=0), "temporal": temporal_split(shop, test_fraction=0.2)}
    for split_name, split in splits.items():
        models = {
            "AssociationRules()": AssociationRules(),
            "AssociationRules(level, level_scores)": AssociationRules(level="category", level_scores=True),
            "pipeline file": pipeline(False),
            "pipeline file + level_scores": pipeline(True),
        }
        r = evaluate(models, split, k=10, progress=False, n_boot=1000, latency_queries=0)
        frames.append(r.select(pl.lit(split_name).alias("split"), "model", "ndcg", "ndcg_lo", "ndcg_hi", "recall", "coverage"))
    return pl.concat(frames)


def latency(shop: Dataset, repeat: int) -> dict[str, dict[str, float]]:
    """Median ms per call over the 30 bikes, the two models alternating run by run:
    ``bundle(bike, 3)``, and the product page ``recommend(Query(items=[bike], k=4))``."""
    bikes, _ = bikes_and_categories(shop)
    models = {"item rules": AssociationRules().fit(shop), "level='category'": AssociationRules(level="category", level_scores=True).fit(shop)}
    calls = {"bundle(bike, 3)": lambda m, b: m.bundle(b, 3), "product page, k=4": lambda m, b: m.recommend(Query(items=[b], k=4))}
    times: dict[str, dict[str, list[float]]] = {c: {n: [] for n in models} for c in calls}
    for _ in range(repeat):
        for call, fn in calls.items():
            for name, model in models.items():
                t = time.perf_counter()
                for b in bikes:
                    fn(model, b)
                times[call][name].append((time.perf_counter() - t) / len(bikes) * 1e3)
    return {c: {n: statistics.median(v) for n, v in per.items()} for c, per in times.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-eval", action="store_true", help="skip the two evaluations (the slow part)")
    args = ap.parse_args(argv)
    print("command: python benchmarks/bundles.py " + shlex.join(argv if argv is not None else sys.argv[1:]))
    warnings.simplefilter("ignore")  # the evaluation's notes on dropped rows; figures only here
    for seed in args.seeds:
        shop = sports_shop(args.customers, seed=seed)
        print(f"\nsports_shop({args.customers}, seed={seed}): {shop}")
        for name, (pack, anything) in packs_found(shop).items():
            print(f"  {name:<50} pack on {pack:>2}/30 bikes, anything on {anything:>2}/30")
        for name, by_k in bike_pages(shop).items():
            print(f"  bike page, {name:<30} " + ", ".join(f"k={k}: pack on {n}/30" for k, n in by_k.items()))
        for call, lat in latency(shop, args.repeat).items():
            item_ms, level_ms = lat.values()
            print(f"  {call} median per call: " + ", ".join(f"{n} {v:.2f} ms" for n, v in lat.items()) + f" (ratio {level_ms / item_ms:.2f}x)")
        if not args.no_eval:
            with pl.Config(tbl_rows=20, tbl_width_chars=160, float_precision=3):
                print(quality(shop))


if __name__ == "__main__":
    main()
