"""``recokit evaluate``: compare the available models on a user's own transaction file."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import polars as pl

import recokit
from recokit._errors import ConfigError, RecokitError, RecokitWarning
from recokit.cli.common import column_names, notes
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
    add_evaluation_arguments(p, out_help="also write the table: .csv, .json or .md")


def add_evaluation_arguments(p: Any, out_help: str, out_required: bool = False) -> None:
    """The arguments ``recokit evaluate`` and ``recokit report`` share."""
    p.add_argument("--interactions", "--orders", dest="interactions", required=True, metavar="FILE", help="order lines / interactions file")
    p.add_argument("--catalog", metavar="FILE", help="optional product catalogue (item column + attributes)")
    p.add_argument("--customers", metavar="FILE", help="optional customers table (consent columns, declared data): needed by a consent rule")
    p.add_argument("--pipeline", metavar="FILE", help="a pipeline TOML file (docs/pipeline.md): evaluate exactly the deployed pipeline, "
                   "next to each of its models alone; its [data] names the columns")
    p.add_argument("--out", metavar="FILE", required=out_required, help=out_help)
    p.add_argument("--customer-col", default=None, help="(default customer_id)")
    p.add_argument("--item-col", default=None, help="(default item_id)")
    p.add_argument("--time-col", default=None, help="timestamp column (needed by --protocol temporal)")
    p.add_argument("--time-format", default=None, help="strftime format of a text time column, e.g. %%d-%%m-%%Y")
    p.add_argument("--basket-col", default=None, help="order id column (default: a customer's day is a basket)")
    p.add_argument("--quantity-col", default=None)
    p.add_argument("--protocol", choices=PROTOCOLS, default=None, help="default: temporal with a time column, else random")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--repeat", choices=("drop", "keep"), default="drop", help="drop: evaluate new items only; keep: repeat purchases count")
    p.add_argument("--k", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--models", default=None, help=f"comma-separated subset of {','.join(MODEL_NAMES)} (default: all available)")
    p.add_argument("--rules", metavar="FILE", default=None, help="a TOML business-rules file: count the violations in every list (needs --catalog; "
                   "with --pipeline: the pipeline's own rules file by default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the 95%% CIs (default 1000)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


#: The column flags a pipeline file's ``[data]`` replaces.
_COLUMN_FLAGS = ("customer_col", "item_col", "time_col", "basket_col", "quantity_col")
#: Column names that usually hold quantities: read without ``--quantity-col``, a cancellation
#: line (quantity <= 0) would count as a purchase, so the command says so.
_QUANTITY_NAMES = ("quantity", "qty", "quantite", "quantité", "menge", "cantidad", "units")


def _quantity_note(path: str, columns: dict[str, Any]) -> str | None:
    """A note when the file has a quantity-like column that is not read and holds lines <= 0."""
    if columns.get("quantity_col") is not None:
        return None
    try:
        frame = pl.scan_parquet(path) if path.lower().endswith((".parquet", ".pq")) else pl.scan_csv(path, separator="\t" if path.lower().endswith(".tsv") else ",")
        names = frame.collect_schema().names()
        found = next((c for c in names if c.strip().lower() in _QUANTITY_NAMES), None)
        if found is None:
            return None
        n = int(frame.select((pl.col(found).cast(pl.Float64, strict=False) <= 0).sum()).collect().item() or 0)
    except (pl.exceptions.PolarsError, OSError):
        return None  # the loader reports an unreadable file itself
    if not n:
        return None
    return f"note: column {found!r} is not read as quantities and has {n} line(s) <= 0 (cancellations?), counted as purchases; pass --quantity-col {found} to drop them."


def _load(args: argparse.Namespace, columns: dict[str, Any], out: TextIO) -> Any:
    from recokit.datasets.loaders import load_transactions

    with notes(out):  # rows dropped and why
        ds = load_transactions(args.interactions, time_format=args.time_format, catalog=args.catalog, customers=args.customers, **columns)
    note = _quantity_note(str(args.interactions), columns)
    if note is not None:
        print(note, file=out)
    return ds


def _split(args: argparse.Namespace, ds: Any) -> Any:
    from recokit.evaluation import (
        basket_completion_split,
        leave_last_basket_out,
        random_holdout,
        temporal_split,
    )

    protocol = args.protocol or ("temporal" if ds.has_time else "random")
    if protocol == "temporal":
        return temporal_split(ds, test_fraction=args.test_fraction, repeat=args.repeat)
    if protocol == "last-basket":
        return leave_last_basket_out(ds, repeat=args.repeat)
    if protocol == "random":
        return random_holdout(ds, test_fraction=args.test_fraction, seed=args.seed, repeat=args.repeat)
    return basket_completion_split(ds, test_fraction=args.test_fraction, seed=args.seed)


def _candidates(args: argparse.Namespace, pipeline: Any) -> dict[str, Recommender]:
    """The models to compare: the pipeline and each of its models alone, or recokit's models."""
    if pipeline is not None:
        if args.models:
            raise ConfigError("--models and --pipeline: the pipeline file says which models run.", hint="drop --models.")
        return {"pipeline": pipeline.build()} | {f"{name} alone ({type(m).__name__})": m.clone() for name, m in pipeline.models.items()}
    names = [n.strip() for n in args.models.split(",")] if args.models else None
    models: dict[str, Recommender] = {}
    for name, factory in available_models(names).items():
        try:
            models[name] = factory()
        except RecokitError as exc:  # a model whose defaults do not fit this data
            print(f"skipped {name}: {exc}", file=sys.stderr)
    return models


