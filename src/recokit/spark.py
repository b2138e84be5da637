"""recokit on Spark: fit from a Spark DataFrame, recommend on the executors (``recokit[spark]``).

- :func:`fit` -- the count tables a count-based model derives its state from (distinct buyers
  per item, pairs of items over customers or over baskets, with the basket-size cap) are
  counted by Spark with group-bys and self-joins; the driver builds the :class:`~recokit.Dataset`
  from the named columns only (collected as Arrow: ids, times, quantities, events, prices) and
  fits the model from the Spark tables through :class:`recokit.data.FitsFromTables`. The result
  equals ``model.fit(Dataset(...))`` on the same rows, bit for bit.
- :func:`recommend_many` -- the fitted model is saved with :func:`recokit.save`, its files are
  broadcast as bytes and loaded once per executor process with :func:`recokit.load` (never a
  pickled model); each partition of customer ids is scored by ``model.recommend_many``.

Models that are not derived from count tables (ALS, BPR, ContentBased, Renewal, BuyAgain,
Hybrid, Ruled, Popularity with a window, ItemKNN's cosine / BM25 / TF-IDF, itemsets longer than
pairs) are fitted on the driver from the same Dataset, and the ``recokit`` logger says so at
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

import functools
import hashlib
import logging
import tempfile
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from recokit._errors import ConfigError
from recokit.adapters import spark as _spark
from recokit.core import Recommender
from recokit.data import CountTables, Dataset, FitsFromTables, TableSpec
from recokit.persist import load, save

__all__ = ["collect_dataset", "count_tables", "fit", "recommend_many", "saved_files"]

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
    ``recokit.data.tables_for(dataset, spec)``, with only per-item and per-pair rows collected."""
    _spark.check_frame(interactions, [], "interactions")
    return _spark.count_tables(interactions, dataset, spec)


def fit(model: M, interactions: Any, *, catalog: Any = None, customers: Any = None, dataset: Dataset | None = None, **columns: Any) -> M:
    """Fit ``model`` on a Spark DataFrame of interactions and return it: equal to
    ``model.fit(Dataset(rows, catalog, customers, **columns))`` on the same rows.

    A model derived from count tables (``model.table_spec()`` not None: Popularity of distinct
    buyers, ItemKNN's Jaccard / lift / conditional, pair AssociationRules) gets them counted by
    Spark; any other model is fitted on the driver from the collected Dataset (logged at INFO).

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
