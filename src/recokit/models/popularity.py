"""Popularity: the best sellers, all time, recently, or per category. The baseline."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import DataError
from recokit.core import Batch, Recommender, ScoreBlock
from recokit.data import (
    DAY_US,
    CountTables,
    DataChange,
    Dataset,
    count_tables,
    group_codes,
    updated_tables,
)
from recokit.params import InstanceOf, Interval, OneOf, Optional, param

__all__ = ["Popularity"]


class Popularity(Recommender):
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
            self._derive(dataset, count_tables(dataset).item_buyers.astype(np.float64))
        else:
            self._derive(dataset, self._weighted_counts(dataset))

    @property
    def _from_tables(self) -> bool:
        """Whether the scores are the ``item_buyers`` count table (distinct buyers, all time):
        forget and partial_fit then update the table; otherwise (windows, recency weights, summed
        quantities: not additive, or float sums) they count again from the updated Dataset."""
        return self.count == "customers" and self.window_days is None and self.half_life_days is None

    def _update(self, previous: Popularity, change: DataChange) -> None:
        if not self._from_tables:
            self._fit(change.after)
            return
        tables = updated_tables(CountTables(previous.popularity_.astype(np.int64)), change)
        self._derive(change.after, tables.item_buyers.astype(np.float64))

    def _check_time(self, dataset: Dataset) -> None:
        if (self.window_days is not None or self.half_life_days is not None) and not dataset.has_time:
            raise DataError(
                "Popularity(window_days=..., half_life_days=...) needs timestamps.", hint="build the Dataset with time_col=..."
            )

    def _weighted_counts(self, dataset: Dataset) -> np.ndarray:
        """Per item: buyers or summed weights, in the window and recency-weighted when asked."""
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
            # one vote per (customer, item): the largest (most recent) weight
            frame = pl.DataFrame({"c": inter["customer_idx"], "i": inter["item_idx"], "w": w})
            frame = frame.group_by("c", "i", maintain_order=True).agg(pl.col("w").max())
            w, items = frame["w"].to_numpy(), frame["i"].to_numpy()
        else:
            items = inter["item_idx"].to_numpy()
        return np.bincount(items, weights=w, minlength=dataset.n_items).astype(np.float64)

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
        return self._scores() if self.groups_ is None else None

    def _scores(self) -> np.ndarray:
        """The best-seller scores of every item (NaN: nobody bought it)."""
        return np.where(self.popularity_ > 0, self.popularity_, np.nan)

    def _score(self, batch: Batch) -> ScoreBlock:
        base = self._scores()
        if self.groups_ is None:  # one list for everyone: a read-only view, each row the same
            return ScoreBlock.dense(np.broadcast_to(base, (batch.n, len(base))))
        scores = np.broadcast_to(base, (batch.n, len(base))).copy()
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
        return [self._reason(int(i)) for i in items.tolist()]

    def _reason(self, item_idx: int) -> str | None:
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
