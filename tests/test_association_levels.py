"""AssociationRules(level=...): rules between catalogue values, bundles of one product per value,
and the optional back-off scores -- checked against plain-python references written here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fractions import Fraction
from itertools import combinations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import AssociationRules, ConfigError, DataError, Dataset, DataWarning, Query
from recokit.testing import RecommenderContract

PACK = {"helmet", "pump", "lock"}


# -- the sports shop: the planted pack, read from the data, not from the model ----------------------
@pytest.fixture(scope="module")
def sports():
    from recokit.datasets import sports_shop

    shop = sports_shop(5000, seed=0)  # the demo's shop
    return shop, AssociationRules(level="category").fit(shop)


def _categories(shop: Dataset) -> dict:
    cat = shop.catalog
    return dict(zip(cat["item_id"].to_list(), cat["category"].to_list(), strict=True))


def _adult_bikes(shop: Dataset) -> list:
    return shop.catalog.filter((pl.col("category") == "adult_bike") & (pl.col("age_group") == "adult"))["item_id"].to_list()


def _category_ranking(shop: Dataset, anchor_category: str) -> list[str]:
    """The categories held by the orders with ``anchor_category``, most orders first (ties by
    name), counted with polars from the order lines: an independent reference."""
    lines = shop.interactions.join(shop.catalog.select("item_id", "category"), on="item_id").select("basket_idx", "category").unique()
    with_anchor = lines.filter(pl.col("category") == anchor_category)["basket_idx"].implode()
    counts = lines.filter(pl.col("basket_idx").is_in(with_anchor) & (pl.col("category") != anchor_category)).group_by("category").len()
    return counts.sort(["len", "category"], descending=[True, False])["category"].to_list()


def test_the_planted_pack_is_what_the_data_says(sports):
    """The generator plants helmet + pump + lock with adult bikes: the orders agree (so the test
    below checks the model against the data, not against the generator's code)."""
    shop, _ = sports
    assert len(_adult_bikes(shop)) == 30
    assert set(_category_ranking(shop, "adult_bike")[:3]) == PACK


def test_bundle_of_an_adult_bike_is_one_helmet_one_pump_and_one_lock(sports):
    """Issue 13, done when: for at least 25 of the 30 adult bikes (item rules alone: 3)."""
    shop, model = sports
    category = _categories(shop)
    stock = dict(zip(shop.catalog["item_id"].to_list(), shop.catalog["stock"].to_list(), strict=True))
    packs = {bike: model.bundle(bike, 3) for bike in _adult_bikes(shop)}
    found = [bike for bike, pack in packs.items() if sorted(category[i] for i in pack.item_ids) == sorted(PACK)]
    assert len(found) >= 25, {b: [category[i] for i in p.item_ids] for b, p in packs.items()}
    for bike, pack in packs.items():
        assert all(stock[i] > 0 for i in pack.item_ids), bike  # never out of stock
        assert "adult_bike" not in {category[i] for i in pack.item_ids}
        assert [r.rank for r in pack] == list(range(1, len(pack) + 1))
        assert all(r.reason and "% of adult bike baskets" in r.reason for r in pack)


def test_bundles_are_deterministic(sports):
    """Same data, in another row order, refitted: the same packs, byte for byte."""
    shop, model = sports
    t = shop.interactions.select("customer_id", "item_id", "basket_idx", "timestamp", "quantity")
    shuffled = t.sample(fraction=1.0, shuffle=True, seed=3)
    again = AssociationRules(level="category").fit(Dataset(shuffled, shop.catalog, time_col="timestamp", basket_col="basket_idx", quantity_col="quantity"))
    for bike in _adult_bikes(shop)[:10]:
        assert again.bundle(bike, 4) == model.bundle(bike, 4)


def test_a_category_without_stock_is_skipped_and_the_next_one_takes_its_place(sports):
    shop, model = sports
    category = _categories(shop)
    no_helmets = shop.catalog.with_columns(stock=pl.when(pl.col("category") == "helmet").then(0).otherwise(pl.col("stock")))
    fresh = shop.with_catalog(no_helmets)
    expected = [c for c in _category_ranking(shop, "adult_bike") if c != "helmet"][:3]  # lock, pump, bike light
    refitted = AssociationRules(level="category").fit(fresh)
    for bike in _adult_bikes(shop)[:8]:
        got = [category[i] for i in model.bundle(bike, 3, dataset=fresh).item_ids]
        assert sorted(got) == sorted(expected), (bike, got)
        assert refitted.bundle(bike, 3) == model.bundle(bike, 3, dataset=fresh)
        # excluded products are never offered either: the next product of the category is
        first = model.bundle(bike, 1)[0].item_id
        other = model.bundle(bike, 1, exclude=[first])[0]
        assert other.item_id != first and category[other.item_id] == category[first]


def test_a_rejected_pair_is_never_offered(sports):
    shop, model = sports
    bike = _adult_bikes(shop)[0]
    pack = model.bundle(bike, 3)
    rejected = AssociationRules(level="category", rejected=[(bike, pack[0].item_id)]).fit(shop)
    again = rejected.bundle(bike, 3)
    assert pack[0].item_id not in again.item_ids
    assert {_categories(shop)[i] for i in again.item_ids} == {_categories(shop)[i] for i in pack.item_ids}


# -- random shops against a plain-python reference --------------------------------------------------
def _random_shop(seed: int, n_levels: int, per_level: int, n_baskets: int) -> tuple[Dataset, pl.DataFrame, list[set[str]]]:
    rng = np.random.default_rng(seed)
    items = [f"I{i:02d}" for i in range(n_levels * per_level)]
    cats = [f"c{int(x)}" for x in rng.integers(0, n_levels, len(items))]
    catalog = pl.DataFrame(
        {
            "item_id": items,
            "category": cats,
            "price": np.round(rng.uniform(1, 50, len(items)), 0),
            "stock": rng.integers(0, 3, len(items)),
        }
    )
    baskets = [set(rng.choice(items, size=int(rng.integers(1, 5)), replace=False).tolist()) for _ in range(n_baskets)]
    rows = [(f"C{b % 7}", i, f"O{b:03d}") for b, basket in enumerate(baskets) for i in sorted(basket)]
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order_id"], orient="row")
    return Dataset(frame, catalog, basket_col="order_id", unknown_items="error"), catalog, baskets


def _reference_bundle(catalog: pl.DataFrame, baskets: list[set[str]], anchor: str, k: int, min_count: int, min_conf: Fraction) -> list[str]:
    """The documented bundle, recomputed from the baskets in plain python (min_lift=1)."""
    rows = catalog.to_dicts()
    cat = {r["item_id"]: r["category"] for r in rows}
    order = list(dict.fromkeys(r["category"] for r in rows))  # values in order of first appearance
    n = len(baskets)
    level_baskets = [{cat[i] for i in b} for b in baskets]
    count = Counter(c for b in level_baskets for c in b)
    pair = Counter((a, c) for b in level_baskets for a in b for c in b if a != c)
    own = cat[anchor]
    rules = [
        (Fraction(pair[(own, c)], count[own]), pair[(own, c)], order.index(c), c)
        for c in order
        if c != own and pair[(own, c)] >= min_count and Fraction(pair[(own, c)], count[own]) >= min_conf
        and pair[(own, c)] * n >= count[own] * count[c]
    ]
    rules.sort(key=lambda r: (-r[0], -r[1], r[2]))
    sold = Counter(i for b in baskets for i in b)
    together = Counter(i for b in baskets if anchor in b for i in b)
    prices = {r["item_id"]: r["price"] for r in rows}

    def tier(item: str) -> int:
        same = [prices[i] for i in cat if cat[i] == cat[item]]
        return 3 * sum(p < prices[item] for p in same) // len(same)

    out = []
    for *_, c in rules:
        cands = [r["item_id"] for r in rows if r["category"] == c and r["stock"] > 0 and r["item_id"] != anchor]
        if not cands:
            continue
        best = min(cands, key=lambda i: (-together[i], -sold[i], i))
        if together[best] < min_count:
            in_tier = [i for i in cands if tier(i) == tier(anchor) and sold[i] > 0]
            best = min(in_tier or cands, key=lambda i: (-sold[i], i))
        out.append(best)
    return out[:k]


@settings(max_examples=20)  # each example builds a shop and fits: 20 cover the three picks (test budget)
@given(seed=st.integers(0, 10_000), n_levels=st.integers(2, 5), min_count=st.integers(1, 3))
def test_bundles_equal_the_reference_on_random_shops(seed, n_levels, min_count):
    ds, catalog, baskets = _random_shop(seed, n_levels, per_level=4, n_baskets=60)
    model = AssociationRules(min_support=min_count, min_confidence=0.05, level="category").fit(ds)
    cat = dict(zip(catalog["item_id"].to_list(), catalog["category"].to_list(), strict=True))
    for anchor in catalog["item_id"].to_list()[:6]:
        got = model.bundle(anchor, 3)
        assert got.item_ids == _reference_bundle(catalog, baskets, anchor, 3, min_count, Fraction(1, 20)), anchor
        assert len({cat[i] for i in got.item_ids}) == len(got)  # one per category
        assert cat[anchor] not in {cat[i] for i in got.item_ids}


def test_level_rules_equal_the_reference():
    ds, catalog, baskets = _random_shop(4, 4, per_level=4, n_baskets=80)
    model = AssociationRules(min_support=3, min_confidence=0.1, min_lift=None, level="category").fit(ds)
    cat = dict(zip(catalog["item_id"].to_list(), catalog["category"].to_list(), strict=True))
    level_baskets = [{cat[i] for i in b} for b in baskets]
    count = Counter(c for b in level_baskets for c in b)
    pair = Counter(p for b in level_baskets for p in combinations(sorted(b), 2))
    want = set()
    for (a, c), n in pair.items():
        for x, y in ((a, c), (c, a)):
            if n >= 3 and Fraction(n, count[x]) >= Fraction(1, 10):
                want.add((x, y, n, count[x], count[y]))
    got = model.level_rules_.select("antecedent", "consequent", "count", "antecedent_count", "consequent_count").rows()
    assert set(got) == want
    conf = model.level_rules_["confidence"].to_list()
    assert conf == sorted(conf, reverse=True)


# -- back-off scores --------------------------------------------------------------------------------
def _many_products_shop(n_customers: int = 200, seed: int = 2) -> Dataset:
    """Bikes, helmets, pumps and noise, each split over many products: few item pairs repeat."""
    rng = np.random.default_rng(seed)
    groups = {"bike": 10, "helmet": 8, "pump": 6, "shoe": 6, "sock": 6}
    items = [(f"{g[:2].upper()}{j}", g) for g, n in groups.items() for j in range(n)]
    catalog = pl.DataFrame({"item_id": [i for i, _ in items], "category": [g for _, g in items], "stock": [1 + j % 3 for j in range(len(items))]})
    by_group = {g: [i for i, c in items if c == g] for g in groups}
    rows, order = [], 0
    for c in range(n_customers):
        for _ in range(int(rng.integers(1, 3))):
            order += 1
            basket = {str(rng.choice(by_group["shoe"]))} if rng.random() < 0.5 else set()
            if rng.random() < 0.4:
                basket.add(str(rng.choice(by_group["bike"])))
                basket.update(str(rng.choice(by_group[g])) for g in ("helmet", "pump") if rng.random() < 0.8)
            if rng.random() < 0.3 or not basket:
                basket.add(str(rng.choice(by_group["sock"])))
            t = dt.datetime(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 200)), minutes=order)
            rows += [(f"C{c:03d}", i, f"O{order:04d}", t) for i in sorted(basket)]
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order_id", "ts"], orient="row")
    return Dataset(frame, catalog, basket_col="order_id", time_col="ts")


class TestAssociationLevelScoresContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9

    def make_dataset(self):
        return _many_products_shop()

    def make_model(self):
        return AssociationRules(min_support=0.01, min_confidence=0.05, level="category", level_scores=True)


def test_backoff_scores_equal_the_reference():
    """An item with an item rule keeps its confidence; another gets max over the context's
    category rules of confidence x its share of its category's baskets; others stay NaN."""
    ds = _many_products_shop()
    plain = AssociationRules(min_support=4, min_confidence=0.05).fit(ds)
    model = AssociationRules(min_support=4, min_confidence=0.05, level="category", level_scores=True).fit(ds)
    cat = dict(zip(ds.catalog["item_id"].to_list(), ds.catalog["category"].to_list(), strict=True))
    sold = Counter(ds.interactions.select("basket_idx", "item_id").unique()["item_id"].to_list())
    per_cat = Counter()
    for i, n in sold.items():
        per_cat[cat[i]] += n
    rules = {(r["antecedent"], r["consequent"]): r["confidence"] for r in model.level_rules_.to_dicts()}
    ids = ds.item_ids.to_list()
    for context in (["BI0"], ["BI3", "SH1"], ["HE2"]):
        got = model.score(Query(items=context))
        item_level = plain.score(Query(items=context))
        for j, item in enumerate(ids):
            if not np.isnan(item_level[j]):
                assert got[j] == item_level[j]
                continue
            fired = [rules[(cat[x], cat[item])] for x in context if (cat[x], cat[item]) in rules]
            if fired and sold[item] > 0:
                assert got[j] == pytest.approx(max(fired) * sold[item] / per_cat[cat[item]]), (context, item)
            else:
                assert np.isnan(got[j]), (context, item)
    page = model.recommend(Query(items=["BI0"], k=4), backfill=False)
    assert {cat[i] for i in page.item_ids} <= {"helmet", "pump"} and all(r.reason for r in page)
    # a rejected item rule is not backed off: the merchandiser's "no" stands
    pairs = [(a[0], c[0]) for a, c in plain.rules_.select("antecedent", "consequent").rows() if (cat[a[0]], cat[c[0]]) in rules]
    assert pairs, "the check needs an item rule whose categories have a rule too"
    anchor, target = pairs[0]
    rejected = AssociationRules(min_support=4, min_confidence=0.05, level="category", level_scores=True, rejected=[(anchor, target)]).fit(ds)
    assert np.isnan(rejected.score(Query(items=[anchor]))[ds.item_ids.get(target)])
    assert not np.isnan(model.score(Query(items=[anchor]))[ds.item_ids.get(target)])


