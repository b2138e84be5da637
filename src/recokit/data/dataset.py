"""The :class:`Dataset`: reads and checks the input tables once, in named steps, then holds
the normalised interactions, the catalogue, the id maps and the sparse matrices.

The steps live in their own modules (:mod:`recokit.data.frames`, ``validation``, ``time``,
``weights``, ``baskets``); this module only puts them in order. See :mod:`recokit.data` for an
example.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import warnings
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.data.arrays import dense_codes, lookup_codes, stable_order
from recokit.data.baskets import assign_baskets, interaction_order
from recokit.data.catalog import item_labels
from recokit.data.frames import read_id_table, to_frame
from recokit.data.idmap import IdMap
from recokit.data.time import parse_time
from recokit.data.update import add_change, forget_change, id_list
from recokit.data.validation import (
    check_no_nulls,
    check_prices,
    check_same_dtype,
    check_unique,
    examples,
)
from recokit.data.weights import interaction_weight

__all__ = ["Dataset"]


def _refuse_shadow(table: pl.DataFrame, id_col: str, canonical: str, what: str, arg: str) -> None:
    """Raise when ``table`` has a column named ``canonical`` besides its id column ``id_col``:
    the id column is renamed ``canonical`` in the Dataset, and one of the two would be lost."""
    if id_col != canonical and canonical in table.columns:
        raise DataError(
            f"{what}: has a column {canonical!r} besides the id column {id_col!r} ({arg}={id_col!r}); the Dataset names its id column {canonical!r}.",
            column=canonical,
            hint=f"rename or drop your {canonical!r} column, or use it as the id ({arg}={canonical!r}).",
        )


def _read_catalog(catalog: Any, item_col: str, inter: pl.DataFrame) -> pl.DataFrame:
    """The catalogue, checked: one row per item, ids of the interactions' type."""
    cat = read_id_table(catalog, "catalog", [item_col])
    _refuse_shadow(cat, item_col, "item_id", "catalog", "item_col")
    check_unique(
        cat, item_col, "catalog", f"an item id in column {item_col!r}", "keep one row per product (deduplicate the catalogue)."
    )
    check_same_dtype(
        inter,
        cat,
        item_col,
        "item ids are {left} in interactions but {right} in the catalog.",
        "cast both columns to the same type (str or int) before building the Dataset.",
    )
    return cat


def _keep_catalog_items(
    inter: pl.DataFrame, cat: pl.DataFrame, item_col: str, unknown_items: Literal["error", "drop"]
) -> pl.DataFrame:
    """The interactions on catalogue items; others raise, or are dropped with a warning."""
    known = inter.select(pl.col(item_col).is_in(cat[item_col].implode()))[item_col]
    n_unknown = int((~known).sum())
    if not n_unknown:
        return inter
    msg = f"interactions: {n_unknown} row(s) refer to items absent from the catalog, e.g. {examples(inter, ~known, item_col)}."
    if unknown_items == "error":
        raise DataError(msg, hint="add the items to the catalog, or pass unknown_items='drop' to drop these rows with a warning.")
    # stacklevel 3: the warning points at the Dataset(...) call, not at Dataset.__init__
    warnings.warn(f"{msg} Dropped {n_unknown} of {len(inter)} rows (unknown_items='drop').", DataWarning, stacklevel=3)
    return inter.filter(known)


def _read_customers(customers: Any, customer_col: str, inter: pl.DataFrame) -> pl.DataFrame:
    """The customer table, checked: one row per customer, ids of the interactions' type."""
    cust = read_id_table(customers, "customers", [customer_col])
    _refuse_shadow(cust, customer_col, "customer_id", "customers", "customer_col")
    check_unique(cust, customer_col, "customers", "a customer id", "keep one row per customer.")
    check_same_dtype(
        inter,
        cust,
        customer_col,
        "customer ids are {left} in interactions but {right} in customers.",
        "cast both columns to the same type (str or int).",
    )
    return cust


def _codes(values: pl.Series, ids: IdMap) -> np.ndarray:
    """The index in ``ids`` of each of ``values`` (every value is among the ids): a lookup table
    for integer ids of a compact range, else a join (rows keep their input order)."""
    found = lookup_codes(ids.series.to_numpy(), values.to_numpy()) if values.dtype.is_integer() else None
    if found is not None:
        return found
    frame = pl.DataFrame({"id": ids.series, "idx": np.arange(len(ids), dtype=np.int64)})
    return values.alias("id").to_frame().join(frame, on="id", how="left", maintain_order="left")["idx"].to_numpy()


