"""``recokit evaluate``: compare the available models on a user's own transaction file."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, TextIO

import polars as pl

import recokit
from recokit._errors import ConfigError, RecokitError, RecokitWarning
from recokit.core import Recommender

#: Models tried by default, by public class name; a model not (yet) in this recokit is skipped.
MODEL_NAMES: tuple[str, ...] = ("Popularity", "AssociationRules", "ItemKNN", "ContentBased", "Renewal", "ALS", "BPR")

PROTOCOLS = ("temporal", "last-basket", "random", "basket")


def available_models(names: list[str] | None = None) -> dict[str, Callable[[], Recommender]]:
    """``{name: factory}`` of the models present in this recokit (default constructors)."""
    wanted = list(MODEL_NAMES) if names is None else names
    out: dict[str, Callable[[], Recommender]] = {}
    for name in wanted:
        cls = getattr(recokit, name, None)
        if cls is None:
            if names is not None:
                raise ConfigError(f"unknown model {name!r}.", hint=f"choose among {[n for n in MODEL_NAMES if hasattr(recokit, n)]}.")
            continue
        out[name] = cls
    return out


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="split your own transactions, fit the available models, print a metrics table with 95%% CIs",
        description="Evaluate recokit's models on a transactions file (CSV, TSV or Parquet).",
    )
    p.add_argument("--interactions", required=True, metavar="FILE", help="order lines / interactions file")
    p.add_argument("--catalog", metavar="FILE", help="optional product catalogue (item column + attributes)")
    p.add_argument("--customer-col", default="customer_id")
    p.add_argument("--item-col", default="item_id")
    p.add_argument("--time-col", default=None, help="timestamp column (needed by --protocol temporal)")
    p.add_argument("--time-format", default=None, help="strftime format of a text time column, e.g. %%d-%%m-%%Y")
    p.add_argument("--basket-col", default=None, help="order id column (default: a customer's day is a basket)")
    p.add_argument("--quantity-col", default=None)
    p.add_argument("--protocol", choices=PROTOCOLS, default=None, help="default: temporal with a time column, else random")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--repeat", choices=("drop", "keep"), default="drop", help="drop: evaluate new items only; keep: repeat purchases count")
    p.add_argument("--k", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--models", default=None, help=f"comma-separated subset of {','.join(MODEL_NAMES)} (default: all available)")
    p.add_argument("--rules", metavar="FILE", default=None, help="a TOML business-rules file: count the violations in every list (needs --catalog)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the 95%% CIs (default 1000)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.datasets.loaders import load_transactions
    from recokit.evaluation import (
        basket_completion_split,
        evaluate,
        leave_last_basket_out,
        random_holdout,
        temporal_split,
        to_markdown,
    )

    out = out or sys.stdout
    ds = load_transactions(
        args.interactions,
        customer_col=args.customer_col,
        item_col=args.item_col,
        time_col=args.time_col,
        time_format=args.time_format,
        basket_col=args.basket_col,
        quantity_col=args.quantity_col,
        catalog=args.catalog,
    )
    protocol = args.protocol or ("temporal" if ds.has_time else "random")
    if protocol == "temporal":
        split = temporal_split(ds, test_fraction=args.test_fraction, repeat=args.repeat)
    elif protocol == "last-basket":
        split = leave_last_basket_out(ds, repeat=args.repeat)
    elif protocol == "random":
        split = random_holdout(ds, test_fraction=args.test_fraction, seed=args.seed, repeat=args.repeat)
    else:
        split = basket_completion_split(ds, test_fraction=args.test_fraction, seed=args.seed)
    print(f"data: {ds}", file=out)
    print(f"split: {split.report}", file=out)
    names = [n.strip() for n in args.models.split(",")] if args.models else None
    models: dict[str, Recommender] = {}
    for name, factory in available_models(names).items():
        try:
            models[name] = factory()
        except RecokitError as exc:  # a model whose defaults do not fit this data
            print(f"skipped {name}: {exc}", file=sys.stderr)
    usable: dict[str, Recommender] = {}
    fit_seconds: dict[str, float] = {}
    for name, model in models.items():
        try:
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:  # on the console, not as Python warnings
                warnings.simplefilter("always", RecokitWarning)
                model.fit(split.train)
            fit_seconds[name] = time.perf_counter() - t0
            usable[name] = model
        except RecokitError as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)
            continue
        for w in caught:
            if issubclass(w.category, RecokitWarning):
                print(f"warning: {name}: {w.message}", file=sys.stderr)
            else:  # not ours: hand it on as it came
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not usable:
        raise ConfigError("no model could be fitted on this data (see the messages above).")
    rules = None
    if args.rules is not None:
        from recokit.rules import load_rules

        rules = load_rules(args.rules, split.train).fit(split.train)
    table = evaluate(usable, split, k=args.k, fit=False, n_boot=args.n_boot, seed=args.seed, rules=rules, progress=not args.no_progress)
    table = table.with_columns(pl.col("model").replace_strict(fit_seconds, return_dtype=pl.Float64).alias("fit_seconds"))
    extra = ["coverage", "diversity", "novelty", "fit_seconds", "latency_p50_ms", "latency_p99_ms"]
    if rules is not None:
        extra.insert(3, "rule_violations")
    print("", file=out)
    print(to_markdown(table, extra=extra), file=out)
    return 0
