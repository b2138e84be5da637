"""RFM: recency, frequency and monetary scores 1-5 and the named segments they give (:func:`rfm`).

Scores (:func:`quintile_scores`)
--------------------------------
The **ranked customers** are those with at least one order in the window; ``n`` is their
number. Each value is ranked among them, best last (the most recent order, the most orders,
the most spent), and a tie group takes the rank of its first (lowest) position::

    rank  = 1 + the number of ranked customers with a strictly worse value
    score = ceil(5 x rank / n)

so equal values always get equal scores, the worst value gets ``ceil(5 / n)`` (1 from five
customers on), and the best gets 5 unless the best are tied with more than a fifth of the
customers (five customers tied at the top out of ten all get ``ceil(5 x 6 / 10) = 3``).
Recency is compared in whole days, monetary in cents (the table's ``monetary`` is rounded to
the cent). With fewer than five ranked customers scores skip values: one customer gets 5, two
get 3 and 5.

Customers with orders before the window but none in it keep their ``recency_days`` and get
``frequency 0``, ``monetary 0`` and the lowest scores, R = F = M = 1, without being ranked (they
do not push the others' ranks up). Customers with no order at all up to ``at`` (declared in the
customers table, or whose first order is later) have null scores and the segment
``"prospect"``. Nobody is dropped: the table has one row per customer of the dataset.

Segments (:class:`Segment`, :data:`DEFAULT_SEGMENTS`)
-----------------------------------------------------
A segment is a box of score ranges (plus, optionally, at most so many orders in the window and
a first order at most so many days ago); the first segment of the table whose box holds a
customer names them. A customer in no box gets ``"unsegmented"`` and a DataWarning says how
many (end a custom table with a catch-all ``Segment("other")``). The default table covers every
combination of scores:

============  ===========================================  ====================================
segment       rule                                         meaning
============  ===========================================  ====================================
champions     R 4-5, F 4-5, M 4-5                          VIP: recent, frequent, big spenders
new           at most 1 order, first order within 90 days  onboard them
at_risk       R 1-2, F 3-5                                 were good customers, now inactive
upsell        R 3-5, F 3-5, M 1-3                          loyal with small baskets: up-sell
loyal         R 3-5, F 3-5                                 regular, good customers
potential     R 3-5, F 1-2                                 occasional but recent: worth a nudge
dormant       R 1-2, F 1-2                                 rare and not lately (with customers
                                                           without an order in the window)
============  ===========================================  ====================================
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, ConfigTypeError, DataWarning
from recokit.customers.features import base_table
from recokit.customers.orders import Reference, reference
from recokit.data import Dataset

__all__ = [
    "DEFAULT_SEGMENTS",
    "PROSPECT",
    "UNSEGMENTED",
    "Segment",
    "assign_segments",
    "quintile_scores",
    "rfm",
    "rfm_of",
    "score_base",
    "score_expr",
    "segment_descriptions",
    "segment_table",
]

#: The segment of customers with no order up to the reference date.
PROSPECT = "prospect"
#: The segment of customers that no segment of a custom table holds.
UNSEGMENTED = "unsegmented"



def _check_range(name: str, value: Any) -> tuple[int, int]:
    ok = isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or not 1 <= value[0] <= value[1] <= 5:
        raise ConfigError(f"Segment {name} must be a pair (low, high) of scores with 1 <= low <= high <= 5. Got {value!r}.", hint=f"e.g. {name}=(4, 5).")
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class Segment:
    """One named box of the RFM segment table (first match wins).

    Parameters
    ----------
    name : str
        The segment's name in the ``segment`` column.
    r, f, m : (low, high)
        Inclusive score ranges; ``(1, 5)`` (the default) puts no condition.
    max_orders : int, optional
        At most this many orders in the window.
    max_tenure_days : int, optional
        First order at most this many days before the reference date.
    description : str
        What the segment means, for people (docs, explanations).

    Examples
    --------
    >>> Segment("vip", r=(5, 5), m=(5, 5)).rule
    'R 5, M 5'
    >>> Segment("other").rule
    'every customer'
    """

    name: str
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)
    max_orders: int | None = None
    max_tenure_days: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"a Segment needs a non-empty name. Got {self.name!r}.")
        for key in ("r", "f", "m"):
            object.__setattr__(self, key, _check_range(key, getattr(self, key)))
        for key in ("max_orders", "max_tenure_days"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"Segment {key} must be an int >= 0 or None. Got {v!r}.")

    @property
    def rule(self) -> str:
        """The box in words: ``"R 4-5, F 4-5, M 4-5"``."""
        boxes = (("r", self.r), ("f", self.f), ("m", self.m))
        parts = [f"{k.upper()} {lo}" + (f"-{hi}" if hi != lo else "") for k, (lo, hi) in boxes if (lo, hi) != (1, 5)]
        if self.max_orders is not None:
            parts.append(f"at most {self.max_orders} order{'s' if self.max_orders != 1 else ''}")
        if self.max_tenure_days is not None:
            parts.append(f"first order within {self.max_tenure_days} days")
        return ", ".join(parts) or "every customer"

    def condition(self) -> pl.Expr:
        """The box as a polars condition on ``r, f, m, frequency, tenure_days``."""
        cond = pl.lit(True)
        for key, (lo, hi) in (("r", self.r), ("f", self.f), ("m", self.m)):
            if (lo, hi) != (1, 5):
                cond = cond & pl.col(key).is_between(lo, hi)
        if self.max_orders is not None:
            cond = cond & (pl.col("frequency") <= self.max_orders)
        if self.max_tenure_days is not None:
            cond = cond & (pl.col("tenure_days") <= self.max_tenure_days)
        return cond


#: The default segment table (first match wins; covers every score combination).
DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", r=(4, 5), f=(4, 5), m=(4, 5), description="VIP: bought recently, often and for a lot; reward them"),
    Segment("new", max_orders=1, max_tenure_days=90, description="first and only order in the last 90 days; onboard them"),
    Segment("at_risk", r=(1, 2), f=(3, 5), description="used to buy often, not lately; win them back before they go"),
    Segment("upsell", r=(3, 5), f=(3, 5), m=(1, 3), description="loyal but small baskets; up-sell and cross-sell"),
    Segment("loyal", r=(3, 5), f=(3, 5), description="regular, good customers"),
    Segment("potential", r=(3, 5), f=(1, 2), description="occasional but recent; a second order would make them regular"),
    Segment("dormant", r=(1, 2), f=(1, 2), description="few orders and none lately (customers without an order in the window too)"),
)


def segment_descriptions(segments: Sequence[Segment] | None = None) -> dict[str, str]:
    """Segment name -> its description (default table), :data:`PROSPECT` and :data:`UNSEGMENTED`
    included: what a report or a demo prints beside each segment's count."""
    described = {s.name: s.description for s in (DEFAULT_SEGMENTS if segments is None else segments)}
    return described | {PROSPECT: "in the customers table, no order yet: introduce the shop", UNSEGMENTED: "no segment's rule holds"}


