"""The synthetic shop's web events (``web_events=True``): the default tables unchanged, the
purchase rows identical with the option, and the planted abandonments exactly the cart adds
that no order followed (computed here from the rows, not from the generator's bookkeeping)."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from recokit import ConfigError
from recokit.datasets import sports_shop, sports_shop_tables

# sha256 of write_csv() of sports_shop_tables(800, seed=3)'s tables, computed on main at
# dc7b405, before web events existed: the default output must stay byte-identical.
DEFAULT_HASHES = {
    "interactions": "a16a8f85ab6d1cd0a53482cd90254dc26299339d0d74e827233f01aad9604179",
    "catalog": "958ecdea2fcd6c7a7486057490d4a59ca41f0f2fb088c68e9883a3740125b503",
    "customers": "ef3bf51253cdb9e829b305e939034fe3a34c5c8fcf2c1b0a087f3fe98bf73a77",
    "profiles": "3bc0418f56709a36da92773f7d0d907ace4ecff7554fc3e460f414ca42707b6f",
}
DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def web():
    return sports_shop_tables(800, seed=3, web_events=True)


def _sha(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


def test_the_default_tables_are_unchanged():
    t = sports_shop_tables(800, seed=3)
    assert {name: _sha(getattr(t, name)) for name in DEFAULT_HASHES} == DEFAULT_HASHES
    assert t.abandoned is None and "event" not in t.interactions.columns


def test_purchase_rows_customers_and_profiles_are_those_without_web_events(web):
    plain = sports_shop_tables(800, seed=3)
    purchases = web.interactions.filter(pl.col("event") == "purchase").drop("event")
    assert purchases.equals(plain.interactions)
    assert web.customers.equals(plain.customers) and web.profiles.equals(plain.profiles) and web.catalog.equals(plain.catalog)


def test_web_rows_are_sessions_without_price_inside_the_history(web):
    rows = web.interactions.filter(pl.col("event") != "purchase")
    assert set(rows["event"].unique()) == {"view", "add_to_cart"}
    assert (rows["order_id"] < 0).all() and rows["price"].null_count() == rows.height
    ts = web.interactions["timestamp"]
    assert str(ts.min().date()) >= "2024-01-01" and str(ts.max().date()) <= "2025-12-30"
    assert web.interactions["timestamp"].is_sorted()
    # a session belongs to one customer (the Dataset's basket rule), and the Dataset builds
    ds = sports_shop(800, seed=3, web_events=True)
    assert set(ds.interactions["event"].unique()) == {"purchase", "view", "add_to_cart"}


def test_abandoned_carts_are_exactly_the_cart_adds_no_order_followed(web):
    rows = web.interactions.with_columns(pl.col("timestamp").cast(pl.Int64).alias("t"))
    adds = rows.filter(event="add_to_cart").select("customer_id", "item_id", "t").with_row_index("k")
    buys = rows.filter(event="purchase").select("customer_id", "item_id", pl.col("t").alias("bt"))
    followed = adds.join(buys, on=["customer_id", "item_id"]).filter((pl.col("bt") >= pl.col("t")) & (pl.col("bt") <= pl.col("t") + DAY_US))["k"]
    not_followed = adds.filter(~pl.col("k").is_in(followed.implode())).select("customer_id", "item_id", pl.col("t"))
    planted = web.abandoned.select("customer_id", "item_id", pl.col("timestamp").cast(pl.Int64).alias("t"))
    assert planted.height > 100
    assert sorted(not_followed.rows()) == sorted(planted.rows())
    # no order of the customer within 48 h either side of a planted abandonment
    orders = buys.select("customer_id", "bt").unique()
    close = planted.join(orders, on="customer_id").filter((pl.col("bt") - pl.col("t")).abs() <= 2 * DAY_US)
    assert close.height == 0


def test_web_events_must_be_a_bool():
    with pytest.raises(ConfigError, match="web_events"):
        sports_shop_tables(10, web_events="yes")  # type: ignore[arg-type]
