"""The one place recokit calls pyspark: count tables with Spark SQL, rows collected as Arrow,
and a function applied to each partition (``mapInArrow``).

Nothing here knows a model: :mod:`recokit.spark` puts these pieces together. Every table is a
group-by over the rows of a Spark DataFrame (ids mapped to recokit's item numbers by a broadcast
join with the driver's item map), so its size on the driver is the number of items (per-item
counts) or of pairs, never of rows -- but for the per-customer repeat tables, whose size is
their distinct purchase lines (BuyAgain) or their repurchase intervals (Renewal), mapped to the
Dataset's customer numbers by a join and sorted by Spark. Those hold integers only (counts, µs,
gaps in µs), so they are exact whatever order Spark adds in. pyspark is imported on first use: without it a
:class:`~recokit.DependencyError` names the install command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute  # noqa: F401 -- pa.compute
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DependencyError
from recokit.data import (
    DAY_US,
    CategoryRepeats,
    CategorySpec,
    CountTables,
    Dataset,
    PurchaseLines,
    TableSpec,
    category_codes,
    event_rows,
    min_count_for,
    recent_from_us,
)

if TYPE_CHECKING:  # pragma: no cover - the types only
    from pyspark.sql import Column, DataFrame

__all__ = [
    "MIN_VERSION",
    "arrow_schema",
    "check_frame",
    "check_numeric",
    "collect_arrow",
    "count_tables",
    "customer_orders",
    "line_checks",
    "map_partitions",
    "pyspark_version",
    "repeat_tables",
    "time_micros",
]

#: The oldest pyspark this adapter was written against (``DataFrame.toArrow`` came in 4.0).
MIN_VERSION = (4, 0)


def pyspark_version() -> str:
    """Import pyspark and check its version; return it (a DependencyError when missing or old)."""
    try:
        import pyspark
    except ImportError as exc:
        raise DependencyError("recokit.spark needs pyspark, which is not installed.", hint="pip install 'recokit[spark]' (and Java 17 or later for Spark 4).") from exc
    version = str(getattr(pyspark, "__version__", "0"))
    parts = tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in version.split(".")[:2])
    if parts < MIN_VERSION:
        raise DependencyError(
            f"recokit.spark needs pyspark >= {'.'.join(map(str, MIN_VERSION))}; found {version}.", hint="pip install 'recokit[spark]' (it pins a supported pyspark)."
        )
    return version


def check_frame(df: Any, columns: Sequence[str], what: str) -> None:
    """Raise unless ``df`` is a Spark DataFrame holding ``columns``."""
    pyspark_version()
    from pyspark.sql import DataFrame as SparkFrame

    if not isinstance(df, SparkFrame):
        raise ConfigError(f"recokit.spark: {what} must be a Spark DataFrame; got {type(df).__name__}.", hint="spark.read.parquet(...) or spark.createDataFrame(...).")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what}: no column(s) {missing} in the Spark DataFrame.", hint=f"its columns are {df.columns}; pass the column names (customer_col=..., item_col=...).")


def check_numeric(df: DataFrame, columns: Sequence[str | None], what: str) -> None:
    """Raise unless each named column (None: skipped) of ``df`` is numeric (a quantity, a price)."""
    from pyspark.sql import types as T

    for column in filter(None, columns):
        dtype = df.schema[column].dataType
        if not isinstance(dtype, T.NumericType):
            raise DataError(f"{what}: column {column!r} must be numeric; got {dtype.simpleString()}.", column=column, hint=f"cast it first: df.withColumn({column!r}, F.col({column!r}).cast('double')).")


def _small_types(table: pa.Table) -> pa.Table:
    """``table`` with 32-bit-offset strings and lists (polars writes large ones; Spark reads the others)."""

    def small(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_large_list(t):
            return pa.list_(small(t.value_type))
        return t

    return table.cast(pa.schema([pa.field(f.name, small(f.type), f.nullable) for f in table.schema]))


def collect_arrow(df: DataFrame, columns: Sequence[str]) -> pa.Table:
    """The named columns of ``df`` collected on the driver as one Arrow table, in the frame's
    row order (a projection: no shuffle)."""
    return df.select(*dict.fromkeys(columns)).toArrow()


# -- count tables -----------------------------------------------------------------------------
def _day(df: DataFrame, column: str) -> Column:
    """A key of the UTC day of a timestamp (or of a date): what the Dataset calls one day."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = df.schema[column].dataType
    col = F.col(column)
    if isinstance(dtype, T.TimestampType):  # an instant: its UTC day, whatever the session's time zone
        micros = F.unix_micros(col)
        return micros - F.pmod(micros, F.lit(DAY_US))
    if isinstance(dtype, (T.TimestampNTZType, T.DateType)):  # a wall-clock time or a date: its own day
        return F.unix_date(F.to_date(col))
    raise ConfigError(
        f"recokit.spark: time_col {column!r} is {dtype.simpleString()}; baskets by day need a timestamp or a date in Spark.",
        hint=f"cast it first: df.withColumn({column!r}, F.to_timestamp({column!r})), or name the orders (basket_col=...).",
    )


