"""``recokit customers``: the RFM scores and segments of a transactions file, written to CSV, and
optionally the contact plan of the coming period (``--contact-plan FILE --on DATE``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from recokit._errors import ConfigError
from recokit.cli.common import column_names, notes

#: The ``--price`` choices (see :mod:`recokit.customers.orders`).
PRICES = ("auto", "paid", "catalog", "units")
#: The ``--items-model`` choices: the model whose products a message proposes.
ITEM_MODELS = ("none", "popularity", "itemknn", "renewal")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "customers",
        help="RFM scores, segment and reason of every customer of a transactions file, written to CSV",
        description="Score every customer (recency, frequency, monetary 1-5), name their segment and say why; see docs/customers.md.",
    )
    p.add_argument("--interactions", required=True, metavar="FILE", help="order lines (CSV, TSV or Parquet)")
    p.add_argument("--catalog", metavar="FILE", help="product catalogue (its 'price' column prices the lines without --price-col)")
    p.add_argument("--customers-table", metavar="FILE", help="customers table: customers without an order are listed as prospects")
    p.add_argument("--out", required=True, metavar="FILE", help="the CSV to write")
    p.add_argument("--pipeline", metavar="FILE", default=None, help="a pipeline TOML file (docs/pipeline.md) whose [data] names the columns")
    p.add_argument("--customer-col", default=None, help="(default customer_id)")
    p.add_argument("--item-col", default=None, help="(default item_id)")
    p.add_argument("--time-col", default=None, help="timestamp column (required, here or in the pipeline's [data])")
    p.add_argument("--time-format", default=None, help="strftime format of a text time column, e.g. %%d-%%m-%%Y")
    p.add_argument("--basket-col", default=None, help="order id column (default: a customer's day is an order)")
    p.add_argument("--quantity-col", default=None)
    p.add_argument("--price-col", default=None, help="unit price paid per line")
    p.add_argument("--price", choices=PRICES, default="auto", help="where prices come from; 'units' counts units (default auto: paid, else catalogue)")
    p.add_argument("--at", default=None, help="reference date (ISO, inclusive; default: the last order)")
    p.add_argument("--window-days", type=int, default=365, help="frequency/monetary window in days; 0 = all history (default 365)")
    p.add_argument("--event-col", default=None, help="event type column (purchase, view, add_to_cart): enables abandoned carts")
    p.add_argument("--contact-plan", metavar="FILE", default=None, help="also write the contact plan (CSV with items as text, or .parquet with items as a list)")
    p.add_argument("--on", default=None, help="first day of the contact plan (ISO; default: the day of the last order)")
    p.add_argument("--period-days", type=int, default=14, help="the plan's period: at most one message per customer in it (default 14)")
    p.add_argument("--consent-col", default="consent_email", help="Boolean e-mail consent column of the customers table (default consent_email)")
    p.add_argument("--items-model", choices=ITEM_MODELS, default="none", help="model proposing each message's products (default none)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.customers import rfm
    from recokit.datasets.loaders import load_transactions

    out = out or sys.stdout
    if args.window_days < 0:
        raise ConfigError(f"--window-days must be >= 0 (0 = all history). Got {args.window_days}.")
    columns = _columns(args)
    with notes(out):  # rows dropped and why
        ds = load_transactions(args.interactions, time_format=args.time_format, catalog=args.catalog, customers=args.customers_table, **columns)
    table = rfm(ds, at=args.at, window_days=args.window_days or None, price=args.price)
    table.write_csv(args.out)
    print(f"data: {ds}", file=out)
    print(f"wrote {table.height} customers to {args.out}", file=out)
    counts = table["segment"].value_counts().sort(["count", "segment"], descending=[True, False])
    for segment, n in counts.iter_rows():
        print(f"  {segment:<12} {n:>8}", file=out)
    if args.contact_plan:
        write_plan(ds, args, out)
    return 0


#: The column flags, and the keyword arguments of load_transactions they set.
_COLUMN_FLAGS = ("customer_col", "item_col", "time_col", "basket_col", "quantity_col", "price_col", "event_col")


def _columns(args: argparse.Namespace) -> dict[str, Any]:
    """The column names: the flags, or the pipeline file's [data] (not both)."""
    from recokit.pipeline import load_pipeline

    pipeline = load_pipeline(args.pipeline) if args.pipeline is not None else None
    columns = column_names(args, _COLUMN_FLAGS, pipeline, only=_COLUMN_FLAGS)
    if columns.get("time_col") is None:
        raise ConfigError("recokit customers needs order times: pass --time-col COL (or time_col in the pipeline's [data]).")
    return columns


def _items_model(name: str) -> Any:
    from recokit.models import ItemKNN, Popularity, Renewal

    return {"none": None, "popularity": Popularity, "itemknn": ItemKNN, "renewal": Renewal}[name]


def write_plan(ds: Any, args: argparse.Namespace, out: TextIO) -> None:
    """The contact plan of the period from ``--on``, written to ``--contact-plan``."""
    import polars as pl

    from recokit.customers import contact_plan

    model_class = _items_model(args.items_model)
    model = model_class().fit(ds) if model_class is not None else None
    last = ds.last_time
    on = args.on or (last.date().isoformat() if last is not None else None)
    plan = contact_plan(ds, on=on, recommender=model, max_per_customer_days=args.period_days, consent=args.consent_col)
    if str(args.contact_plan).endswith(".parquet"):
        plan.write_parquet(args.contact_plan)
    else:
        text = pl.col("items").list.eval(pl.format("{} ({})", pl.element().struct.field("item_id").cast(pl.String), pl.element().struct.field("reason"))).list.join("; ")
        plan.with_columns(text.alias("items")).write_csv(args.contact_plan)
    print(f"wrote the contact plan from {on} ({args.period_days} days): {plan.height} messages to {args.contact_plan}", file=out)
    for kind, n in plan["kind"].value_counts().sort(["count", "kind"], descending=[True, False]).iter_rows():
        print(f"  {kind:<14} {n:>8}", file=out)
