"""Reasons shown to shoppers never claim what the data does not show."""

from __future__ import annotations

import polars as pl
import pytest

from recokit import ALS, AssociationRules, Dataset, ItemKNN, Popularity, Query


def _orders(events: list[str] | None, names: list[str | None]) -> Dataset:
    frame = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3, 3, 4, 4],
            "item_id": ["a", "b", "a", "b", "a", "b", "a", "c"],
            "order_id": [1, 1, 2, 2, 3, 3, 4, 4],
        }
    )
    if events is not None:
        frame = frame.with_columns(pl.Series("event", events))
    catalog = pl.DataFrame({"item_id": ["a", "b", "c"], "name": names})
    kwargs = {"event_col": "event", "event_weights": {"purchase": 1.0, "view": 0.1}} if events is not None else {}
    return Dataset(frame, catalog, basket_col="order_id", **kwargs)


@pytest.mark.parametrize("model", [ItemKNN(), ALS(factors=4, iterations=2), AssociationRules(min_support=1)], ids=["itemknn", "als", "rules"])
def test_a_null_product_name_is_shown_as_its_id(model):
    ds = _orders(None, ["Bike", None, "Pump"])
    model.fit(ds)
    reasons = [r.reason for r in model.recommend(Query(items=["b"], k=2))] + [
        r.reason for r in model.recommend(Query(customer_id=1, k=2))
    ]
    assert not any("None" in (r or "") for r in reasons)


def test_views_are_not_called_purchases():
    views = ["purchase", "view", "purchase", "view", "purchase", "view", "view", "view"]
    ds = _orders(views, ["Bike", "Helmet", "Pump"])
    assert not ds.only_purchases
    best = Popularity().fit(ds).recommend(Query(k=1))[0]
    assert best.reason.startswith("popular: chosen by") and "bought" not in best.reason
    knn = ItemKNN().fit(ds)
    assert all("bought" not in r.reason for r in knn.recommend(Query(customer_id=4, k=2)) if r.reason != "popular in the shop")
    rules = AssociationRules(min_support=1).fit(ds)
    assert all(r.reason.startswith("chosen with") for r in rules.recommend(Query(items=["a"], k=1)))
    # the same data with purchases only keeps the purchase wording
    bought = _orders(None, ["Bike", "Helmet", "Pump"])
    assert Popularity().fit(bought).recommend(Query(k=1))[0].reason.startswith("best seller: bought by")
