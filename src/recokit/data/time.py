"""Time: the day constant and parsing interaction timestamps into naive UTC microseconds.

Text timestamps are read by explicit formats, never by guessing from the first value:

* ISO 8601, with or without a time, a ``T`` or a space between date and time, fractions of a
  second; a value with an offset (``+02:00``) or ``Z`` is converted to UTC. A column mixing
  values with and without an offset is an error (which clock were the others on?).
* day/month/year with ``/``, ``-`` or ``.`` (optionally followed by ``HH:MM`` or ``HH:MM:SS``):
  read day first or month first, whichever reads every value; when both do and some value
  reads differently (``05/06/2024``: 5 June or May 6?), the column is ambiguous and an error
  names both readings, unless ``time_format`` says which.
* With ``time_format`` (a ``strftime`` format such as ``"%m/%d/%Y"``), that format only.

Every time must fall between 1900 and 2200 (a two-digit year or milliseconds taken for seconds
would not).

Examples
--------
>>> import polars as pl
>>> from recokit.data import DAY_US, parse_time
>>> frame = parse_time(pl.DataFrame({"t": ["2024-05-31", "2024-06-01"]}), "t", "interactions")
>>> frame["t"].dtype, int(frame["t"].diff()[1].total_seconds() * 1_000_000) == DAY_US
(Datetime(time_unit='us', time_zone=None), True)
>>> parse_time(pl.DataFrame({"t": ["2024-05-31T14:02:00+02:00", "2024-05-31T12:30:00Z"]}), "t", "interactions")["t"].to_list()
[datetime.datetime(2024, 5, 31, 12, 2), datetime.datetime(2024, 5, 31, 12, 30)]
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.data.validation import EXAMPLES, check_no_nulls, reject_rows

__all__ = ["DAY_US", "UNIX_S_MAX", "UNIX_S_MIN", "parse_time"]

#: Microseconds in a day (timestamps are ``Datetime('us')``).
DAY_US = 86_400_000_000
#: Numeric times must be Unix seconds between 1900-01-01 and 2200-01-01 (text times too).
UNIX_S_MIN = -2_208_988_800
UNIX_S_MAX = 7_258_118_400
_FIRST, _LAST = dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)
#: ISO 8601 date-times, tried in order; ``%.f`` also matches no fraction.
_ISO_TIMES = tuple(f"%Y-%m-%d{sep}{t}" for sep in ("T", " ") for t in ("%H:%M:%S%.f", "%H:%M"))
_ISO_NAIVE = (*_ISO_TIMES, "%Y-%m-%d", "%Y/%m/%d")
_ISO_OFFSET = tuple(f"{fmt}%#z" for fmt in _ISO_TIMES)
_DMY_TIMES = ("", " %H:%M", " %H:%M:%S")
#: How many values decide in which order the formats are tried.
_SAMPLE = 1000


def _numeric_formats(order: str) -> tuple[str, ...]:
    """The day/month/year formats (``order`` ``"dm"`` or ``"md"``) for each separator and time part."""
    first, second = ("%d", "%m") if order == "dm" else ("%m", "%d")
    return tuple(f"{first}{sep}{second}{sep}%Y{t}" for sep in "/-." for t in _DMY_TIMES)


_DAY_FIRST = _numeric_formats("dm")
_MONTH_FIRST = _numeric_formats("md")


def _naive_utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``expr`` in naive UTC when ``dtype`` is a time-zone aware Datetime, else unchanged."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr


def _read_as(values: pl.Series, formats: tuple[str, ...], offset: bool = False) -> pl.Series:
    """Each value read by the first of ``formats`` that reads it (null where none does), naive
    UTC. Formats are tried in order and only while some value is unread: a column of one format
    costs one pass."""

    def read(v: pl.Series, fmt: str) -> pl.Series:
        if offset:
            return v.str.to_datetime(format=fmt, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(None)
        return v.str.to_datetime(format=fmt, strict=False, time_unit="us")

    # the formats that read most of a sample first (a stable sort keeps the order among equals):
    # the same answer as the plain order, since no value is read by two of these formats
    sample = values.drop_nulls().head(_SAMPLE)
    if len(formats) > 1 and len(sample):
        formats = tuple(sorted(formats, key=lambda f: -(len(sample) - read(sample, f).null_count())))
    out: pl.Series | None = None
    todo = values.null_count()
    for fmt in formats:
        parsed = read(values, fmt)
        out = parsed if out is None else out.fill_null(parsed)
        if out.null_count() == todo:
            break
    assert out is not None
    return out


def _with_offset(values: pl.Series) -> pl.Series:
    """Whether each value is a time followed by a UTC offset or ``Z`` (``14:02:00+02:00``)."""
    return values.str.contains(r"\d:\d\d(:\d\d(\.\d+)?)?\s?(Z|z|[+-]\d\d(:?\d\d)?)$").fill_null(False)


def _parse_seconds(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    # integers / floats are Unix seconds; milliseconds (JavaScript exports) would land in
    # year 55,000 and break every time-based model later, so they are refused here
    secs = frame[column].cast(pl.Float64)
    reject_rows(
        frame,
        secs.is_nan() | (secs < UNIX_S_MIN) | (secs > UNIX_S_MAX),
        column,
        f"{what}: {{n}} value(s) of column {column!r} are not Unix seconds between 1900 and 2200",
        "values near 1.7e12 are milliseconds: divide them by 1000 first.",
    )
    micros = (pl.col(column).cast(pl.Float64) * 1e6).cast(pl.Int64)
    return frame.with_columns(micros.cast(pl.Datetime("us")).alias(column))


def _with_format(frame: pl.DataFrame, column: str, what: str, time_format: str) -> pl.DataFrame:
    """``column`` read by the user's ``time_format`` only (UTC when it has an offset)."""
    offset = any(code in time_format for code in ("%z", "%Z", "%#z", "%:z"))
    try:
        parsed = frame.with_columns(_read_as(frame[column], (time_format,), offset).alias("__recokit_t"))
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"time_format={time_format!r} is not a valid strftime format ({type(exc).__name__}).", hint="use codes such as %d day, %m month, %Y year, %H:%M:%S time.") from None
    reject_rows(
        parsed,
        pl.col("__recokit_t").is_null() & pl.col(column).is_not_null(),
        column,
        f"{what}: {{n}} value(s) of column {column!r} do not match time_format={time_format!r}",
        "check the format codes (%d day, %m month, %Y year, %H:%M:%S time).",
    )
    return parsed