def _rows(df: DataFrame, dataset: Dataset) -> tuple[DataFrame, list[str]]:
    """``c`` (the customer), ``i`` (item_idx) and the basket key columns of every row on a
    Dataset item (an inner join with the item map: rows the Dataset dropped drop here too)."""
    from pyspark.sql import functions as F

    cols = dataset.columns
    item_col, basket_col, time_col = str(cols["item_col"]), cols["basket_col"], cols["time_col"]
    customer_col = cols["customer_col"] or basket_col
    ids = pa.table({"__item": dataset.item_ids.series.to_arrow(), "i": pa.array(np.arange(dataset.n_items, dtype=np.int64))})
    items = df.sparkSession.createDataFrame(_small_types(ids))
    select = [F.col(str(customer_col)).alias("c"), F.col(item_col).alias("__item")]
    if basket_col is not None:
        select.append(F.col(basket_col).alias("__b"))
        key = ["__b"]
    elif time_col is not None:
        select.append(_day(df, time_col).alias("__d"))
        key = ["c", "__d"]
    else:
        key = ["c"]
    rows = df.select(*select).join(F.broadcast(items), "__item").drop("__item")
    return rows, key


def _vector(rows: pa.Table, tag: int, n: int) -> np.ndarray:
    """The per-item counts tagged ``tag`` of the collected summary, as an int64 vector."""
    mine = rows.filter(pa.compute.equal(rows.column("t"), tag))
    out = np.zeros(n, dtype=np.int64)
    out[mine.column("i").to_numpy()] = mine.column("n").to_numpy()
    return out


def _count(frame: DataFrame, tag: int, by: Sequence[str]) -> DataFrame:
    """``t = tag, i, n``: rows of ``frame`` per ``by`` (``i``, or nothing: one total with i = -1)."""
    from pyspark.sql import functions as F

    counted = frame.groupBy(*by).agg(F.count(F.lit(1)).alias("n"))
    item = F.col("i") if by else F.lit(-1).cast("long")
    return counted.select(F.lit(tag).alias("t"), item.alias("i"), F.col("n"))


def _pair_rows(left: DataFrame, key: Sequence[str], tag: int) -> DataFrame:
    """``t = tag, i1 < i2``: one row per key (customer, basket) of ``left`` holding both items."""
    from pyspark.sql import functions as F

    a = left.select(*key, F.col("i").alias("i1"))
    b = left.select(*key, F.col("i").alias("i2"))
    return a.join(b, list(key)).where(F.col("i1") < F.col("i2")).select(F.lit(tag).alias("t"), "i1", "i2")


def _symmetric(got: pa.Table, tag: int, n: int) -> sp.csr_array:
    """Items x items (symmetric, float64, canonical) from the collected pair counts tagged ``tag``."""
    mine = got.filter(pa.compute.equal(got.column("t"), tag))
    r, c = mine.column("i1").to_numpy().astype(np.int64), mine.column("i2").to_numpy().astype(np.int64)
    v = mine.column("n").to_numpy().astype(np.float64)
    out = sp.csr_array((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n))
    out.sum_duplicates()
    out.sort_indices()
    return out