def segment_table(segments: Sequence[Segment | Mapping[str, Any]] | None) -> tuple[Segment, ...]:
    """The checked table: Segments, or mappings with Segment's fields; unique names, none
    reserved."""
    if segments is None:
        return DEFAULT_SEGMENTS
    if isinstance(segments, str | Mapping | Segment):
        raise ConfigTypeError(
            f"segments must be a list of Segment (or of mappings). Got {type(segments).__name__}.",
            hint="e.g. segments=[Segment('vip', r=(5, 5)), Segment('other')].",
        )
    known = {f.name for f in fields(Segment)}
    table = []
    for s in segments:
        if isinstance(s, Mapping):
            unknown = sorted(set(s) - known)
            if unknown:
                raise ConfigError(f"unknown Segment field(s) {unknown}.", hint=f"the fields are {sorted(known)}.")
            s = Segment(**s)
        if not isinstance(s, Segment):
            raise ConfigTypeError(f"a segment must be a Segment or a mapping. Got {type(s).__name__}.")
        table.append(s)
    names = [s.name for s in table]
    if not table or len(set(names)) != len(names) or {PROSPECT, UNSEGMENTED} & set(names):
        raise ConfigError(f"segments need at least one segment, unique names, none called {PROSPECT!r} or {UNSEGMENTED!r}. Got {names}.")
    return tuple(table)


