"""``recokit customers``: the RFM scores and segments of a transactions file, written to CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from recokit._errors import ConfigError

#: The ``--price`` choices (see :mod:`recokit.customers.orders`).
PRICES = ("auto", "paid", "catalog", "units")


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
    p.add_argument("--customer-col", default="customer_id")
    p.add_argument("--item-col", default="item_id")
    p.add_argument("--time-col", required=True, help="timestamp column")
    p.add_argument("--time-format", default=None, help="strftime format of a text time column, e.g. %%d-%%m-%%Y")
    p.add_argument("--basket-col", default=None, help="order id column (default: a customer's day is an order)")
    p.add_argument("--quantity-col", default=None)
    p.add_argument("--price-col", default=None, help="unit price paid per line")
    p.add_argument("--price", choices=PRICES, default="auto", help="where prices come from; 'units' counts units (default auto: paid, else catalogue)")
    p.add_argument("--at", default=None, help="reference date (ISO, inclusive; default: the last order)")
    p.add_argument("--window-days", type=int, default=365, help="frequency/monetary window in days; 0 = all history (default 365)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.customers import rfm
    from recokit.datasets.loaders import load_transactions

    out = out or sys.stdout
    if args.window_days < 0:
        raise ConfigError(f"--window-days must be >= 0 (0 = all history). Got {args.window_days}.")
    ds = load_transactions(
        args.interactions,
        customer_col=args.customer_col,
        item_col=args.item_col,
        time_col=args.time_col,
        time_format=args.time_format,
        basket_col=args.basket_col,
        quantity_col=args.quantity_col,
        catalog=args.catalog,
        customers=args.customers_table,
        price_col=args.price_col,
    )
    table = rfm(ds, at=args.at, window_days=args.window_days or None, price=args.price)
    table.write_csv(args.out)
    print(f"data: {ds}", file=out)
    print(f"wrote {table.height} customers to {args.out}", file=out)
    counts = table["segment"].value_counts().sort(["count", "segment"], descending=[True, False])
    for segment, n in counts.iter_rows():
        print(f"  {segment:<12} {n:>8}", file=out)
    return 0