#: tags of the collected summary: distinct buyers per item, kept baskets per item, kept and
#: excluded baskets (totals); and of the pair counts: over customers, over baskets
_BUYERS, _IN_BASKETS, _KEPT, _EXCLUDED = 0, 1, 2, 3
_CUSTOMER_PAIRS, _BASKET_PAIRS = 0, 1


def _basket_lines(rows: DataFrame, key: list[str], spec: TableSpec) -> tuple[DataFrame, DataFrame]:
    """The distinct (basket, item) lines of the baskets within the cap, and one row per basket
    with ``kept`` (its distinct items <= ``spec.max_basket_size``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lines = rows.select(*key, "i").distinct()
    if spec.max_basket_size is None:
        return lines, lines.select(*key).distinct().withColumn("kept", F.lit(True))
    sized = lines.withColumn("__size", F.count(F.lit(1)).over(Window.partitionBy(*key)))
    kept = sized.where(F.col("__size") <= spec.max_basket_size).drop("__size")
    per_basket = sized.groupBy(*key).agg((F.max("__size") <= spec.max_basket_size).alias("kept"))
    return kept, per_basket


def count_tables(df: DataFrame, dataset: Dataset, spec: TableSpec) -> CountTables:
    """The count tables ``spec`` asks for, counted by Spark from ``df``'s rows (the rows
    ``dataset`` was built from; the columns named as in ``dataset.columns``).

    Two Spark jobs for the per-item and per-pair tables at most: the per-item counts and basket
    totals (one union of group-bys), then the pair counts (self-joins on the customer and on the
    basket, one group-by); one for the per-customer repeat tables (:func:`repeat_tables`).
    """
    out = _item_tables(df, dataset, spec) if spec.buyers or spec.pairs or spec.baskets else CountTables(None)
    lines, repeats = repeat_tables(df, dataset, spec.purchase_lines, spec.categories)
    return CountTables(out.item_buyers, out.customer_pairs, out.item_baskets, out.basket_pairs, out.n_baskets, out.n_baskets_excluded, lines, repeats)


def _item_tables(df: DataFrame, dataset: Dataset, spec: TableSpec) -> CountTables:
    """The per-item and per-pair tables of ``spec``."""
    from pyspark.sql import functions as F

    rows, key = _rows(df, dataset)
    n = dataset.n_items
    bought = rows.select("c", "i").distinct()
    parts = [_count(bought, _BUYERS, ["i"])]
    if spec.baskets:
        lines, baskets = _basket_lines(rows, key, spec)
        parts += [_count(lines, _IN_BASKETS, ["i"]), _count(baskets.where("kept"), _KEPT, []), _count(baskets.where(~F.col("kept")), _EXCLUDED, [])]
    summary = functools.reduce(_union, parts).toArrow()
    buyers = _vector(summary, _BUYERS, n)
    pairs = [_pair_rows(bought, ["c"], _CUSTOMER_PAIRS)] if spec.pairs else []
    if not spec.baskets:
        customer_pairs = _symmetric(_collect_pairs(pairs), _CUSTOMER_PAIRS, n) if pairs else None
        return CountTables(buyers, customer_pairs)
    item_baskets = _vector(summary, _IN_BASKETS, n)
    totals = {int(t): int(c) for t, c in zip(summary.column("t").to_pylist(), summary.column("n").to_pylist(), strict=True) if t in (_KEPT, _EXCLUDED)}
    n_baskets, n_excluded = totals.get(_KEPT, 0), totals.get(_EXCLUDED, 0)
    if spec.pair_min_support is not None:
        frequent = np.flatnonzero(item_baskets >= min_count_for(spec.pair_min_support, n_baskets)).astype(np.int64)
        lines = lines.join(F.broadcast(df.sparkSession.createDataFrame(pa.table({"i": pa.array(frequent)}))), "i")
    got = _collect_pairs([*pairs, _pair_rows(lines, key, _BASKET_PAIRS)])
    customer_pairs = _symmetric(got, _CUSTOMER_PAIRS, n) if spec.pairs else None
    return CountTables(buyers, customer_pairs, item_baskets, _symmetric(got, _BASKET_PAIRS, n), n_baskets, n_excluded)


# -- per-customer repeat tables (integers only: exact in any order) ----------------------------
def _id_maps(df: DataFrame, dataset: Dataset, item_cat: np.ndarray | None) -> tuple[DataFrame, DataFrame]:
    """The Dataset's id maps as Spark frames, built once per call: ``__item -> i`` (+ ``k``, the
    item's category code, -1 none, with ``item_cat``) and ``c -> ci`` (customer_idx)."""
    items = {"__item": dataset.item_ids.series.to_arrow(), "i": pa.array(np.arange(dataset.n_items, dtype=np.int64))}
    if item_cat is not None:
        items["k"] = pa.array(item_cat.astype(np.int64))
    customers = {"c": dataset.customer_ids.series.to_arrow(), "ci": pa.array(np.arange(dataset.n_customers, dtype=np.int64))}
    spark = df.sparkSession
    return spark.createDataFrame(_small_types(pa.table(items))), spark.createDataFrame(_small_types(pa.table(customers)))


