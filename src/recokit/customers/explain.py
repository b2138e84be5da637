"""One customer's scores and segments with every input they were computed from
(:func:`explain_customer`): the right to know one's segment.

RFM scores are relative: each is explained by the customer's value, how many ranked customers
had a strictly worse one, and the formula of :mod:`recokit.customers.rfm`. The explanation
recomputes the shop-wide tables (RFM ranks everyone), so it costs one :func:`rfm` and one
:func:`lifecycle`; clusters, which are costlier and depend on a method and a seed, are
explained from a :func:`cluster` table you pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from recokit._errors import ConfigTypeError, DataError
from recokit.customers.features import features
from recokit.customers.lifecycle import lifecycle, practice_changes
from recokit.customers.orders import order_table, price_source, purchase_lines, reference
from recokit.customers.rfm import PROSPECT, Segment, rfm, segment_table
from recokit.data import Dataset

__all__ = ["CustomerExplanation", "explain_customer"]


@dataclass(frozen=True)
class CustomerExplanation:
    """Everything recokit.customers says about one customer, with its inputs.

    ``str(explanation)`` reads as a short report; :meth:`to_dict` is JSON-ready.
    """

    customer_id: Any
    at: dt.datetime
    window_days: int | None
    price: str
    features: dict[str, Any]
    rfm: dict[str, Any]
    scores: dict[str, str]
    segment_rule: str
    segment_description: str
    lifecycle: dict[str, Any]
    practice_changes: list[str]
    cluster: dict[str, Any] | None
    orders: pl.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The explanation as plain values (dates as ISO text, the orders as a list of rows)."""
        orders = self.orders.with_columns(pl.col("date").cast(pl.String)).to_dicts()
        return {
            "customer_id": self.customer_id, "at": self.at.isoformat(), "window_days": self.window_days, "price": self.price,
            "features": self.features, "rfm": self.rfm, "scores": self.scores, "segment_rule": self.segment_rule,
            "segment_description": self.segment_description, "lifecycle": self.lifecycle,
            "practice_changes": self.practice_changes, "cluster": self.cluster, "orders": orders,
        }

    def __str__(self) -> str:
        window = "all history" if self.window_days is None else f"{self.window_days} days"
        lines = [
            f"customer {self.customer_id} at {self.at:%Y-%m-%d %H:%M} (window: {window}, prices: {self.price})",
            f"segment: {self.rfm['segment']} - {self.segment_rule}" + (f" ({self.segment_description})" if self.segment_description else ""),
            *(f"  {key.upper()}: {text}" for key, text in self.scores.items()),
            f"lifecycle: {self.lifecycle['reason']}",
            *(f"practice: {text}" for text in self.practice_changes),
        ]
        if self.cluster is not None:
            lines.append(f"cluster {self.cluster['cluster']}: {self.cluster['description']}")
        lines.append(f"orders up to {self.at:%Y-%m-%d}: {self.orders.height} ({int(self.orders['in_window'].sum())} in the window)")
        return "\n".join(lines)


def _score_texts(table: pl.DataFrame, row: dict[str, Any], window: str) -> dict[str, str]:
    """Each score with its input, the customers ranked, those strictly worse and the formula."""
    if row["segment"] == PROSPECT:
        return {k: "no order yet: not scored" for k in ("r", "f", "m")}
    if row["frequency"] == 0:
        return {k: f"1: no order {window}, scored lowest without being ranked" for k in ("r", "f", "m")}
    ranked = table.filter(pl.col("frequency") > 0)
    n = ranked.height
    out = {}
    for key, column, worse, unit in (
        ("r", "recency_days", pl.col("recency_days") > row["recency_days"], "days since the last order"),
        ("f", "frequency", pl.col("frequency") < row["frequency"], f"orders {window}"),
        ("m", "monetary", pl.col("monetary") < row["monetary"], f"spent {window}"),
    ):
        below = int(ranked.select(worse.sum()).item())
        out[key] = (
            f"{row[key]}: {row[column]} {unit}; {below} of the {n} customers with an order {window} did worse, "
            f"so rank {below + 1} and score ceil(5 x {below + 1} / {n}) = {row[key]}"
        )
    return out


def _orders(dataset: Dataset, idx: int, at: Any, window_days: int | None, price: str) -> pl.DataFrame:
    ref = reference(dataset, at, window_days)
    lines = purchase_lines(dataset, ref, price).filter(pl.col("customer_idx") == idx)
    table = order_table(lines).with_columns(ref.in_window(pl.col("day")).alias("in_window"))
    return table.select(pl.col("day").cast(pl.Date).alias("date"), pl.col("value").round(2), "units", "in_window")