def _customer_map(known: pl.Series) -> tuple[IdMap, np.ndarray | None]:
    """The customer ids (sorted) and, for integer ids of a compact range, the index of each of
    ``known`` (found with the ids, by a lookup table; None: to be joined)."""
    found = dense_codes(known.to_numpy()) if known.dtype.is_integer() else None
    if found is None:
        return IdMap(known.unique().sort(), name="customer"), None
    return IdMap(pl.Series("id", found[0], dtype=known.dtype), name="customer"), found[1]


def _with_indices(rows: pl.DataFrame, item_map: IdMap, customer_map: IdMap, customer_idx: np.ndarray | None = None) -> pl.DataFrame:
    """``rows`` (internal names) plus the ``item_idx`` and ``customer_idx`` of their ids, in the
    rows' order (ties of the sort below stay in it: determinism)."""
    cust = customer_idx if customer_idx is not None else _codes(rows["customer_id"], customer_map)
    return rows.with_columns(pl.Series("item_idx", _codes(rows["item_id"], item_map)), pl.Series("customer_idx", cust))


def _internal(inter: pl.DataFrame, weight: pl.Expr, columns: Mapping[str, str | None], customer_col: str) -> pl.DataFrame:
    """The named columns of ``inter`` under recokit's own names, and nothing else.

    From here on the rows hold only ``customer_id, item_id, weight, quantity`` (+ ``timestamp``,
    ``event``, ``price``, ``__basket``): a user's column called ``basket_idx``, ``weight`` or
    ``item_idx`` is not read, and a named column called so cannot clash with recokit's.
    """
    quantity_col = columns["quantity_col"]
    named = {
        "time_col": "timestamp",
        "event_col": "event",
        "basket_col": "__basket",
    }
    keep = [
        pl.col(customer_col).alias("customer_id"),
        pl.col(str(columns["item_col"])).alias("item_id"),
        weight.alias("weight"),
        (pl.col(quantity_col).cast(pl.Float64) if quantity_col else pl.lit(1.0)).alias("quantity"),
    ]
    keep += [pl.col(str(columns[arg])).alias(name) for arg, name in named.items() if columns[arg] is not None]
    if columns["price_col"] is not None:
        keep.append(pl.col(str(columns["price_col"])).cast(pl.Float64).alias("price"))
    return inter.select(keep)


#: The columns of :attr:`Dataset.interactions`, in order (the last three when given).
_COLUMNS = ("customer_id", "item_id", "customer_idx", "item_idx", "basket_idx", "weight", "quantity", "timestamp", "event", "price")
#: Integers up to this are exact in float64, and so is any sum of them below it.
_EXACT = 2.0**53
#: One lock for the lazily built parts of every Dataset (built once, whichever thread asks first).
_BUILD = threading.Lock()


class _Rows:
    """The interactions in input order, until :attr:`Dataset.interactions` is first read.

    The sorted table is a gather of every column; the matrices need a few columns and, most of
    the time, no order at all (a sum of integer weights, a 0/1 pattern), so they are built from
    these rows and the table only when someone reads it."""

    __slots__ = ("basket_time", "n_baskets", "n_items", "order", "rows")

    def __init__(self, rows: pl.DataFrame, basket_time: np.ndarray | None, n_baskets: int, n_items: int) -> None:
        self.rows = rows.select([c for c in _COLUMNS if c in rows.columns])
        self.basket_time = basket_time
        self.n_baskets = n_baskets
        self.n_items = n_items
        self.order: np.ndarray | None = None

    def sorted_order(self) -> np.ndarray:
        """The positions of the rows in the table's order: by (time,) basket, item; stable, so
        rows equal on the keys (the same item twice in a basket) keep the input's order and a
        build, a build without some customers and a build on more rows agree row for row."""
        if self.order is None:
            self.order = interaction_order(self.rows, self.basket_time, self.n_baskets, self.n_items)
        return self.order

    def table(self) -> pl.DataFrame:
        """:attr:`Dataset.interactions`: the rows in :meth:`sorted_order`."""
        return self.rows.select(pl.all().gather(self.sorted_order()))