def _purchase_rows(df: DataFrame, dataset: Dataset, event: str, items: DataFrame) -> DataFrame:
    """``c`` (the customer id), ``i`` (item_idx) and ``t`` (µs as the Dataset reads the time; 0
    without one), and the columns of ``items`` (:func:`_id_maps`), of the rows of ``event``
    (every row without an event column) on the Dataset's items."""
    from pyspark.sql import functions as F

    cols = dataset.columns
    customer_col, time_col, event_col = str(cols["customer_col"] or cols["basket_col"]), cols["time_col"], cols["event_col"]
    customer = F.col(customer_col)
    if dataset.customer_ids.series.dtype == pl.String:  # basket ids stand for customers: the Dataset reads them as text
        customer = customer.cast("string")
    t = time_micros(df, time_col) if time_col is not None else F.lit(0).cast("long")
    rows = df.select(customer.alias("c"), F.col(str(cols["item_col"])).alias("__item"), t.alias("t"), *([F.col(event_col).cast("string").alias("__e")] if event_col else []))
    if event_col is not None:
        rows = rows.where(F.col("__e") == F.lit(event))
    return rows.join(F.broadcast(items), "__item")


#: tags of the repeat rows: a purchase line, an interval, distinct buyers per category, per
#: item, per item of late
_LINE, _GAP, _CATEGORY_BUYERS, _ITEM_BUYERS, _RECENT_BUYERS = 0, 1, 2, 3, 4


def _tagged(frame: DataFrame, tag: Column, a: Column, b: Column, c: Column, d: Column) -> DataFrame:
    """``tag, a, b, c, d`` (all long): one schema for every repeat table, collected at once."""
    return frame.select(*[v.cast("long").alias(k) for k, v in {"tag": tag, "a": a, "b": b, "c": c, "d": d}.items()])


def _line_rows(df: DataFrame, dataset: Dataset, items: DataFrame, customers: DataFrame) -> DataFrame:
    """The purchase lines as tagged rows: ``a, b, c`` customer_idx, item_idx, µs; ``d`` purchases."""
    from pyspark.sql import functions as F

    lines = _purchase_rows(df, dataset, "purchase", items).groupBy("c", "i", "t").agg(F.count(F.lit(1)).alias("n")).join(customers, "c")
    return _tagged(lines, F.lit(_LINE), F.col("ci"), F.col("i"), F.col("t"), F.col("n"))


