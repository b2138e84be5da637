"""What every customer measure starts from: the reference moment, the window, the purchase lines
(with what each cost) and the orders.

* **The reference moment** ``at`` (inclusive): a ``datetime``, a ``date`` (the whole day
  counts: its last microsecond), an ISO 8601 text, or None for the dataset's last timestamp.
  Nothing after it is read, so a measure at a past date is what one would have computed then.
* **Days** are calendar days: an order's day is the date of its first line; "12 days ago" is
  ``date(at) - date(order)``.
* **The window** of ``window_days`` is the last ``window_days`` calendar days up to and including
  ``date(at)``; ``None`` means the whole history up to ``at``.
* **Purchases** are the rows whose event is ``"purchase"`` (every row when the dataset has no
  event column); an **order** is a basket (``basket_idx``) holding at least one purchase.
* **Price** of a line (``price=``): ``"paid"`` reads the interactions' ``price`` column
  (``Dataset(price_col=...)``), ``"catalog"`` the catalogue's ``price`` column, ``"units"`` counts
  units (each unit is worth 1, for shops without prices); ``"auto"`` (default) takes the first of
  paid and catalogue that exists, else raises. A line's value is quantity x unit price.

Examples
--------
>>> import datetime as dt
>>> from recokit.datasets import sports_shop
>>> from recokit.customers.orders import reference
>>> shop = sports_shop(200, seed=1)
>>> ref = reference(shop, dt.date(2025, 6, 30), 365)
>>> ref.at, ref.first_day_text
(datetime.datetime(2025, 6, 30, 23, 59, 59, 999999), '2024-07-01')
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from recokit._errors import ConfigError, ConfigTypeError, DataError, DataWarning
from recokit.data import Dataset

__all__ = ["PRICES", "Price", "Reference", "order_table", "price_source", "purchase_lines", "purchase_orders", "reference", "reference_from", "resolve_price", "warn_missing_prices"]

Price = Literal["auto", "paid", "catalog", "units"]
#: The accepted values of ``price=``.
PRICES: tuple[str, ...] = ("auto", "paid", "catalog", "units")
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Reference:
    """The moment a measure is taken at and its window, as calendar day numbers (days since
    1970-01-01)."""

    at: dt.datetime
    day: int
    window_days: int | None

    @property
    def first_day(self) -> int | None:
        """The first day inside the window (None: the whole history)."""
        return None if self.window_days is None else self.day - self.window_days + 1

    @property
    def first_day_text(self) -> str | None:
        first = self.first_day
        return None if first is None else (_EPOCH + dt.timedelta(days=first)).isoformat()

    @property
    def window_text(self) -> str:
        """How the window reads in a reason: "in the last 365 days" or "in all history"."""
        return "in all history" if self.window_days is None else f"in the last {self.window_days} days"

    def in_window(self, day: pl.Expr) -> pl.Expr:
        first = self.first_day
        return day.is_not_null() if first is None else day >= first  # a column, not a literal (sums per group)


def _as_moment(at: Any) -> dt.datetime:
    if isinstance(at, str):
        try:
            parsed: dt.date = dt.datetime.fromisoformat(at) if ("T" in at or " " in at.strip()) else dt.date.fromisoformat(at)
        except ValueError as exc:
            raise ConfigError(f"at={at!r} is not an ISO 8601 date or time.", hint="e.g. at='2025-06-30' or at=datetime.date(2025, 6, 30).") from exc
        at = parsed
    if isinstance(at, dt.datetime):
        if at.tzinfo is not None:  # the dataset's times are naive UTC
            at = at.astimezone(dt.UTC).replace(tzinfo=None)
        return at
    if isinstance(at, dt.date):
        return dt.datetime.combine(at, dt.time.max)
    raise ConfigTypeError(f"at must be a datetime, a date, an ISO 8601 text or None. Got {type(at).__name__} {at!r}.")


def reference(dataset: Dataset, at: Any = None, window_days: int | None = 365) -> Reference:
    """The checked reference moment and window (see the module docstring); a
    :class:`~recokit.DataError` for a dataset without times or orders."""
    if not isinstance(dataset, Dataset):
        raise ConfigTypeError(f"expected a recokit.Dataset. Got {type(dataset).__name__}.", hint="build one with recokit.Dataset(orders, catalog, time_col=..., basket_col=...).")
    if not dataset.has_time:
        raise DataError("customer measures need order times; this dataset has none.", hint="build the Dataset with time_col='<your timestamp column>'.")
    return reference_from(dataset.last_time, at, window_days)


def reference_from(last: dt.datetime | None, at: Any = None, window_days: int | None = 365) -> Reference:
    """The reference moment ``at`` (or ``last``, the latest timestamp, when ``at`` is None) and
    the window, checked: what :func:`reference` gives for a dataset whose last time is ``last``
    (``recokit.spark`` passes the last time Spark found)."""
    if window_days is not None and (not isinstance(window_days, int) or isinstance(window_days, bool) or window_days < 1):
        raise ConfigError(f"window_days must be an int >= 1 or None (all history). Got {window_days!r}.")
    if at is None:
        if last is None:
            raise DataError("the dataset has no interactions, so there is no last order to measure from.", hint="pass at=... or add orders.")
        moment = last
    else:
        moment = _as_moment(at)
    return Reference(moment, (moment.date() - _EPOCH).days, window_days)


def price_source(dataset: Dataset, price: str = "auto") -> str:
    """Which price ``price=`` resolves to on ``dataset``: ``"paid"``, ``"catalog"`` or ``"units"``.

    >>> from recokit.datasets import sports_shop
    >>> price_source(sports_shop(50, seed=0))
    'catalog'
    """
    return resolve_price(price, "price" in dataset.interactions.columns, dataset.catalog)


def resolve_price(price: str, has_paid: bool, catalog: pl.DataFrame) -> str:
    """:func:`price_source` from what it reads: whether the lines carry a paid price and the
    catalogue (its ``price`` column, if any)."""
    if price not in PRICES:
        raise ConfigError(f"price must be one of {list(PRICES)}. Got {price!r}.")
    has_catalog = "price" in catalog.columns
    if price == "auto":
        if has_paid or has_catalog:
            return "paid" if has_paid else "catalog"
        raise DataError(
            "no price to measure what customers spent: the interactions have no price column and the catalogue has no 'price' column.",
            column="price",
            hint="build the Dataset with price_col='<unit price paid>', add a numeric 'price' column to the catalogue, or pass price='units' to count units instead of money.",
        )
    if price == "paid" and not has_paid:
        raise DataError("price='paid' needs the unit price of each line: the interactions have no price column.", column="price", hint="build the Dataset with price_col='<unit price paid>'.")
    if price == "catalog":
        if not has_catalog:
            raise DataError("price='catalog' needs a 'price' column in the catalogue.", column="price", hint=f"the catalogue has {catalog.columns}.")
        if not catalog.schema["price"].is_numeric():
            raise DataError(f"the catalogue's 'price' column must be numeric; got {catalog.schema['price']}.", column="price", hint="cast it to float.")
    return price


def _with_unit_price(dataset: Dataset, lines: pl.LazyFrame, source: str) -> pl.LazyFrame:
    if source == "paid":
        return lines.with_columns(pl.col("price").alias("unit_price"))
    if source == "catalog":
        prices = pl.LazyFrame({"item_idx": pl.int_range(dataset.n_items, dtype=pl.Int64, eager=True), "unit_price": dataset.catalog["price"].cast(pl.Float64)})
        return lines.join(prices, on="item_idx", how="left", maintain_order="left")
    return lines.with_columns(pl.lit(1.0).alias("unit_price"))


def _lines(dataset: Dataset, ref: Reference, source: str) -> pl.LazyFrame:
    """The purchase lines up to ``ref.at`` with their (nullable) unit price, lazily."""
    rows = dataset.interactions.lazy().filter(pl.col("timestamp") <= ref.at)
    if "event" in dataset.interactions.columns:
        rows = rows.filter(pl.col("event") == "purchase")
    keep = ["customer_idx", "item_idx", "basket_idx", pl.col("timestamp").dt.date().cast(pl.Int32).alias("day"), "quantity"]
    lines = _with_unit_price(dataset, rows.select([*keep, *(["price"] if source == "paid" else [])]), source)
    return lines.select("customer_idx", "item_idx", "basket_idx", "day", "quantity", "unit_price")


def warn_missing_prices(missing: int, total: int, source: str, *, stacklevel: int = 4) -> None:
    """The DataWarning of ``missing`` of ``total`` purchase lines without a price (none when 0)."""
    if missing:
        where = "no price paid" if source == "paid" else "no catalogue price"
        warnings.warn(f"{missing} of {total} purchase lines have {where}: counted as 0 spent.", DataWarning, stacklevel=stacklevel)


def purchase_lines(dataset: Dataset, ref: Reference, price: str = "auto") -> pl.DataFrame:
    """The purchase lines up to ``ref.at``: ``customer_idx, item_idx, basket_idx, day (Int32),
    quantity, unit_price, value`` (``value = quantity x unit_price``).

    A line without a price (a null paid price, or an item without a catalogue price) is counted
    as 0 spent, with a :class:`~recokit.DataWarning` that says how many lines.
    """
    source = price_source(dataset, price)
    lines = _lines(dataset, ref, source).collect()
    warn_missing_prices(lines["unit_price"].null_count(), lines.height, source)
    return lines.with_columns(pl.col("unit_price").fill_null(0.0)).with_columns((pl.col("quantity") * pl.col("unit_price")).alias("value"))


def purchase_orders(dataset: Dataset, ref: Reference, price: str = "auto") -> pl.DataFrame:
    """:func:`order_table` of :func:`purchase_lines`, without holding the lines (one lazy
    query; the same missing-price warning)."""
    source = price_source(dataset, price)
    value = pl.col("quantity") * pl.col("unit_price").fill_null(0.0)
    orders = (
        _lines(dataset, ref, source)
        .group_by("basket_idx")
        .agg(
            pl.col("customer_idx").first(),
            pl.col("day").min(),
            value.sum().alias("value"),
            pl.col("quantity").sum().alias("units"),
            pl.col("unit_price").null_count().alias("__missing"),
            pl.len().alias("__lines"),
        )
        .sort("basket_idx")
        .collect()
    )
    warn_missing_prices(int(orders["__missing"].sum()), int(orders["__lines"].sum()), source)
    return orders.drop("__missing", "__lines")


def order_table(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per order (basket with a purchase): ``basket_idx, customer_idx, day, value,
    units``, in ``basket_idx`` order."""
    return (
        lines.group_by("basket_idx")
        .agg(
            pl.col("customer_idx").first(),
            pl.col("day").min(),
            pl.col("value").sum(),
            pl.col("quantity").sum().alias("units"),
        )
        .sort("basket_idx")
    )
