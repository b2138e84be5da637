"""Popularity: the best sellers, all time, recently, or per category. The baseline."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import polars as pl

from recokit._errors import DataError, _hint
from recokit.base import Context, Recommender
from recokit.data import Dataset
from recokit.params import InstanceOf, Interval, OneOf, Optional, param

__all__ = ["Popularity"]

_DAY_US = 86_400 * 1_000_000



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

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        inter = dataset.interactions
        timed = self.window_days is not None or self.half_life_days is not None
        if timed and not dataset.has_time:
            raise DataError(
                _hint("Popularity(window_days=..., half_life_days=...) needs timestamps.", "build the Dataset with time_col=...")
            )
        w = inter["weight"].to_numpy() if self.count == "quantity" else np.ones(inter.height)
        if timed:
            end = np.datetime64(dataset.last_time, "us")
            age_days = (end - inter["timestamp"].to_numpy().astype("datetime64[us]")).astype(np.int64) / _DAY_US
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
        self.popularity_ = np.bincount(items, weights=w, minlength=dataset.n_items).astype(np.float64)
        self.groups_ = None
        if self.by is not None:
            if self.by not in dataset.catalog.columns:
                raise DataError(
                    _hint(
                        f"Popularity(by={self.by!r}): the catalog has no column {self.by!r}.",
                        f"choose one of {dataset.catalog.columns}.",
                    )
                )
            codes = dataset.catalog[self.by].cast(pl.String).fill_null("(none)")
            self.group_names_ = codes.unique(maintain_order=True).to_list()
            lookup = {g: i for i, g in enumerate(self.group_names_)}
            self.groups_ = np.array([lookup[g] for g in codes.to_list()], dtype=np.int64)
        self.as_of_ = dataset.last_time
        self.bought_ = dataset.only_purchases

    def _score(self, ctx: Context) -> np.ndarray:
        scores = np.where(self.popularity_ > 0, self.popularity_, np.nan)
        if self.groups_ is None:
            return scores
        ds = self.dataset_
        if len(ctx.item_idx):
            wanted = np.unique(self.groups_[ctx.item_idx])
        elif ctx.known_customer:
            ui = ds.user_items
            bought = ui.indices[ui.indptr[ctx.customer_idx] : ui.indptr[ctx.customer_idx + 1]]
            if len(bought) == 0:
                return scores
            per_group = np.bincount(self.groups_[bought], minlength=len(self.group_names_))
            wanted = np.flatnonzero(per_group == per_group.max())
        else:
            return scores
        return np.where(np.isin(self.groups_, wanted), scores, np.nan)

    def _score_many(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        if self.groups_ is not None:
            return super()._score_many(customer_idx, now)
        row = self._score(self._context_for(-1, now))
        return np.broadcast_to(row, (len(customer_idx), len(row))).copy()

    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        n = self.popularity_[item_idx]
        if not n > 0:
            return None
        when = f" in the last {self.window_days:g} days" if self.window_days is not None else ""
        where = f" in {self.group_names_[self.groups_[item_idx]]}" if self.groups_ is not None else ""
        if self.half_life_days is not None:
            unit = "recent buyers" if self.count == "customers" else "recent units"
            return f"trending{where}: {n:.0f} {unit} (recency-weighted){when}"
        if self.count == "customers":
            amount = f"{n:.0f} customer{'s' if n != 1 else ''}"
        else:
            amount = f"{n:g} unit{'s' if n != 1 else ''}"
        if not self.bought_:  # views / cart adds counted too: popular, not necessarily sold
            return f"popular{where}: chosen by {amount}{when}" if self.count == "customers" else f"popular{where}: {amount}{when}"
        verb = "bought by" if self.count == "customers" else "sold:"
        return f"best seller{where}: {verb} {amount}{when}"
