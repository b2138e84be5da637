"""BuyAgain: the customer's own items, by recency-weighted purchase count x learnt re-purchase
propensity -- checked against an independent pandas computation of the same formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from recokit import BuyAgain, Dataset, Query
from recokit.testing import RecommenderContract


class TestBuyAgainContract(RecommenderContract):
    learns_from = None
    learns_why_not = "re-purchases: the planted shop's customers never buy an item twice, so BuyAgain only repeats their history"

    def make_model(self):
        return BuyAgain()


def _orders(seed: int = 0, n: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 400, n)
    return pl.DataFrame({
        "customer_id": rng.integers(0, 40, n),
        "item_id": [f"i{v}" for v in rng.zipf(1.5, n) % 25],
        "d": days,
    }).with_columns((pl.date(2024, 1, 1) + pl.duration(days=pl.col("d"))).cast(pl.Datetime("us")).alias("t")).drop("d")


def _reference(orders: pl.DataFrame, half_life: float, prior: float) -> pd.DataFrame:
    """The module's formula, written again in pandas: per (customer, item) the decayed count, per
    item the smoothed share of buyers who bought on two days or more."""
    df = orders.to_pandas()
    end = df["t"].max()
    df["w"] = 0.5 ** ((end - df["t"]).dt.total_seconds() / 86400 / half_life)
    per = df.groupby(["customer_id", "item_id"]).agg(w=("w", "sum"), days=("t", "nunique")).reset_index()
    items = per.groupby("item_id").agg(buyers=("customer_id", "size"), repeaters=("days", lambda d: int((d >= 2).sum())))
    overall = items["repeaters"].sum() / items["buyers"].sum()
    items["propensity"] = (items["repeaters"] + prior * overall) / (items["buyers"] + prior)
    per = per.merge(items["propensity"], left_on="item_id", right_index=True)
    per["score"] = per["w"] * per["propensity"]
    return per


@pytest.mark.parametrize(("half_life", "prior"), [(90.0, 5.0), (30.0, 0.0), (365.0, 20.0)])
def test_scores_equal_the_formula_computed_in_pandas(half_life, prior):
    orders = _orders(seed=int(half_life))
    ds = Dataset(orders, time_col="t")
    model = BuyAgain(half_life_days=half_life, prior=prior).fit(ds)
    want = _reference(orders, half_life, prior)
    for customer in sorted(orders["customer_id"].unique().to_list())[:15]:
        got = model.score(customer_id=customer)
        mine = want[want["customer_id"] == customer]
        expected = np.full(ds.n_items, np.nan)
        expected[ds.item_ids.index(mine["item_id"].tolist())] = mine["score"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_only_the_customers_own_items_and_nothing_for_strangers():
    orders = _orders(seed=3)
    ds = Dataset(orders, time_col="t")
    model = BuyAgain().fit(ds)
    for customer in orders["customer_id"].unique().to_list()[:10]:
        owned = set(orders.filter(pl.col("customer_id") == customer)["item_id"].to_list())
        recs = model.recommend(customer_id=customer, k=30, backfill=False)
        assert set(recs.item_ids) == owned
        assert all(r.reason.startswith("buy again: you bought this") for r in recs)
    assert len(model.recommend(Query(k=5), backfill=False)) == 0  # anonymous: no opinion
    assert len(model.recommend(Query(customer_id=orders["customer_id"][0], k=5, exclude_purchased=True), backfill=False)) == 0


def test_a_staple_bought_again_outranks_a_one_off_bought_as_often_as_lately():
    """Two items, each bought once by this customer on the same day: the one its buyers buy again
    ranks first with the propensity, and the two tie without it."""
    rows = [(1, "milk", "2024-03-01"), (1, "tent", "2024-03-01")]
    rows += [(c, "milk", d) for c in range(2, 12) for d in ("2024-01-05", "2024-02-05")]
    rows += [(c, "tent", "2024-01-05") for c in range(2, 12)]
    orders = pl.DataFrame(rows, schema=["customer_id", "item_id", "t"], orient="row").with_columns(pl.col("t").str.to_date())
    ds = Dataset(orders, time_col="t")
    with_p = BuyAgain().fit(ds).recommend(customer_id=1, k=2, backfill=False)
    without = BuyAgain(propensity=False).fit(ds).score(customer_id=1)
    assert with_p.item_ids == ["milk", "tent"]
    assert without[ds.item_ids.index(["milk"])[0]] == without[ds.item_ids.index(["tent"])[0]]


def test_without_timestamps_every_purchase_counts_one():
    orders = _orders(seed=5).drop("t")
    ds = Dataset(orders)
    model = BuyAgain(propensity=False).fit(ds)
    counts = orders.group_by("customer_id", "item_id").len()
    customer = counts["customer_id"][0]
    mine = counts.filter(pl.col("customer_id") == customer)
    got = model.score(customer_id=customer)
    np.testing.assert_array_equal(got[ds.item_ids.index(mine["item_id"].to_list())], mine["len"].to_numpy().astype(float))