# -- parameters and data problems -------------------------------------------------------------------
def test_level_parameters_are_checked(sports):
    shop, _ = sports
    with pytest.raises(DataError, match="no column 'aisle'"):
        AssociationRules(level="aisle").fit(shop)
    with pytest.raises(ConfigError, match="needs the level"):
        AssociationRules(level_scores=True)
    with pytest.raises(ConfigError, match="not reviewed"):
        AssociationRules(level="category", approved=[("P0115", "P0165")], approved_only=True)
    with pytest.raises(ConfigError, match="one product per category value"):
        sports[1].bundle(_adult_bikes(shop)[0], 3, one_per="brand")
    bad_stock = shop.with_catalog(shop.catalog.with_columns(pl.col("stock").cast(pl.String)))
    with pytest.raises(DataError, match="must be numeric or boolean"):
        sports[1].bundle(_adult_bikes(shop)[0], 3, dataset=bad_stock)
    with pytest.raises(DataError, match="stock column 'stock' must be numeric or boolean"):
        AssociationRules(level="category").fit(bad_stock)  # at fit, not at the first request
    bad_price = shop.with_catalog(shop.catalog.with_columns(pl.format("EUR {}", pl.col("price")).alias("price")))
    with pytest.raises(DataError, match="price column 'price' must be numeric"):
        AssociationRules(level="category").fit(bad_price)
    assert AssociationRules(level="category", price_column=None, stock_column=None).fit(bad_price).bundle(_adult_bikes(shop)[0], 3)


def test_products_without_a_level_value_are_counted():
    ds, catalog, _ = _random_shop(1, 3, per_level=4, n_baskets=40)
    holes = catalog.with_columns(category=pl.when(pl.col("item_id").is_in(["I00", "I01"])).then(None).otherwise(pl.col("category")))
    with pytest.warns(DataWarning, match="2 of 12 products have no 'category' value"):
        model = AssociationRules(min_support=1, level="category").fit(ds.with_catalog(holes))
    # such a product gets the item rules' pack
    assert model.bundle("I00", 3) == AssociationRules(min_support=1).fit(ds.with_catalog(holes)).bundle("I00", 3)
