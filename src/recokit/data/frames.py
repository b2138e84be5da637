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

from recokit._errors import DataError, RecokitError
from recokit.data.validation import check_no_nulls, require_columns

__all__ = ["READ_ERRORS", "normalise_ids", "read_error", "read_id_table", "read_text_file", "to_frame"]

_INT64_MAX = 2**63 - 1


#: What polars, the operating system or the decoder may raise on a corrupt or unreadable file.
READ_ERRORS = (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError)


def read_error(what: str, path: Path, exc: BaseException) -> DataError:
    """The :class:`~recokit.DataError` for a file that could not be read: names the file and the cause."""
    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = "save it as UTF-8 (e.g. 'Save as CSV UTF-8')." if isinstance(exc, UnicodeDecodeError) or "utf-8" in cause.lower() else (
        "check the file is complete and of the type its name says (re-export it)."
    )
    return DataError(f"{what}: cannot read {str(path)!r}: {cause[:200]}", hint=hint)


def read_text_file(path: str | Path, what: str, error: type[RecokitError]) -> str:
    """A UTF-8 text file (a rules or pipeline TOML file), or ``error`` naming ``what`` and the file:
    unreadable (missing, a directory, no permission) or not UTF-8."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read the {what} {str(p)!r}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise error(f"the {what} {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).", hint=f"save it as UTF-8; a {what} is TOML text.") from None


def _read_file(path: Path, what: str, text_columns: Sequence[str]) -> pl.DataFrame:
    if not path.exists():
        raise DataError(f"{what}: file not found: {str(path)!r}.")
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv", ".txt", ".tsv"}:
        raise DataError(
            f"{what}: unsupported file type {suffix!r} ({path}).", hint="give a .csv, .tsv or .parquet file, or a DataFrame."
        )
    try:
        if suffix in {".parquet", ".pq"}:
            return pl.read_parquet(path)
        # ids are text in a CSV ('007' is not '7'); other columns are typed from every row, so a
        # value of another type after row 10,000 is seen (not a parse error half-way)
        return pl.read_csv(
            path,
            separator="\t" if suffix == ".tsv" else ",",
            infer_schema_length=None,
            schema_overrides={c: pl.String for c in text_columns},
        )
    except READ_ERRORS as exc:
        raise read_error(what, path, exc) from None


def to_frame(obj: Any, what: str, text_columns: Sequence[str] = ()) -> pl.DataFrame:
    """Turn any supported table into a polars DataFrame (no copy where polars allows).

    A CSV file's ``text_columns`` (the id columns) are read as strings, so ``007`` and ``7``
    stay two ids; to have integer ids, read the file yourself with
    ``pl.read_csv(path, schema_overrides={"item_id": pl.Int64})``.

    Parameters
    ----------
    obj : polars DataFrame / LazyFrame, pandas DataFrame, pyarrow Table, or a path
        A path must end in ``.csv``, ``.txt``, ``.tsv``, ``.parquet`` or ``.pq``.
    what : str
        Which table this is ("interactions", "catalog"), used in error messages.
    text_columns : sequence of str
        Columns read as strings from a CSV file (ignored for other inputs).

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
        return _read_file(Path(obj), what, text_columns)
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
    if dtype == pl.UInt64:
        too_big = frame[column] > _INT64_MAX
        if too_big.any():
            raise DataError(
                f"column {column!r} holds {int(too_big.sum())} id(s) above 2^63 - 1, the largest integer id, e.g. {frame[column].filter(too_big).head(3).to_list()}.",
                column=column,
                rows=int(too_big.sum()),
                hint="cast the column to str (pl.col(...).cast(pl.String)): ids are labels, not numbers.",
            )
    if dtype.is_integer():
        return frame.with_columns(pl.col(column).cast(pl.Int64))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return frame.with_columns(pl.col(column).cast(pl.String))
    raise DataError(
        f"column {column!r} holds ids of type {dtype}; ids must be integers or strings.", column=column, hint="cast the column to str or int."
    )


def read_id_table(
    obj: Any, what: str, id_columns: Sequence[str], other_columns: Iterable[str | None] = (), text_columns: Sequence[str] = ()
) -> pl.DataFrame:
    """:func:`to_frame`, then check the columns are there and the ids non-null, and normalise the ids.

    ``other_columns`` (``None`` entries are skipped) must exist but may hold nulls. From a CSV
    file the id columns and ``text_columns`` (an order id) are read as strings.
    """
    frame = to_frame(obj, what, [*id_columns, *text_columns])
    require_columns(frame, [*id_columns, *other_columns], what)
    for column in id_columns:
        check_no_nulls(frame, column, what)
    for column in id_columns:
        frame = normalise_ids(frame, column)
    return frame
