"""The synthetic sports shop: determinism, schemas, integrity and the planted structure.

Every rate is measured from the generated data and compared with a loose bound, never with a
value copied from the generator.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit._errors import ConfigError
from recokit.datasets import ShopTables, sports_shop, sports_shop_tables

N = 3000
SEED = 7
START = dt.date(2024, 1, 1)
DAYS = 730

INTERACTIONS_SCHEMA = {
    "order_id": pl.Int64,
    "customer_id": pl.String,
    "item_id": pl.String,
    "timestamp": pl.Datetime("us"),
    "quantity": pl.Int64,
    "price": pl.Float64,
}
CATALOG_SCHEMA = {
    "item_id": pl.String,
    "name": pl.String,
    "sport": pl.String,
    "category": pl.String,
    "brand": pl.String,
    "price": pl.Float64,
    "stock": pl.Int64,
    "age_group": pl.String,
    "consumable": pl.Boolean,
    "eco_label": pl.Boolean,
    "description": pl.String,
}
CUSTOMERS_SCHEMA = {
    "customer_id": pl.String,
    "declared_sports": pl.String,
    "level": pl.String,
    "consent_personalization": pl.Boolean,
    "consent_email": pl.Boolean,
}
SPORTS = {"running", "cycling", "hiking", "ski", "swimming", "fitness"}
PROFILES = {"regular_runner", "keen_cyclist", "seasonal_occasional", "parent", "multi_sport"}


@pytest.fixture(scope="module")
def tables() -> ShopTables:
    return sports_shop_tables(N, seed=SEED)


@pytest.fixture(scope="module")
def lines(tables: ShopTables) -> pl.DataFrame:
    """Order lines with the item's category / sport and the customer's hidden profile."""
    return tables.interactions.join(
        tables.catalog.select("item_id", "category", "sport", "age_group"), on="item_id", how="left"
    ).join(tables.profiles, on="customer_id", how="left")


@pytest.fixture(scope="module")
def order_categories(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.group_by("order_id").agg(pl.col("category"))


def _gaps(lines: pl.DataFrame, category: str) -> pl.Series:
    """Days between consecutive purchases of ``category`` by the same customer."""
    return (
        lines.filter(pl.col("category") == category)
        .select("customer_id", "timestamp")
        .unique()
        .sort("customer_id", "timestamp")
        .select(pl.col("timestamp").diff().over("customer_id").dt.total_days().alias("gap"))
        .get_column("gap")
        .drop_nulls()
    )


def _check_invariants(t: ShopTables, n: int, start: dt.date, days: int) -> None:
    it = t.interactions
    assert it.schema == pl.Schema(INTERACTIONS_SCHEMA)
    assert t.catalog.schema == pl.Schema(CATALOG_SCHEMA)
    assert t.customers.schema == pl.Schema(CUSTOMERS_SCHEMA)
    assert t.profiles.columns[:2] == ["customer_id", "profile"]
    assert t.customers.height == t.profiles.height == n
    assert t.customers["customer_id"].n_unique() == n
    assert t.profiles["customer_id"].equals(t.customers["customer_id"])
    assert it.null_count().row(0) == (0,) * it.width
    assert it.is_duplicated().sum() == 0
    assert it.select("order_id", "item_id").is_duplicated().sum() == 0
    assert it.equals(it.sort("timestamp", "order_id", "item_id"))
    assert it["item_id"].is_in(t.catalog["item_id"].implode()).all()
    assert it["customer_id"].is_in(t.customers["customer_id"].implode()).all()
    assert (it["quantity"] >= 1).all() and (it["price"] > 0).all()
    if it.height:
        lo = dt.datetime.combine(start, dt.time())
        assert it["timestamp"].min() >= lo
        assert it["timestamp"].max() < lo + dt.timedelta(days=days)
    # an order belongs to one customer at one moment
    per_order = it.group_by("order_id").agg(pl.col("customer_id").n_unique(), pl.col("timestamp").n_unique())
    assert (per_order["customer_id"] == 1).all() and (per_order["timestamp"] == 1).all()
    # child bikes: parents only, at most one per child, two children's bikes far apart
    child_bikes = (
        it.join(t.catalog.select("item_id", "category"), on="item_id")
        .filter(pl.col("category") == "child_bike")
        .join(t.profiles, on="customer_id")
    )
    assert (child_bikes["profile"] == "parent").all()
    assert (child_bikes["quantity"] == 1).all()
    per_parent = child_bikes.group_by("customer_id").agg(
        pl.len().alias("bikes"),
        pl.col("n_children").first(),
        pl.col("timestamp").sort().diff().dt.total_days().min().alias("closest"),
    )
    assert (per_parent["bikes"] <= per_parent["n_children"]).all()
    assert per_parent["closest"].drop_nulls().ge(90).all()


# ------------------------------------------------------------------------------ determinism
def test_same_arguments_give_identical_tables():
    a = sports_shop_tables(800, seed=3)
    b = sports_shop_tables(800, seed=3)
    for name in ("interactions", "catalog", "customers", "profiles"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_different_seeds_differ_but_share_the_catalogue():
    a = sports_shop_tables(800, seed=3)
    b = sports_shop_tables(800, seed=4)
    assert not a.interactions.equals(b.interactions)
    assert not a.profiles.equals(b.profiles)
    assert a.catalog.equals(b.catalog)
    assert a.catalog.equals(sports_shop_tables(5, seed=99, days=10).catalog)


def test_start_and_days_move_the_window():
    t = sports_shop_tables(1500, seed=1, start=dt.date(2021, 7, 15), days=90)
    _check_invariants(t, 1500, dt.date(2021, 7, 15), 90)
    assert t.interactions.height > 0


# ---------------------------------------------------------------------------------- schemas
def test_schemas_and_invariants(tables: ShopTables):
    _check_invariants(tables, N, START, DAYS)
    assert tables.profiles["profile"].is_in(list(PROFILES)).all()
    assert set(tables.profiles["profile"].unique()) == PROFILES


def test_catalogue(tables: ShopTables):
    cat = tables.catalog
    assert 450 <= cat.height <= 550
    assert cat["item_id"].n_unique() == cat.height
    assert cat["name"].n_unique() == cat.height
    assert cat["item_id"].str.contains(r"^P\d{4}$").all()
    assert set(cat["sport"].unique()) == SPORTS
    assert set(cat["age_group"].unique()) == {"adult", "child"}
    assert cat["stock"].min() >= 0
    assert 0.05 <= (cat["stock"] == 0).mean() <= 0.11
    assert 0.12 <= cat["eco_label"].mean() <= 0.28
    assert cat["description"].n_unique() > 0.9 * cat.height
    expected = {"running_shoes", "running_apparel", "energy_gel", "adult_bike", "child_bike", "helmet", "pump",
                "lock", "bike_light", "inner_tube", "hiking_boots", "backpack", "tent", "ski", "ski_boots",
                "ski_goggles", "swimsuit", "swim_goggles", "swim_cap", "yoga_mat", "dumbbells", "protein"}
    assert expected <= set(cat["category"].unique())
    ranges = cat.group_by("category").agg(pl.col("price").min().alias("lo"), pl.col("price").max().alias("hi"))
    bounds = {"adult_bike": (300, 2000), "child_bike": (150, 400), "energy_gel": (2, 4)}
    for category, (lo, hi) in bounds.items():
        row = ranges.filter(pl.col("category") == category)
        assert row["lo"].item() >= lo and row["hi"].item() <= hi, category
    flags = cat.group_by("category").agg(pl.col("consumable").all(), pl.col("age_group").first())
    consumable = set(flags.filter(pl.col("consumable"))["category"])
    assert {"energy_gel", "inner_tube", "protein", "swim_cap"} <= consumable
    assert not consumable & {"adult_bike", "tent", "running_shoes"}
    assert set(flags.filter(pl.col("age_group") == "child")["category"]) >= {"child_bike"}


def test_customers(tables: ShopTables):
    cus = tables.customers
    assert cus["customer_id"][0] == "C000001"
    declared = cus["declared_sports"].drop_nulls()
    assert 0.3 <= declared.len() / cus.height <= 0.5
    assert declared.str.split(",").explode().is_in(list(SPORTS)).all()
    assert cus["level"].drop_nulls().is_in(["beginner", "intermediate", "expert"]).all()
    assert cus.filter(pl.col("declared_sports").is_null())["level"].null_count() == cus["declared_sports"].null_count()
    assert 0.8 <= cus["consent_personalization"].mean() <= 0.9


def test_volume(tables: ShopTables):
    # 5,000 customers should give roughly 30k-60k order lines
    per_customer = tables.interactions.height / N
    assert 6 <= per_customer <= 12
    assert tables.interactions["order_id"].n_unique() < tables.interactions.height


def test_sports_shop_returns_a_dataset(tables: ShopTables):
    ds = sports_shop(N, seed=SEED)
    assert ds.n_interactions == tables.interactions.height
    assert ds.n_items == tables.catalog.height


# ------------------------------------------------------------------------ planted structure
@pytest.mark.parametrize("companion", ["helmet", "pump", "lock"])
def test_adult_bike_bundle(lines: pl.DataFrame, order_categories: pl.DataFrame, companion: str):
    bike_orders = lines.filter(pl.col("category") == "adult_bike").select("order_id", "customer_id", "timestamp")
    bike_orders = bike_orders.unique()
    assert bike_orders.height >= 100
    same = bike_orders.join(order_categories, on="order_id").select(pl.col("category").list.contains(companion))
    assert same.to_series().mean() >= 0.5
    # with the follow-up orders of the next two weeks it is higher still
    later = lines.filter(pl.col("category") == companion).select("customer_id", pl.col("timestamp").alias("t2"))
    within = (
        bike_orders.join(later, on="customer_id")
        .filter(pl.col("t2").is_between(pl.col("timestamp"), pl.col("timestamp") + pl.duration(days=14)))
        .get_column("order_id")
        .n_unique()
    )
    assert within / bike_orders.height >= same.to_series().mean() + 0.05
    # and far above the base rate of the companion in other orders
    others = order_categories.join(bike_orders, on="order_id", how="anti")
    assert others.select(pl.col("category").list.contains(companion)).to_series().mean() < 0.1


def test_child_bike_comes_with_a_child_helmet(lines: pl.DataFrame, order_categories: pl.DataFrame):
    orders = lines.filter(pl.col("category") == "child_bike").select("order_id").unique()
    assert orders.height >= 50
    share = orders.join(order_categories, on="order_id").select(pl.col("category").list.contains("child_helmet"))
    assert share.to_series().mean() >= 0.5


def test_weak_co_purchases(lines: pl.DataFrame, order_categories: pl.DataFrame):
    def rate(src: str, dst: str) -> float:
        orders = lines.filter(pl.col("category") == src).select("order_id").unique()
        joined = orders.join(order_categories, on="order_id")
        return joined.select(pl.col("category").list.contains(dst)).to_series().mean()

    def base(dst: str) -> float:
        return order_categories.select(pl.col("category").list.contains(dst)).to_series().mean()

    for src, dst in [("running_shoes", "running_socks"), ("ski", "ski_goggles"), ("tent", "backpack")]:
        assert rate(src, dst) > 3 * base(dst), (src, dst)


def test_child_bikes_once_per_child(lines: pl.DataFrame, tables: ShopTables):
    bikes = lines.filter(pl.col("category") == "child_bike")
    assert bikes.height > 0
    per_customer = bikes.group_by("customer_id").agg(pl.len().alias("n"), pl.col("n_children").first())
    assert (per_customer["n"] <= per_customer["n_children"]).all()
    parents = tables.profiles.filter(pl.col("profile") == "parent")
    assert parents["n_children"].is_between(1, 2).all()
    assert (tables.profiles.filter(pl.col("profile") != "parent")["n_children"] == 0).all()


def test_ski_in_winter_hiking_and_swimming_in_summer(lines: pl.DataFrame):
    def months(sport: str) -> pl.Series:
        return lines.filter(pl.col("sport") == sport).select("order_id", "timestamp").unique()["timestamp"].dt.month()

    ski = months("ski")
    assert ski.len() >= 200
    assert ski.is_in([12, 1, 2, 3]).mean() >= 0.8
    summer = pl.concat([months("hiking"), months("swimming")])
    assert summer.is_in([6, 7, 8]).mean() >= 0.55  # 3 months of 12
    assert summer.is_in([12, 1, 2]).mean() <= 0.15


def test_running_shoes_renewed_every_six_to_eight_months(lines: pl.DataFrame):
    gaps = _gaps(lines.filter(pl.col("profile") == "regular_runner"), "running_shoes")
    assert gaps.len() >= 100
    assert 150 <= gaps.median() <= 270
    assert gaps.quantile(0.1) >= 100  # no second pair a few weeks later


@pytest.mark.parametrize("category", ["energy_gel", "inner_tube", "protein"])
def test_consumables_renewed_every_one_to_three_months(lines: pl.DataFrame, category: str):
    gaps = _gaps(lines, category)
    assert gaps.len() >= 50
    assert 25 <= gaps.median() <= 100


def test_durables_are_rarely_bought_twice(lines: pl.DataFrame):
    counts = (
        lines.filter(pl.col("category").is_in(["adult_bike", "tent", "ski", "ski_boots"]))
        .group_by("customer_id", "category")
        .agg(pl.col("order_id").n_unique().alias("n"))
    )
    assert (counts["n"] > 1).mean() <= 0.05


def test_popularity_is_skewed_within_categories(lines: pl.DataFrame, tables: ShopTables):
    sizes = tables.catalog.group_by("category").len().filter(pl.col("len") >= 10)
    sales = lines.group_by("category", "item_id").agg(pl.col("quantity").count().alias("n"))
    checked = 0
    for category, k in sizes.iter_rows():
        n = sales.filter(pl.col("category") == category)["n"].sort(descending=True).to_numpy()
        if n.sum() < 300:
            continue
        top = max(1, k // 5)
        assert n[:top].sum() / n.sum() >= 0.4, category  # 20 % of the items make >= 40 % of sales
        checked += 1
    assert checked >= 5


def test_profiles_behave_differently(lines: pl.DataFrame, tables: ShopTables):
    share = lines.group_by("profile").agg(
        (pl.col("sport") == "running").mean().alias("running"),
        (pl.col("sport") == "cycling").mean().alias("cycling"),
        (pl.col("age_group") == "child").mean().alias("child"),
        pl.len().alias("n"),
    )
    row = {r["profile"]: r for r in share.iter_rows(named=True)}
    assert row["regular_runner"]["running"] >= 0.6
    assert row["keen_cyclist"]["cycling"] >= 0.6
    assert row["parent"]["child"] >= 0.3
    assert max(r["child"] for p, r in row.items() if p != "parent") == 0
    sizes = dict(tables.profiles.group_by("profile").len().iter_rows())
    per_customer = {p: row[p]["n"] / sizes[p] for p in row}
    assert per_customer["seasonal_occasional"] < per_customer["regular_runner"] / 2


def test_premium_customers_pay_more(lines: pl.DataFrame, tables: ShopTables):
    # a hidden taste makes experts pick pricier items; visible through the declared level
    level = tables.customers.select("customer_id", "level").drop_nulls()
    shoes = lines.filter(pl.col("category") == "running_shoes").join(level, on="customer_id")
    mean = dict(shoes.group_by("level").agg(pl.col("price").mean()).iter_rows())
    assert mean["expert"] > mean["beginner"]


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_customers": 0}, "n_customers"),
        ({"n_customers": -5}, "n_customers"),
        ({"n_customers": 10.0}, "n_customers"),
        ({"n_customers": True}, "n_customers"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "0"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": None}, "seed"),
        ({"days": 0}, "days"),
        ({"days": 7.5}, "days"),
        ({"start": "2024-01-01"}, "start"),
    ],
)
def test_bad_parameters_raise_config_error(kwargs: dict, name: str):
    value = next(iter(kwargs.values()))
    with pytest.raises(ConfigError, match=name) as info:
        sports_shop_tables(**kwargs)
    assert repr(value) in str(info.value)
    with pytest.raises(ConfigError, match=name):
        sports_shop(**kwargs)


# ------------------------------------------------------------------------------- properties
@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**32),
    days=st.integers(1, 800),
    start=st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)),
)
def test_invariants_hold_for_any_small_shop(n: int, seed: int, days: int, start: dt.date):
    t = sports_shop_tables(n, seed=seed, start=start, days=days)
    _check_invariants(t, n, start, days)
    again = sports_shop_tables(n, seed=seed, start=start, days=days)
    assert t.interactions.equals(again.interactions)
    assert np.array_equal(t.profiles["n_children"].to_numpy(), again.profiles["n_children"].to_numpy())
