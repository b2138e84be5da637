"""The validated data every model is fitted on.

A :class:`Dataset` holds a shop's interactions (order lines, cart adds, views), its product
catalogue and, optionally, declared customer data. It checks the input once, up front, maps the
shop's ids to contiguous numbers and builds the sparse matrices the models use:

* ``user_items`` -- customers x items, summed interaction weight (quantity x event weight);
* ``basket_items`` -- baskets x items, 1 where the item is in the basket.

Public methods take and return the shop's ids; matrix rows and columns (``*_idx``) stay internal.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> orders = pl.DataFrame({
...     "customer_id": ["ann", "ann", "bob"],
...     "item_id": ["bike", "helmet", "bike"],
...     "order_id": [1, 1, 2],
... })
>>> ds = Dataset(orders, basket_col="order_id")
>>> ds.n_customers, ds.n_items, ds.n_baskets
(2, 2, 2)
>>> ds.item_ids.index(["helmet"]).tolist()
[1]
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DataWarning, _hint

__all__ = ["DEFAULT_EVENT_WEIGHTS", "Dataset", "IdMap"]

#: Weight of each event type when ``event_col`` is given without ``event_weights``.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"purchase": 1.0, "add_to_cart": 0.5, "view": 0.1}

_EXAMPLES = 5  # how many offending rows an error message shows


class IdMap:
    """A stable, bidirectional map between a shop's ids and contiguous indices ``0..n-1``.

    Ids are kept in the order given (no sorting, no re-mapping later), so index ``i`` always means
    the same id for the life of a fitted model.

    Parameters
    ----------
    ids : sequence or polars Series
        Unique ids (ints or strings). Duplicates raise :class:`~recokit.DataError`.
    name : str
        What the ids are ("item", "customer"), used in messages.

    Examples
    --------
    >>> m = IdMap(["b", "a", "c"], name="item")
    >>> m.index(["a", "c"]).tolist()
    [1, 2]
    >>> m.id(0)
    'b'
    >>> m.index(["zzz"], missing="ignore").tolist()
    [-1]
    """

    __slots__ = ("_series", "_list", "_dict", "name")

    def __init__(self, ids: Sequence[Hashable] | pl.Series | np.ndarray, *, name: str = "id") -> None:
        series = ids if isinstance(ids, pl.Series) else pl.Series("id", list(ids) if not isinstance(ids, np.ndarray) else ids)
        series = series.alias("id")
        if series.null_count():
            raise DataError(f"{name} ids contain {series.null_count()} null value(s).")
        if series.n_unique() != len(series):
            dupes = series.filter(series.is_duplicated()).unique(maintain_order=True).head(_EXAMPLES).to_list()
            raise DataError(f"{name} ids must be unique; duplicated: {dupes}.")
        self._series = series
        self._list: list[Any] | None = None
        self._dict: dict[Any, int] | None = None
        self.name = name

    # -- introspection -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._series)

    def __repr__(self) -> str:
        return f"IdMap({self.name}, n={len(self)}, dtype={self._series.dtype})"

    def __contains__(self, id_: object) -> bool:
        try:
            return id_ in self._mapping()
        except TypeError:  # unhashable
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._series.equals(other._series)

    __hash__ = None  # type: ignore[assignment]

    @property
    def dtype(self) -> pl.DataType:
        """The polars dtype of the ids."""
        return self._series.dtype

    @property
    def series(self) -> pl.Series:
        """The ids in index order, as a polars Series named ``id``."""
        return self._series

    def to_list(self) -> list[Any]:
        """The ids in index order, as Python objects."""
        if self._list is None:
            self._list = self._series.to_list()
        return self._list

    def check_kind(self, ids: Iterable[Hashable], where: str) -> None:
        """Raise :class:`~recokit.ConfigError` when an id is not of this map's kind (int or str).

        An id of the other kind can never match (``"42"`` is not ``42``), so it would silently be
        treated as unknown: a request carrying ids as strings would get cold-start answers for
        every customer.
        """
        want_int = self._series.dtype.is_integer()
        for pos, v in enumerate(ids):
            ok = (isinstance(v, (int, np.integer)) and not isinstance(v, bool)) if want_int else isinstance(v, str)
            if not ok:
                kind = "integers" if want_int else "strings"
                raise ConfigError(
                    _hint(
                        f"{where}: {self.name} ids are {kind} in the fitted data, but got {v!r} "
                        f"({type(v).__name__}) at position {pos}.",
                        f"convert the id (e.g. {'int' if want_int else 'str'}({v!r})); for an anonymous visitor pass None.",
                    )
                )

    def _mapping(self) -> dict[Any, int]:
        if self._dict is None:
            self._dict = {v: i for i, v in enumerate(self.to_list())}
        return self._dict

    # -- lookups -------------------------------------------------------------------------
    def get(self, id_: Hashable) -> int | None:
        """Index of one id, or ``None`` when it is unknown."""
        try:
            return self._mapping().get(id_)
        except TypeError:
            return None

    def id(self, idx: int) -> Any:
        """The id at index ``idx``."""
        return self.to_list()[int(idx)]

    def ids(self, idx: Iterable[int] | np.ndarray) -> list[Any]:
        """The ids at several indices (in the order given)."""
        values = self.to_list()
        return [values[int(i)] for i in np.asarray(idx, dtype=np.int64).ravel()]

    def index(
        self, ids: Iterable[Hashable], *, missing: Literal["raise", "ignore"] = "raise"
    ) -> np.ndarray:
        """Indices of several ids, as an ``int64`` array.

        ``missing="raise"`` raises :class:`~recokit.DataError` naming the unknown ids;
        ``missing="ignore"`` returns ``-1`` for them.
        """
        mapping = self._mapping()
        ids = list(ids)  # may be a generator: it is read twice when reporting unknown ids
        out = np.fromiter((mapping.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
        if missing == "raise" and (out < 0).any():
            unknown = [i for i, j in zip(ids, out, strict=False) if j < 0][:_EXAMPLES]
            raise DataError(
                _hint(
                    f"{int((out < 0).sum())} unknown {self.name} id(s), e.g. {unknown}.",
                    f"{self.name} ids must be among the {len(self)} ids the dataset was built with.",
                )
            )
        return out


def _to_frame(obj: Any, what: str) -> pl.DataFrame:
    """Turn any supported table into a polars DataFrame (no copy where polars allows)."""
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.exists():
            raise DataError(f"{what}: file not found: {str(path)!r}.")
        suffix = path.suffix.lower()
        if suffix in {".parquet", ".pq"}:
            return pl.read_parquet(path)
        if suffix in {".csv", ".txt", ".tsv"}:
            return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10_000)
        raise DataError(
            _hint(f"{what}: unsupported file type {suffix!r} ({path}).", "give a .csv, .tsv or .parquet file, or a DataFrame.")
        )
    module = type(obj).__module__
    if module.startswith("pandas"):
        return pl.from_pandas(obj)
    if module.startswith("pyarrow"):
        frame = pl.from_arrow(obj)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise DataError(
        _hint(
            f"{what}: expected a polars/pandas DataFrame, a pyarrow Table or a CSV/Parquet path; got {type(obj).__name__}.",
            "convert your data with polars.DataFrame(...) first.",
        )
    )


def _require_columns(frame: pl.DataFrame, columns: Iterable[str | None], what: str) -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise DataError(
            _hint(
                f"{what}: missing required column(s) {missing}; the table has {frame.columns}.",
                "name the columns with the Dataset(...) arguments, e.g. customer_col='client', item_col='sku'.",
            )
        )


def _examples(frame: pl.DataFrame, mask: pl.Series | pl.Expr, column: str) -> str:
    bad = frame.with_row_index("row").filter(mask).head(_EXAMPLES)
    pairs = ", ".join(f"row {r}: {v!r}" for r, v in zip(bad["row"].to_list(), bad[column].to_list(), strict=True))
    return pairs


def _check_no_nulls(frame: pl.DataFrame, column: str, what: str) -> None:
    n = frame[column].null_count()
    if n:
        rows = frame.with_row_index("row").filter(pl.col(column).is_null())["row"].head(_EXAMPLES).to_list()
        raise DataError(
            _hint(f"{what}: column {column!r} has {n} null value(s), e.g. at rows {rows}.", "remove or fill those rows first.")
        )


def _normalise_ids(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    if dtype.is_integer():
        return frame.with_columns(pl.col(column).cast(pl.Int64))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return frame.with_columns(pl.col(column).cast(pl.String))
    raise DataError(
        _hint(f"column {column!r} holds ids of type {dtype}; ids must be integers or strings.", "cast the column to str or int.")
    )


def _parse_time(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    """Turn the time column into naive ``Datetime('us')`` (UTC for tz-aware input) or raise."""
    dtype = frame.schema[column]
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        expr = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else col
        parsed = frame.with_columns(expr.dt.cast_time_unit("us").alias(column))
    elif dtype == pl.Date:
        parsed = frame.with_columns(col.cast(pl.Datetime("us")).alias(column))
    elif dtype.is_numeric():
        # integers / floats are Unix seconds; milliseconds (JavaScript exports) would land in
        # year 55,000 and break every time-based model later, so they are refused here
        secs = frame[column].cast(pl.Float64)
        bad = (secs < -2_208_988_800) | (secs > 7_258_118_400)  # outside 1900..2200
        if bad.any():
            raise DataError(
                _hint(
                    f"{what}: {int(bad.sum())} value(s) of column {column!r} are not Unix seconds between 1900 and 2200, "
                    f"e.g. {_examples(frame, bad, column)}.",
                    "values near 1.7e12 are milliseconds: divide them by 1000 first.",
                )
            )
        parsed = frame.with_columns((col.cast(pl.Float64) * 1e6).cast(pl.Int64).cast(pl.Datetime("us")).alias(column))
    elif dtype == pl.String:
        attempt = col.str.to_datetime(strict=False, time_unit="us")
        parsed = frame.with_columns(attempt.alias("__t"))
        if parsed["__t"].null_count() == len(parsed) and len(parsed):
            # a date-only or day-first format polars did not infer: try the common shop formats
            for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d"):
                attempt = col.str.to_datetime(format=fmt, strict=False, time_unit="us")
                trial = frame.with_columns(attempt.alias("__t"))
                if trial["__t"].null_count() < parsed["__t"].null_count():
                    parsed = trial
        if parsed["__t"].dtype.time_zone if isinstance(parsed["__t"].dtype, pl.Datetime) else None:
            parsed = parsed.with_columns(pl.col("__t").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        bad = pl.col("__t").is_null() & col.is_not_null()
        n_bad = parsed.select(bad.sum()).item()
        if n_bad:
            raise DataError(
                _hint(
                    f"{what}: {n_bad} value(s) of column {column!r} are not parseable timestamps, e.g. "
                    f"{_examples(parsed, bad, column)}.",
                    "use ISO 8601 ('2024-05-31' or '2024-05-31T14:02:00'), or pass a Datetime column.",
                )
            )
        parsed = parsed.with_columns(pl.col("__t").alias(column)).drop("__t")
    else:
        raise DataError(
            _hint(f"{what}: column {column!r} has type {dtype}, which is not a time.", "give Datetime, Date, ISO strings or Unix seconds.")
        )
    _check_no_nulls(parsed, column, what)
    return parsed


class Dataset:
    """Validated interactions + catalogue (+ customers), with id maps and sparse matrices.

    Parameters
    ----------
    interactions : polars / pandas DataFrame, pyarrow Table, or path to a CSV / Parquet file
        One row per interaction (an order line, a cart add, a view).
    catalog : same kinds, optional
        One row per product: ``item_col`` and any attributes (category, brand, price, stock,
        age_group, description, ...). When given, it defines the item universe: every model
        scores every catalogue item, including products nobody bought yet.
    customers : same kinds, optional
        One row per customer: ``customer_col`` and declared data (sports, level, consent flags).
    customer_col, item_col : str
        Names of the id columns (the catalogue uses ``item_col``, the customer table ``customer_col``).
    time_col : str, optional
        Timestamp of each interaction: Datetime, Date, ISO strings or Unix seconds.
    basket_col : str, optional
        Order / basket id. Without it, a basket is a customer's purchases on one day (when
        ``time_col`` is given), else a customer's whole history.
    quantity_col : str, optional
        Quantity (or any positive weight) of each line; default 1.
    event_col : str, optional
        Event type of each row ('purchase', 'add_to_cart', 'view', ...).
    event_weights : mapping, optional
        Weight per event type (default :data:`DEFAULT_EVENT_WEIGHTS`). A type not in the mapping
        is an error.
    unknown_items : {'error', 'drop'}
        What to do with interactions on items absent from the catalogue: raise (default) or drop
        them with a :class:`~recokit.DataWarning` that says how many.

    Attributes
    ----------
    interactions : pl.DataFrame
        Normalised rows: ``customer_id, item_id, customer_idx, item_idx, basket_idx, weight,
        quantity`` (+ ``timestamp`` and ``event`` when given).
    catalog : pl.DataFrame
        One row per item in ``item_idx`` order (just ``item_id`` when no catalogue was given).
    customers : pl.DataFrame or None
        The customer table as given (ids normalised).
    item_ids, customer_ids : IdMap
    user_items : scipy.sparse.csr_array
        ``n_customers x n_items`` float64, summed weights.
    basket_items : scipy.sparse.csr_array
        ``n_baskets x n_items`` float64, 1.0 where the item is in the basket.
    basket_customer_idx : np.ndarray
        The customer of each basket.
    basket_time : np.ndarray or None
        ``datetime64[us]``: the first timestamp of each basket.
    """

    def __init__(
        self,
        interactions: Any,
        catalog: Any = None,
        customers: Any = None,
        *,
        customer_col: str = "customer_id",
        item_col: str = "item_id",
        time_col: str | None = None,
        basket_col: str | None = None,
        quantity_col: str | None = None,
        event_col: str | None = None,
        event_weights: Mapping[str, float] | None = None,
        unknown_items: Literal["error", "drop"] = "error",
    ) -> None:
        if unknown_items not in ("error", "drop"):
            raise ConfigError(f"unknown_items must be 'error' or 'drop'. Got {unknown_items!r}.")
        self.columns = {
            "customer_col": customer_col,
            "item_col": item_col,
            "time_col": time_col,
            "basket_col": basket_col,
            "quantity_col": quantity_col,
            "event_col": event_col,
        }
        inter = _to_frame(interactions, "interactions")
        _require_columns(inter, [customer_col, item_col, time_col, basket_col, quantity_col, event_col], "interactions")
        for c in (customer_col, item_col):
            _check_no_nulls(inter, c, "interactions")
        inter = _normalise_ids(_normalise_ids(inter, customer_col), item_col)

        # -- catalogue ----------------------------------------------------------------
        if catalog is not None:
            cat = _to_frame(catalog, "catalog")
            _require_columns(cat, [item_col], "catalog")
            _check_no_nulls(cat, item_col, "catalog")
            cat = _normalise_ids(cat, item_col)
            dup = cat[item_col].is_duplicated()
            if dup.any():
                raise DataError(
                    _hint(
                        f"catalog: {int(dup.sum())} rows share an item id in column {item_col!r}, e.g. "
                        f"{_examples(cat, dup, item_col)}.",
                        "keep one row per product (deduplicate the catalogue).",
                    )
                )
            if cat.schema[item_col] != inter.schema[item_col]:
                raise DataError(
                    _hint(
                        f"item ids are {inter.schema[item_col]} in interactions but {cat.schema[item_col]} in the catalog.",
                        "cast both columns to the same type (str or int) before building the Dataset.",
                    )
                )
            known = inter.select(pl.col(item_col).is_in(cat[item_col].implode()))[item_col]
            n_unknown = int((~known).sum())
            if n_unknown:
                msg = (
                    f"interactions: {n_unknown} row(s) refer to items absent from the catalog, e.g. "
                    f"{_examples(inter, ~known, item_col)}."
                )
                if unknown_items == "error":
                    raise DataError(
                        _hint(msg, "add the items to the catalog, or pass unknown_items='drop' to drop these rows with a warning.")
                    )
                warnings.warn(f"{msg} Dropped {n_unknown} of {len(inter)} rows (unknown_items='drop').", DataWarning, stacklevel=2)
                inter = inter.filter(known)
            item_map = IdMap(cat[item_col], name="item")
        else:
            cat = inter.select(pl.col(item_col).unique().sort())
            item_map = IdMap(cat[item_col], name="item")

        # -- customers ----------------------------------------------------------------
        cust = None
        if customers is not None:
            cust = _to_frame(customers, "customers")
            _require_columns(cust, [customer_col], "customers")
            _check_no_nulls(cust, customer_col, "customers")
            cust = _normalise_ids(cust, customer_col)
            dup = cust[customer_col].is_duplicated()
            if dup.any():
                raise DataError(
                    _hint(
                        f"customers: {int(dup.sum())} rows share a customer id, e.g. {_examples(cust, dup, customer_col)}.",
                        "keep one row per customer.",
                    )
                )
            if cust.schema[customer_col] != inter.schema[customer_col]:
                raise DataError(
                    _hint(
                        f"customer ids are {inter.schema[customer_col]} in interactions but {cust.schema[customer_col]} in customers.",
                        "cast both columns to the same type (str or int).",
                    )
                )
            all_customers = pl.concat([cust[customer_col], inter[customer_col]]).unique().sort()
        else:
            all_customers = inter[customer_col].unique().sort()
        customer_map = IdMap(all_customers, name="customer")

        # -- weights, time ------------------------------------------------------------
        if time_col is not None:
            inter = _parse_time(inter, time_col, "interactions")
        weight = pl.lit(1.0)
        if quantity_col is not None:
            q = inter.schema[quantity_col]
            if not q.is_numeric():
                raise DataError(_hint(f"interactions: column {quantity_col!r} must be numeric; got {q}.", "cast it to int or float."))
            qcol = pl.col(quantity_col).cast(pl.Float64)
            bad = qcol.is_null() | qcol.is_nan() | (qcol <= 0)
            n_bad = inter.select(bad.sum()).item()
            if n_bad:
                raise DataError(
                    _hint(
                        f"interactions: {n_bad} row(s) of column {quantity_col!r} are negative, zero, NaN or null, e.g. "
                        f"{_examples(inter, bad, quantity_col)}.",
                        "quantities must be > 0: remove returns and cancellations before building the Dataset.",
                    )
                )
            weight = qcol
        if event_col is not None:
            weights = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
            for name, w in weights.items():
                if not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
                    raise ConfigError(f"event_weights[{name!r}] must be a finite number >= 0. Got {w!r}.")
            inter = inter.with_columns(pl.col(event_col).cast(pl.String))
            _check_no_nulls(inter, event_col, "interactions")
            unknown = inter.filter(~pl.col(event_col).is_in(list(weights)))
            if len(unknown):
                kinds = unknown[event_col].unique().sort().head(_EXAMPLES).to_list()
                raise DataError(
                    _hint(
                        f"interactions: {len(unknown)} row(s) have event types without a weight: {kinds}.",
                        f"pass event_weights with a weight for each type (known: {sorted(weights)}).",
                    )
                )
            weight = weight * pl.col(event_col).replace_strict(weights, return_dtype=pl.Float64)
        elif event_weights is not None:
            raise ConfigError("event_weights was given without event_col: name the column that holds the event type.")

        # -- indices and baskets -----------------------------------------------------
        item_frame = pl.DataFrame({item_col: item_map.series, "item_idx": np.arange(len(item_map), dtype=np.int64)})
        cust_frame = pl.DataFrame({customer_col: customer_map.series, "customer_idx": np.arange(len(customer_map), dtype=np.int64)})
        norm = inter.with_columns(weight.alias("weight")).join(item_frame, on=item_col, how="left").join(
            cust_frame, on=customer_col, how="left"
        )
        if basket_col is not None:
            _check_no_nulls(norm, basket_col, "interactions")
            owners = norm.group_by(basket_col).agg(pl.col(customer_col).n_unique().alias("n"))
            shared = owners.filter(pl.col("n") > 1)
            if len(shared):
                raise DataError(
                    _hint(
                        f"interactions: {len(shared)} basket(s) in column {basket_col!r} belong to more than one customer, e.g. "
                        f"{shared[basket_col].head(_EXAMPLES).to_list()}.",
                        "an order id must identify one customer's order; check the join that built the table.",
                    )
                )
            key = [basket_col]
        elif time_col is not None:
            norm = norm.with_columns(pl.col(time_col).dt.date().alias("__day"))
            key = ["customer_idx", "__day"]
        else:
            key = ["customer_idx"]
        # basket order: by first time (when known), then by key, so indices do not depend on row order
        agg = [pl.col("customer_idx").first().alias("__bc")]
        if time_col is not None:
            agg.append(pl.col(time_col).min().alias("__bt"))
        baskets = norm.group_by(key).agg(agg)
        sort_by = (["__bt"] if time_col is not None else []) + key
        baskets = baskets.sort(sort_by).with_row_index("basket_idx").with_columns(pl.col("basket_idx").cast(pl.Int64))
        norm = norm.join(baskets.select([*key, "basket_idx"]), on=key, how="left")

        keep = [
            pl.col(customer_col).alias("customer_id"),
            pl.col(item_col).alias("item_id"),
            "customer_idx",
            "item_idx",
            "basket_idx",
            "weight",
            (pl.col(quantity_col).cast(pl.Float64) if quantity_col else pl.lit(1.0)).alias("quantity"),
        ]
        if time_col is not None:
            keep.append(pl.col(time_col).alias("timestamp"))
        if event_col is not None:
            keep.append(pl.col(event_col).alias("event"))
        sort_cols = (["timestamp"] if time_col is not None else []) + ["basket_idx", "item_idx"]
        self.interactions: pl.DataFrame = norm.select(keep).sort(sort_cols)
        self.catalog: pl.DataFrame = cat.rename({item_col: "item_id"}) if item_col != "item_id" else cat
        if cust is not None and customer_col != "customer_id":
            cust = cust.rename({customer_col: "customer_id"})
        self.customers: pl.DataFrame | None = cust
        self.item_ids = item_map
        self.customer_ids = customer_map
        self._basket_customer = baskets["__bc"].to_numpy().astype(np.int64)
        self._basket_time = baskets["__bt"].to_numpy() if time_col is not None else None
        self._matrices: dict[str, sp.csr_array] = {}

    # -- construction helpers ------------------------------------------------------------
    @classmethod
    def _derive(cls, parent: Dataset, interactions: pl.DataFrame, catalog: pl.DataFrame | None = None) -> Dataset:
        """A dataset sharing ``parent``'s id maps, customers and catalogue, with other interactions."""
        new = cls.__new__(cls)
        new.columns = dict(parent.columns)
        new.catalog = parent.catalog if catalog is None else catalog
        new.customers = parent.customers
        new.item_ids = parent.item_ids
        new.customer_ids = parent.customer_ids
        used = interactions["basket_idx"].unique().sort()
        remap = pl.DataFrame({"basket_idx": used, "__nb": np.arange(len(used), dtype=np.int64)})
        inter = interactions.join(remap, on="basket_idx", how="left").with_columns(pl.col("__nb").alias("basket_idx")).drop("__nb")
        new.interactions = inter.select(interactions.columns)
        old = used.to_numpy()
        new._basket_customer = parent._basket_customer[old]
        new._basket_time = parent._basket_time[old] if parent._basket_time is not None else None
        new._matrices = {}
        return new

    def filter(self, predicate: pl.Expr | pl.Series | np.ndarray) -> Dataset:
        """A dataset with only the interactions where ``predicate`` holds, keeping the id maps.

        Customers and items keep their indices (a model fitted on a filtered dataset scores the
        same catalogue), which is what a train/test split needs.

        >>> import polars as pl
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2], "item_id": ["a", "b", "a"]}))
        >>> ds.filter(pl.col("customer_id") == 1).n_interactions, ds.filter(pl.col("customer_id") == 1).n_customers
        (2, 2)
        """
        if isinstance(predicate, np.ndarray):
            predicate = pl.Series(predicate.astype(bool))
        return Dataset._derive(self, self.interactions.filter(predicate))

    def with_catalog(self, catalog: Any) -> Dataset:
        """The same dataset with refreshed catalogue attributes (stock, price, promotion...).

        The new catalogue must hold exactly the same item ids (any row order); models fitted on
        this dataset stay valid, no refit needed.
        """
        item_col = "item_id"
        cat = _to_frame(catalog, "catalog").rename({self.columns["item_col"]: item_col}, strict=False)
        _require_columns(cat, [item_col], "with_catalog")
        _check_no_nulls(cat, item_col, "with_catalog")
        cat = _normalise_ids(cat, item_col)
        if cat.schema[item_col] != self.item_ids.dtype:
            raise DataError(
                _hint(
                    f"with_catalog: item ids are {self.item_ids.dtype} in the dataset but {cat.schema[item_col]} in the new catalogue.",
                    "cast the id column to the dataset's type (a CSV read may have guessed integers).",
                )
            )
        if cat[item_col].is_duplicated().any() or cat.height != self.n_items or not cat.select(pl.col(item_col).is_in(self.item_ids.series.implode()).all()).item():
            raise DataError(
                _hint(
                    f"with_catalog: the new catalogue must list exactly the dataset's {self.n_items} item ids, once each.",
                    "to add products, build a new Dataset and refit.",
                )
            )
        order = pl.DataFrame({item_col: self.item_ids.series})
        aligned = order.join(cat, on=item_col, how="left", maintain_order="left")
        new = Dataset._derive(self, self.interactions, catalog=aligned)
        new._matrices = self._matrices
        return new

    # -- sizes ----------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_interactions(self) -> int:
        return self.interactions.height

    @property
    def n_baskets(self) -> int:
        return len(self._basket_customer)

    @property
    def has_time(self) -> bool:
        return "timestamp" in self.interactions.columns

    @property
    def last_time(self) -> dt.datetime | None:
        """The latest interaction timestamp (the default "now" of queries), or None."""
        if not self.has_time or self.n_interactions == 0:
            return None
        return self.interactions["timestamp"].max()  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"Dataset(customers={self.n_customers}, items={self.n_items}, interactions={self.n_interactions}, "
            f"baskets={self.n_baskets}, time={'yes' if self.has_time else 'no'})"
        )

    # -- matrices --------------------------------------------------------------------------
    def _csr(self, rows: np.ndarray, values: np.ndarray, n_rows: int) -> sp.csr_array:
        cols = self.interactions["item_idx"].to_numpy()
        m = sp.csr_array((values, (rows, cols)), shape=(n_rows, self.n_items), dtype=np.float64)
        m.sum_duplicates()
        m.sort_indices()
        return m

    @property
    def user_items(self) -> sp.csr_array:
        """Customers x items, float64: the summed weight of each customer's interactions."""
        if "ui" not in self._matrices:
            self._matrices["ui"] = self._csr(
                self.interactions["customer_idx"].to_numpy(), self.interactions["weight"].to_numpy(), self.n_customers
            )
        return self._matrices["ui"]

    @property
    def basket_items(self) -> sp.csr_array:
        """Baskets x items, float64: 1.0 where the item is in the basket."""
        if "bi" not in self._matrices:
            m = self._csr(self.interactions["basket_idx"].to_numpy(), np.ones(self.n_interactions), self.n_baskets)
            m.data[:] = 1.0
            self._matrices["bi"] = m
        return self._matrices["bi"]

    @property
    def basket_customer_idx(self) -> np.ndarray:
        """The customer index of each basket."""
        return self._basket_customer

    @property
    def basket_time(self) -> np.ndarray | None:
        """The first timestamp of each basket (``datetime64[us]``), or None without times."""
        return self._basket_time

    def item_counts(self) -> np.ndarray:
        """Number of distinct customers who interacted with each item (length ``n_items``)."""
        m = self.user_items
        return np.bincount(m.indices, minlength=self.n_items).astype(np.int64)

    @property
    def only_purchases(self) -> bool:
        """True unless an event column holds other events than ``"purchase"`` (views, cart adds):
        models then say "chosen" / "interest in" instead of claiming a purchase in their reasons."""
        return "event" not in self.interactions.columns or bool((self.interactions["event"] == "purchase").all())

    def item_labels(self) -> list[str]:
        """What to call each item in a reason, in ``item_idx`` order: the catalogue's ``name``,
        or the item id where there is no name (never the text "None")."""
        ids = [str(i) for i in self.item_ids.to_list()]
        if "name" not in self.catalog.columns:
            return ids
        names = self.catalog["name"].cast(pl.String).to_list()
        return [n if n is not None and n.strip() else i for n, i in zip(names, ids, strict=True)]

    # -- per-customer views -------------------------------------------------------------
    def history(self, customer_id: Hashable) -> pl.DataFrame:
        """A customer's interactions, oldest first (empty for an unknown customer)."""
        idx = self.customer_ids.get(customer_id)
        return self.interactions.filter(pl.col("customer_idx") == (-1 if idx is None else idx))

    def customer_row(self, customer_id: Hashable) -> dict[str, Any] | None:
        """The customer's declared data as a dict, or None when there is none."""
        if self.customers is None or self.customer_ids.get(customer_id) is None:
            return None
        rows = self.customers.filter(pl.col("customer_id") == customer_id)
        return rows.row(0, named=True) if rows.height else None