def _category_rows(df: DataFrame, dataset: Dataset, spec: CategorySpec, items: DataFrame, customers: DataFrame) -> list[DataFrame]:
    """The category repeat tables as tagged rows: the intervals (``a, b, c`` customer_idx,
    category, µs of the purchase ending it; ``d`` its length: a window's previous purchase time
    per customer and category, kept when at least ``spec.min_gap_us``); the distinct buyers
    (``b`` the category or item, ``d`` buyers)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    mine = _purchase_rows(df, dataset, spec.event, items).where(F.col("k") >= 0)
    recent = F.col("t") >= F.lit(recent_from_us(dataset, spec.recent_days))
    keys = [(_CATEGORY_BUYERS, F.col("k"), F.lit(True)), (_ITEM_BUYERS, F.col("i"), F.lit(True)), (_RECENT_BUYERS, F.col("i"), recent)]
    # each row once, as (tag, key) pairs: the distinct buyers of all three counts in one group-by
    pairs = mine.select("c", F.explode(F.array(*[F.when(w, F.struct(F.lit(tag).alias("t"), key.alias("i"))) for tag, key, w in keys])).alias("x"))
    buyers = pairs.where(F.col("x").isNotNull()).select("c", "x.t", "x.i").groupBy("t", "i").agg(F.count_distinct("c").alias("n"))
    previous = F.lag("t").over(Window.partitionBy("c", "k").orderBy("t"))
    gaps = mine.select("c", "k", "t", (F.col("t") - previous).alias("gap")).where(F.col("gap") >= F.lit(spec.min_gap_us)).join(customers, "c")
    none = F.lit(-1)
    return [_tagged(gaps, F.lit(_GAP), F.col("ci"), F.col("k"), F.col("t"), F.col("gap")), _tagged(buyers, F.col("t"), none, F.col("i"), none, F.col("n"))]


def _per_key(got: dict[str, np.ndarray], tag: int, n: int) -> np.ndarray:
    """The counts ``d`` tagged ``tag``, per key ``b`` in ``0 .. n - 1`` (int64; 0 where none)."""
    mine = got["tag"] == tag
    out = np.zeros(n, dtype=np.int64)
    out[got["b"][mine]] = got["d"][mine]
    return out


def repeat_tables(df: DataFrame, dataset: Dataset, lines: bool, categories: CategorySpec | None) -> tuple[PurchaseLines | None, CategoryRepeats | None]:
    """The per-customer repeat tables counted by Spark (:mod:`recokit.data.repeats`): the
    purchase lines (``lines``) and the category repeat tables (``categories``), as one union of
    tagged integer rows collected in one job; the driver sorts them (tag, customer_idx, item or
    category, µs) and splits them by tag."""
    if not lines and categories is None:
        return None, None
    names: list[str] = []
    item_cat = None
    if categories is not None:
        if dataset.columns["time_col"] is None:
            raise DataError("the category repeat tables (Renewal) need purchase times; no time_col was named.", hint="pass time_col='<your timestamp column>'.")
        names, item_cat = category_codes(dataset, categories.column, "recokit.spark")
    items, customers = _id_maps(df, dataset, item_cat)
    parts = [_line_rows(df, dataset, items, customers)] if lines else []
    if categories is not None:
        parts += _category_rows(df, dataset, categories, items, customers)
    table = functools.reduce(_union, parts).toArrow()
    got = {k: table.column(k).to_numpy().astype(np.int64) for k in ("tag", "a", "b", "c", "d")}
    # the order the fits read, on the driver: a sort in Spark would run the whole plan twice
    # (once to sample the ranges); the keys are unique within a tag
    order = np.lexsort((got["c"], got["b"], got["a"], got["tag"]))
    got = {k: v[order] for k, v in got.items()}
    line, gap = got["tag"] == _LINE, got["tag"] == _GAP
    out_lines = PurchaseLines(got["a"][line], got["b"][line], got["c"][line], got["d"][line]) if lines else None
    if categories is None:
        return out_lines, None
    repeats = CategoryRepeats(
        n_event_rows=event_rows(dataset, categories.event),  # the driver's Dataset holds these rows: no Spark stage for a total
        buyers=_per_key(got, _CATEGORY_BUYERS, len(names)),
        gap_customer=got["a"][gap],
        gap_category=got["b"][gap],
        gap_us=got["d"][gap],
        item_buyers=_per_key(got, _ITEM_BUYERS, dataset.n_items),
        recent_buyers=_per_key(got, _RECENT_BUYERS, dataset.n_items),
    )
    return out_lines, repeats


def _union(a: DataFrame, b: DataFrame) -> DataFrame:
    return a.unionByName(b)


def _collect_pairs(parts: list[DataFrame]) -> pa.Table:
    from pyspark.sql import functions as F

    return functools.reduce(_union, parts).groupBy("t", "i1", "i2").agg(F.count(F.lit(1)).alias("n")).toArrow()


# -- one function per partition ---------------------------------------------------------------
def map_partitions(
    df: DataFrame, column: str, payload: dict[str, bytes], fn: Callable[[dict[str, bytes], list[Any]], pa.Table], schema: pa.Schema
) -> DataFrame:
    """A Spark DataFrame of ``fn(payload, ids)`` over each Arrow batch of ``df[column]``.

    ``payload`` (plain bytes) is broadcast once; the function shipped to the executors holds the
    broadcast handle, ``fn`` (a module-level function: pickled by reference) and ``schema`` only.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = df.sparkSession
    shared = spark.sparkContext.broadcast(payload)

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids = batch.column(0).to_pylist()
            if ids:
                yield from _small_types(fn(shared.value, ids)).cast(schema).to_batches()

    return df.select(column).mapInArrow(apply, from_arrow_schema(schema))


