"""How a :class:`~recokit.Dataset` changes when customers are forgotten or new rows arrive.

Both operations give the Dataset a fresh build would give -- ``Dataset(rows without the
customers)`` and ``Dataset(old rows + new rows)`` -- without reading the raw tables again: ids
stay sorted, so removing or adding ids keeps the order of the others, and every index is
re-mapped by a monotone map. A :class:`DataChange` says what moved, so that a model updates its
count tables instead of counting everything again.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> ds = Dataset(pl.DataFrame({"customer_id": ["ann", "bob", "bob"], "item_id": ["bike", "bike", "lock"]}))
>>> change = forget_change(ds, ["bob", "zoe"])
>>> change.after.customer_ids.to_list(), change.after.item_ids.to_list(), change.n_unknown
(['ann'], ['bike'], 1)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.data.baskets import assign_baskets
from recokit.data.idmap import IdMap

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset

__all__ = ["DataChange", "add_change", "forget_change", "id_list"]


@dataclass(frozen=True)
class DataChange:
    """What :meth:`Dataset.without_customers` / :meth:`Dataset.union` changed.

    Attributes
    ----------
    kind : {'forget', 'add'}
    before, after : Dataset
        The dataset as it was, and as it is now.
    customer_map, item_map : np.ndarray
        ``before``'s index -> ``after``'s index (-1: gone).
    customers : np.ndarray
        ``'forget'``: the removed customers (``before``'s indices); ``'add'``: the customers
        the new rows belong to (``after``'s indices). Sorted, unique.
    items : np.ndarray
        The items (``after``'s indices) whose rows changed: those the removed customers had
        (``'forget'``, the ones still there), or those of the new rows (``'add'``).
    n_unknown : int
        ``'forget'``: ids asked for that the dataset does not hold.
    n_rows : int
        Interactions removed (``'forget'``) or added (``'add'``).
    """

    kind: Literal["forget", "add"]
    before: Dataset
    after: Dataset
    customer_map: np.ndarray
    item_map: np.ndarray
    customers: np.ndarray
    items: np.ndarray
    n_unknown: int
    n_rows: int

    @property
    def old_customers(self) -> np.ndarray:
        """``'add'``: the touched customers that ``before`` already knew, as ``before`` numbers them
        (aligned with :attr:`old_customers_after`)."""
        inverse = _inverse(self.customer_map, self.after.n_customers)
        old = inverse[self.customers]
        return old[old >= 0]

    @property
    def old_customers_after(self) -> np.ndarray:
        """``'add'``: :attr:`old_customers` as ``after`` numbers them."""
        return self.customer_map[self.old_customers]


def _inverse(forward: np.ndarray, n_after: int) -> np.ndarray:
    """``after`` index -> ``before`` index (-1: new) of a monotone map with -1 for gone."""
    out = np.full(n_after, -1, dtype=np.int64)
    kept = forward >= 0
    out[forward[kept]] = np.flatnonzero(kept)
    return out


def _remap(keep: np.ndarray) -> np.ndarray:
    """``old -> new`` index for a keep mask (-1 where dropped); order kept."""
    out = np.full(len(keep), -1, dtype=np.int64)
    out[keep] = np.arange(int(keep.sum()), dtype=np.int64)
    return out


def _items_from_interactions(ds: Dataset) -> bool:
    """True when the item universe is the interactions' items (no catalogue attributes given)."""
    return ds.catalog.columns == ["item_id"]


def _assemble(
    template: Dataset, inter: pl.DataFrame, catalog: pl.DataFrame, customers: pl.DataFrame | None, item_ids: IdMap, customer_ids: IdMap,
    basket_customer: np.ndarray, basket_time: np.ndarray | None,
) -> Dataset:
    """A Dataset from its parts (the constructor's state, caches empty)."""
    new = type(template).__new__(type(template))
    new.columns = dict(template.columns)
    new.interactions = inter
    new.catalog = catalog
    new.customers = customers
    new.item_ids = item_ids
    new.customer_ids = customer_ids
    new._basket_customer = basket_customer.astype(np.int64)
    new._basket_time = basket_time
    new._matrices = {}
    new._purchases = None
    new._last_time = None
    return new


def id_list(ids: object, where: str) -> list[Hashable]:
    """``ids`` as a list (any iterable of ids); a single id is a ConfigError, not its characters."""
    if isinstance(ids, (str, bytes, int)) or not isinstance(ids, Iterable):
        raise ConfigError(f"{where}: expected a list of customer ids; got the single {type(ids).__name__} {ids!r}.", hint=f"pass a list: {where}([{ids!r}]).")
    if isinstance(ids, pl.Series):
        return ids.to_list()
    if isinstance(ids, np.ndarray):
        return ids.ravel().tolist()
    return list(ids)


def forget_change(ds: Dataset, customer_ids: Sequence[Hashable]) -> DataChange:
    """The dataset without ``customer_ids`` (their rows, their declared data, their ids), as a
    :class:`DataChange`. Ids the dataset does not hold are counted in ``n_unknown``.

    Items the catalogue does not define (a Dataset built without a catalogue) leave with the last
    customer who had them, as in a fresh build.
    """
    ds.customer_ids.check_kind(customer_ids, "forget")
    idx = ds.customer_ids.index(list(customer_ids), missing="ignore")
    removed = np.unique(idx[idx >= 0]).astype(np.int64)
    n_unknown = len({c for c, i in zip(customer_ids, idx.tolist(), strict=True) if i < 0})
    keep_c = np.ones(ds.n_customers, dtype=bool)
    keep_c[removed] = False
    cmap = _remap(keep_c)
    inter = ds.interactions
    rows_kept = keep_c[inter["customer_idx"].to_numpy()]
    kept = inter.filter(pl.Series(rows_kept))
    if _items_from_interactions(ds):
        # a product only the forgotten customers had leaves with them; the others stay (a
        # filtered Dataset keeps products without rows in the universe: they are not theirs)
        keep_i = np.ones(ds.n_items, dtype=bool)
        keep_i[inter.filter(pl.Series(~rows_kept))["item_idx"].to_numpy()] = False
        keep_i[kept["item_idx"].to_numpy()] = True
    else:
        keep_i = np.ones(ds.n_items, dtype=bool)
    imap = _remap(keep_i)
    keep_b = keep_c[ds.basket_customer_idx]
    bmap = _remap(keep_b)
    kept = kept.with_columns(
        pl.Series("customer_idx", cmap[kept["customer_idx"].to_numpy()]),
        pl.Series("item_idx", imap[kept["item_idx"].to_numpy()]),
        pl.Series("basket_idx", bmap[kept["basket_idx"].to_numpy()]),
    )
    customers = ds.customers
    if customers is not None and len(removed):
        gone = ds.customer_ids.series.gather(removed)
        customers = customers.filter(~pl.col("customer_id").is_in(gone.implode()))
    keep_ids = pl.Series(keep_c)
    after = _assemble(
        ds, kept, ds.catalog.filter(pl.Series(keep_i)), customers,
        IdMap(ds.item_ids.series.filter(pl.Series(keep_i)), name="item"), IdMap(ds.customer_ids.series.filter(keep_ids), name="customer"),
        cmap[ds.basket_customer_idx[keep_b]], None if ds.basket_time is None else ds.basket_time[keep_b],
    )  # fmt: skip
    gone_items = imap[np.unique(inter.filter(pl.Series(~rows_kept))["item_idx"].to_numpy())]
    return DataChange("forget", ds, after, cmap, imap, removed, gone_items[gone_items >= 0], n_unknown, int((~rows_kept).sum()))


# -- adding rows ------------------------------------------------------------------------------
def _check_compatible(ds: Dataset, new: Dataset) -> None:
    """``new`` must be built like ``ds``: the same interaction columns, of the same types."""
    from recokit.data.dataset import Dataset

    if not isinstance(new, Dataset):
        raise ConfigError(
            f"partial_fit expects a recokit.Dataset of the new rows; got {type(new).__name__}.",
            hint="wrap the new rows as the first ones were: Dataset(new_orders, catalog=..., time_col=..., ...).",
        )
    given = {k for k, v in ds.columns.items() if v is not None} ^ {k for k, v in new.columns.items() if v is not None}
    if given:
        raise DataError(
            f"partial_fit: the new rows were built with other column options than the fitted data ({', '.join(sorted(given))} given to one of them only).",
            hint="build the new Dataset with the same options (time_col, basket_col, quantity_col, event_col, price_col): a basket, a weight or a time must mean the same in both.",
        )
    a, b = ds.interactions.schema, new.interactions.schema
    if dict(a) != dict(b):
        diff = sorted(f"{k}: {a.get(k)} / {b.get(k)}" for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise DataError(
            f"partial_fit: the new rows do not have the fitted data's columns and types ({'; '.join(diff)}).",
            hint="build the new Dataset with the same column options (time_col, basket_col, event_col, price_col) and id types.",
        )
    for what in ("customers", "catalog"):
        old_t, new_t = getattr(ds, what), getattr(new, what)
        if old_t is not None and new_t is not None and "item_id" in old_t.columns and old_t.schema.get("item_id") != new_t.schema.get("item_id"):
            raise DataError(f"partial_fit: item ids are {old_t.schema['item_id']} in the fitted catalogue but {new_t.schema['item_id']} in the new one.")


def _union_catalog(ds: Dataset, new: Dataset) -> pl.DataFrame:
    """The fitted catalogue, its rows refreshed by the new catalogue's, new products appended."""
    if _items_from_interactions(ds) and _items_from_interactions(new):
        return pl.concat([ds.catalog, new.catalog]).unique().sort("item_id")
    if _items_from_interactions(new):  # no catalogue with the new rows: they must be fitted products
        unknown = new.catalog.filter(~pl.col("item_id").is_in(ds.catalog["item_id"].implode()))
        if unknown.height:
            raise DataError(
                f"partial_fit: {unknown.height} new row item(s) are not in the fitted catalogue, e.g. {unknown['item_id'].head(3).to_list()}.",
                hint="pass the new products in the new Dataset's catalog=... (it extends the fitted one).",
            )
        return ds.catalog
    if _items_from_interactions(ds):
        raise DataError(
            "partial_fit: the model was fitted without a catalogue; the new rows bring one.", hint="refit on a Dataset built with the catalogue."
        )
    extra = sorted(set(new.catalog.columns) - set(ds.catalog.columns))
    if extra:
        raise DataError(f"partial_fit: the new catalogue has columns the fitted one has not: {extra}.", hint="refit when the catalogue gains attributes.")
    old_ids, new_ids = ds.catalog["item_id"].implode(), new.catalog["item_id"].implode()
    fresh = new.catalog.filter(~pl.col("item_id").is_in(old_ids))
    # a product in both: the new catalogue's row replaces the fitted one, in its place
    rows = pl.concat([ds.catalog.filter(~pl.col("item_id").is_in(new_ids)), new.catalog.filter(pl.col("item_id").is_in(old_ids))], how="diagonal_relaxed")
    updated = ds.catalog.select("item_id").join(rows, on="item_id", how="left", maintain_order="left")
    return pl.concat([updated, fresh], how="diagonal_relaxed").select(ds.catalog.columns)


def _union_customers(ds: Dataset, new: Dataset) -> pl.DataFrame | None:
    """The fitted customer table without the rows the new one replaces, then the new rows."""
    if ds.customers is None or new.customers is None:
        return new.customers if ds.customers is None else ds.customers
    old = ds.customers.filter(~pl.col("customer_id").is_in(new.customers["customer_id"].implode()))
    return pl.concat([old, new.customers], how="diagonal_relaxed")


def _reindexed(ds: Dataset, items: IdMap, customers: IdMap, source: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """``ds``'s rows with the union's item and customer indices, a basket key column ``__bk``,
    and the old -> union maps of items and customers."""
    imap = items.index(ds.item_ids.series, missing="ignore").astype(np.int64)
    cmap = customers.index(ds.customer_ids.series, missing="ignore").astype(np.int64)
    inter = ds.interactions
    rows = inter.with_columns(
        pl.Series("customer_idx", cmap[inter["customer_idx"].to_numpy()]),
        pl.Series("item_idx", imap[inter["item_idx"].to_numpy()]),
        # an order of the new rows is a new order: (source, basket) is its key
        (pl.col("basket_idx") * 2 + source).alias("__bk"),
    )
    return rows, imap, cmap


def add_change(ds: Dataset, new: Dataset) -> DataChange:
    """The dataset with ``new``'s rows added, as a :class:`DataChange` (see :meth:`Dataset.union`)."""
    _check_compatible(ds, new)
    catalog = _union_catalog(ds, new)
    items = IdMap(catalog["item_id"], name="item")
    cust_ids = pl.concat([ds.customer_ids.series, new.customer_ids.series]).unique().sort()
    customers = IdMap(cust_ids, name="customer")
    old_rows, imap, cmap = _reindexed(ds, items, customers, 0)
    new_rows, _, _ = _reindexed(new, items, customers, 1)
    rows = pl.concat([old_rows, new_rows]).drop("basket_idx")
    time_col = "timestamp" if ds.has_time else None
    basket_col = "__bk" if ds.columns.get("basket_col") is not None else None
    rows, baskets = assign_baskets(rows, customer_col="customer_id", basket_col=basket_col, time_col=time_col)
    sort_cols = (["timestamp"] if time_col else []) + ["basket_idx", "item_idx"]
    inter = rows.select(ds.interactions.columns).sort(sort_cols, maintain_order=True)  # ties: old rows first, as in a build on both
    after = _assemble(
        ds, inter, catalog, _union_customers(ds, new), items, customers,
        baskets["__bc"].to_numpy(), baskets["__bt"].to_numpy() if time_col else None,
    )  # fmt: skip
    touched = np.unique(new_rows["customer_idx"].to_numpy()).astype(np.int64)
    items_new = np.unique(new_rows["item_idx"].to_numpy()).astype(np.int64)
    return DataChange("add", ds, after, cmap, imap, touched, items_new, 0, new.n_interactions)
