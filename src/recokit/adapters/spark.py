"""The one place recokit calls pyspark: count tables with Spark SQL, rows collected as Arrow,
and a function applied to each partition (``mapInArrow``).

Nothing here knows a model: :mod:`recokit.spark` puts these pieces together. Every table is a
group-by over the rows of a Spark DataFrame (ids mapped to recokit's item numbers by a broadcast
join with the driver's item map), so its size on the driver is the number of items (per-item
counts) or of pairs, never of rows. pyspark is imported on first use: without it a
:class:`~recokit.DependencyError` names the install command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DependencyError
from recokit.data import DAY_US, CountTables, Dataset, TableSpec, min_count_for

if TYPE_CHECKING:  # pragma: no cover - the types only
    from pyspark.sql import Column, DataFrame

__all__ = ["MIN_VERSION", "arrow_schema", "check_frame", "collect_arrow", "count_tables", "map_partitions", "pyspark_version"]

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


def _vector(rows: pa.Table, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    out[rows.column("i").to_numpy()] = rows.column("n").to_numpy()
    return out


def _pairs(left: DataFrame, key: Sequence[str], n: int) -> sp.csr_array:
    """Items x items (symmetric, float64): how many keys (customers, baskets) of ``left`` (distinct
    ``key + [i]`` rows) hold both items -- a self-join on the key, one group-by."""
    from pyspark.sql import functions as F

    a = left.select(*key, F.col("i").alias("i1"))
    b = left.select(*key, F.col("i").alias("i2"))
    got = a.join(b, list(key)).where(F.col("i1") < F.col("i2")).groupBy("i1", "i2").agg(F.count(F.lit(1)).alias("n")).toArrow()
    r, c = got.column("i1").to_numpy().astype(np.int64), got.column("i2").to_numpy().astype(np.int64)
    v = got.column("n").to_numpy().astype(np.float64)
    out = sp.csr_array((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n))
    out.sum_duplicates()
    out.sort_indices()
    return out


def _basket_tables(rows: DataFrame, key: list[str], spec: TableSpec, n: int) -> tuple[np.ndarray, sp.csr_array, int, int]:
    """``item_baskets``, ``basket_pairs``, ``n_baskets``, ``n_baskets_excluded`` over the
    baskets within ``spec.max_basket_size`` (pairs of frequent items only, with ``pair_min_support``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lines = rows.select(*key, "i").distinct()
    if spec.max_basket_size is not None:
        lines = lines.withColumn("__size", F.count(F.lit(1)).over(Window.partitionBy(*key)))
    else:
        lines = lines.withColumn("__size", F.lit(1))
    cap = spec.max_basket_size if spec.max_basket_size is not None else 1
    # one pass: per item, the kept baskets holding it; per key, whether it is kept (a row of i = -1)
    per_basket = lines.groupBy(*key).agg(F.max("__size").alias("__size")).select(F.lit(-1).cast("long").alias("i"), (F.col("__size") <= cap).alias("__kept"))
    per_item = lines.where(F.col("__size") <= cap).select("i", F.lit(True).alias("__kept"))
    summary = per_item.unionByName(per_basket).groupBy("i", "__kept").agg(F.count(F.lit(1)).alias("n")).toArrow()
    is_total = summary.column("i").to_numpy() < 0
    kept = summary.column("__kept").to_numpy(zero_copy_only=False).astype(bool)
    counts = summary.column("n").to_numpy()
    n_baskets = int(counts[is_total & kept].sum())
    n_excluded = int(counts[is_total & ~kept].sum())
    item_baskets = _vector(summary.filter(pa.array(~is_total)), n)
    mined = lines.where(F.col("__size") <= cap).drop("__size")
    if spec.pair_min_support is not None:
        frequent = np.flatnonzero(item_baskets >= min_count_for(spec.pair_min_support, n_baskets))
        keep = rows.sparkSession.createDataFrame(pa.table({"i": pa.array(frequent.astype(np.int64))}))
        mined = mined.join(F.broadcast(keep), "i")
    return item_baskets, _pairs(mined, key, n), n_baskets, n_excluded


def count_tables(df: DataFrame, dataset: Dataset, spec: TableSpec) -> CountTables:
    """The count tables ``spec`` asks for, counted by Spark from ``df``'s rows (the rows
    ``dataset`` was built from; the columns named as in ``dataset.columns``)."""
    from pyspark.sql import functions as F

    rows, key = _rows(df, dataset)
    n = dataset.n_items
    bought = rows.select("c", "i").distinct()
    buyers = _vector(bought.groupBy("i").agg(F.count(F.lit(1)).alias("n")).toArrow(), n)
    customer_pairs = _pairs(bought, ["c"], n) if spec.pairs else None
    if not spec.baskets:
        return CountTables(buyers, customer_pairs)
    item_baskets, basket_pairs, n_baskets, n_excluded = _basket_tables(rows, key, spec, n)
    return CountTables(buyers, customer_pairs, item_baskets, basket_pairs, n_baskets, n_excluded)


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
