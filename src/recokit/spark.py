"""recokit on Spark: fit from a Spark DataFrame, recommend on the executors (``recokit[spark]``).

- :func:`fit` -- the count tables a count-based model derives its state from (distinct buyers
  per item, pairs of items over customers or over baskets, with the basket-size cap; BuyAgain's
  purchase lines per customer, item and time; Renewal's buyers per category, repurchase gaps
  per customer and category, and recent buyers per item) are counted by Spark with group-bys,
  self-joins and a window; the driver builds the :class:`~recokit.Dataset` from the named
  columns only (collected as Arrow: ids, times, quantities, events, prices) and fits the model
  from the Spark tables through :class:`recokit.data.FitsFromTables`. The result equals
  ``model.fit(Dataset(...))`` on the same rows, bit for bit: Spark's part is integers only
  (counts, µs, gaps in µs), and every float (decayed weights, quartiles, appeal) is computed on
  the driver by the model's own code, in the tables' sorted order.
- :func:`recommend_many` -- the fitted model is saved with :func:`recokit.save`, its files are
  broadcast as bytes and loaded once per executor process with :func:`recokit.load` (never a
  pickled model); each partition of customer ids is scored by ``model.recommend_many``.
- :func:`customer_base`, :func:`rfm` -- the per-customer table behind :mod:`recokit.customers`
  (orders, spend and units in the window, recency, tenure, median gaps) grouped by Spark from the
  order lines, one row per customer collected (no Dataset, no order line on the driver); RFM
  scored on it by recokit.customers' own code.

Models that are not derived from count tables (ALS, BPR, ContentBased, Hybrid, Ruled,
Popularity with a window, ItemKNN's cosine / BM25 / TF-IDF, itemsets longer than pairs) are
fitted on the driver from the same Dataset, and the ``recokit`` logger says so at
INFO: the nightly job gives the model a plain ``fit`` would, at a plain fit's cost.
docs/scaling.md says what runs where.

Examples
--------
>>> import recokit.spark  # doctest: +SKIP
>>> orders = spark.read.parquet("s3://lake/order_lines/")  # doctest: +SKIP
>>> model = recokit.spark.fit(ItemKNN("jaccard"), orders, time_col="ts", basket_col="order_id")  # doctest: +SKIP
>>> recokit.spark.recommend_many(model, orders.select("customer_id").distinct(), k=10).write.parquet("s3://lake/recs/")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import tempfile
import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import pyarrow as pa

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.adapters import spark as _spark
from recokit.core import Recommender
from recokit.customers.features import base_of
from recokit.customers.orders import Reference, reference_from, resolve_price, warn_missing_prices
from recokit.customers.rfm import Segment, rfm_of, score_base, segment_table
from recokit.data import (
    CountTables,
    Dataset,
    FitsFromTables,
    TableSpec,
    read_id_table,
)
from recokit.persist import load, save

__all__ = ["collect_dataset", "count_tables", "customer_base", "fit", "recommend_many", "rfm", "saved_files"]

_LOG = logging.getLogger("recokit")
M = TypeVar("M", bound=Recommender)

#: the keywords of :class:`~recokit.Dataset` that name interaction columns
_COLUMN_ARGS = ("customer_col", "item_col", "time_col", "basket_col", "quantity_col", "event_col", "price_col")
_DEFAULTS: dict[str, str | None] = {"customer_col": "customer_id", "item_col": "item_id"}


def _local(table: Any, what: str) -> Any:
    """A Spark DataFrame collected as Arrow (catalogues and customer tables are small); anything
    else as given (a polars / pandas frame, an Arrow table, a path)."""
    if type(table).__module__.startswith("pyspark."):
        _spark.check_frame(table, [], what)
        return _spark.collect_arrow(table, table.columns)
    return table


def collect_dataset(interactions: Any, *, catalog: Any = None, customers: Any = None, **columns: Any) -> Dataset:
    """The driver's :class:`~recokit.Dataset` of a Spark DataFrame of interactions: the named
    columns only, collected as Arrow in the frame's row order, then built and checked as
    ``Dataset(rows, catalog, customers, **columns)`` would (the same errors and warnings).

    ``columns`` are :class:`~recokit.Dataset`'s keywords (``customer_col``, ``time_col``,
    ``basket_col``, ``event_weights``, ``unknown_items`` ...). ``catalog`` and ``customers`` may
    be Spark DataFrames (collected whole) or anything ``Dataset`` takes.
    """
    names = {**_DEFAULTS, **{k: v for k, v in columns.items() if k in _COLUMN_ARGS}}
    needed = [str(v) for k in _COLUMN_ARGS if (v := names.get(k)) is not None]
    _spark.check_frame(interactions, needed, "interactions")
    rows = _spark.collect_arrow(interactions, needed)
    return Dataset(rows, _local(catalog, "catalog"), _local(customers, "customers"), **columns)


def count_tables(interactions: Any, dataset: Dataset, spec: TableSpec) -> CountTables:
    """The count tables ``spec`` asks for, counted by Spark from ``interactions`` (the rows
    ``dataset`` was built from, by :func:`collect_dataset`): equal to
    ``recokit.data.tables_for(dataset, spec)``, with only per-item and per-pair rows collected
    (and, for the repeat tables, a row per purchase line or per repurchase interval)."""
    _spark.check_frame(interactions, [], "interactions")
    return _spark.count_tables(interactions, dataset, spec)


def fit(model: M, interactions: Any, *, catalog: Any = None, customers: Any = None, dataset: Dataset | None = None, **columns: Any) -> M:
    """Fit ``model`` on a Spark DataFrame of interactions and return it: equal to
    ``model.fit(Dataset(rows, catalog, customers, **columns))`` on the same rows.

    A model derived from count tables (``model.table_spec()`` not None: Popularity of distinct
    buyers, ItemKNN's Jaccard / lift / conditional, pair AssociationRules, BuyAgain, Renewal)
    gets them counted by Spark; any other model is fitted on the driver from the collected
    Dataset (logged at INFO). Renewal's purchase histories (what its requests age at ``now``)
    are read from the Dataset, as every model's histories are.

    Parameters
    ----------
    model : Recommender
    interactions : pyspark.sql.DataFrame
        One row per interaction; only the named columns are read.
    catalog, customers : optional
        As for :class:`~recokit.Dataset`; a Spark DataFrame is collected whole.
    dataset : Dataset, optional
        The driver Dataset :func:`collect_dataset` built from these same rows, to fit several models
        without collecting the rows again (then no catalog, customers or column keyword).
    **columns
        :class:`~recokit.Dataset`'s keywords (``customer_col``, ``time_col``, ``basket_col``...).
    """
    if not isinstance(model, Recommender):
        raise ConfigError(f"recokit.spark.fit expects a recokit model; got {type(model).__name__}.")
    if dataset is not None and (columns or catalog is not None or customers is not None):
        raise ConfigError(
            "recokit.spark.fit: dataset=... was given with catalog, customers or column keywords; the Dataset already fixes them.",
            hint="pass either dataset=recokit.spark.collect_dataset(...) or the keywords, not both.",
        )
    ds = dataset if dataset is not None else collect_dataset(interactions, catalog=catalog, customers=customers, **columns)
    spec = model.table_spec() if isinstance(model, FitsFromTables) else None
    if spec is None:
        _LOG.info("recokit.spark.fit: %s is not derived from count tables; fitted on the driver from the collected Dataset (%d rows)", type(model).__name__, ds.n_interactions)
        return model.fit(ds)
    assert isinstance(model, FitsFromTables)
    model.fit_from_tables(ds, count_tables(interactions, ds, spec))
    return model


# -- recommending on the executors ----------------------------------------------------------
def saved_files(model: Recommender) -> dict[str, bytes]:
    """The files :func:`recokit.save` writes for ``model``, by path relative to the saved
    directory: what :func:`recommend_many` broadcasts (bytes, never a pickled object)."""
    with tempfile.TemporaryDirectory(prefix="recokit-spark-") as tmp:
        root = save(model, Path(tmp) / "model")
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


#: the model an executor process loaded last, by the SHA-256 of its manifest (one load per
#: process and model, not one per partition)
_LOADED: dict[str, Recommender] = {}


def _loaded(files: Mapping[str, bytes]) -> Recommender:
    key = hashlib.sha256(files["manifest.json"]).hexdigest()
    if key not in _LOADED:
        with tempfile.TemporaryDirectory(prefix="recokit-spark-") as tmp:
            root = Path(tmp) / "model"
            for name, data in files.items():
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            model = load(root)
        _LOADED.clear()
        _LOADED[key] = model
    return _LOADED[key]


def _recommend_part(settings: dict[str, Any], files: dict[str, bytes], ids: list[Hashable]) -> pa.Table:
    """One partition's lists: the broadcast model (loaded once per process) on its ids."""
    return _loaded(files).recommend_many(ids, **settings).to_arrow()


def recommend_many(model: Recommender, customers: Any, k: int = 10, *, customer_col: str = "customer_id", **options: Any) -> Any:
    """``model.recommend_many`` on the executors: a Spark DataFrame with the same rows as
    ``model.recommend_many(ids, k, **options)`` for the ids of ``customers[customer_col]``
    (row order aside: sort by ``customer_id, rank``).

    The model is saved (:func:`saved_files`), broadcast as bytes and loaded once per executor
    process; each Arrow batch of ids is one ``recommend_many`` call. ``options`` are
    ``recommend_many``'s (``exclude_purchased``, ``now``, ``reasons``, ``backfill``,
    ``columns``, ``consent``, ``rules_as``, ``batch_size``), checked on the driver first.
    A ``consent`` column's DataWarning is raised on the executors (in their logs).

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id, rank, item_id, score, reason, rules`` (+ ``columns``), typed as the
        in-memory frame's Arrow schema.
    """
    _spark.check_frame(customers, [customer_col], "customers")
    empty = model.recommend_many([], k, **options)  # checks the model is fitted and every option
    settings = {"k": k, **options}
    schema = _spark.arrow_schema(empty.to_arrow())
    return _spark.map_partitions(customers, customer_col, saved_files(model), functools.partial(_recommend_part, settings), schema)


# -- customer measures: recokit.customers' per-customer table, grouped by Spark --------------
_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
#: the line checks that are errors, and what each says
_BAD = {
    "null_ids": "a null customer or item id",
    "null_times": "a null time",
    "null_baskets": "a null basket id",
    "bad_quantities": "a quantity that is null, NaN or <= 0",
    "bad_prices": "a negative or NaN price",
}


def _measure_columns(columns: Mapping[str, Any]) -> dict[str, str | None]:
    unknown = sorted(set(columns) - set(_COLUMN_ARGS))
    if unknown:
        raise ConfigError(f"recokit.spark customer measures: unknown keyword(s) {unknown}.", hint=f"the column keywords are {list(_COLUMN_ARGS)}.")
    names: dict[str, str | None] = {k: None for k in _COLUMN_ARGS} | _DEFAULTS | dict(columns)
    if names["customer_col"] is None:
        raise ConfigError("recokit.spark customer measures need customers: customer_col=None (baskets only) has none to measure.", hint="name customer_col.")
    if names["time_col"] is None:
        raise DataError("customer measures need order times; no time_col was named.", hint="pass time_col='<your timestamp column>'.")
    return names


def _checked_rows(interactions: Any, names: dict[str, str | None], cat: pl.DataFrame | None, unknown_items: str) -> tuple[dt.datetime | None, pa.Table | None]:
    """The last time of the rows kept (those on catalogue items) and the known items' table,
    after Spark's line checks: bad values raise as the Dataset's checks do; rows on items absent
    from the catalogue raise or are dropped with a DataWarning (``unknown_items``)."""
    if unknown_items not in ("error", "drop"):
        raise ConfigError(f"unknown_items must be 'error' or 'drop'. Got {unknown_items!r}.")
    _spark.check_frame(interactions, [str(v) for v in names.values() if v is not None], "interactions")
    _spark.check_numeric(interactions, [names["quantity_col"], names["price_col"]], "interactions")
    known = None if cat is None else pa.table({"item": cat[str(names["item_col"])].to_arrow()})
    got = _spark.line_checks(interactions, names, known)
    for key, what in _BAD.items():
        if got[key]:
            raise DataError(f"interactions: {got[key]} of {got['rows']} row(s) have {what}.", hint="fix or drop these rows in Spark before measuring.")
    n_unknown = got["rows"] - got["kept"]
    if n_unknown:
        msg = f"interactions: {n_unknown} row(s) refer to items absent from the catalog."
        if unknown_items == "error":
            raise DataError(msg, hint="add the items to the catalog, or pass unknown_items='drop' to drop these rows with a warning.")
        warnings.warn(f"{msg} Dropped {n_unknown} of {got['rows']} rows (unknown_items='drop').", DataWarning, stacklevel=4)
    last = None if got["last_us"] is None else _EPOCH + got["last_us"] * _MICROSECOND
    return last, known


def _customer_ids(per: pl.DataFrame, customers: Any, customer_col: str) -> pl.Series:
    """Every customer: the customers table's and the rows' ids, sorted (the Dataset's id order)."""
    ids = per["c"]
    if customers is not None:
        table = read_id_table(_local(customers, "customers"), "customers", [customer_col])[customer_col]
        if table.dtype != ids.dtype:
            raise DataError(f"customer ids are {ids.dtype} in interactions but {table.dtype} in customers.", hint="cast both columns to the same type (str or int).")
        ids = pl.concat([table, ids])
    return ids.unique().sort().alias("customer_id")


def _base(
    interactions: Any, catalog: Any, customers: Any, at: Any, window_days: int | None, price: str, gaps: bool, unknown_items: str, columns: Mapping[str, Any]
) -> tuple[pl.DataFrame, Reference]:
    names = _measure_columns(columns)
    item_col, customer_col = str(names["item_col"]), str(names["customer_col"])
    cat = None if catalog is None else read_id_table(_local(catalog, "catalog"), "catalog", [item_col])
    source = resolve_price(price, names["price_col"] is not None, cat if cat is not None else pl.DataFrame())
    last, known = _checked_rows(interactions, names, cat, unknown_items)
    ref = reference_from(last, at, window_days)
    prices = None
    if source == "catalog" and cat is not None:
        prices = pa.table({"item": cat[item_col].to_arrow(), "p": cat["price"].cast(pl.Float64).to_arrow()})
    order_cols = names | {"price_col": names["price_col"] if source == "paid" else None}
    at_us = (ref.at - _EPOCH) // _MICROSECOND
    raw = pl.from_arrow(_spark.customer_orders(interactions, order_cols, known, prices, at_us, ref.first_day, gaps=gaps))
    assert isinstance(raw, pl.DataFrame)
    ordered = raw.filter(pl.col("lifetime_orders").is_not_null())
    if int(ordered["owners"].sum()):
        raise DataError(
            f"interactions: {int(ordered['owners'].sum())} order(s) of column {names['basket_col']!r} hold lines of several customers.",
            column=str(names["basket_col"]), hint="an order belongs to one customer: fix the order ids.",
        )  # fmt: skip
    warn_missing_prices(int(ordered["missing"].sum()), int(ordered["lines"].sum()), source, stacklevel=4)
    ids = _customer_ids(raw, customers, customer_col)
    index = pl.DataFrame({"c": ids, "customer_idx": pl.int_range(len(ids), dtype=pl.Int64, eager=True)})
    per = ordered.join(index, on="c").select(
        "customer_idx",
        (ref.day - pl.col("last_day")).cast(pl.Int64).alias("recency_days"),
        pl.col("frequency").cast(pl.Int64), pl.col("monetary").cast(pl.Float64), pl.col("units").cast(pl.Float64),
        pl.col("lifetime_orders").cast(pl.Int64), (ref.day - pl.col("first_day")).cast(pl.Int64).alias("tenure_days"),
        *([pl.col("median_gap_days").cast(pl.Float64)] if gaps else []),
    )  # fmt: skip
    return base_of(ids, per), ref


def customer_base(
    interactions: Any,
    *,
    catalog: Any = None,
    customers: Any = None,
    at: Any = None,
    window_days: int | None = 365,
    price: str = "auto",
    gaps: bool = True,
    unknown_items: str = "error",
    **columns: Any,
) -> pl.DataFrame:
    """The per-customer table behind :mod:`recokit.customers` (RFM, lifecycle, contact plans)
    grouped by Spark from the order lines: what
    ``recokit.customers.features.base_table(Dataset(rows, catalog, customers, **columns), ...)``
    returns, without the rows on the driver.

    Spark groups the purchase lines up to ``at`` into orders (``basket_col``, else a customer's
    lines of one UTC day) and the orders per customer, and takes the median gap between order
    days with a window function; the driver receives one row per customer. Days, windows and
    prices are :mod:`recokit.customers.orders`'.

    Parameters
    ----------
    interactions : pyspark.sql.DataFrame
        The order lines (``time_col`` a Spark TIMESTAMP, TIMESTAMP_NTZ or DATE).
    catalog, customers : optional
        The catalogue (its items are the universe; its ``price`` column for ``price="catalog"``)
        and the customer table (customers without an order get a row); Spark DataFrames are
        collected whole.
    at, window_days, price
        As for :func:`recokit.customers.rfm`.
    gaps : bool, default True
        Add ``median_gap_days``.
    unknown_items : {'error', 'drop'}
        Rows on items absent from the catalogue: raise, or drop them with a DataWarning.
    **columns
        ``customer_col``, ``item_col``, ``time_col`` (required), ``basket_col``,
        ``quantity_col``, ``event_col`` (only ``"purchase"`` rows are orders), ``price_col``.

    Returns
    -------
    polars.DataFrame
        ``customer_idx, customer_id, recency_days, frequency, monetary, units,
        lifetime_orders, tenure_days`` (+ ``median_gap_days``), one row per customer in id
        order. Integers and days equal the in-memory table's; ``monetary`` is a float sum whose
        order Spark chooses (docs/scaling.md: equal to the cent, exactly equal after RFM's
        rounding when prices have at most two decimals).

    Examples
    --------
    >>> base = recokit.spark.customer_base(lines, catalog=catalog, time_col="ts", basket_col="order_id")  # doctest: +SKIP
    """
    return _base(interactions, catalog, customers, at, window_days, price, gaps, unknown_items, columns)[0]


def rfm(
    interactions: Any,
    *,
    catalog: Any = None,
    customers: Any = None,
    at: Any = None,
    window_days: int | None = 365,
    segments: Sequence[Segment | Mapping[str, Any]] | None = None,
    price: str = "auto",
    unknown_items: str = "error",
    **columns: Any,
) -> pl.DataFrame:
    """:func:`recokit.customers.rfm` of a Spark DataFrame of order lines: the per-customer table
    by Spark (:func:`customer_base`), the scores, segments and reasons on the driver by
    recokit.customers' own code (a row per customer: cheap). The same table as
    ``recokit.customers.rfm(Dataset(rows, catalog, customers, **columns), ...)``.

    Examples
    --------
    >>> table = recokit.spark.rfm(lines, catalog=catalog, time_col="ts", basket_col="order_id", price_col="paid")  # doctest: +SKIP
    >>> table.group_by("segment").len()  # doctest: +SKIP
    """
    table = segment_table(segments)
    base, ref = _base(interactions, catalog, customers, at, window_days, price, False, unknown_items, columns)
    return rfm_of(score_base(base, table), ref, table, price, stacklevel=3)
