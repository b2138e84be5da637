"""Loaders for public benchmark formats and for a shop's own transaction export.

Every loader reads a path the user gives and returns a :class:`recokit.Dataset`; nothing is
downloaded. Three formats:

* :func:`load_movielens_100k` -- the MovieLens 100k folder (``u.data`` ratings, ``u.item`` titles
  and genre flags);
* :func:`load_basket_lines` -- one basket per line, items separated by commas, no ids, no times
  (the classic "Groceries" file of the R package arules);
* :func:`load_transactions` -- any CSV / Parquet of order lines, with a column mapping.

Examples
--------
>>> import tempfile, pathlib
>>> from recokit.datasets.loaders import load_basket_lines
>>> path = pathlib.Path(tempfile.mkdtemp()) / "baskets.csv"
>>> _ = path.write_text("milk,bread\\nbeer\\nmilk,butter,bread\\n")
>>> ds = load_basket_lines(path)
>>> ds.n_baskets, ds.n_items
(3, 4)
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.data import READ_ERRORS, Dataset, read_error

__all__ = ["load_basket_lines", "load_movielens_100k", "load_transactions"]

_ML_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what}: file not found: {str(p)!r}.", hint="give the path of a file you have; recokit never downloads data.")
    return p


def load_movielens_100k(path: str | Path, *, min_rating: float | None = None) -> Dataset:
    """MovieLens 100k from its folder (``u.data`` and, when present, ``u.item``).

    Parameters
    ----------
    path : str or Path
        The ``ml-100k`` folder (or the ``u.data`` file itself, ``u.item`` then read beside it).
    min_rating : float, optional
        Keep only ratings >= this value (implicit-feedback "liked" items). Rows removed are
        reported with a :class:`~recokit.DataWarning` giving their number. Default: keep all,
        every rating is an interaction.

    Returns
    -------
    Dataset
        Interactions ``customer_id`` (user id), ``item_id`` (movie id), ``timestamp`` (from Unix
        seconds), each of weight 1 (the rating only selects rows, through ``min_rating``); a catalogue with ``title``, ``release_date``, ``genres`` (list) and
        ``category`` (the first genre, used for diversity) when ``u.item`` exists. Baskets:
        a user's ratings of one day form one basket (the Dataset default).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from recokit.datasets.loaders import load_movielens_100k
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "u.data").write_text("1\\t10\\t5\\t881250949\\n2\\t10\\t3\\t891717742\\n")
    >>> ds = load_movielens_100k(d)
    >>> ds.n_customers, ds.n_items, ds.has_time
    (2, 1, True)
    """
    p = _existing(path, "load_movielens_100k")
    folder = p if p.is_dir() else p.parent
    data_path = _existing(folder / "u.data" if p.is_dir() else p, "load_movielens_100k")
    try:
        ratings = pl.read_csv(
            data_path,
            separator="\t",
            has_header=False,
            new_columns=["customer_id", "item_id", "rating", "timestamp"],
            schema_overrides={"customer_id": pl.Int64, "item_id": pl.Int64, "rating": pl.Float64, "timestamp": pl.Int64},
        )
    except READ_ERRORS as exc:
        raise read_error("load_movielens_100k", data_path, exc) from None
    if min_rating is not None:
        if isinstance(min_rating, bool) or not isinstance(min_rating, (int, float)):
            raise ConfigError(f"The 'min_rating' parameter of load_movielens_100k must be a number. Got {min_rating!r} instead.")
        kept = ratings.filter(pl.col("rating") >= min_rating)
        n_drop = ratings.height - kept.height
        if n_drop:
            warnings.warn(
                f"load_movielens_100k: dropped {n_drop} of {ratings.height} ratings below min_rating={min_rating}.",
                DataWarning,
                stacklevel=2,
            )
        ratings = kept
    catalog = None
    item_path = folder / "u.item"
    if item_path.exists():
        raw = item_path.read_bytes().decode("latin-1")
        rows = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            f = line.split("|")
            if len(f) < 5 + len(_ML_GENRES):
                raise DataError(f"{item_path}: expected {5 + len(_ML_GENRES)} '|'-separated fields, got {len(f)} in line {line[:60]!r}.")
            flags = f[5 : 5 + len(_ML_GENRES)]
            genres = [g for g, v in zip(_ML_GENRES, flags, strict=True) if v.strip() == "1"]
            if not f[0].strip().isdigit():
                raise DataError(f"{item_path}: the movie id {f[0][:20]!r} is not a number, in line {line[:60]!r}.")
            rows.append((int(f[0]), f[1], f[2] or None, genres, genres[0] if genres else "unknown"))
        catalog = pl.DataFrame(
            rows,
            schema={"item_id": pl.Int64, "title": pl.String, "release_date": pl.String, "genres": pl.List(pl.String), "category": pl.String},
            orient="row",
        )
    return Dataset(ratings, catalog, time_col="timestamp")


def load_basket_lines(path: str | Path, *, separator: str = ",") -> Dataset:
    """One basket per line, items separated by ``separator`` (the classic Groceries format).

    The file has no customer ids and no times: each line becomes one anonymous basket whose
    ``customer_id`` and ``basket_id`` are its 1-based line number. An item repeated on one line
    counts once in the basket (``basket_items``) and adds its weight to ``user_items``. Blank lines
    are skipped and reported with a :class:`~recokit.DataWarning` giving their number.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "b.csv"
    >>> _ = path.write_text('whole milk,"rolls/buns"\\nsoda\\n')
    >>> load_basket_lines(path).catalog["item_id"].to_list()
    ['rolls/buns', 'soda', 'whole milk']
    """
    p = _existing(path, "load_basket_lines")
    if not isinstance(separator, str) or len(separator) != 1:
        raise ConfigError(f"The 'separator' parameter of load_basket_lines must be one character. Got {separator!r} instead.")
    baskets: list[int] = []
    items: list[str] = []
    blank = 0
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            for line_no, row in enumerate(csv.reader(fh, delimiter=separator), start=1):
                cells = [c.strip() for c in row if c.strip()]
                if not cells:
                    blank += 1
                    continue
                baskets.extend([line_no] * len(cells))
                items.extend(cells)
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise read_error("load_basket_lines", p, exc) from None
    if blank:
        warnings.warn(f"load_basket_lines: skipped {blank} blank line(s) of {p}.", DataWarning, stacklevel=2)
    if not items:
        raise DataError(f"load_basket_lines: {p} holds no basket.")
    frame = pl.DataFrame({"customer_id": baskets, "basket_id": baskets, "item_id": items}, schema={"customer_id": pl.Int64, "basket_id": pl.Int64, "item_id": pl.String})
    return Dataset(frame, basket_col="basket_id")


def _read_transactions(path: str | Path | Any, separator: str, text_columns: list[str], schema_overrides: Mapping[str, Any] | None) -> Any:
    """The order lines: a CSV / TSV / Parquet file read with polars (ids as text), or the table given."""
    if not isinstance(path, (str, Path)):
        return path
    p = _existing(path, "load_transactions")
    suffix = p.suffix.lower()
    overrides = {c: pl.String for c in text_columns} | dict(schema_overrides or {})
    try:
        if suffix in {".parquet", ".pq"}:
            return pl.read_parquet(p)
        return pl.read_csv(p, separator="\t" if suffix == ".tsv" else separator, infer_schema_length=None, schema_overrides=overrides)
    except READ_ERRORS as exc:
        raise read_error("load_transactions", p, exc) from None


def load_transactions(
    path: str | Path | Any,
    *,
    customer_col: str | None = "customer_id",
    item_col: str = "item_id",
    time_col: str | None = None,
    basket_col: str | None = None,
    quantity_col: str | None = None,
    event_col: str | None = None,
    time_format: str | None = None,
    separator: str = ",",
    catalog: Any = None,
    customers: Any = None,
    schema_overrides: Mapping[str, Any] | None = None,
    **dataset_kwargs: Any,
) -> Dataset:
    """A shop's transaction export (CSV, TSV or Parquet, or a DataFrame) with a column mapping.

    Parameters
    ----------
    path : str, Path or DataFrame
        The order lines.
    customer_col, item_col, time_col, basket_col, quantity_col, event_col : str
        The export's column names (see :class:`recokit.Dataset`). Without ``basket_col``, a
        customer's lines of one day form a basket.
    time_format : str, optional
        A ``strftime`` format for a text time column (e.g. ``"%d-%m-%Y"``), passed to
        :class:`~recokit.Dataset`; default: ISO 8601 (offsets converted to UTC) and day/month/year
        dates, an error when day first and month first both fit and differ.
    separator : str
        CSV field separator (default ``,``).
    catalog, customers : optional
        Passed to :class:`~recokit.Dataset`.
    schema_overrides : mapping, optional
        Column types for reading a CSV, passed to polars. The id columns (customer, item, basket)
        are read as strings by default, so ``007`` and ``7`` stay two products; pass
        ``{"customer_id": pl.Int64}`` to read integer ids instead.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("Member_number,Date,itemDescription\\n1,21-07-2015,milk\\n1,21-07-2015,bread\\n2,05-01-2015,milk\\n")
    >>> ds = load_transactions(path, customer_col="Member_number", item_col="itemDescription",
    ...                        time_col="Date", time_format="%d-%m-%Y")
    >>> ds.n_customers, ds.n_baskets, str(ds.last_time)
    (2, 2, '2015-07-21 00:00:00')
    """
    if not isinstance(separator, str) or len(separator) != 1:
        raise ConfigError(f"The 'separator' parameter of load_transactions must be one character. Got {separator!r} instead.")
    text = [c for c in (customer_col, item_col, basket_col) if isinstance(c, str)]
    frame = _read_transactions(path, separator, text, schema_overrides)
    return Dataset(
        frame,
        catalog,
        customers,
        customer_col=customer_col,
        item_col=item_col,
        time_col=time_col,
        basket_col=basket_col,
        quantity_col=quantity_col,
        event_col=event_col,
        time_format=time_format,
        **dataset_kwargs,
    )
