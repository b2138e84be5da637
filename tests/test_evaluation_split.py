"""Splits: partition of the input, no leak from the future, explicit repeat policy, honest counts."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import ConfigError, DataError, Dataset
from recokit.evaluation import (
    basket_completion_split,
    leave_last_basket_out,
    random_holdout,
    temporal_split,
)

T0 = dt.datetime(2024, 3, 1)


@st.composite
def datasets(draw, min_rows=2):
    n = draw(st.integers(min_rows, 40))
    cust = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    item = draw(st.lists(st.sampled_from("abcdefgh"), min_size=n, max_size=n))
    hours = draw(st.lists(st.integers(0, 24 * 20), min_size=n, max_size=n))
    frame = pl.DataFrame({"customer_id": cust, "item_id": item, "t": [T0 + dt.timedelta(hours=h) for h in hours]})
    catalog = pl.DataFrame({"item_id": list("abcdefghij")})  # i, j: never bought
    return Dataset(frame, catalog, time_col="t")


def _rows(frame: pl.DataFrame) -> Counter:
    return Counter(frame.select("customer_id", "item_id", "timestamp", "weight").rows())


def _check_partition(ds, split):
    assert split.train.item_ids == ds.item_ids and split.test.item_ids == ds.item_ids
    assert split.train.customer_ids == ds.customer_ids
    assert _rows(split.train.interactions) + _rows(split.test.interactions) + _rows(split.dropped) == _rows(ds.interactions)
    assert split.train.n_interactions + split.test.n_interactions + split.dropped.height == ds.n_interactions


def _pairs(frame: pl.DataFrame) -> set:
    return set(frame.select("customer_id", "item_id").rows())


def _check_cases_and_report(split):
    """The cases and every count of the report, recomputed with plain Python sets."""
    train_pairs = _pairs(split.train.interactions)
    test_pairs = _pairs(split.test.interactions)
    expected = {}
    for c, i in test_pairs:
        expected.setdefault(c, set()).add(i)
    got = {r["customer_id"]: set(r["relevant"]) for r in split.cases.iter_rows(named=True)}
    assert got == expected
    assert all(len(r) > 0 for r in split.cases["relevant"].to_list())
    assert all(len(r) == 0 for r in split.cases["items"].to_list())
    train_customers = {c for c, _ in train_pairs}
    train_items = {i for _, i in train_pairs}
    rep = split.report
    assert rep.n_cases == len(expected)
    assert rep.n_cold_customers == sum(c not in train_customers for c in expected)
    assert rep.n_relevant_cold == sum(i not in train_items for _, i in test_pairs)
    assert rep.n_cold_items == len({i for _, i in test_pairs} - train_items)
    all_test_customers = {c for c, _ in test_pairs} | set(split.dropped["customer_id"].to_list())
    assert rep.n_test_customers_empty == len(all_test_customers - set(expected))
    if split.exclude_purchased:
        assert not (test_pairs & train_pairs)  # "new items": nothing the customer already had
        assert _pairs(split.dropped) <= train_pairs


@given(datasets(), st.floats(0.05, 0.95), st.sampled_from(["drop", "keep"]))
def test_temporal_split_is_a_leak_free_partition(ds, fraction, repeat):
    times = ds.interactions["timestamp"]
    if times.min() == times.max():
        with pytest.raises(DataError, match="leaves"):
            temporal_split(ds, test_fraction=fraction, repeat=repeat)
        return
    try:
        split = temporal_split(ds, test_fraction=fraction, repeat=repeat)
    except DataError as exc:  # only when the quantile lands on the first timestamp
        assert "leaves" in str(exc)
        return
    cutoff = split.report.cutoff
    assert split.train.interactions["timestamp"].max() < cutoff
    if split.test.n_interactions:  # may be empty when the repeat policy dropped every test row
        assert split.test.interactions["timestamp"].min() >= cutoff
    assert split.test.n_interactions + split.dropped.height > 0
    if split.dropped.height:
        assert split.dropped["timestamp"].min() >= cutoff
    _check_partition(ds, split)
    _check_cases_and_report(split)
    if repeat == "keep":
        assert split.dropped.height == 0


@given(datasets(), st.sampled_from(["drop", "keep"]))
def test_leave_last_basket_out(ds, repeat):
    split = leave_last_basket_out(ds, repeat=repeat)
    _check_partition(ds, split)
    _check_cases_and_report(split)
    baskets = ds.interactions.group_by("customer_id").agg(pl.col("basket_idx").n_unique().alias("n"), pl.col("basket_idx").max().alias("last"))
    for c, n, last in baskets.rows():
        train_c = split.train.interactions.filter(pl.col("customer_id") == c)
        held = pl.concat([split.test.interactions.select("customer_id", "timestamp"), split.dropped.select("customer_id", "timestamp")])
        held_c = held.filter(pl.col("customer_id") == c)
        if n < 2:
            assert held_c.height == 0
            continue
        # exactly the customer's last basket is held out, and nothing of it is older than training
        last_rows = ds.interactions.filter((pl.col("customer_id") == c) & (pl.col("basket_idx") == last))
        assert held_c.height == last_rows.height
        assert train_c["timestamp"].max() <= held_c["timestamp"].min()
    assert split.report.n_not_evaluated == int((baskets["n"] < 2).sum())


@given(datasets(), st.floats(0.1, 0.9), st.integers(0, 3))
def test_random_holdout_partitions_pairs_and_is_seeded(ds, fraction, seed):
    split = random_holdout(ds, test_fraction=fraction, seed=seed)
    _check_partition(ds, split)
    _check_cases_and_report(split)
    assert not (_pairs(split.train.interactions) & _pairs(split.test.interactions))
    again = random_holdout(ds, test_fraction=fraction, seed=seed)
    assert again.cases.equals(split.cases)
    per = ds.interactions.group_by("customer_id").agg(pl.col("item_id").n_unique().alias("n"))
    for c, n in per.rows():
        n_test = len({i for cc, i in _pairs(split.test.interactions) if cc == c})
        expected = 0 if n < 2 else min(n - 1, max(1, round(fraction * n)))
        assert n_test == expected


@given(datasets(min_rows=4), st.integers(0, 3), st.booleans())
def test_basket_completion_hides_one_item_of_whole_test_baskets(ds, seed, temporal):
    if ds.n_baskets < 2:
        with pytest.raises(DataError, match="at least 2"):
            basket_completion_split(ds, seed=seed, temporal=temporal)
        return
    try:
        split = basket_completion_split(ds, test_fraction=0.5, seed=seed, temporal=temporal)
    except DataError as exc:
        # only the time cut can leave nothing to train on (every earlier basket dated at or after
        # the first test basket); a random choice of test baskets always leaves one
        assert temporal and "no interaction is left to train on" in str(exc)
        assert basket_completion_split(ds, test_fraction=0.5, seed=seed, temporal=False).train.n_baskets >= 1
        return
    assert split.train.n_baskets >= 1
    _check_partition(ds, split)
    # every case is one basket of the test part: context + hidden = the basket's distinct items
    test = split.test.interactions
    baskets = {frozenset(g["item_id"].to_list()) for _, g in test.group_by("basket_idx")}
    for row in split.cases.iter_rows(named=True):
        (hidden,) = row["relevant"]
        assert hidden not in row["items"] and len(row["items"]) >= 1
        assert frozenset([*row["items"], hidden]) in baskets
        assert row["customer_id"] is None
    assert split.report.n_cases + split.report.n_not_evaluated == test["basket_idx"].n_unique()
    if temporal:
        cutoff = split.report.cutoff
        assert split.train.interactions["timestamp"].max() < cutoff <= split.test.interactions["timestamp"].min()
        if split.dropped.height:
            assert split.dropped["timestamp"].min() >= cutoff
    else:
        assert split.dropped.height == 0
    again = basket_completion_split(ds, test_fraction=0.5, seed=seed, temporal=temporal)
    assert again.cases.equals(split.cases)


def test_repeat_policy_on_a_known_example():
    ds = Dataset(
        pl.DataFrame(
            {
                "customer_id": ["ann", "ann", "ann", "ann", "bob", "cy"],
                "item_id": ["milk", "bread", "milk", "jam", "milk", "tea"],
                "t": [T0, T0, T0 + dt.timedelta(days=9), T0 + dt.timedelta(days=9), T0, T0 + dt.timedelta(days=9)],
            }
        ),
        pl.DataFrame({"item_id": ["bread", "jam", "milk", "tea"]}),
        time_col="t",
    )
    cut = T0 + dt.timedelta(days=5)
    new = temporal_split(ds, cutoff=cut, repeat="drop")
    assert dict(new.cases.select("customer_id", "relevant").rows()) == {"ann": ["jam"], "cy": ["tea"]}
    assert new.dropped.select("customer_id", "item_id").rows() == [("ann", "milk")]
    assert new.exclude_purchased
    assert (new.report.n_cold_customers, new.report.n_cold_items) == (1, 2)  # cy; jam and tea unseen
    rep = temporal_split(ds, cutoff=cut, repeat="keep")
    assert sorted(rep.cases.filter(pl.col("customer_id") == "ann")["relevant"][0]) == ["jam", "milk"]
    assert not rep.exclude_purchased and rep.dropped.height == 0
    assert "1 dropped by the repeat policy" in str(new.report)


def test_split_parameters_are_checked():
    ds = Dataset(pl.DataFrame({"customer_id": [1, 1], "item_id": ["a", "b"]}))
    with pytest.raises(DataError, match="needs timestamps"):
        temporal_split(ds)
    with pytest.raises(ConfigError, match="'repeat' parameter must be 'drop' or 'keep'. Got 'new'"):
        random_holdout(ds, repeat="new")
    with pytest.raises(ConfigError, match="strictly between 0 and 1. Got 1.5"):
        random_holdout(ds, test_fraction=1.5)
    with pytest.raises(ConfigError, match="min_baskets"):
        leave_last_basket_out(ds, min_baskets=1)
    with pytest.raises(ConfigError, match="expects a recokit.Dataset"):
        random_holdout(ds.interactions)
    assert np.isfinite(random_holdout(ds).report.n_cases)


def test_temporal_basket_completion_with_nothing_earlier_is_a_clear_error():
    same_time = Dataset(
        pl.DataFrame({"customer_id": [1, 1, 2, 2], "item_id": ["a", "b", "a", "c"], "order": [1, 1, 2, 2], "ts": ["2024-01-01"] * 4}),
        basket_col="order",
        time_col="ts",
    )
    with pytest.raises(DataError, match="no interaction is left to train on before the cut-off 2024-01-01"):
        basket_completion_split(same_time, temporal=True)
    with pytest.raises(DataError, match="leaves every row for testing"):
        temporal_split(same_time)


@pytest.mark.parametrize(
    ("split_fn", "kwargs", "match"),
    [
        (random_holdout, {"seed": -1}, "'seed' parameter must be an int >= 0. Got -1"),  # was numpy's ValueError
        (random_holdout, {"seed": "abc"}, "'seed' parameter must be an int >= 0"),
        (basket_completion_split, {"seed": "abc"}, "'seed' parameter must be an int >= 0"),  # was a TypeError
        (basket_completion_split, {"seed": 1.5}, "'seed' parameter must be an int >= 0"),
        (basket_completion_split, {"min_size": 1}, "'min_size' parameter must be an int >= 2"),
        (basket_completion_split, {"temporal": "no"}, "'temporal' parameter of basket_completion_split must be True or False"),
        (basket_completion_split, {"with_customer": 1}, "'with_customer' parameter of basket_completion_split"),
        (basket_completion_split, {"test_fraction": 0}, "strictly between 0 and 1. Got 0"),
        (temporal_split, {"repeat": np.array(["drop"])}, "'repeat' parameter must be 'drop' or 'keep'"),  # was numpy's
        (temporal_split, {"cutoff": "2024-01-01"}, "'cutoff' parameter must be a datetime or date. Got str"),
        (leave_last_basket_out, {"repeat": None}, "'repeat' parameter must be 'drop' or 'keep'. Got None"),
    ],
)
def test_bad_split_parameters_are_config_errors(split_fn, kwargs, match):
    ds = Dataset(
        pl.DataFrame({"customer_id": [1, 1, 2, 2], "item_id": ["a", "b", "a", "c"], "order": [1, 1, 2, 2], "t": [T0, T0, T0, T0]}),
        basket_col="order",
        time_col="t",
    )
    with pytest.raises(ConfigError, match=match):
        split_fn(ds, **kwargs)
