"""Time: the day constant and parsing interaction timestamps into naive UTC microseconds.

Examples
--------
>>> import polars as pl
>>> from recokit.data import DAY_US, parse_time
>>> frame = parse_time(pl.DataFrame({"t": ["2024-05-31", "2024-06-01"]}), "t", "interactions")
>>> frame["t"].dtype, int(frame["t"].diff()[1].total_seconds() * 1_000_000) == DAY_US
(Datetime(time_unit='us', time_zone=None), True)
"""

from __future__ import annotations

import polars as pl

from recokit._errors import DataError
from recokit.data.validation import check_no_nulls, reject_rows

__all__ = ["DAY_US", "UNIX_S_MAX", "UNIX_S_MIN", "parse_time"]

#: Microseconds in a day (timestamps are ``Datetime('us')``).
DAY_US = 86_400_000_000
#: Numeric times must be Unix seconds between 1900-01-01 and 2200-01-01.
UNIX_S_MIN = -2_208_988_800
UNIX_S_MAX = 7_258_118_400
#: Date formats tried, in order, when polars infers none for a string column.
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d")


def _naive_utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``expr`` in naive UTC when ``dtype`` is a time-zone aware Datetime, else unchanged."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr


def _parse_seconds(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    # integers / floats are Unix seconds; milliseconds (JavaScript exports) would land in
    # year 55,000 and break every time-based model later, so they are refused here
    secs = frame[column].cast(pl.Float64)
    reject_rows(
        frame,
        (secs < UNIX_S_MIN) | (secs > UNIX_S_MAX),
        column,
        f"{what}: {{n}} value(s) of column {column!r} are not Unix seconds between 1900 and 2200",
        "values near 1.7e12 are milliseconds: divide them by 1000 first.",
    )
    micros = (pl.col(column).cast(pl.Float64) * 1e6).cast(pl.Int64)
    return frame.with_columns(micros.cast(pl.Datetime("us")).alias(column))


def _parse_strings(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    col = pl.col(column)
    parsed = frame.with_columns(col.str.to_datetime(strict=False, time_unit="us").alias("__t"))
    if parsed["__t"].null_count() == len(parsed) and len(parsed):
        # a date-only or day-first format polars did not infer: try the common shop formats
        for fmt in _DATE_FORMATS:
            trial = frame.with_columns(col.str.to_datetime(format=fmt, strict=False, time_unit="us").alias("__t"))
            if trial["__t"].null_count() < parsed["__t"].null_count():
                parsed = trial
    parsed = parsed.with_columns(_naive_utc(pl.col("__t"), parsed.schema["__t"]))
    reject_rows(
        parsed,
        pl.col("__t").is_null() & col.is_not_null(),
        column,
        f"{what}: {{n}} value(s) of column {column!r} are not parseable timestamps",
        "use ISO 8601 ('2024-05-31' or '2024-05-31T14:02:00'), or pass a Datetime column.",
    )
    return parsed.with_columns(pl.col("__t").alias(column)).drop("__t")


def parse_time(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    """Turn the time ``column`` into naive ``Datetime('us')`` (UTC for tz-aware input) or raise.

    Parameters
    ----------
    frame : pl.DataFrame
    column : str
        Datetime, Date, strings (ISO 8601 or a common date format) or Unix seconds.
    what : str
        Which table this is, used in error messages.

    Returns
    -------
    pl.DataFrame
        ``frame`` with ``column`` replaced; :class:`~recokit.DataError` when a value is not a
        time (or, for numbers, not Unix seconds between 1900 and 2200) or is null.

    Examples
    --------
    >>> import polars as pl
    >>> parse_time(pl.DataFrame({"t": [1_700_000_000]}), "t", "interactions")["t"].to_list()
    [datetime.datetime(2023, 11, 14, 22, 13, 20)]
    """
    dtype = frame.schema[column]
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        parsed = frame.with_columns(_naive_utc(col, dtype).dt.cast_time_unit("us").alias(column))
    elif dtype == pl.Date:
        parsed = frame.with_columns(col.cast(pl.Datetime("us")).alias(column))
    elif dtype.is_numeric():
        parsed = _parse_seconds(frame, column, what)
    elif dtype == pl.String:
        parsed = _parse_strings(frame, column, what)
    else:
        raise DataError(
            f"{what}: column {column!r} has type {dtype}, which is not a time.", hint="give Datetime, Date, ISO strings or Unix seconds."
        )
    check_no_nulls(parsed, column, what)
    return parsed