def _exact_sums(weights: np.ndarray) -> bool:
    """Whether every weight is an integer and their total below 2**53: float64 sums of them are
    then exact in any order (the same bits whichever order the rows come in)."""
    return bool(np.all(weights == np.trunc(weights))) and float(weights.sum()) < _EXACT


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    data = np.asarray(values, dtype=np.float64)  # not dtype= below: scipy-stubs types that call as 1-d
    m: sp.csr_array = sp.csr_array((data, (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.sort_indices()
    return m


def _check_roles(roles: Mapping[str, str | None]) -> None:
    """One column, one role: a column named for two (``time_col`` and ``customer_col``) would be
    read as both a time and an id. Only an order id may also be the customer id."""
    seen: dict[str, str] = {}
    for role, column in roles.items():
        if column is None:
            continue
        if column in seen and {role, seen[column]} != {"customer_col", "basket_col"}:
            raise ConfigError(
                f"column {column!r} is named both as {seen[column]} and as {role}; each column has one role.", hint="name another column, or copy it under a second name first."
            )
        seen.setdefault(column, role)


def _check_columns(roles: Mapping[str, str | None], customers: Any, time_format: str | None) -> str:
    """The column that identifies customers (the basket column for basket-only data), or a ConfigError."""
    customer_col, item_col, basket_col = roles["customer_col"], roles["item_col"], roles["basket_col"]
    time_col = roles["time_col"]
    for name, value in (("item_col", item_col), ("customer_col", customer_col)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{name} must be a column name (a non-empty str). Got {value!r}.")
    if time_format is not None and time_col is None:
        raise ConfigError("time_format was given without time_col: name the column that holds the time.")
    _check_roles(roles)
    if customer_col is not None:
        return customer_col
    if basket_col is None:
        raise ConfigError(
            "customer_col=None (baskets without customers) needs basket_col: name the column that identifies each basket.",
            hint="without customers nor baskets, every row would be one basket; pass basket_col='order_id'.",
        )
    if customers is not None:
        raise ConfigError("a customers table was given with customer_col=None: there are no customers to join it to.", hint="drop customers, or name customer_col.")
    return basket_col


class Dataset:
    """Validated interactions + catalogue (+ customers), with id maps and sparse matrices.

    Parameters
    ----------
    interactions : polars / pandas DataFrame, pyarrow Table, or path to a CSV / Parquet file
        One row per interaction (an order line, a cart add, a view). Only the named columns are
        read (a column of yours called ``weight`` or ``basket_idx`` does not clash with
        recokit's); from a CSV file the id columns are read as text (``007`` is not ``7``).
    catalog : same kinds, optional
        One row per product: ``item_col`` and any attributes (category, brand, price, stock,
        age_group, description, ...). When given, it defines the item universe: every model
        scores every catalogue item, including products nobody bought yet.
    customers : same kinds, optional
        One row per customer: ``customer_col`` and declared data (sports, level, consent flags).
    customer_col, item_col : str
        Names of the id columns (the catalogue uses ``item_col``, the customer table ``customer_col``).
        ``customer_col=None``: basket-only data (till receipts); each basket (``basket_col``,
        required) is its own anonymous customer, whose id is the basket id.
    time_col : str, optional
        Timestamp of each interaction: Datetime, Date, text (ISO 8601, an offset or ``Z``
        converted to UTC; day/month/year, an error when day first and month first both fit and
        differ) or Unix seconds.
    basket_col : str, optional
        Order / basket id. Without it, a basket is a customer's purchases on one day (when
        ``time_col`` is given), else a customer's whole history.
    quantity_col : str, optional
        Quantity (or any positive weight) of each line; default 1.
    event_col : str, optional
        Event type of each row ('purchase', 'add_to_cart', 'view', ...).
    price_col : str, optional
        Unit price paid on each line (numeric, >= 0; null where there is none, as on a view), kept as the ``price`` column of
        :attr:`interactions`; :mod:`recokit.customers` reads it for what customers spent.
        Models do not use it.
    event_weights : mapping, optional
        Weight per event type (default :data:`DEFAULT_EVENT_WEIGHTS`). A type not in the mapping
        is an error.
    unknown_items : {'error', 'drop'}
        What to do with interactions on items absent from the catalogue: raise (default) or drop
        them with a :class:`~recokit.DataWarning` that says how many.
    time_format : str, optional
        A ``strftime`` format for a text (or integer) ``time_col`` (``"%m/%d/%Y"``, ``"%Y%m%d"``):
        that format only; a value that does not match is an error.

        .. versionadded:: 0.2.0

    Attributes
    ----------
    interactions : pl.DataFrame
        Normalised rows: ``customer_id, item_id, customer_idx, item_idx, basket_idx, weight,
        quantity`` (+ ``timestamp``, ``event`` and ``price`` when given).
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
        customer_col: str | None = "customer_id",
        item_col: str = "item_id",
        time_col: str | None = None,
        basket_col: str | None = None,
        quantity_col: str | None = None,
        event_col: str | None = None,
        event_weights: Mapping[str, float] | None = None,
        unknown_items: Literal["error", "drop"] = "error",
        price_col: str | None = None,
        time_format: str | None = None,
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
            "price_col": price_col,
        }
        cust_col = _check_columns(self.columns, customers, time_format)
        others = [time_col, basket_col, quantity_col, event_col, price_col]
        text = [basket_col] if basket_col is not None else []
        inter = read_id_table(interactions, "interactions", list(dict.fromkeys([cust_col, item_col])), others, text_columns=text)
        if price_col is not None:
            check_prices(inter, price_col)
        if catalog is not None:
            cat = _read_catalog(catalog, item_col, inter)
            inter = _keep_catalog_items(inter, cat, item_col, unknown_items)
        else:
            cat = inter.select(pl.col(item_col).unique().sort())
        item_map = IdMap(cat[item_col], name="item")
        cust = None if customers is None else _read_customers(customers, cust_col, inter)
        known_customers = inter[cust_col] if cust is None else pl.concat([cust[cust_col], inter[cust_col]])
        customer_map, known_idx = _customer_map(known_customers)

        if time_col is not None:
            inter = parse_time(inter, time_col, "interactions", time_format)
        if basket_col is not None:
            check_no_nulls(inter, basket_col, "interactions")
        inter, weight = interaction_weight(inter, quantity_col=quantity_col, event_col=event_col, event_weights=event_weights)
        rows = _with_indices(_internal(inter, weight, self.columns, cust_col), item_map, customer_map, None if known_idx is None else known_idx[len(known_idx) - inter.height :])
        rows, baskets = assign_baskets(
            rows, customer_col="customer_id", basket_col="__basket" if basket_col else None, time_col="timestamp" if time_col else None, basket_name=basket_col
        )

        basket_time = baskets["__bt"].to_numpy() if time_col is not None else None
        # the sorted table is built when first read (see interactions); the matrices need not wait for it
        self._pending: _Rows | None = _Rows(rows, basket_time, baskets.height, len(item_map))
        self.catalog: pl.DataFrame = cat.rename({item_col: "item_id"}) if item_col != "item_id" else cat
        if cust is not None and cust_col != "customer_id":
            cust = cust.rename({cust_col: "customer_id"})
        self.customers: pl.DataFrame | None = cust
        self.item_ids = item_map
        self.customer_ids = customer_map
        self._basket_customer = baskets["__bc"].to_numpy().astype(np.int64)
        self._basket_time = basket_time
        self._matrices: dict[str, sp.csr_array] = {}
        self._purchases: sp.csr_array | None = None
        self._last_time: dt.datetime | None = None

    @functools.cached_property
    def interactions(self) -> pl.DataFrame:
        """Normalised rows: ``customer_id, item_id, customer_idx, item_idx, basket_idx, weight,
        quantity`` (+ ``timestamp``, ``event`` and ``price`` when given), sorted by (time,)
        basket and item; rows equal on these keys keep the input's order.

        Built on first read (a gather of every column; the matrices do not need it) and kept.
        """
        pending = self._pending
        if pending is None:  # a Dataset made by parts always has its table
            raise AttributeError("interactions")
        table = pending.table()
        self._pending = None
        return table

    def _rows(self) -> tuple[pl.DataFrame, _Rows | None]:
        """The interactions at hand: the sorted table once built, else the rows in input order
        with what sorts them (for the readers that do not depend on row order)."""
        table = self.__dict__.get("interactions")
        if table is not None:
            return table, None
        pending = self.__dict__.get("_pending")
        if pending is None:  # built meanwhile (another thread)
            return self.interactions, None
        return pending.rows, pending

    def _sorted_columns(self, frame: pl.DataFrame, pending: _Rows | None, *columns: np.ndarray) -> list[np.ndarray]:
        """``columns`` (arrays of ``frame``'s rows) in the table's order."""
        if pending is None:
            return list(columns)
        order = pending.sorted_order()
        return [c[order] for c in columns]

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
        inter = interactions.join(remap, on="basket_idx", how="left", maintain_order="left").with_columns(pl.col("__nb").alias("basket_idx")).drop("__nb")
        new.interactions = inter.select(interactions.columns)
        new._pending = None
        old = used.to_numpy()
        new._basket_customer = parent._basket_customer[old]
        new._basket_time = parent._basket_time[old] if parent._basket_time is not None else None
        new._matrices = {}
        new._purchases = None
        new._last_time = None
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
        if not isinstance(predicate, (pl.Expr, pl.Series)):
            raise ConfigError(f"Dataset.filter: the predicate must be a polars expression, a Series or a numpy array of booleans. Got {type(predicate).__name__}.", hint="e.g. ds.filter(pl.col('customer_id') != 'C1').")
        try:
            kept = self.interactions.filter(predicate)
        except pl.exceptions.PolarsError as exc:
            raise DataError(
                f"Dataset.filter: the predicate cannot be evaluated on the interactions ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}).",
                hint=f"the interactions have the columns {self.interactions.columns}; a mask must have one value per interaction ({self.n_interactions}).",
            ) from None
        return Dataset._derive(self, kept)

    def with_catalog(self, catalog: Any) -> Dataset:
        """The same dataset with refreshed catalogue attributes (stock, price, promotion...).

        The new catalogue must hold exactly the same item ids (any row order); models fitted on
        this dataset stay valid, no refit needed.
        """
        item_col = "item_id"
        cat = to_frame(catalog, "catalog").rename({str(self.columns["item_col"]): item_col}, strict=False)
        cat = read_id_table(cat, "with_catalog", [item_col])
        if cat.schema[item_col] != self.item_ids.dtype:
            raise DataError(
                f"with_catalog: item ids are {self.item_ids.dtype} in the dataset but {cat.schema[item_col]} in the new catalogue.", hint="cast the id column to the dataset's type (a CSV read may have guessed integers)."
            )
        if cat[item_col].is_duplicated().any() or cat.height != self.n_items or not cat.select(pl.col(item_col).is_in(self.item_ids.series.implode()).all()).item():
            raise DataError(
                f"with_catalog: the new catalogue must list exactly the dataset's {self.n_items} item ids, once each.", hint="to add products, build a new Dataset and refit."
            )
        order = pl.DataFrame({item_col: self.item_ids.series})
        aligned = order.join(cat, on=item_col, how="left", maintain_order="left")
        new = Dataset._derive(self, self.interactions, catalog=aligned)
        new._matrices = self._matrices
        new._purchases = self._purchases
        return new

    # -- erasure and new rows (what forget and partial_fit build on) -----------------------------
    def without_customers(self, customer_ids: Iterable[Hashable]) -> Dataset:
        """The dataset a fresh build without these customers gives: their interactions, their row
        of the customer table and their ids are gone (the GDPR erasure of the data a model holds).

        Other customers and items keep their order; items known only from the interactions (no
        catalogue) leave with their last customer. Ids the dataset does not hold are ignored.

        >>> import polars as pl
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2], "item_id": ["a", "b", "a"]}))
        >>> rest = ds.without_customers([1])
        >>> rest.customer_ids.to_list(), rest.item_ids.to_list(), rest.n_interactions
        ([2], ['a'], 1)
        """
        return forget_change(self, id_list(customer_ids, "without_customers")).after

    def union(self, new: Dataset) -> Dataset:
        """This dataset plus ``new``'s rows: what a fresh build on both sets of rows gives.

        ``new`` is built with the same column options. Its catalogue (if it has attributes)
        refreshes the rows of products it lists and adds new products at the end; its customer
        table replaces the rows of the customers it lists. Customer and item ids stay sorted
        (without a catalogue). With ``basket_col``, the new rows' orders are new orders: an
        order id split across the two tables stays two baskets.

        >>> import polars as pl
        >>> old = Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": ["a", "b"]}))
        >>> both = old.union(Dataset(pl.DataFrame({"customer_id": [3], "item_id": ["c"]})))
        >>> both.customer_ids.to_list(), both.item_ids.to_list()
        ([1, 2, 3], ['a', 'b', 'c'])
        """
        return add_change(self, new).after

    # -- sizes ----------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_interactions(self) -> int:
        return self._rows()[0].height

    @property
    def n_baskets(self) -> int:
        return len(self._basket_customer)

    @property
    def has_time(self) -> bool:
        return "timestamp" in self._rows()[0].columns

    @property
    def last_time(self) -> dt.datetime | None:
        """The latest interaction timestamp (the default "now" of queries), or None."""
        if not self.has_time or self.n_interactions == 0:
            return None
        if self._last_time is None:  # asked by every request: computed once (the data is immutable)
            self._last_time = self._rows()[0]["timestamp"].max()  # type: ignore[assignment]
        return self._last_time

    def __repr__(self) -> str:
        return (
            f"Dataset(customers={self.n_customers}, items={self.n_items}, interactions={self.n_interactions}, "
            f"baskets={self.n_baskets}, time={'yes' if self.has_time else 'no'})"
        )

    # -- matrices --------------------------------------------------------------------------
    @property
    def user_items(self) -> sp.csr_array:
        """Customers x items, float64: the summed weight of each customer's interactions
        (canonical: one entry per customer and item, indices sorted)."""
        if "ui" not in self._matrices:
            frame, pending = self._rows()
            cust, item, w = (frame[c].to_numpy() for c in ("customer_idx", "item_idx", "weight"))
            if not _exact_sums(w):  # float sums: added in the table's order, as they always were
                cust, item, w = self._sorted_columns(frame, pending, cust, item, w)
            self._matrices["ui"] = _csr(cust, item, w, (self.n_customers, self.n_items))
        return self._matrices["ui"]

    @property
    def basket_items(self) -> sp.csr_array:
        """Baskets x items, float64: 1.0 where the item is in the basket."""
        if "bi" not in self._matrices:
            frame = self._rows()[0]  # a 0/1 pattern: the same from rows in any order
            m = _csr(frame["basket_idx"].to_numpy(), frame["item_idx"].to_numpy(), np.ones(frame.height), (self.n_baskets, self.n_items))
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

    @property
    def purchases(self) -> sp.csr_array:
        """Customers x items, float64: one stored entry per **purchase**, holding its time in
        microseconds since the epoch (0.0 without timestamps).

        A purchase is an interaction whose event is ``"purchase"``, or any interaction when the
        data has no event column (the rule of :attr:`only_purchases`): views and cart adds are
        interest, not purchases. An item bought twice is stored twice, and a row's entries are
        sorted by item, then time -- so do not sum its duplicates. What reasons may say about a
        customer's purchases is read from it (:func:`recokit.data.last_purchase`).

        Built on first read -- the first reason about a past purchase, or a fit that reads it
        (BuyAgain) -- once, whichever thread asks first; read it once after fitting to build it
        before the first request (a few seconds at 20M interactions).
        """
        log = self._purchases
        if log is None:
            with _BUILD:
                log = self._purchases
                if log is None:
                    log = self._purchases = self._purchase_matrix()
        return log

    def _purchase_matrix(self) -> sp.csr_array:
        """:attr:`purchases`: the purchases sorted by customer, item and time -- two stable counting
        sorts (item, then customer), as the rows are in time order."""
        frame, pending = self._rows()
        times = frame["timestamp"].cast(pl.Datetime("us")).cast(pl.Int64).to_numpy().astype(np.float64) if self.has_time else np.zeros(frame.height)
        columns: list[np.ndarray] = [times, frame["customer_idx"].to_numpy().astype(np.int64), frame["item_idx"].to_numpy().astype(np.int64)]
        if "event" in frame.columns:
            columns.append((frame["event"] == "purchase").to_numpy())
        columns = self._sorted_columns(frame, pending, *columns)  # the table's order: by time
        if len(columns) == 4:
            bought = columns.pop()
            columns = [c[bought] for c in columns]
        times, cust, item = columns
        if len(times) < 2 or bool(np.all(times[1:] >= times[:-1])):
            by_item = stable_order(item, self.n_items)
            order = by_item[stable_order(cust[by_item], self.n_customers)]
        else:
            order = np.lexsort((times, item, cust))
        indptr = np.zeros(self.n_customers + 1, dtype=np.int64)
        np.cumsum(np.bincount(cust, minlength=self.n_customers), out=indptr[1:])
        return sp.csr_array((times[order], item[order], indptr), shape=(self.n_customers, self.n_items))

    def item_counts(self) -> np.ndarray:
        """Number of distinct customers who interacted with each item (length ``n_items``)."""
        m = self.user_items
        return np.bincount(m.indices, minlength=self.n_items).astype(np.int64)

    @property
    def only_purchases(self) -> bool:
        """True unless an event column holds other events than ``"purchase"`` (views, cart adds):
        models then say "chosen" / "interest in" instead of claiming a purchase in their reasons."""
        frame = self._rows()[0]
        return "event" not in frame.columns or bool((frame["event"] == "purchase").all())

    def item_labels(self) -> list[str]:
        """What to call each item in a reason, in ``item_idx`` order: the catalogue's ``name``,
        or the item id where there is no name (never the text "None"); see
        :func:`recokit.data.item_labels`."""
        return item_labels(self)

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
