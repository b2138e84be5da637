"""section_order: each customer's order of the shop's sections, against an independent polars count."""

from __future__ import annotations

import polars as pl
import pytest

from recokit import DataError
from recokit.customers import section_order, shop_sections
from recokit.datasets import sports_shop


@pytest.fixture(scope="module")
def shop():
    return sports_shop(1200, seed=7)


def test_each_customer_starts_with_the_section_they_buy_most_and_sees_every_section(shop):
    table = section_order(shop, window_days=None)
    sports = sorted(set(shop.catalog["sport"].cast(pl.String).to_list()))
    lines = shop.interactions.join(shop.catalog.select("item_id", "sport"), on="item_id")
    counts = lines.group_by("customer_id", "sport").len()
    top = counts.group_by("customer_id").agg(pl.col("len").max().alias("best"))
    best = counts.join(top, on="customer_id").filter(pl.col("len") == pl.col("best")).group_by("customer_id").agg(pl.col("sport"))
    firsts = dict(zip(table["customer_id"].to_list(), [s[0] for s in table["sections"].to_list()], strict=True))
    for customer, tied in best.iter_rows():
        assert firsts[customer] in tied  # their most-bought sport (any of a tie)
    assert all(sorted(s) == sports for s in table["sections"].to_list())


def test_customers_without_purchases_get_the_shops_order(shop):
    table = section_order(shop, window_days=30)
    shop_order = shop_sections(shop, window_days=30)
    quiet = table.filter(pl.col("reason").str.starts_with("the shop's order"))
    assert quiet.height > 0
    assert all(s == shop_order for s in quiet["sections"].to_list())
    lines = shop.interactions.join(shop.catalog.select("item_id", "sport"), on="item_id").group_by("sport").len().sort("len", descending=True)
    assert shop_sections(shop, window_days=None)[: lines.height] == lines["sport"].to_list()  # all history, counted here


def test_a_missing_column_is_a_data_error(shop):
    with pytest.raises(DataError, match="no column 'aisle'"):
        section_order(shop, by="aisle")
