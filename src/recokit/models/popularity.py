"""Popularity: the best sellers, all time, recently, or per category. The baseline."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import DataError
from recokit.core import Batch, CountModel, ScoreBlock
from recokit.data import (
    DAY_US,
    CountTables,
    DataChange,
    Dataset,
    TableSpec,
    count_tables,
    group_codes,
    stable_order,
    updated_tables,
)
from recokit.params import InstanceOf, Interval, OneOf, Optional, param

__all__ = ["MAX_AMONG_GROUPS", "Popularity"]

#: The most distinct values ``Popularity(among=...)`` accepts (a column with more is an id, not a
#: segment: each group's list would rest on a handful of customers).
MAX_AMONG_GROUPS = 1000


def _largest_per_pair(cust: np.ndarray, item: np.ndarray, w: np.ndarray, n_customers: int, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(item, weight, customer)``: one row per distinct (customer, item) pair with its largest
    weight, the pairs in order of first appearance (so the float sums over them are those of a
    group-by that keeps the order)."""
    cust, item = np.asarray(cust, dtype=np.int64), np.asarray(item, dtype=np.int64)
    if len(cust) == 0:
        return item, w, cust
    by_item = stable_order(item, n_items)
    order = by_item[stable_order(cust[by_item], n_customers)]  # by customer, item; ties in row order
    c, i = cust[order], item[order]
    starts = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (i[1:] != i[:-1])])
    first = order[starts]  # the row where each pair appears first
    largest = np.empty(len(w))
    largest[first] = np.maximum.reduceat(w[order], starts)
    is_first = np.zeros(len(w), dtype=bool)
    is_first[first] = True
    rows = np.flatnonzero(is_first)  # in row order: the order of first appearance
    return item[rows], largest[rows], cust[rows]


