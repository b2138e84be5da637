"""``recokit recommend``: the newsletter export -- the shop's pipeline file, fitted on its own
exports, writes every consenting customer's list (item names and reasons included) to CSV or
Parquet."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from recokit._errors import ConfigError, RecokitWarning
from recokit.cli.common import notes
from recokit.core.export import with_consent

#: Customers per ``recommend_many`` call: one progress step.
CHUNK = 2048


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "recommend",
        help="fit a pipeline file on your exports and write every customer's list to CSV or Parquet (the newsletter export)",
        description="Fit the pipeline of a pipeline TOML file (see docs/pipeline.md) on the order, catalogue and customers "
        "exports, and write the top-k of every customer, with item names and reasons, to a CSV or Parquet file.",
    )
    p.add_argument("--pipeline", required=True, metavar="FILE", help="the pipeline TOML file (docs/examples/sports_shop_pipeline.toml)")
    p.add_argument("--orders", required=True, metavar="FILE", help="order lines (CSV, TSV or Parquet), columns as the pipeline's [data] says")
    p.add_argument("--catalog", required=True, metavar="FILE", help="product catalogue (CSV or Parquet) with an item id column")
    p.add_argument("--customers", metavar="FILE", help="customers table (CSV or Parquet): consent columns, declared data")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write: .csv or .parquet")
    p.add_argument("--k", type=int, default=10, help="items per customer (default 10)")
    p.add_argument("--consent-col", default=None, help="customers-table column that allows e-mails (default: the pipeline's [newsletter] consent_col; '' for no filter)")
    p.add_argument("--columns", default="name", help="comma-separated catalogue columns to add (default: name; '' for none)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _writer(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out {path!r}: write to a .csv or a .parquet file (got {suffix or 'no extension'}).")
    return suffix


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.datasets.loaders import load_transactions
    from recokit.pipeline import load_pipeline

    out = out or sys.stdout
    suffix = _writer(args.out)
    if args.k < 1:
        raise ConfigError(f"--k must be >= 1. Got {args.k}.")
    pipeline = load_pipeline(args.pipeline)
    consent = pipeline.consent_col if args.consent_col is None else (args.consent_col or None)  # '' = no filter
    if consent is not None and args.customers is None:
        raise ConfigError(f"an e-mail consent column ({consent!r}) needs the customers table.", hint="pass --customers FILE, or --consent-col '' to export without a consent filter.")
    with notes(out):  # rows dropped, columns reduced, models that learnt little
        ds = load_transactions(args.orders, catalog=args.catalog, customers=args.customers, **pipeline.data)
        model = pipeline.build().fit(ds)
    print(f"data: {ds}", file=out)
    customers = ds.customer_ids.to_list() if ds.customers is None else ds.customers["customer_id"].to_list()
    if consent:
        with warnings.catch_warnings():  # its DataWarning's count is said just below, in the command's words
            warnings.simplefilter("ignore", RecokitWarning)
            agreed = with_consent(ds.customers, customers, consent, where="--consent-col")
        print(f"e-mail consent ({consent!r}): {len(agreed)} of {len(customers)} customers; the others are left out", file=out)
        customers = agreed
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    table = _export(model, customers, args.k, columns, not args.no_progress, out)
    if suffix == ".csv":
        table.write_csv(args.out)
    else:
        table.write_parquet(args.out)
    served = table["customer_id"].n_unique() if table.height else 0
    print(f"wrote {table.height} rows for {served} customers to {args.out}", file=out)
    return 0


def _export(model: Any, customers: list[Any], k: int, columns: list[str], progress: bool, out: TextIO) -> pl.DataFrame:
    """Every customer's list, in chunks of :data:`CHUNK` customers (one progress step each)."""
    from tqdm.auto import tqdm

    parts: list[pl.DataFrame] = []
    # disable=None: quiet when stderr is not a terminal (a cron job's log, a pipe)
    with tqdm(total=len(customers), desc="customers", unit="", disable=None if progress else True, leave=False) as bar:
        for lo in range(0, len(customers), CHUNK):
            chunk = customers[lo : lo + CHUNK]
            parts.append(model.recommend_many(chunk, k=k, columns=columns or None))
            bar.update(len(chunk))
    if not parts:
        return model.recommend_many([], k=k, columns=columns or None)
    return pl.concat(parts, how="vertical")
