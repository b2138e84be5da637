"""Checks on input tables: required columns, nulls, unique ids, matching id types.

Every check raises :class:`~recokit.DataError` naming the table, the column and a few offending
rows, with a ``Hint:`` line saying how to fix the data.

Examples
--------
>>> import polars as pl
>>> from recokit.data import check_no_nulls
>>> check_no_nulls(pl.DataFrame({"item_id": ["a", None]}), "item_id", "catalog")
Traceback (most recent call last):
...
recokit._errors.DataError: catalog: column 'item_id' has 1 null value(s), e.g. at rows [1].
Hint: remove or fill those rows first.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from recokit._errors import DataError

__all__ = [
    "EXAMPLES",
    "check_no_nulls",
    "check_prices",
    "check_same_dtype",
    "check_unique",
    "examples",
    "reject_rows",
    "require_columns",
]

#: How many offending rows (or ids) an error message shows.
EXAMPLES = 5


def require_columns(frame: pl.DataFrame, columns: Iterable[str | None], what: str) -> None:
    """Raise when one of ``columns`` (``None`` entries are skipped) is not in ``frame``."""
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise DataError(
            f"{what}: missing required column(s) {missing}; the table has {frame.columns}.", hint="name the columns with the Dataset(...) arguments, e.g. customer_col='client', item_col='sku'."
        )


def examples(frame: pl.DataFrame, mask: pl.Series | pl.Expr, column: str) -> str:
    """The first offending rows where ``mask`` holds, as ``"row 3: 'x', row 7: 'y'"``."""
    bad = frame.with_row_index("row").filter(mask).head(EXAMPLES)
    return ", ".join(f"row {r}: {v!r}" for r, v in zip(bad["row"].to_list(), bad[column].to_list(), strict=True))


def reject_rows(frame: pl.DataFrame, bad: pl.Series | pl.Expr, column: str, problem: str, hint: str) -> None:
    """Raise when ``bad`` holds for some rows of ``frame``, showing their ``column`` values.

    ``problem`` says what is wrong with ``{n}`` rows (it is formatted with their count); the
    message goes on with ``", e.g. row 3: 'x', ..."``.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"qty": [1, -2]})
    >>> reject_rows(rows, pl.col("qty") <= 0, "qty", "interactions: {n} row(s) are negative", "drop returns.")
    Traceback (most recent call last):
    ...
    recokit._errors.DataError: interactions: 1 row(s) are negative, e.g. row 1: -2.
    Hint: drop returns.
    """
    n = int(bad.sum()) if isinstance(bad, pl.Series) else int(frame.select(bad.sum()).item())
    if n:
        raise DataError(f"{problem.format(n=n)}, e.g. {examples(frame, bad, column)}.", hint=hint, column=column, rows=n)


def check_no_nulls(frame: pl.DataFrame, column: str, what: str) -> None:
    """Raise when ``column`` holds a null, naming the first rows that do."""
    n = frame[column].null_count()
    if n:
        rows = frame.with_row_index("row").filter(pl.col(column).is_null())["row"].head(EXAMPLES).to_list()
        raise DataError(
            f"{what}: column {column!r} has {n} null value(s), e.g. at rows {rows}.", hint="remove or fill those rows first.", column=column, rows=n
        )


def check_unique(frame: pl.DataFrame, column: str, what: str, subject: str, hint: str) -> None:
    """Raise when rows of ``frame`` share a value of ``column`` (``subject`` names the value)."""
    dup = frame[column].is_duplicated()
    if dup.any():
        raise DataError(
            f"{what}: {int(dup.sum())} rows share {subject}, e.g. {examples(frame, dup, column)}.", hint=hint, column=column, rows=int(dup.sum())
        )


def check_same_dtype(left: pl.DataFrame, right: pl.DataFrame, column: str, message: str, hint: str) -> None:
    """Raise when ``column`` has another dtype in ``right`` than in ``left``.

    ``message`` is formatted with ``left`` and ``right``, the two dtypes.
    """
    if right.schema[column] != left.schema[column]:
        raise DataError(message.format(left=left.schema[column], right=right.schema[column]), hint=hint, column=column)


def check_prices(frame: pl.DataFrame, column: str, what: str = "interactions") -> None:
    """Raise unless ``column`` is numeric with no negative, infinite or NaN value (nulls are allowed:
    a view or a cart event has no price paid).

    Examples
    --------
    >>> import polars as pl
    >>> check_prices(pl.DataFrame({"price": [9.5, -1.0]}), "price")
    Traceback (most recent call last):
    ...
    recokit._errors.DataError: interactions: 1 value(s) of column 'price' are negative, infinite or NaN, e.g. row 1: -1.0.
    Hint: prices must be >= 0: remove refunds and fill missing prices with null, not NaN.
    """
    dtype = frame.schema[column]
    if not dtype.is_numeric():
        raise DataError(f"{what}: column {column!r} must hold numeric prices; got {dtype}.", column=column, hint="cast it to float (strip currency signs first).")
    value = pl.col(column).cast(pl.Float64)
    reject_rows(
        frame,
        value.is_nan() | value.is_infinite() | (value < 0),
        column,
        f"{what}: {{n}} value(s) of column {column!r} are negative, infinite or NaN",
        "prices must be >= 0: remove refunds and fill missing prices with null, not NaN.",
    )