class Popularity(CountModel):
    """Recommend what most customers buy.

    Parameters
    ----------
    window_days : float, optional
        Count only interactions in the last ``window_days`` days before the data's end
        ("best sellers this month"). Needs timestamps.
    half_life_days : float, optional
        Weight each interaction by ``0.5 ** (age_days / half_life_days)`` so recent sales count
        more ("trending"). Needs timestamps.
    by : str, optional
        A catalogue column (e.g. ``"category"``). The query's context items -- or, for a known
        customer without context, the categories they bought most -- select the groups; items of
        those groups are scored, other items get no opinion (NaN) and come only through back-fill.
    count : {'customers', 'quantity'}
        Count distinct buyers (default: robust to one bulk order) or summed weights.
    among : str, optional
        A column of the customers table (a segment, a declared level or sport): a known customer
        with a value gets the best sellers among the customers with the same value ("best sellers
        among customers like you"); anonymous visitors and customers without a value get the
        shop-wide list. At most :data:`MAX_AMONG_GROUPS` values.

    Examples
    --------
    >>> from recokit import Popularity, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(500, seed=3)
    >>> best = Popularity().fit(shop).recommend(k=3)
    >>> [r.reason.startswith("best seller") for r in best]
    [True, True, True]
    >>> by_cat = Popularity(by="category").fit(shop)
    >>> helmet = shop.catalog.filter(category="helmet")["item_id"][0]
    >>> {shop.catalog.filter(item_id=r.item_id)["category"][0] for r in by_cat.recommend(items=[helmet], k=2, backfill=False)}
    {'helmet'}
    """

    window_days: float | None = param(
        default=None,
        check=Optional(Interval(float, low=0, low_open=True)),
        doc='Count only interactions in the last ``window_days`` days before the data\'s end ("best sellers this month"). Needs timestamps.',
    )
    half_life_days: float | None = param(
        default=None,
        check=Optional(Interval(float, low=0, low_open=True)),
        doc="Weight each interaction by ``0.5 ** (age_days / half_life_days)`` so recent sales count more "
        '("trending"). Needs timestamps.',
    )
    by: str | None = param(
        default=None,
        check=Optional(InstanceOf(str)),
        doc='A catalogue column (e.g. ``"category"``). The query\'s context items -- or, for a known customer '
        "without context, the categories they bought most -- select the groups; items of those groups are "
        "scored, other items get no opinion (NaN) and come only through back-fill.",
    )
    count: Literal["customers", "quantity"] = param(
        default="customers",
        check=OneOf("customers", "quantity"),
        doc="Count distinct buyers (default: robust to one bulk order) or summed weights.",
    )
    among: str | None = param(
        default=None,
        check=Optional(InstanceOf(str)),
        doc='A column of the customers table (a segment, a declared level or sport): a known customer with a value '
        'gets the best sellers among the customers with the same value ("best sellers among customers like you"); '
        "anonymous visitors and customers without a value get the shop-wide list.",
    )

    #: the least specific evidence there is: what everyone buys
    specificity: ClassVar[int] = 0

    def signal(self) -> str:
        """``"trending"`` (recency-weighted), ``"best seller"`` or, when views and cart adds are
        counted, ``"popular"``; ``by=`` adds ``" in its <column>"``."""
        views = self.is_fitted and not self.bought_
        base = "trending" if self.half_life_days is not None else "popular" if views else "best seller"
        return f"{base} in its {self.by}" if self.by is not None else base

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        self._check_time(dataset)
        if self._from_tables:
            buyers = count_tables(dataset).item_buyers
            assert buyers is not None  # count_tables counts them always
            self._derive(dataset, buyers.astype(np.float64))
            self.customer_group_: np.ndarray | None = None  # no among: _from_tables is False with it
            return
        votes = self._votes(dataset)  # counted once, for the shop and for the among groups
        self._derive(dataset, np.bincount(votes[0], weights=votes[1], minlength=dataset.n_items).astype(np.float64))
        self._fit_among(dataset, votes)

    def table_spec(self) -> TableSpec | None:
        """The count tables the fit derives from (:class:`recokit.data.FitsFromTables`):
        ``item_buyers`` when counting distinct buyers of all time without ``among``; None (not
        from tables) with a window, a half-life, summed quantities or ``among``."""
        return TableSpec() if self._from_tables else None

    def _not_from_tables(self) -> tuple[str, str]:
        return "this configuration (a window, a half-life, count='quantity' or among) is not derived from count tables.", "fit it with fit(dataset); table_spec() is None for it."

    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        assert tables.item_buyers is not None  # check_tables
        self._derive(dataset, tables.item_buyers.astype(np.float64))
        self.customer_group_ = None

    def _fit_among(self, dataset: Dataset, votes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """``among``: each customer's group (-1: none) and each group's per-item counts."""
        self.customer_group_ = None
        if self.among is None:
            return
        table = dataset.customers
        if table is None or self.among not in table.columns or self.among == "customer_id":
            have = [] if table is None else [c for c in table.columns if c != "customer_id"]
            raise DataError(
                f"Popularity(among={self.among!r}): the dataset's customers table has no column {self.among!r}.",
                hint=f"its columns are {have}." if table is not None else "build the Dataset with customers=... holding the column.",
                column=self.among,
            )
        idx = dataset.customer_ids.index(table["customer_id"].to_list(), missing="ignore")
        values = table[self.among]
        names = values.drop_nulls().cast(pl.String).unique().sort().to_list()
        if len(names) > MAX_AMONG_GROUPS:
            raise DataError(
                f"Popularity(among={self.among!r}): the column has {len(names)} distinct values (at most {MAX_AMONG_GROUPS}): an id, not a segment.",
                hint="pass a segment, a level or a declared sport.",
                column=self.among,
            )
        code = {n: i for i, n in enumerate(names)}
        group = np.full(dataset.n_customers, -1, dtype=np.int64)
        known = idx >= 0
        cast = values.cast(pl.String).to_list()
        group[idx[known]] = [code[v] if v is not None else -1 for v, k in zip(cast, known.tolist(), strict=True) if k]
        items, weights, customers = votes
        g = group[customers]
        ok = g >= 0
        counts = np.bincount(g[ok] * dataset.n_items + items[ok], weights=weights[ok], minlength=len(names) * dataset.n_items)
        self.customer_group_ = group
        self.among_names_ = names
        self.among_popularity_ = counts.reshape(len(names), dataset.n_items).astype(np.float64)

    def _votes(self, dataset: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(item, weight, customer)`` of every vote behind the counts (one per (customer, item)
        when counting customers: its largest weight), in the window and recency-weighted when asked."""
        inter = dataset.interactions
        w = inter["weight"].to_numpy() if self.count == "quantity" else np.ones(inter.height)
        if self.window_days is not None or self.half_life_days is not None:
            end = np.datetime64(dataset.last_time, "us")
            age_days = (end - inter["timestamp"].to_numpy().astype("datetime64[us]")).astype(np.int64) / DAY_US
            if self.window_days is not None:
                w = np.where(age_days <= self.window_days, w, 0.0)
            if self.half_life_days is not None:
                w = w * np.power(0.5, age_days / self.half_life_days)
        if self.count == "customers":
            return _largest_per_pair(inter["customer_idx"].to_numpy(), inter["item_idx"].to_numpy(), np.asarray(w, dtype=np.float64), dataset.n_customers, dataset.n_items)
        return inter["item_idx"].to_numpy().astype(np.int64), np.asarray(w, dtype=np.float64), inter["customer_idx"].to_numpy().astype(np.int64)

    @property
    def _from_tables(self) -> bool:
        """Whether the scores are the ``item_buyers`` count table (distinct buyers, all time):
        forget and partial_fit then update the table; otherwise (windows, recency weights, summed
        quantities: not additive, or float sums) they count again from the updated Dataset."""
        return self.count == "customers" and self.window_days is None and self.half_life_days is None and self.among is None

    def _update(self, previous: Popularity, change: DataChange) -> None:
        if not self._from_tables:
            self._fit(change.after)
            return
        tables = updated_tables(CountTables(previous.popularity_.astype(np.int64)), change)
        assert tables.item_buyers is not None  # carried through the change
        self._derive(change.after, tables.item_buyers.astype(np.float64))
        self.customer_group_ = None  # from tables: no among

    def _check_time(self, dataset: Dataset) -> None:
        if (self.window_days is not None or self.half_life_days is not None) and not dataset.has_time:
            raise DataError(
                "Popularity(window_days=..., half_life_days=...) needs timestamps.", hint="build the Dataset with time_col=..."
            )

    def _derive(self, dataset: Dataset, popularity: np.ndarray) -> None:
        """The fitted state from the per-item counts."""
        self.popularity_ = popularity
        self.groups_ = None
        if self.by is not None:
            if self.by not in dataset.catalog.columns:
                raise DataError(
                    f"Popularity(by={self.by!r}): the catalog has no column {self.by!r}.", hint=f"choose one of {dataset.catalog.columns}."
                )
            self.groups_, self.group_names_ = group_codes(dataset.catalog[self.by])
        self.as_of_ = dataset.last_time
        self.bought_ = dataset.only_purchases

    def constant_scores(self) -> np.ndarray | None:
        """The best-seller scores, the same for every request without ``by`` groups."""
        self._check_fitted()
        return self._scores() if self.groups_ is None and self.customer_group_ is None else None

    def _scores(self) -> np.ndarray:
        """The best-seller scores of every item (NaN: nobody bought it)."""
        return np.where(self.popularity_ > 0, self.popularity_, np.nan)

    def _row_groups(self, batch: Batch) -> np.ndarray:
        """``among``: each row's group (-1: anonymous, hidden history or no value: shop-wide)."""
        out = np.full(batch.n, -1, dtype=np.int64)
        if self.customer_group_ is not None:
            known = batch.customer_idx >= 0
            out[known] = self.customer_group_[batch.customer_idx[known]]
        return out

    def _score(self, batch: Batch) -> ScoreBlock:
        base = self._scores()
        if self.groups_ is None and self.customer_group_ is None:  # one list for everyone: a read-only view
            return ScoreBlock.dense(np.broadcast_to(base, (batch.n, len(base))))
        scores = np.broadcast_to(base, (batch.n, len(base))).copy()
        group = self._row_groups(batch)
        mine = np.flatnonzero(group >= 0)
        if len(mine):
            counts = self.among_popularity_[group[mine]]
            scores[mine] = np.where(counts > 0, counts, np.nan)
        if self.groups_ is None:
            return ScoreBlock.dense(scores)
        wanted = self._wanted_groups(batch)  # rows x groups; an all-False row = every group
        keep = wanted[:, self.groups_] | ~wanted.any(axis=1, keepdims=True)
        scores[~keep] = np.nan
        return ScoreBlock.dense(scores)

    def _wanted_groups(self, batch: Batch) -> np.ndarray:
        """The groups each row asks for: its context items' groups, else the known customer's
        most-bought groups (ties: all of them), else none (every group)."""
        n_groups = len(self.group_names_)
        assert self.groups_ is not None
        onehot = sp.csr_array(
            (np.ones(len(self.groups_)), (np.arange(len(self.groups_)), self.groups_)), shape=(len(self.groups_), n_groups)
        )
        from_context = (batch.context @ onehot).toarray() > 0
        wanted = from_context
        rows = np.flatnonzero(~batch.has_context & batch.known)
        if len(rows):
            bought = sp.csr_array(self.dataset_.user_items[batch.customer_idx[rows]])
            bought.data[:] = 1.0
            per_group = (bought @ onehot).toarray()
            top = per_group.max(axis=1, keepdims=True)
            wanted[rows] = (per_group == top) & (top > 0)
        return wanted

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        group = self._row_groups(batch)[np.asarray(rows, dtype=np.int64)] if len(rows) else np.empty(0, dtype=np.int64)
        return [self._reason(int(i), int(g)) for i, g in zip(items.tolist(), group.tolist(), strict=True)]

    def _reason(self, item_idx: int, group: int = -1) -> str | None:
        if group >= 0:  # among customers like this one: the count of their group, and which group
            n = self.among_popularity_[group, item_idx]
            if not n > 0:
                return None
            who = f"customers like you ({self.among}: {self.among_names_[group]})"
            if self.count == "customers":
                verb = "bought by" if self.bought_ else "chosen by"
                amount = f"{n:.0f}" if self.half_life_days is None else f"{n:.0f} recent"
                return f"popular among {who}: {verb} {amount} of them"
            return f"popular among {who}: {n:g} units"
        n = self.popularity_[item_idx]
        if not n > 0:
            return None
        when = f" in the last {self.window_days:g} days" if self.window_days is not None else ""
        where = f" in {self.group_names_[self.groups_[item_idx]]}" if self.groups_ is not None else ""
        if self.half_life_days is not None:
            if self.bought_:
                unit = "recent buyers" if self.count == "customers" else "recent units"
            else:  # views / cart adds counted too: customers and choices, not buyers and units
                unit = "recent customers" if self.count == "customers" else "recent choices"
            return f"trending{where}: {n:.0f} {unit} (recency-weighted){when}"
        if self.count == "customers":
            amount = f"{n:.0f} customer{'s' if n != 1 else ''}"
        else:
            amount = f"{n:g} unit{'s' if n != 1 else ''}"
        if not self.bought_:  # views / cart adds counted too: popular, not necessarily sold
            return f"popular{where}: chosen by {amount}{when}" if self.count == "customers" else f"popular{where}: {amount}{when}"
        verb = "bought by" if self.count == "customers" else "sold:"
        return f"best seller{where}: {verb} {amount}{when}"