def arrow_schema(table: pa.Table) -> pa.Schema:
    """The schema Spark gets for ``table`` (small offsets)."""
    return _small_types(table).schema


# -- per-customer orders (recokit.customers' base table) --------------------------------------
def time_micros(df: DataFrame, column: str) -> Column:
    """Microseconds since 1970 of ``column`` as the Dataset reads it (naive UTC): a Spark
    ``TIMESTAMP``'s UTC instant (whatever the session's time zone), a ``TIMESTAMP_NTZ``'s own
    wall-clock time, a ``DATE``'s midnight; any other type is a ConfigError."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = df.schema[column].dataType
    col = F.col(column)
    if isinstance(dtype, T.TimestampType):
        return F.unix_micros(col)
    if isinstance(dtype, T.TimestampNTZType):  # its wall clock, read as UTC (no session zone)
        return F.unix_micros(F.to_timestamp(F.date_format(col, "yyyy-MM-dd HH:mm:ss.SSSSSS'Z'"), "yyyy-MM-dd HH:mm:ss.SSSSSSX"))
    if isinstance(dtype, T.DateType):
        return F.unix_date(col).cast("long") * F.lit(DAY_US)
    raise ConfigError(
        f"recokit.spark: time_col {column!r} is {dtype.simpleString()}; customer measures need a timestamp or a date in Spark.",
        hint=f"cast it first: df.withColumn({column!r}, F.to_timestamp({column!r})).",
    )


def _lines(df: DataFrame, columns: dict[str, str | None], known_items: pa.Table | None) -> DataFrame:
    """``c, item, us, q`` (+ ``b``, ``e``, ``p``) of every row, on the catalogue's items when
    ``known_items`` (a one-column ``item`` table) is given."""
    from pyspark.sql import functions as F

    q = F.col(str(columns["quantity_col"])).cast("double") if columns["quantity_col"] else F.lit(1.0)
    select = [F.col(str(columns["customer_col"])).alias("c"), F.col(str(columns["item_col"])).alias("item"), time_micros(df, str(columns["time_col"])).alias("us"), q.alias("q")]
    for arg, name in (("basket_col", "b"), ("event_col", "e"), ("price_col", "p")):
        if columns[arg] is not None:
            select.append((F.col(str(columns[arg])).cast("double") if name == "p" else F.col(str(columns[arg]))).alias(name))
    rows = df.select(*select)
    if known_items is not None:
        rows = rows.join(F.broadcast(df.sparkSession.createDataFrame(_small_types(known_items))), "item", "left_semi")
    return rows


def line_checks(df: DataFrame, columns: dict[str, str | None], known_items: pa.Table | None) -> dict[str, Any]:
    """One Spark job over the rows: their number, those on the catalogue's items, the last time
    (``us``, of the kept rows) and the counts of bad values (null ids, times or baskets,
    quantities <= 0 or null, negative / NaN prices)."""
    from pyspark.sql import functions as F

    rows = _lines(df, columns, None)
    if known_items is not None:
        items = df.sparkSession.createDataFrame(_small_types(known_items.append_column("known", pa.array([True] * known_items.num_rows))))
        rows = rows.join(F.broadcast(items), "item", "left")
    else:
        rows = rows.withColumn("known", F.lit(True))
    kept = F.col("known").isNotNull()
    bad_price = (F.col("p") < 0) | F.isnan("p") if columns["price_col"] else F.lit(False)
    null_basket = F.col("b").isNull() if columns["basket_col"] else F.lit(False)
    counts = {
        "rows": F.count(F.lit(1)), "kept": F.count(F.when(kept, 1)), "last_us": F.max(F.when(kept, F.col("us"))),
        "null_ids": F.count(F.when(F.col("c").isNull() | F.col("item").isNull(), 1)), "null_times": F.count(F.when(F.col("us").isNull(), 1)),
        "null_baskets": F.count(F.when(null_basket, 1)), "bad_quantities": F.count(F.when(F.col("q").isNull() | (F.col("q") <= 0) | F.isnan("q"), 1)),
        "bad_prices": F.count(F.when(bad_price, 1)),
    }  # fmt: skip
    got = rows.agg(*[v.alias(k) for k, v in counts.items()]).toArrow().to_pylist()[0]
    return dict(got)


def customer_orders(
    df: DataFrame, columns: dict[str, str | None], known_items: pa.Table | None, prices: pa.Table | None, at_us: int, first_day: int | None, *, gaps: bool
) -> pa.Table:
    """Per customer, from the purchase lines up to ``at_us`` grouped into orders by Spark: one
    row per customer of the kept rows, ``c, last_day, first_day, frequency, monetary, units,
    lifetime_orders`` (null without an order up to ``at_us``), ``median_gap_days`` (when
    ``gaps``), and ``owners`` (orders of that customer also holding another customer's lines),
    ``missing`` (lines without a price), ``lines``.

    An order is a ``basket_col`` value, or a customer's lines of one UTC day; its day is its
    first line's; ``prices`` (``item, p``) gives catalogue prices, else the paid price ``p`` or
    1 per unit (``prices`` None and no ``price_col``). One Spark job.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = _lines(df, columns, known_items)
    lines = rows.where(F.col("us") <= F.lit(at_us))
    if columns["event_col"] is not None:
        lines = lines.where(F.col("e") == F.lit("purchase"))
    lines = lines.withColumn("day", ((F.col("us") - F.pmod(F.col("us"), F.lit(DAY_US))) / F.lit(DAY_US)).cast("long"))
    if prices is not None:
        lines = lines.drop(*(["p"] if "p" in lines.columns else [])).join(F.broadcast(df.sparkSession.createDataFrame(_small_types(prices))), "item", "left")
    elif "p" not in lines.columns:
        lines = lines.withColumn("p", F.lit(1.0))
    key = ["b"] if columns["basket_col"] is not None else ["c", "day"]
    owner = [F.min("c").alias("c"), (F.min("c") != F.max("c")).alias("owners")] if key == ["b"] else [F.lit(False).alias("owners")]
    orders = lines.groupBy(*key).agg(
        *owner, F.min("day").alias("d"), F.sum(F.col("q") * F.coalesce(F.col("p"), F.lit(0.0))).alias("value"), F.sum("q").alias("units"),
        F.count(F.when(F.col("p").isNull(), 1)).alias("missing"), F.count(F.lit(1)).alias("lines"),
    )  # fmt: skip
    window = F.col("d") >= F.lit(first_day) if first_day is not None else F.lit(True)
    per = orders.groupBy("c").agg(
        F.max("d").alias("last_day"), F.min("d").alias("first_day"), F.sum(window.cast("long")).alias("frequency"),
        F.coalesce(F.sum(F.when(window, F.col("value"))), F.lit(0.0)).alias("monetary"), F.coalesce(F.sum(F.when(window, F.col("units"))), F.lit(0.0)).alias("units"),
        F.count(F.lit(1)).alias("lifetime_orders"), F.sum(F.col("owners").cast("long")).alias("owners"), F.sum("missing").alias("missing"), F.sum("lines").alias("lines"),
    )  # fmt: skip
    if gaps:
        days = orders.select("c", "d").distinct()
        gap = F.col("d") - F.lag("d").over(Window.partitionBy("c").orderBy("d"))
        medians = days.select("c", gap.alias("gap")).where(F.col("gap").isNotNull()).groupBy("c").agg(F.median("gap").alias("median_gap_days"))
        per = per.join(medians, "c", "left")
    return rows.select("c").distinct().join(per, "c", "left").toArrow()
