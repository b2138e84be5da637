"""Reading input tables into polars frames, and normalising their id columns.

A shop's data arrives as a polars or pandas DataFrame, a pyarrow Table, or a CSV / Parquet file;
:func:`to_frame` turns any of them into a polars DataFrame. Id columns hold integers (made
``Int64``) or strings (``String``, also from ``Categorical`` / ``Enum``); :func:`normalise_ids`
makes them so, and :func:`read_id_table` does both plus the column and null checks.

Examples
--------
>>> import polars as pl
>>> from recokit.data import read_id_table
>>> frame = read_id_table(pl.DataFrame({"item_id": pl.Series([3, 4], dtype=pl.Int8)}), "catalog", ["item_id"])
>>> frame.schema["item_id"]
Int64
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from recokit._errors import DataError
from recokit.data.validation import check_no_nulls, require_columns

__all__ = ["normalise_ids", "read_id_table", "to_frame"]


def _read_file(path: Path, what: str) -> pl.DataFrame:
    if not path.exists():
        raise DataError(f"{what}: file not found: {str(path)!r}.")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return pl.read_parquet(path)
    if suffix in {".csv", ".txt", ".tsv"}:
        return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10_000)
    raise DataError(
        f"{what}: unsupported file type {suffix!r} ({path}).", hint="give a .csv, .tsv or .parquet file, or a DataFrame."
    )


def to_frame(obj: Any, what: str) -> pl.DataFrame:
    """Turn any supported table into a polars DataFrame (no copy where polars allows).

    Parameters
    ----------
    obj : polars DataFrame / LazyFrame, pandas DataFrame, pyarrow Table, or a path
        A path must end in ``.csv``, ``.txt``, ``.tsv``, ``.parquet`` or ``.pq``.
    what : str
        Which table this is ("interactions", "catalog"), used in error messages.

    Returns
    -------
    pl.DataFrame

    Examples
    --------
    >>> import polars as pl
    >>> to_frame(pl.LazyFrame({"a": [1, 2]}), "catalog").height
    2
    >>> to_frame([1, 2], "catalog")
    Traceback (most recent call last):
    ...
    recokit._errors.DataError: catalog: expected a polars/pandas DataFrame, a pyarrow Table or a CSV/Parquet path; got list.
    Hint: convert your data with polars.DataFrame(...) first.
    """
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if isinstance(obj, (str, Path)):
        return _read_file(Path(obj), what)
    module = type(obj).__module__
    if module.startswith("pandas"):
        return pl.from_pandas(obj)
    if module.startswith("pyarrow"):
        frame = pl.from_arrow(obj)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise DataError(
        f"{what}: expected a polars/pandas DataFrame, a pyarrow Table or a CSV/Parquet path; got {type(obj).__name__}.", hint="convert your data with polars.DataFrame(...) first."
    )


def normalise_ids(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cast the id ``column`` to ``Int64`` (integer ids) or ``String`` (text ids), or raise.

    Examples
    --------
    >>> import polars as pl
    >>> normalise_ids(pl.DataFrame({"id": ["a"]}).cast(pl.Categorical), "id").schema["id"]
    String
    """
    dtype = frame.schema[column]
    if dtype.is_integer():
        return frame.with_columns(pl.col(column).cast(pl.Int64))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return frame.with_columns(pl.col(column).cast(pl.String))
    raise DataError(
        f"column {column!r} holds ids of type {dtype}; ids must be integers or strings.", hint="cast the column to str or int."
    )


def read_id_table(obj: Any, what: str, id_columns: Sequence[str], other_columns: Iterable[str | None] = ()) -> pl.DataFrame:
    """:func:`to_frame`, then check the columns are there and the ids non-null, and normalise the ids.

    ``other_columns`` (``None`` entries are skipped) must exist but may hold nulls.
    """
    frame = to_frame(obj, what)
    require_columns(frame, [*id_columns, *other_columns], what)
    for column in id_columns:
        check_no_nulls(frame, column, what)
    for column in id_columns:
        frame = normalise_ids(frame, column)
    return frame
