"""The weight of each interaction: its quantity times the weight of its event type.

Examples
--------
>>> import polars as pl
>>> from recokit.data import interaction_weight
>>> rows = pl.DataFrame({"qty": [2, 1], "event": ["purchase", "view"]})
>>> rows, weight = interaction_weight(rows, quantity_col="qty", event_col="event", event_weights=None)
>>> rows.select(weight.alias("w"))["w"].to_list()
[2.0, 0.1]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.data.validation import EXAMPLES, check_no_nulls, reject_rows

__all__ = ["DEFAULT_EVENT_WEIGHTS", "interaction_weight"]

#: Weight of each event type when ``event_col`` is given without ``event_weights``.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"purchase": 1.0, "add_to_cart": 0.5, "view": 0.1}


def _quantity(inter: pl.DataFrame, quantity_col: str) -> pl.Expr:
    q = inter.schema[quantity_col]
    if not q.is_numeric():
        raise DataError(f"interactions: column {quantity_col!r} must be numeric; got {q}.", column=quantity_col, hint="cast it to int or float.")
    qcol = pl.col(quantity_col).cast(pl.Float64)
    reject_rows(
        inter,
        qcol.is_null() | qcol.is_nan() | qcol.is_infinite() | (qcol <= 0),
        quantity_col,
        f"interactions: {{n}} row(s) of column {quantity_col!r} are negative, zero, infinite, NaN or null",
        "quantities must be > 0: remove returns and cancellations before building the Dataset.",
    )
    return qcol


def _event_weight(inter: pl.DataFrame, event_col: str, event_weights: Mapping[str, float] | None) -> tuple[pl.DataFrame, pl.Expr]:
    weights = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
    for name, w in weights.items():
        if not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            raise ConfigError(f"event_weights[{name!r}] must be a finite number >= 0. Got {w!r}.")
    inter = inter.with_columns(pl.col(event_col).cast(pl.String))
    check_no_nulls(inter, event_col, "interactions")
    unknown = inter.filter(~pl.col(event_col).is_in(list(weights)))
    if len(unknown):
        kinds = unknown[event_col].unique().sort().head(EXAMPLES).to_list()
        raise DataError(
            f"interactions: {len(unknown)} row(s) have event types without a weight: {kinds}.", hint=f"pass event_weights with a weight for each type (known: {sorted(weights)})."
        )
    return inter, pl.col(event_col).replace_strict(weights, return_dtype=pl.Float64)


def interaction_weight(
    inter: pl.DataFrame, *, quantity_col: str | None, event_col: str | None, event_weights: Mapping[str, float] | None
) -> tuple[pl.DataFrame, pl.Expr]:
    """Validate the quantity and event columns; return the rows (event column cast to
    ``String``) and an expression for each row's weight (1.0 without either column).

    Raises :class:`~recokit.DataError` for a non-positive quantity or an event type without a
    weight, and :class:`~recokit.ConfigError` for a bad weight or ``event_weights`` without
    ``event_col``.
    """
    weight = pl.lit(1.0)
    if quantity_col is not None:
        weight = _quantity(inter, quantity_col)
    if event_col is not None:
        inter, event = _event_weight(inter, event_col, event_weights)
        weight = weight * event
    elif event_weights is not None:
        raise ConfigError("event_weights was given without event_col: name the column that holds the event type.")
    return inter, weight