def _cluster_row(clusters: Any, customer_id: Hashable) -> dict[str, Any] | None:
    """The customer's row of a :func:`~recokit.customers.cluster` table, checked to be one."""
    if not isinstance(clusters, pl.DataFrame) or "customer_id" not in clusters.columns:
        raise ConfigTypeError(
            f"explain_customer: clusters must be the table recokit.customers.cluster() returns (with a customer_id column). Got {type(clusters).__name__}.",
            hint="clusters=cluster(dataset).",
        )
    found = clusters.filter(pl.col("customer_id") == customer_id)
    return found.row(0, named=True) if found.height else None


def explain_customer(
    dataset: Dataset,
    customer_id: Hashable,
    *,
    at: Any = None,
    window_days: int | None = 365,
    segments: Sequence[Segment | Mapping[str, Any]] | None = None,
    price: str = "auto",
    overdue_factor: float = 1.5,
    clusters: pl.DataFrame | None = None,
) -> CustomerExplanation:
    """Every score and segment of one customer, with the inputs each was computed from.

    Parameters
    ----------
    dataset : Dataset
    customer_id
        A customer of the dataset (a DataError names an unknown one).
    at, window_days, segments, price
        As for :func:`~recokit.customers.rfm` (and the features).
    overdue_factor : float
        As for :func:`~recokit.customers.lifecycle`.
    clusters : polars.DataFrame, optional
        A :func:`~recokit.customers.cluster` table; the customer's row is included.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import explain_customer
    >>> orders = pl.DataFrame({
    ...     "customer_id": ["ann", "ann", "bob", "cid"], "item_id": ["shoe", "gel", "gel", "bike"],
    ...     "order_id": [1, 2, 3, 4], "day": ["2025-06-01", "2025-06-25", "2025-03-01", "2025-06-29"],
    ...     "paid": [100.0, 20.0, 40.0, 500.0]})
    >>> shop = Dataset(orders, time_col="day", basket_col="order_id", price_col="paid")
    >>> print(explain_customer(shop, "ann", at="2025-06-30"))   # doctest: +NORMALIZE_WHITESPACE
    customer ann at 2025-06-30 23:59 (window: 365 days, prices: paid)
    segment: champions - R 4-5, F 4-5, M 4-5 (VIP: bought recently, often and for a lot; reward them)
      R: 4: 5 days since the last order; 1 of the 3 customers with an order in the last 365 days did worse, so rank 2 and score ceil(5 x 2 / 3) = 4
      F: 5: 2 orders in the last 365 days; 2 of the 3 customers with an order in the last 365 days did worse, so rank 3 and score ceil(5 x 3 / 3) = 5
      M: 4: 120.0 spent in the last 365 days; 1 of the 3 customers with an order in the last 365 days did worse, so rank 2 and score ceil(5 x 2 / 3) = 4
    lifecycle: new: first order 29 days ago (within 90 days)
    orders up to 2025-06-30: 2 (2 in the window)
    """
    idx = dataset.customer_ids.get(customer_id)
    if idx is None:
        dataset.customer_ids.check_kind([customer_id], "explain_customer")
        raise DataError(f"explain_customer: unknown customer {customer_id!r}.", hint="pass an id of the dataset's interactions or customers table.")
    table = segment_table(segments)
    source = price_source(dataset, price)
    ref = reference(dataset, at, window_days)
    scores = rfm(dataset, at=ref.at, window_days=window_days, segments=table, price=source)
    row = scores.row(idx, named=True)
    stages = lifecycle(dataset, at=ref.at, overdue_factor=overdue_factor).row(idx, named=True)
    feats = features(dataset, at=ref.at, window_days=window_days, price=source).row(idx, named=True)
    changes = practice_changes(dataset, at=ref.at, column="sport") if "sport" in dataset.catalog.columns else None
    rule = {s.name: s for s in table}.get(row["segment"])
    cluster_row = None
    if clusters is not None:
        cluster_row = _cluster_row(clusters, customer_id)
    return CustomerExplanation(
        customer_id=customer_id,
        at=ref.at,
        window_days=window_days,
        price=source,
        features=feats,
        rfm=row,
        scores=_score_texts(scores, row, ref.window_text),
        segment_rule=rule.rule if rule else ("no order up to the reference date" if row["segment"] == PROSPECT else "no segment's rule holds"),
        segment_description=rule.description if rule else "",
        lifecycle=stages,
        practice_changes=[] if changes is None else changes.filter(pl.col("customer_id") == customer_id)["reason"].to_list(),
        cluster=cluster_row,
        orders=_orders(dataset, idx, ref.at, window_days, source),
    )