def _ambiguous(frame: pl.DataFrame, column: str, what: str, differ: pl.Series) -> DataError:
    first = frame.filter(differ).row(0, named=True)
    value = str(first[column])
    sep = next((c for c in value if c in "/-."), "/")
    day_first, month_first = f"%d{sep}%m{sep}%Y", f"%m{sep}%d{sep}%Y"
    n = int(differ.sum())
    return DataError(
        f"{what}: {n} date(s) of column {column!r} are ambiguous: {value!r} reads as {first['__recokit_dm']:%d %B %Y} day first ({day_first}) "
        f"or as {first['__recokit_md']:%B %d, %Y} month first ({month_first}), and no value has a day above 12 to tell which.",
        column=column,
        rows=n,
        hint=f"pass time_format={day_first!r} (day first) or time_format={month_first!r} (month first).",
    )


def _day_month(frame: pl.DataFrame, column: str, what: str) -> pl.Expr:
    """The day/month/year reading of the rows no ISO format read: the one order that reads them
    all, or an error when both do and disagree."""
    rest = pl.col("__recokit_t").is_null() & pl.col(column).is_not_null()
    rest_values = frame[column].zip_with(frame["__recokit_t"].is_null(), pl.Series([None], dtype=pl.String).extend_constant(None, frame.height - 1))
    trial = frame.with_columns(_read_as(rest_values, _DAY_FIRST).alias("__recokit_dm"), _read_as(rest_values, _MONTH_FIRST).alias("__recokit_md"))
    dm_fails = int(trial.select((rest & pl.col("__recokit_dm").is_null()).sum()).item())
    md_fails = int(trial.select((rest & pl.col("__recokit_md").is_null()).sum()).item())
    if dm_fails == 0 and md_fails == 0:
        differ = trial.select(rest & (pl.col("__recokit_dm") != pl.col("__recokit_md"))).to_series()
        if differ.any():
            raise _ambiguous(trial, column, what, differ)
    return pl.col("__recokit_t").fill_null(trial["__recokit_dm" if dm_fails <= md_fails else "__recokit_md"])


def _check_offsets(frame: pl.DataFrame, column: str, what: str) -> None:
    n_offset = int(frame.select(pl.col("__recokit_tz").is_not_null().sum()).item())
    n_naive = int(frame.select((pl.col("__recokit_tz").is_null() & pl.col("__recokit_t").is_not_null()).sum()).item())
    if n_offset and n_naive:
        sample = frame.filter(pl.col("__recokit_tz").is_null() & pl.col("__recokit_t").is_not_null())[column].head(EXAMPLES).to_list()
        raise DataError(
            f"{what}: column {column!r} mixes {n_offset} time(s) with a UTC offset and {n_naive} without one, e.g. {sample}.",
            column=column,
            rows=n_naive,
            hint="give every value an offset (or 'Z' for UTC), or none; naive times are read as they are written.",
        )