def assign_segments(scores: pl.DataFrame, segments: Sequence[Segment | Mapping[str, Any]] | None = None) -> pl.Series:
    """The ``segment`` of each row of ``scores`` (columns ``r, f, m, frequency, tenure_days``):
    :data:`PROSPECT` where ``r`` is null, else the first segment of the table whose box holds
    the row, else :data:`UNSEGMENTED`.

    >>> import polars as pl
    >>> rows = pl.DataFrame({"r": [5, 1, None], "f": [5, 1, None], "m": [5, 1, None],
    ...                      "frequency": [9, 1, 0], "tenure_days": [400, 400, None]})
    >>> assign_segments(rows).to_list()
    ['champions', 'dormant', 'prospect']
    """
    table = segment_table(segments)
    segment: Any = pl.when(pl.col("r").is_null()).then(pl.lit(PROSPECT))
    for s in table:
        segment = segment.when(s.condition()).then(pl.lit(s.name))
    return scores.select(segment.otherwise(pl.lit(UNSEGMENTED)).alias("segment")).to_series()


def score_expr(value: pl.Expr, ranked: pl.Expr, n: int, *, higher_is_better: bool = True) -> pl.Expr:
    """The quintile score (Int64) of ``value`` among the rows where ``ranked`` holds (null
    elsewhere); ``n`` is the number of those rows. The tie rule is in the module docstring."""
    key = value if higher_is_better else -value
    rank = pl.when(ranked).then(key).rank("min").cast(pl.Int64)
    return ((5 * rank + n - 1) // max(n, 1)).cast(pl.Int64)  # ceil(5 rank / n) in integers


def quintile_scores(values: Sequence[float] | np.ndarray | pl.Series, *, higher_is_better: bool = True) -> pl.Series:
    """Scores 1-5 of ``values`` by the tie rule of :func:`rfm` (every value ranked).

    >>> quintile_scores([10, 20, 20, 30, 40]).to_list()
    [1, 2, 2, 4, 5]
    >>> quintile_scores([0, 3, 3, 3, 9], higher_is_better=False).to_list()   # days: fewer is better
    [5, 2, 2, 2, 1]
    """
    series = pl.Series("value", values, dtype=pl.Float64)
    if series.null_count() or series.is_nan().any():
        raise ConfigError("quintile_scores: values must not be null or NaN.")
    score = score_expr(pl.col("value"), pl.lit(True), len(series), higher_is_better=higher_is_better)
    return pl.DataFrame(series).select(score.alias("score")).to_series()


def _money_text(column: str, price: str) -> pl.Expr:
    if price == "units":
        return pl.format("{} units bought", pl.col(column).round(2).cast(pl.String))
    cents = (pl.col(column) * 100).round().cast(pl.Int64)
    return pl.format("{}.{} spent", (cents // 100).cast(pl.String), (cents % 100).cast(pl.String).str.zfill(2))


def _reason(ref: Reference, table: tuple[Segment, ...], price: str) -> pl.Expr:
    """ "R=5: last order 12 days ago; F=2: 2 orders in the last 365 days; M=4: 420.00 spent -> ..."."""
    days = pl.col("recency_days")
    ago = pl.when(days == 0).then(pl.lit("today")).when(days == 1).then(pl.lit("1 day ago")).otherwise(pl.format("{} days ago", days))
    plural = pl.when(pl.col("frequency") == 1).then(pl.lit("")).otherwise(pl.lit("s"))
    orders = pl.format("{} order{} {}", pl.col("frequency"), plural, pl.lit(ref.window_text))
    lowest = pl.when(pl.col("frequency") == 0).then(pl.lit(f", none {ref.window_text} (scored lowest)")).otherwise(pl.lit(""))
    rules = {s.name: f"{s.name} ({s.rule})" for s in table} | {UNSEGMENTED: f"{UNSEGMENTED} (no segment's rule holds)"}
    segment = pl.col("segment").replace_strict(rules, default=pl.col("segment"), return_dtype=pl.String)
    scored = pl.format(
        "R={}: last order {}{}; F={}: {}; M={}: {} -> {}",
        pl.col("r"), ago, lowest, pl.col("f"), orders, pl.col("m"), _money_text("monetary", price), segment,
    )
    prospect = pl.lit(f"no order up to {ref.at.date().isoformat()} -> {PROSPECT}")
    return pl.when(pl.col("segment") == PROSPECT).then(prospect).otherwise(scored)


def scored_table(dataset: Dataset, ref: Reference, price: str, table: tuple[Segment, ...]) -> pl.DataFrame:
    """The per-customer core of :func:`rfm` with ``r, f, m`` and ``segment`` (and ``tenure_days``)."""
    return score_base(base_table(dataset, ref, price, gaps=False), table)


def score_base(base: pl.DataFrame, table: tuple[Segment, ...]) -> pl.DataFrame:
    """:func:`scored_table` from a per-customer core (:func:`~recokit.customers.features.base_table`'s
    columns; ``recokit.spark`` makes it with Spark group-bys)."""
    base = base.with_columns(pl.col("monetary").round(2))
    ranked = pl.col("frequency") > 0
    n = int(base.select(ranked.sum()).item())
    ordered = pl.col("recency_days").is_not_null()
    scores = [
        pl.when(ranked).then(score_expr(pl.col(c), ranked, n, higher_is_better=hib)).when(ordered).then(1).cast(pl.Int64).alias(name)
        for c, name, hib in (("recency_days", "r", False), ("frequency", "f", True), ("monetary", "m", True))
    ]
    scored = base.with_columns(scores)
    return scored.with_columns(assign_segments(scored, table))


def rfm(
    dataset: Dataset,
    *,
    at: Any = None,
    window_days: int | None = 365,
    segments: Sequence[Segment | Mapping[str, Any]] | None = None,
    price: str = "auto",
) -> pl.DataFrame:
    """RFM scores, segment and reason of every customer at a reference date.

    Parameters
    ----------
    dataset : Dataset
        With times and a price (see :mod:`recokit.customers.orders`).
    at : datetime, date, ISO text or None
        The reference moment (default: the last timestamp); nothing later is read.
    window_days : int or None, default 365
        Frequency and monetary count the orders of the last ``window_days`` days; recency is
        the last order whenever it was.
    segments : list of Segment or mappings, optional
        The segment table (first match wins); default :data:`DEFAULT_SEGMENTS`.
    price : {'auto', 'paid', 'catalog', 'units'}
        Where unit prices come from.

    Returns
    -------
    polars.DataFrame
        ``customer_id, recency_days, frequency, monetary, r, f, m, segment, reason``, one row
        per customer in id order (scores and tie rule in the module docstring).

    Examples
    --------
    Three customers (ann ordered twice in June, bob once in March, cid once the day before):

    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import rfm
    >>> orders = pl.DataFrame({
    ...     "customer_id": ["ann", "ann", "bob", "cid"], "item_id": ["shoe", "gel", "gel", "bike"],
    ...     "order_id": [1, 2, 3, 4], "day": ["2025-06-01", "2025-06-25", "2025-03-01", "2025-06-29"],
    ...     "paid": [100.0, 20.0, 40.0, 500.0]})
    >>> shop = Dataset(orders, time_col="day", basket_col="order_id", price_col="paid")
    >>> table = rfm(shop, at="2025-06-30")
    >>> table.select("customer_id", "r", "f", "m", "segment").rows()
    [('ann', 4, 5, 4, 'champions'), ('bob', 2, 2, 2, 'dormant'), ('cid', 5, 2, 5, 'new')]
    >>> table["reason"][0]
    'R=4: last order 5 days ago; F=5: 2 orders in the last 365 days; M=4: 120.00 spent -> champions (R 4-5, F 4-5, M 4-5)'
    """
    table = segment_table(segments)
    ref = reference(dataset, at, window_days)
    return rfm_of(scored_table(dataset, ref, price, table), ref, table, price, stacklevel=3)


def rfm_of(scored: pl.DataFrame, ref: Reference, table: tuple[Segment, ...], price: str, *, stacklevel: int = 2) -> pl.DataFrame:
    """:func:`rfm`'s table from :func:`scored_table`'s (or :func:`score_base`'s): the columns,
    the reasons and the unsegmented customers' DataWarning (``stacklevel`` from the caller)."""
    lost = int((scored["segment"] == UNSEGMENTED).sum())
    if lost:
        warnings.warn(
            f"{lost} of {scored.height} customers match no segment of the table: segment '{UNSEGMENTED}'. "
            "End the table with a catch-all Segment('other').",
            DataWarning,
            stacklevel=stacklevel,
        )
    return scored.select(
        "customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment", _reason(ref, table, price).alias("reason")
    )
