"""What :meth:`Recommender.recommend_many` puts in its table, and which customers it serves.

* :func:`customer_list` -- the ``customers`` argument as a list of ids (a single id, a string, a
  set or a table is a :class:`~recokit.ConfigError`, never iterated by accident);
* :func:`with_consent` -- the customers whose consent column is true (the rest dropped with a
  :class:`~recokit.DataWarning` that says how many);
* :func:`catalog_columns` -- catalogue columns asked for by name, checked;
* :func:`rules_column` -- the applied rules as one text column (``"boost:eco up 20%; pin:promo"``,
  null when no rule touched the item) or, on request, a list column.

The table is flat by default, so ``write_csv`` and ``write_parquet`` take it as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataWarning
from recokit.core.results import RULES_SEPARATOR

__all__ = ["OUTPUT_COLUMNS", "RulesAs", "catalog_columns", "check_rules_as", "customer_list", "rules_column", "with_consent"]

#: The columns of a ``recommend_many`` table, in order (catalogue columns follow them).
OUTPUT_COLUMNS = ("customer_id", "rank", "item_id", "score", "reason", "rules")

#: How the ``rules`` column holds the applied rules: one text or a list of texts.
RulesAs = Literal["text", "list"]


def customer_list(customers: object, where: str = "recommend_many") -> list[Hashable]:
    """``customers`` as a list of ids: any iterable of ids (list, tuple, generator, polars Series,
    1-d numpy array). A single id (int or str), a set (no order: the table's row order would
    change from run to run) and a table (iterating it gives its column names) raise
    :class:`~recokit.ConfigError`."""
    if isinstance(customers, pl.Series):
        return customers.to_list()
    if isinstance(customers, np.ndarray) and customers.ndim == 1:
        return customers.tolist()  # Python ints / strs, as a list of ids would hold
    if isinstance(customers, (pl.DataFrame, pl.LazyFrame)) or hasattr(customers, "columns"):
        raise ConfigError(
            f"{where}: customers must be a list of customer ids; got a table ({type(customers).__name__}), whose iteration gives its columns.",
            hint=f"pass its id column: {where}(table['customer_id']).",
        )
    if isinstance(customers, (set, frozenset)):
        raise ConfigError(f"{where}: customers is a {type(customers).__name__}, which has no order: the rows of the table would come in a different order each run.", hint=f"pass a list: {where}(sorted(ids)).")
    if isinstance(customers, np.ndarray):
        raise ConfigError(f"{where}: customers must be a one-dimensional array of ids; got shape {customers.shape}.", hint=f"pass a list: {where}(ids.ravel()).")
    if isinstance(customers, (str, bytes)) or not isinstance(customers, Iterable):
        raise ConfigError(
            f"{where}: customers must be a list of customer ids; got the single {type(customers).__name__} {customers!r}.",
            hint=f"pass a list: {where}([{customers!r}]).",
        )
    return list(customers)


def with_consent(customers_table: pl.DataFrame | None, customers: list[Hashable], column: object, where: str = "recommend_many") -> list[Hashable]:
    """The customers whose ``column`` of the customers table is true, in the order given.

    A customer without a row in the table, with a null value, or an anonymous visitor (None) has
    no consent (as for :class:`~recokit.rules.RequireConsent`). When any is dropped, a
    :class:`~recokit.DataWarning` says how many.
    """
    if not isinstance(column, str):
        raise ConfigError(f"{where}: consent must be the name of a column of the customers table (a str). Got {column!r}.", hint='e.g. consent="consent_email".')
    if customers_table is None:
        raise ConfigError(f"{where}: consent={column!r} needs a customers table, and the fitted dataset has none.", hint="build the Dataset with customers=... holding the consent column.")
    if column not in customers_table.columns:
        available = [c for c in customers_table.columns if c != "customer_id"]
        raise ConfigError(f"{where}: the customers table has no column {column!r}.", hint=f"its columns are {available}.", column=column)
    dtype = customers_table.schema[column]
    if dtype != pl.Boolean:
        raise ConfigError(
            f"{where}: consent column {column!r} must be true/false (Boolean). Got {dtype}.", hint="cast it to Boolean in the customers table (null = no consent).", column=column
        )
    agreed = customers_table.filter(pl.col(column))["customer_id"]  # false and null rows fall out
    ids = pl.Series("customer_id", customers, dtype=customers_table.schema["customer_id"], strict=False)
    keep = ids.is_in(agreed.implode()).fill_null(False).to_numpy()
    dropped = int(len(customers) - keep.sum())
    if dropped:
        warnings.warn(
            DataWarning(
                f"{where}: left out {dropped} of {len(customers)} customers without consent in {column!r} "
                "(false, null, or no row in the customers table)."
            ),
            stacklevel=3,
        )
    return [customers[i] for i in np.flatnonzero(keep).tolist()]


def catalog_columns(catalog: pl.DataFrame, columns: object, where: str = "recommend_many") -> list[str]:
    """The catalogue columns asked for, checked: names of catalogue columns, each once, none of
    them an output column (``rank``, ``score``, ...). ``None`` asks for none."""
    if columns is None:
        return []
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise ConfigError(f"{where}: columns must be a list of catalogue column names. Got {columns!r}.", hint=f"e.g. columns=['name', 'price'] (a list, even for one: columns=[{columns!r}]).")
    names = list(columns)
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ConfigError(f"{where}: columns names {dupes} more than once.", hint="name each catalogue column once.")
    clash = [c for c in names if c in OUTPUT_COLUMNS]
    if clash:
        raise ConfigError(
            f"{where}: columns {clash} would clash with the table's own columns {list(OUTPUT_COLUMNS)}.",
            hint="join such a catalogue column yourself under another name: table.join(catalog.select('item_id', pl.col('score').alias('catalog_score')), on='item_id', how='left').",
        )
    available = [c for c in catalog.columns if c != "item_id"]
    unknown = [c for c in names if c not in available]
    if unknown:
        raise ConfigError(f"{where}: the catalogue has no column(s) {unknown}.", hint=f"its columns are {available}.", column=unknown[0])
    return names


def check_rules_as(rules_as: object, where: str = "recommend_many") -> RulesAs:
    """``rules_as`` checked: ``"text"`` or ``"list"``."""
    if rules_as == "text" or rules_as == "list":
        return rules_as
    raise ConfigError(f"{where}: rules_as must be 'text' (one column of text, the default) or 'list' (a list column). Got {rules_as!r}.")


def rules_column(parts: list[dict[str, Any]], rules_as: RulesAs) -> pl.Series:
    """The ``rules`` column of the batches in ``parts`` (each ``{"pos": rows, "rules": labels or
    None}``, None: no rule touched any of its rows).

    ``"text"``: the labels of a row joined by :data:`~recokit.core.results.RULES_SEPARATOR`,
    null when there are none. ``"list"``: a list of labels, empty when there are none. Batches
    without labels are built without a Python object per row (50 000 empty lists cost more than
    ranking the batch).
    """
    if rules_as == "text":
        kind: pl.DataType = pl.String()
        cols = [
            pl.repeat(None, len(p["pos"]), dtype=kind, eager=True) if p["rules"] is None else pl.Series([RULES_SEPARATOR.join(x) if x else None for x in p["rules"]], dtype=kind)
            for p in parts
        ]
    else:
        kind = pl.List(pl.String)
        cols = [
            pl.select(pl.repeat(pl.lit([], dtype=kind), len(p["pos"]))).to_series() if p["rules"] is None else pl.Series([list(x) for x in p["rules"]], dtype=kind)
            for p in parts
        ]
    return pl.concat(cols).alias("rules") if cols else pl.Series("rules", [], dtype=kind)
