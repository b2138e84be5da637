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


# -- among customers like you (a customers-table column) -------------------------------------------
@pytest.fixture(scope="module")
def shop_with_levels():
    from recokit.datasets import sports_shop

    return sports_shop(1500, seed=4)


def test_among_scores_are_the_buyers_of_the_customers_group(shop_with_levels):
    """Differential: per level, the distinct buyers of each item among the customers of that level,
    counted here by a polars join."""
    shop = shop_with_levels
    model = Popularity(among="level").fit(shop)
    pairs = shop.interactions.select("customer_id", "item_id").unique().join(shop.customers.select("customer_id", "level"), on="customer_id")
    counts = pairs.drop_nulls("level").group_by("level", "item_id").len()
    for level in counts["level"].unique().to_list():
        customer = shop.customers.filter(pl.col("level") == level)["customer_id"][0]
        scores = model.score(customer_id=customer)
        want = np.full(shop.n_items, np.nan)
        part = counts.filter(pl.col("level") == level)
        want[shop.item_ids.index(part["item_id"].to_list())] = part["len"].to_numpy()
        np.testing.assert_array_equal(scores, want)


def test_among_without_a_group_is_the_shop_wide_list(shop_with_levels):
    shop = shop_with_levels
    model = Popularity(among="level").fit(shop)
    everyone = Popularity().fit(shop).recommend(k=5)
    no_level = shop.customers.filter(pl.col("level").is_null())["customer_id"][0]
    assert model.recommend(k=5).item_ids == everyone.item_ids  # anonymous
    np.testing.assert_array_equal(model.score(customer_id=no_level), Popularity().fit(shop).score(customer_id=no_level))
    expert = shop.customers.filter(pl.col("level") == "expert")["customer_id"][0]
    recs = model.recommend(customer_id=expert, k=5)
    assert all(r.reason.startswith("popular among customers like you (level: expert)") or r.reason.startswith("buy again") for r in recs)


def test_among_never_reads_the_declared_data_of_a_customer_without_consent(shop_with_levels):
    from recokit import Ruled
    from recokit.rules import RequireConsent

    shop = shop_with_levels
    ruled = Ruled(Popularity(among="level"), [RequireConsent("consent_personalization", name="consent")]).fit(shop)
    refused = shop.customers.filter(~pl.col("consent_personalization") & pl.col("level").is_not_null())["customer_id"][0]
    assert ruled.recommend(customer_id=refused, k=5).item_ids == ruled.recommend(k=5).item_ids


def test_among_recommend_many_equals_one_by_one_and_survives_save_and_load(shop_with_levels, tmp_path):
    from recokit import load, save

    shop = shop_with_levels
    model = Popularity(among="declared_sports", half_life_days=60).fit(shop)
    customers = shop.customer_ids.to_list()[:40] + [None]
    table = model.recommend_many(customers, k=3)
    for c in customers[:10]:
        assert table.filter(pl.col("customer_id").eq_missing(c))["item_id"].to_list() == model.recommend(customer_id=c, k=3).item_ids
    again = load(save(model, tmp_path / "m"))
    assert again.recommend_many(customers, k=3).equals(table)


def test_among_forget_equals_a_fit_without_the_customer(shop_with_levels):
    shop = shop_with_levels
    gone = shop.customer_ids.to_list()[:3]
    forgot = Popularity(among="level").fit(shop).forget(gone)
    fresh = Popularity(among="level").fit(shop.without_customers(gone))
    np.testing.assert_array_equal(forgot.among_popularity_, fresh.among_popularity_)
    np.testing.assert_array_equal(forgot.customer_group_, fresh.customer_group_)


def test_among_needs_a_segment_column_of_the_customers_table(shop_with_levels):
    from recokit import DataError

    shop = shop_with_levels
    with pytest.raises(DataError, match="no column 'segment'"):
        Popularity(among="segment").fit(shop)
    many = shop.customers.with_columns(pl.col("customer_id").alias("email"))
    from recokit import Dataset

    ds = Dataset(shop.interactions.select("customer_id", "item_id"), shop.catalog, many)
    with pytest.raises(DataError, match="an id, not a segment"):
        Popularity(among="email").fit(ds)
