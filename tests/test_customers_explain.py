"""recokit.customers.explain_customer: the explanation agrees with the shop-wide tables, its
score texts recompute (ranks by pandas), its orders add up, odd customers are explained."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import polars as pl
import pytest

from recokit import ConfigTypeError, DataError, Dataset
from recokit.customers import cluster, explain_customer, lifecycle, practice_changes, rfm


@pytest.fixture(scope="module")
def shop():
    from recokit.datasets import sports_shop

    return sports_shop(400, seed=3)


def test_explanation_agrees_with_the_tables_and_its_score_texts_recompute(shop):
    table = rfm(shop)
    ranked = table.filter(pl.col("frequency") > 0).to_pandas()
    for customer in table.filter(pl.col("frequency") > 0)["customer_id"].head(15):
        e = explain_customer(shop, customer)
        assert e.rfm == table.filter(customer_id=customer).row(0, named=True)
        assert e.lifecycle == lifecycle(shop).filter(customer_id=customer).row(0, named=True)
        me = ranked[ranked["customer_id"] == customer].iloc[0]
        worse = {
            "r": int((ranked["recency_days"] > me["recency_days"]).sum()),
            "f": int((ranked["frequency"] < me["frequency"]).sum()),
            "m": int((ranked["monetary"] < me["monetary"]).sum()),
        }
        for key, text in e.scores.items():
            below, n = (int(v) for v in re.search(r"; (\d+) of the (\d+) customers", text).groups())
            assert (below, n) == (worse[key], len(ranked))
            assert math.ceil(5 * (below + 1) / n) == e.rfm[key]
        in_window = e.orders.filter("in_window")
        assert in_window.height == e.rfm["frequency"]
        assert in_window["value"].sum() == pytest.approx(e.rfm["monetary"], abs=0.01 * max(in_window.height, 1))


def test_prospects_inactive_customers_clusters_and_practice_changes_are_explained(shop):
    table = rfm(shop)
    prospect = table.filter(segment="prospect")["customer_id"][0]
    e = explain_customer(shop, prospect)
    assert e.scores == {k: "no order yet: not scored" for k in "rfm"} and e.orders.height == 0
    assert e.segment_rule == "no order up to the reference date"
    inactive = table.filter((pl.col("frequency") == 0) & pl.col("recency_days").is_not_null())["customer_id"][0]
    assert explain_customer(shop, inactive).scores["r"].startswith("1: no order in the last 365 days, scored lowest")
    groups = cluster(shop, k=4)
    someone = groups.drop_nulls("cluster")["customer_id"][0]
    e = explain_customer(shop, someone, clusters=groups)
    assert e.cluster == groups.filter(customer_id=someone).row(0, named=True)
    assert f"cluster {e.cluster['cluster']}: " in str(e)
    changes = practice_changes(shop)
    if changes.height:
        changer = changes["customer_id"][0]
        assert explain_customer(shop, changer).practice_changes == changes.filter(customer_id=changer)["reason"].to_list()
    json.dumps(e.to_dict())  # plain values only


def test_unknown_or_wrong_kind_of_customer(shop):
    with pytest.raises(DataError, match="unknown customer 'C999999'"):
        explain_customer(shop, "C999999")
    with pytest.raises(ConfigTypeError, match="customer ids are strings"):
        explain_customer(shop, 17)


def test_window_of_all_history_reads_so():
    lines = pl.DataFrame({"customer_id": ["a", "b"], "item_id": ["x", "x"], "day": ["2024-01-01", "2024-02-01"]})
    e = explain_customer(Dataset(lines, time_col="day"), "a", window_days=None, price="units")
    assert str(e).splitlines()[0] == "customer a at 2024-02-01 00:00 (window: all history, prices: units)"
    assert pd.Series(e.orders["units"]).sum() == 1
