"""recokit.customers.features: every column against an independent pandas computation, the
reference date and window, the price sources and their errors."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import ConfigError, DataError, Dataset, DataWarning
from recokit.customers import features
from recokit.customers.orders import price_source

ITEMS = pl.DataFrame(
    {
        "item_id": ["bike", "tube", "shoe", "gel", "tent"],
        "category": ["bike", "parts", "shoes", "food", "camp"],
        "sport": ["cycling", "cycling", "running", "running", None],
        "price": [500.0, 8.0, 120.0, 2.5, 300.0],
    }
)
START = dt.datetime(2024, 1, 1, 9, 0)


@st.composite
def shops(draw):
    """Order lines of up to 6 customers over ~2 years: (lines frame, reference date, window)."""
    n_orders = draw(st.integers(1, 25))
    rows = []
    for order in range(n_orders):
        customer = draw(st.sampled_from(["a", "b", "c", "d", "e", "f"]))
        day = draw(st.integers(0, 700))
        hour = draw(st.integers(0, 14))
        items = draw(st.lists(st.sampled_from(ITEMS["item_id"].to_list()), min_size=1, max_size=3, unique=True))
        for item in items:
            rows.append((customer, item, order, START + dt.timedelta(days=day, hours=hour), draw(st.integers(1, 4))))
    lines = pl.DataFrame(rows, schema=["customer_id", "item_id", "order_id", "ts", "qty"], orient="row")
    at = draw(st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2026, 1, 1))))
    window = draw(st.sampled_from([None, 30, 90, 365]))
    return lines, at, window


def expected(lines: pl.DataFrame, at: dt.date | None, window: int | None) -> pd.DataFrame:
    """The features, the slow and obvious way (pandas, one customer at a time)."""
    df = lines.to_pandas().merge(ITEMS.to_pandas(), on="item_id")
    cutoff = pd.Timestamp(lines["ts"].max()) if at is None else pd.Timestamp(dt.datetime.combine(at, dt.time.max))
    df = df[df["ts"] <= cutoff]
    df["day"] = df["ts"].dt.normalize()
    ref_day = cutoff.normalize()
    df["value"] = df["qty"] * df["price"]
    first = None if window is None else ref_day - pd.Timedelta(days=window - 1)
    out = {}
    for customer in sorted(lines["customer_id"].unique().to_list()):
        mine = df[df["customer_id"] == customer]
        orders = mine.groupby("order_id").agg(day=("day", "min"), value=("value", "sum"), units=("qty", "sum"))
        win = orders if first is None else orders[orders["day"] >= first]
        lw = mine[mine["order_id"].isin(win.index)]
        days = np.sort(orders["day"].unique())
        gaps = np.diff(days).astype("timedelta64[D]").astype(int)
        row = {
            "recency_days": (ref_day - orders["day"].max()).days if len(orders) else None,
            "frequency": len(win),
            "monetary": float(win["value"].sum()),
            "lifetime_orders": len(orders),
            "tenure_days": (ref_day - orders["day"].min()).days if len(orders) else None,
            "median_gap_days": float(np.median(gaps)) if len(gaps) else None,
            "basket_units": float(win["units"].mean()) if len(win) else None,
            "basket_value": float(win["value"].mean()) if len(win) else None,
        }
        for q in range(1, 5):
            row[f"season_q{q}"] = float((win["day"].dt.quarter == q).mean()) if len(win) else None
        for cat in sorted(ITEMS["category"].to_list()):
            row[f"share_category_{cat}"] = float(lw.loc[lw["category"] == cat, "value"].sum() / lw["value"].sum()) if len(win) else None
        out[customer] = row
    return pd.DataFrame.from_dict(out, orient="index")


def dataset(lines: pl.DataFrame, **kwargs) -> Dataset:
    return Dataset(lines, ITEMS, time_col="ts", basket_col="order_id", quantity_col="qty", **kwargs)


def same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=30)
@given(shops())
def test_features_equal_an_independent_pandas_computation(shop):
    lines, at, window = shop
    got = features(dataset(lines), at=at, window_days=window).to_pandas().set_index("customer_id")
    want = expected(lines, at, window)
    assert list(got.index) == list(want.index)
    for column in want.columns:
        for customer in want.index:
            assert same(want.at[customer, column], got.at[customer, column]), (column, customer, want.at[customer, column], got.at[customer, column])


@settings(max_examples=15)
@given(shops())
def test_shares_and_seasons_sum_to_one_and_nothing_after_at_is_read(shop):
    lines, at, window = shop
    ds = dataset(lines)
    f = features(ds, at=at, window_days=window)
    buyers = f.filter(pl.col("frequency") > 0)
    for prefix in ("share_category_", "share_sport_", "season_q"):
        total = buyers.select(pl.sum_horizontal(pl.col(f"^{prefix}.*$"))).to_series()
        assert ((total - 1).abs() < 1e-9).all()
    assert f.filter(pl.col("frequency") == 0).select(pl.col("^share_.*$").is_null().all()).row(0) == tuple([True] * len([c for c in f.columns if c.startswith("share_")]))
    if at is not None:  # the same answer without the later rows
        cutoff = dt.datetime.combine(at, dt.time.max)
        earlier = lines.filter(pl.col("ts") <= cutoff)
        if earlier.height:
            ds_early = Dataset(earlier, ITEMS, customers=lines.select("customer_id").unique(), time_col="ts", basket_col="order_id", quantity_col="qty")
            assert features(ds_early, at=at, window_days=window).equals(f)


def test_items_without_a_sport_share_the_none_group_and_price_level_compares_with_the_shop():
    lines = pl.DataFrame(
        {"customer_id": ["a", "a", "b"], "item_id": ["tent", "gel", "bike"], "order_id": [1, 1, 2], "ts": [START] * 3, "qty": [1, 2, 1]}
    )
    f = features(dataset(lines)).sort("customer_id")
    assert f["share_sport_(none)"].to_list() == [300 / 305, 0.0]
    shop_mean = (300 + 5 + 500) / 4  # spend / units
    assert f["price_level"].to_list() == pytest.approx([305 / 3 / shop_mean, 500 / shop_mean])


def test_customers_without_orders_are_kept_with_nulls_and_zeros():
    lines = pl.DataFrame({"customer_id": ["a"], "item_id": ["gel"], "order_id": [1], "ts": [START], "qty": [1]})
    ds = Dataset(lines, ITEMS, customers=pl.DataFrame({"customer_id": ["a", "zoe"]}), time_col="ts", basket_col="order_id", quantity_col="qty")
    zoe = features(ds).filter(customer_id="zoe").row(0, named=True)
    assert zoe["frequency"] == 0 and zoe["monetary"] == 0.0 and zoe["lifetime_orders"] == 0
    assert zoe["recency_days"] is None and zoe["tenure_days"] is None and zoe["basket_value"] is None


def test_web_events_are_counted_per_type_and_never_as_orders():
    lines = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "item_id": ["bike", "bike", "bike", "gel"],
            "order_id": [1, 2, 3, 4],
            "ts": [START, START + dt.timedelta(days=1), START + dt.timedelta(days=2), START],
            "qty": [1, 1, 1, 1],
            "event": ["view", "add_to_cart", "purchase", "view"],
        }
    )
    f = features(dataset(lines, event_col="event")).sort("customer_id")
    assert f["events_view"].to_list() == [1, 0 + 1]
    assert f["events_add_to_cart"].to_list() == [1, 0]
    assert f["frequency"].to_list() == [1, 0]
    assert f["recency_days"].to_list() == [0, None]  # a view is not an order


def test_price_sources_paid_catalog_units_and_their_errors():
    lines = pl.DataFrame(
        {"customer_id": ["a", "a"], "item_id": ["bike", "gel"], "order_id": [1, 1], "ts": [START] * 2, "qty": [1, 4], "paid": [450.0, 2.0]}
    )
    assert features(dataset(lines, price_col="paid"))["monetary"].item() == 458.0
    assert features(dataset(lines, price_col="paid"), price="catalog")["monetary"].item() == 510.0
    assert features(dataset(lines))["monetary"].item() == 510.0
    assert features(dataset(lines), price="units")["monetary"].item() == 5.0
    assert features(dataset(lines), price="units")["price_level"].item() is None
    no_price = Dataset(lines, ITEMS.drop("price"), time_col="ts", basket_col="order_id", quantity_col="qty")
    with pytest.raises(DataError, match="no price to measure what customers spent") as err:
        features(no_price)
    assert "price='units'" in (err.value.hint or "")
    with pytest.raises(DataError, match="price='paid' needs"):
        features(dataset(lines), price="paid")
    with pytest.raises(ConfigError, match="price must be one of"):
        price_source(dataset(lines), "cost")


def test_missing_prices_count_as_zero_with_a_counted_warning():
    lines = pl.DataFrame({"customer_id": ["a", "a"], "item_id": ["bike", "gel"], "order_id": [1, 1], "ts": [START] * 2, "qty": [1, 1], "paid": [450.0, None]})
    with pytest.warns(DataWarning, match="1 of 2 purchase lines have no price paid"):
        assert features(dataset(lines, price_col="paid"))["monetary"].item() == 450.0


def test_bad_arguments_are_recokit_errors():
    lines = pl.DataFrame({"customer_id": ["a"], "item_id": ["gel"], "order_id": [1], "ts": [START], "qty": [1]})
    ds = dataset(lines)
    with pytest.raises(ConfigError, match="window_days must be an int >= 1"):
        features(ds, window_days=0)
    with pytest.raises(ConfigError, match="not an ISO 8601"):
        features(ds, at="yesterday")
    with pytest.raises(DataError, match="no column"):
        features(ds, shares=["brand"])
    with pytest.raises(DataError, match="need order times"):
        features(Dataset(lines, ITEMS, basket_col="order_id"))
    with pytest.raises(ConfigError, match="list of catalogue columns"):
        features(ds, shares="sport")


def test_many_catalogue_values_are_capped_with_a_warning():
    lines = pl.DataFrame(
        {"customer_id": ["a", "a", "b"], "item_id": ["bike", "gel", "tent"], "order_id": [1, 1, 2], "ts": [START] * 3, "qty": [1, 1, 1]}
    )
    with pytest.warns(DataWarning, match="has 5 values: shares kept for the 2 with the most spend, the other 3 summed"):
        f = features(dataset(lines), shares=["category"], max_values=2).sort("customer_id")
    assert [c for c in f.columns if c.startswith("share_")] == ["share_category_bike", "share_category_camp", "share_category_(other)"]
    assert f["share_category_(other)"].to_list() == [2.5 / 502.5, 0.0]


def test_prices_paid_survive_save_and_load(tmp_path):
    import recokit

    lines = pl.DataFrame({"customer_id": ["a", "a", "b"], "item_id": ["bike", "gel", "tent"], "order_id": [1, 1, 2], "ts": [START] * 3, "qty": [1, 2, 1], "paid": [450.0, 2.0, 280.0]})
    ds = dataset(lines, price_col="paid")
    recokit.save(recokit.Popularity().fit(ds), tmp_path / "model")
    loaded = recokit.load(tmp_path / "model").dataset_
    assert features(loaded).equals(features(ds))
    assert features(loaded)["monetary"].to_list() == [454.0, 280.0]
