"""forget and partial_fit: the count-based models end exactly as a fit on the changed data.

The reference is always a Dataset built from the raw rows (without the customers, or with all
rows), never the Dataset operations under test; models are compared attribute by attribute and
by their recommendations.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import (
    AssociationRules,
    ConfigError,
    ContentBased,
    DataError,
    Dataset,
    Hybrid,
    ItemKNN,
    Popularity,
    Recommender,
    Renewal,
    Ruled,
)
from recokit.rules import Filter
from state_compare import assert_same_dataset, assert_same_state

T0 = dt.datetime(2024, 1, 1)
CATEGORIES = ["coffee", "tea"]


def count_models() -> list[Recommender]:
    """One of each count-based model (and flavour whose tables differ)."""
    return [
        Popularity(),
        Popularity(by="category"),
        Popularity(count="quantity", window_days=10.0),
        ItemKNN("jaccard", 3),
        ItemKNN("conditional", 3, shrinkage=1.0),
        ItemKNN("cosine", 3, num_threads=1),
        ItemKNN("bm25", 3, half_life_days=5.0, num_threads=1),
        AssociationRules(min_support=1, min_confidence=0.1, min_lift=None),
        AssociationRules(min_support=0.2, min_confidence=0.1, min_lift=None),
        Renewal(min_support=1, min_repeat_share=0.0, max_spread=100.0),
        ContentBased(),
    ]


def composite_models() -> list[Recommender]:
    return [
        Hybrid({"knn": ItemKNN("jaccard", 3), "pop": Popularity()}),
        Ruled(ItemKNN("lift", 3), [Filter("price > 1", name="not the cheapest")], fallback=Popularity()),
    ]


@st.composite
def shops(draw: st.DrawFn, *, catalogue: bool = True) -> dict:
    """Small shops: raw order lines (customer, item, day, quantity) and, maybe, a catalogue and
    a customer table."""
    n_items = draw(st.integers(2, 6))
    n_customers = draw(st.integers(2, 7))
    line = st.tuples(st.integers(0, n_customers - 1), st.integers(0, n_items - 1), st.integers(0, 30), st.integers(1, 3))
    # two customers at least: one to forget, one to fit on
    lines = [(0, draw(st.integers(0, n_items - 1)), 0, 1), (1, 0, draw(st.integers(0, 30)), 1), *draw(st.lists(line, min_size=1, max_size=28))]
    rows = pl.DataFrame(
        {
            "customer_id": [f"c{c}" for c, *_ in lines],
            "item_id": [f"i{i}" for _, i, *_ in lines],
            "t": [T0 + dt.timedelta(days=d, hours=c) for c, _, d, _ in lines],
            "qty": [float(q) for *_, q in lines],
        }
    )
    shop: dict = {"rows": rows, "catalog": None, "customers": None}
    if catalogue:
        shop["catalog"] = pl.DataFrame(
            {
                "item_id": [f"i{i}" for i in range(n_items)],
                "category": [CATEGORIES[i % 2] for i in range(n_items)],
                "price": [1.0 + i for i in range(n_items)],
            }
        )
        people = sorted(set(rows["customer_id"].to_list()))
        shop["customers"] = pl.DataFrame({"customer_id": people, "sport": ["coffee" if p < "c3" else "tea" for p in people]})
    return shop


def dataset(rows: pl.DataFrame, shop: dict, customers: pl.DataFrame | None = None) -> Dataset:
    return Dataset(rows, shop["catalog"], customers, time_col="t", quantity_col="qty")


def assert_same_model(got: Recommender, want: Recommender) -> None:
    assert_same_state(got, want, type(want).__name__)
    assert_same_dataset(got.dataset_, want.dataset_)
    people = want.dataset_.customer_ids.to_list()
    assert got.recommend_many(people, k=3).equals(want.recommend_many(people, k=3))
    item = want.dataset_.item_ids.to_list()[0]
    a, b = got.recommend(items=[item], k=3), want.recommend(items=[item], k=3)
    assert [(r.item_id, r.reason, r.rules) for r in a] == [(r.item_id, r.reason, r.rules) for r in b]
    assert np.array_equal([r.score for r in a], [r.score for r in b], equal_nan=True)


def fit(model: Recommender, ds: Dataset) -> Recommender:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny shops: "no renewable category", "no basket of two"
        return model.clone().fit(ds)


def forget_and_refit(shop: dict, gone: list[str], models: list[Recommender]) -> None:
    rows, customers = shop["rows"], shop["customers"]
    full = dataset(rows, shop, customers)
    rest_rows = rows.filter(~pl.col("customer_id").is_in(gone))
    rest_customers = None if customers is None else customers.filter(~pl.col("customer_id").is_in(gone))
    rest = dataset(rest_rows, shop, rest_customers)
    for model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = fit(model, full).forget(gone)
        assert_same_model(got, fit(model, rest))


@settings(max_examples=10, deadline=None)
@given(shop=shops(), data=st.data())
def test_forget_equals_a_fit_without_the_customers(shop, data):
    people = sorted(set(shop["rows"]["customer_id"].to_list()))
    gone = data.draw(st.lists(st.sampled_from(people), min_size=1, max_size=len(people) - 1, unique=True))
    if set(people) - set(gone):  # someone must be left to fit on
        forget_and_refit(shop, gone, count_models() + composite_models())


@settings(max_examples=10, deadline=None)
@given(shop=shops(catalogue=False), data=st.data())
def test_forget_without_a_catalogue_drops_the_items_only_they_had(shop, data):
    people = sorted(set(shop["rows"]["customer_id"].to_list()))
    gone = data.draw(st.lists(st.sampled_from(people), min_size=1, max_size=len(people) - 1, unique=True))
    if set(people) - set(gone):
        models = [m for m in count_models() if not isinstance(m, (Renewal, ContentBased)) and getattr(m, "by", None) is None]
        forget_and_refit(shop, gone, models)


def partial_and_union(shop: dict, cut: int, models: list[Recommender]) -> None:
    rows = shop["rows"].sort("t")
    old, new = rows[:cut], rows[cut:]
    full = dataset(rows, shop, shop["customers"])
    first = dataset(old, shop, shop["customers"])
    for model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = fit(model, first).partial_fit(dataset(new, shop))
        assert_same_model(got, fit(model, full))


@settings(max_examples=10, deadline=None)
@given(shop=shops(), data=st.data())
def test_partial_fit_equals_a_fit_on_the_union(shop, data):
    n = shop["rows"].height
    cut = data.draw(st.integers(1, n - 1))  # new customers and products arrive with the new rows
    partial_and_union(shop, cut, count_models() + composite_models())


@settings(max_examples=10, deadline=None)
@given(shop=shops(catalogue=False), data=st.data())
def test_partial_fit_brings_new_products_without_a_catalogue(shop, data):
    cut = data.draw(st.integers(1, shop["rows"].height - 1))
    models = [m for m in count_models() if not isinstance(m, (Renewal, ContentBased)) and getattr(m, "by", None) is None]
    partial_and_union(shop, cut, models)


def test_partial_fit_adds_new_products_from_the_new_catalogue():
    cat = pl.DataFrame({"item_id": ["a", "b", "c"], "category": ["x", "x", "y"], "price": [1.0, 2.0, 3.0]})
    rows = pl.DataFrame({"customer_id": ["u", "u", "v", "w"], "item_id": ["a", "b", "a", "c"], "t": [T0 + dt.timedelta(days=d) for d in range(4)]})
    first = Dataset(rows[:3], cat[:2], time_col="t")
    new = Dataset(rows[3:], cat[2:], time_col="t")
    for model in (Popularity(by="category"), ItemKNN("jaccard"), ContentBased()):
        assert_same_model(fit(model, first).partial_fit(new), fit(model, Dataset(rows, cat, time_col="t")))


def test_partial_fit_refuses_rows_built_differently(shop):
    model = Popularity().fit(shop)
    other = Dataset(pl.DataFrame({"customer_id": ["z"], "item_id": [shop.item_ids.to_list()[0]]}))
    with pytest.raises(DataError, match="column options"):
        model.partial_fit(other)
    raw = shop.interactions.select("customer_id", "item_id", "timestamp", "quantity").head(5)
    with pytest.raises(DataError, match="basket_col given to one of them only"):  # orders would become days
        model.partial_fit(Dataset(raw, shop.catalog, time_col="timestamp", quantity_col="quantity"))
    as_numbers = raw.with_columns(pl.col("customer_id").str.slice(1).cast(pl.Int64), pl.int_range(pl.len()).alias("order_id"))
    with pytest.raises(DataError, match="columns and types"):  # customer ids read as numbers
        model.partial_fit(Dataset(as_numbers, shop.catalog, time_col="timestamp", quantity_col="quantity", basket_col="order_id"))
    with pytest.raises(ConfigError, match="Dataset"):
        model.partial_fit(pl.DataFrame({"customer_id": ["z"]}))  # type: ignore[arg-type]


def test_new_rows_on_unknown_products_need_their_catalogue():
    cat = pl.DataFrame({"item_id": ["a", "b"], "price": [1.0, 2.0]})
    model = Popularity().fit(Dataset(pl.DataFrame({"customer_id": ["u"], "item_id": ["a"]}), cat))
    with pytest.raises(DataError, match="not in the fitted catalogue"):
        model.partial_fit(Dataset(pl.DataFrame({"customer_id": ["v"], "item_id": ["zzz"]})))


# -- the Dataset ------------------------------------------------------------------------------
def test_without_customers_is_a_fresh_build_with_baskets_and_customers():
    rows = pl.DataFrame(
        {"customer_id": ["a", "a", "b", "c", "c", "b"], "item_id": ["x", "y", "x", "z", "x", "y"], "order": [3, 3, 1, 7, 8, 2], "t": [T0 + dt.timedelta(days=d) for d in (5, 5, 1, 2, 9, 4)]}
    )
    people = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "sport": ["run", "ski", "run", "ski"]})
    full = Dataset(rows, customers=people, basket_col="order", time_col="t")
    for gone in (["b"], ["a", "d"], ["c", "nobody"]):
        want = Dataset(rows.filter(~pl.col("customer_id").is_in(gone)), customers=people.filter(~pl.col("customer_id").is_in(gone)), basket_col="order", time_col="t")
        assert_same_dataset(full.without_customers(gone), want)


def test_forget_of_a_single_id_asks_for_a_list(shop):
    model = Popularity().fit(shop)
    with pytest.raises(ConfigError, match="list"):
        model.forget("C000001")


# -- unknown ids, logging, atomicity ------------------------------------------------------------
def test_unknown_ids_are_ignored_and_counted_never_named(shop, caplog):
    model = Popularity().fit(shop)
    known = shop.customer_ids.to_list()[:2]
    with caplog.at_level(logging.INFO, logger="recokit"):
        model.forget([*known, "NOT-A-CUSTOMER-31337"])
    text = caplog.text
    assert "erased 2 customer(s)" in text and "1 id(s) were not in the model" in text
    assert all(str(c) not in text for c in known) and "31337" not in text
    assert not any(c in model.dataset_.customer_ids for c in known)
    with caplog.at_level(logging.INFO, logger="recokit"):
        model.forget(known)  # a retried erasure succeeds and changes nothing
    assert "erased 0 customer(s)" in caplog.text


def test_missing_error_raises_and_erases_nothing(shop):
    model = Popularity().fit(shop)
    before = model.dataset_
    with pytest.raises(DataError, match="1 of the customer ids"):
        model.forget([shop.customer_ids.to_list()[0], "NOT-A-CUSTOMER"], missing="error")
    assert model.dataset_ is before


@pytest.mark.parametrize("method", ["forget", "partial_fit"])
def test_a_failed_update_leaves_the_model_as_it_was(shop, monkeypatch, method):
    model = Hybrid({"knn": ItemKNN("jaccard"), "pop": Popularity()}).fit(shop)
    state = dict(vars(model))

    def boom(self, previous, change):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Popularity, "_update", boom)  # the second component fails
    arg = [shop.customer_ids.to_list()[0]] if method == "forget" else shop.filter(pl.col("customer_idx") < 3)
    with pytest.raises(RuntimeError):
        getattr(model, method)(arg)
    assert vars(model) == state and model.dataset_ is state["dataset_"]


@pytest.mark.parametrize("model", [Popularity(), ItemKNN("jaccard", 10), ItemKNN("lift", 10, shrinkage=2.0), AssociationRules(min_support=2), ContentBased()], ids=repr)
def test_count_tables_are_updated_not_counted_again(shop, monkeypatch, model):
    # the shop's rows as two nights of raw rows
    raw = shop.interactions.select("customer_id", "item_id", "timestamp", "quantity", pl.col("basket_idx").alias("order_id"))

    def build(rows: pl.DataFrame) -> Dataset:
        return Dataset(rows, shop.catalog, time_col="timestamp", basket_col="order_id", quantity_col="quantity")

    cut = int(raw.height * 0.95)
    people = shop.customer_ids.to_list()
    fitted = model.clone().fit(build(raw[:cut]))

    def no_fit(self, dataset):
        raise AssertionError("the update fitted again")

    monkeypatch.setattr(type(model), "_fit", no_fit)
    fitted.partial_fit(build(raw[cut:])).forget(people[:7])
    monkeypatch.undo()
    want = model.clone().fit(build(raw.filter(~pl.col("customer_id").is_in(people[:7]))))
    assert_same_model(fitted, want)


def test_forget_on_a_filtered_dataset_keeps_the_products_without_rows():
    ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 3], "item_id": ["a", "b", "b", "c"]}))
    train = ds.filter(pl.col("customer_id") != 3)  # "c" has no row in train, and stays in its universe
    rest = train.without_customers([1])  # "a" was only customer 1's: it leaves; "c" is nobody's: it stays
    assert rest.item_ids.to_list() == ["b", "c"] and rest.customer_ids.to_list() == [2, 3]


def test_a_component_updated_on_its_own_is_refitted_with_the_composite(shop):
    model = Hybrid({"knn": ItemKNN("jaccard", 10), "pop": Popularity()}).fit(shop)
    people = shop.customer_ids.to_list()
    model.components_[1].forget(people[:1])  # its Dataset is no longer the hybrid's
    model.forget(people[1:3])
    want = Hybrid({"knn": ItemKNN("jaccard", 10), "pop": Popularity()}).fit(shop.without_customers(people[1:3]))
    assert_same_state(model, want)
