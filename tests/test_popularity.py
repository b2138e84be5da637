from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recokit import ConfigError, DataError, Dataset, Popularity, Query
from recokit.testing import RecommenderContract


class TestPopularityContract(RecommenderContract):
    learns_from = None
    learns_why_not = "all-time best sellers: one list for everyone, the groups are never looked at"

    def make_model(self):
        return Popularity()


class TestTrendingContract(RecommenderContract):
    learns_from = None
    learns_why_not = "trending best sellers: one list for everyone, the groups are never looked at"

    def make_model(self):
        return Popularity(half_life_days=30, window_days=180)


class TestPerCategoryContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # the planted category is the group; measured 1.0 on the planted dataset

    def make_model(self):
        return Popularity(by="category")


def test_all_time_counts_distinct_buyers(shop):
    model = Popularity().fit(shop)
    ref = shop.interactions.group_by("item_id").agg(pl.col("customer_id").n_unique().alias("n"))
    got = dict(zip(shop.item_ids.to_list(), model.popularity_, strict=True))
    for item, n in ref.iter_rows():
        assert got[item] == n


def test_window_ignores_old_sales():
    frame = pl.DataFrame(
        {"customer_id": [1, 2, 3, 4], "item_id": ["old", "old", "old", "new"], "ts": ["2023-01-01", "2023-01-02", "2023-01-03", "2024-06-01"]}
    )
    ds = Dataset(frame, time_col="ts")
    assert Popularity().fit(ds).recommend(k=1).item_ids == ["old"]
    assert Popularity(window_days=30).fit(ds).recommend(k=1, backfill=False).item_ids == ["new"]
    decayed = Popularity(half_life_days=10).fit(ds)
    assert decayed.recommend(k=2).item_ids == ["new", "old"]


def test_per_category_stays_in_the_context_category(shop):
    model = Popularity(by="category").fit(shop)
    helmet = shop.catalog.filter(pl.col("category") == "helmet")["item_id"][0]
    recs = model.recommend(Query(items=[helmet], k=3), backfill=False)
    cats = set(shop.catalog.filter(pl.col("item_id").is_in(recs.item_ids))["category"].to_list())
    assert cats == {"helmet"}
    assert all("in helmet" in r.reason for r in recs)


@pytest.mark.parametrize("kwargs", [{"window_days": 0}, {"half_life_days": -3}, {"count": "euros"}])
def test_bad_parameters(shop, kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        Popularity(**kwargs).fit(shop)


def test_time_modes_need_timestamps():
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}))
    with pytest.raises(DataError, match="needs timestamps"):
        Popularity(window_days=7).fit(ds)


def test_unknown_group_column(shop):
    with pytest.raises(DataError, match="no column 'colour'"):
        Popularity(by="colour").fit(shop)


def test_scores_are_nan_only_where_nobody_bought(shop):
    model = Popularity().fit(shop)
    s = model.score(Query())
    assert np.array_equal(np.isnan(s), shop.item_counts() == 0)