def _out_kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".json", ".md", ".markdown"):
        raise ConfigError(f"--out {path!r}: write to a .csv, .json or .md file (got {suffix or 'no extension'}).")
    return suffix


def _write(table: pl.DataFrame, text: str, path: str) -> None:
    suffix = _out_kind(path)
    if suffix == ".csv":
        table.write_csv(path)
    elif suffix == ".json":
        table.write_json(path)
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


@dataclass
class Evaluation:
    """What ``recokit evaluate`` computed: the table and what it was computed on."""

    table: pl.DataFrame
    extra: list[str]
    dataset: Any
    split: Any
    pipeline: Any
    rules: Any
    models: dict[str, Recommender]


def run_evaluation(args: argparse.Namespace, out: TextIO) -> Evaluation:
    """Load the exports, split, fit every candidate on the training part and evaluate them."""
    from recokit.evaluation import evaluate
    from recokit.pipeline import load_pipeline

    pipeline = load_pipeline(args.pipeline) if args.pipeline else None
    ds = _load(args, column_names(args, _COLUMN_FLAGS, pipeline), out)
    split = _split(args, ds)
    print(f"data: {ds}", file=out)
    print(f"split: {split.report}", file=out)
    usable: dict[str, Recommender] = {}
    fit_seconds: dict[str, float] = {}
    for name, model in _candidates(args, pipeline).items():
        try:
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:  # on the console, not as Python warnings
                warnings.simplefilter("always", RecokitWarning)
                model.fit(split.train)
            fit_seconds[name] = time.perf_counter() - t0
            usable[name] = model
        except RecokitError as exc:
            if name == "pipeline":
                raise  # the deployed pipeline itself must fit: its error is the answer
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
    elif pipeline is not None and pipeline.rules is not None:
        rules = pipeline.rules.clone().fit(split.train)
    table = evaluate(usable, split, k=args.k, fit=False, n_boot=args.n_boot, seed=args.seed, rules=rules, progress=not args.no_progress)
    table = table.with_columns(pl.col("model").replace_strict(fit_seconds, return_dtype=pl.Float64).alias("fit_seconds"))
    extra = ["coverage", "diversity", "novelty", "fit_seconds", "latency_p50_ms", "latency_p99_ms"]
    if rules is not None:
        extra.insert(3, "rule_violations")
    return Evaluation(table, extra, ds, split, pipeline, rules, usable)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.evaluation import to_markdown

    out = out or sys.stdout
    if args.out is not None:
        _out_kind(args.out)  # a wrong extension fails before any work
    result = run_evaluation(args, out)
    text = to_markdown(result.table, extra=result.extra)
    print("", file=out)
    print(text, file=out)
    if args.out is not None:
        _write(result.table, text, args.out)
        print(f"\nwrote the table to {args.out}", file=out)
    return 0