def _parse_strings(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    values = frame[column]
    has_offset = _with_offset(values)
    n_offset = int(has_offset.sum())
    none = pl.Series([None], dtype=pl.String).extend_constant(None, frame.height - 1) if frame.height else values
    with_tz = values if n_offset == frame.height else values.zip_with(has_offset, none)
    naive = values if n_offset == 0 else values.zip_with(~has_offset, none)
    parsed = frame.with_columns(
        (_read_as(with_tz, _ISO_OFFSET, offset=True) if n_offset else pl.Series([None] * frame.height, dtype=pl.Datetime("us"))).alias("__recokit_tz"),
        (_read_as(naive, _ISO_NAIVE) if n_offset < frame.height else pl.Series([None] * frame.height, dtype=pl.Datetime("us"))).alias("__recokit_t"),
    )
    _check_offsets(parsed, column, what)
    parsed = parsed.with_columns(pl.coalesce("__recokit_tz", "__recokit_t").alias("__recokit_t")).drop("__recokit_tz")
    if parsed.select((pl.col("__recokit_t").is_null() & pl.col(column).is_not_null()).any()).item():
        parsed = parsed.with_columns(_day_month(parsed, column, what).alias("__recokit_t"))
    reject_rows(
        parsed,
        pl.col("__recokit_t").is_null() & pl.col(column).is_not_null(),
        column,
        f"{what}: {{n}} value(s) of column {column!r} are not parseable timestamps",
        "use ISO 8601 ('2024-05-31', '2024-05-31T14:02:00', '2024-05-31T14:02:00+02:00'), pass time_format='...', or pass a Datetime column.",
    )
    return parsed


def parse_time(frame: pl.DataFrame, column: str, what: str, time_format: str | None = None) -> pl.DataFrame:
    """Turn the time ``column`` into naive ``Datetime('us')`` (UTC for tz-aware input) or raise.

    Parameters
    ----------
    frame : pl.DataFrame
    column : str
        Datetime, Date, strings (ISO 8601 or a day/month/year format) or Unix seconds.
    what : str
        Which table this is, used in error messages.
    time_format : str, optional
        A ``strftime`` format for a text (or integer, such as ``20240531``) column; with it,
        no other format is tried. Not allowed for a Datetime or Date column.

    Returns
    -------
    pl.DataFrame
        ``frame`` with ``column`` replaced; :class:`~recokit.DataError` when a value is not a
        time, is ambiguous (day or month first), lies outside 1900-2200, or is null.

    Examples
    --------
    >>> import polars as pl
    >>> parse_time(pl.DataFrame({"t": [1_700_000_000]}), "t", "interactions")["t"].to_list()
    [datetime.datetime(2023, 11, 14, 22, 13, 20)]
    >>> parse_time(pl.DataFrame({"t": ["05/06/2024"]}), "t", "interactions", time_format="%m/%d/%Y")["t"].to_list()
    [datetime.datetime(2024, 5, 6, 0, 0)]
    """
    dtype = frame.schema[column]
    col = pl.col(column)
    if time_format is not None:
        if not isinstance(time_format, str) or not time_format:
            raise ConfigError(f"time_format must be a non-empty strftime format such as '%d/%m/%Y'. Got {time_format!r}.")
        if dtype.is_temporal():
            raise ConfigError(f"time_format={time_format!r} was given, but column {column!r} already holds {dtype} times.", hint="drop time_format: it is for text columns.")
        parsed = _with_format(frame.with_columns(col.cast(pl.String)), column, what, time_format)
    elif isinstance(dtype, pl.Datetime):
        parsed = frame.with_columns(_naive_utc(col, dtype).dt.cast_time_unit("us").alias(column))
    elif dtype == pl.Date:
        parsed = frame.with_columns(col.cast(pl.Datetime("us")).alias(column))
    elif dtype.is_numeric():
        parsed = _parse_seconds(frame, column, what)
    elif dtype == pl.String:
        parsed = _parse_strings(frame, column, what)
    else:
        raise DataError(
            f"{what}: column {column!r} has type {dtype}, which is not a time.", column=column, hint="give Datetime, Date, ISO strings or Unix seconds."
        )
    if "__recokit_t" in parsed.columns:
        parsed = parsed.with_columns(pl.col("__recokit_t").alias(column)).drop([c for c in ("__recokit_t", "__recokit_dm", "__recokit_md") if c in parsed.columns])
    check_no_nulls(parsed, column, what)
    reject_rows(
        parsed,
        (col < _FIRST) | (col >= _LAST),
        column,
        f"{what}: {{n}} time(s) of column {column!r} are before 1900 or after 2200",
        "a two-digit year reads as year 24: write years with four digits, or pass time_format with %y.",
    )
    return parsed
