"""recokit.evaluation.tune: the search reads the training data only, and its table is what
evaluating each configuration on the validation split gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recokit import ConfigError, Hybrid, ItemKNN, Popularity
from recokit.datasets import sports_shop
from recokit.evaluation import (
    evaluate,
    leave_last_basket_out,
    random_holdout,
    temporal_split,
    tune,
    validation_split,
)


class Untouchable:
    """Stands in for the test split: any use of it fails the test."""

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def __getattr__(self, name: str):
        raise AssertionError(f"tune read split.{object.__getattribute__(self, '_what')}.{name}")

    def __len__(self):
        raise AssertionError(f"tune read len(split.{object.__getattribute__(self, '_what')})")

    def __iter__(self):
        raise AssertionError(f"tune iterated split.{object.__getattribute__(self, '_what')}")


@pytest.fixture(scope="module")
def shop():
    return sports_shop(300, seed=1)


@pytest.mark.parametrize("protocol", ["temporal", "last_basket", "random"])
def test_tune_never_reads_the_test_split(shop, protocol):
    split = {"temporal": temporal_split, "last_basket": leave_last_basket_out, "random": random_holdout}[protocol](shop)
    blind = dataclasses.replace(split, test=Untouchable("test"), cases=Untouchable("cases"), dropped=Untouchable("dropped"))
    grid = {"window_days": [None, 30.0]}
    seen = tune(Popularity(), blind, grid=grid)
    # and the answer is the one the full split gives: the test part changed nothing
    assert seen.table.equals(tune(Popularity(), split, grid=grid).table.with_columns(seen.table["fit_seconds"]))


def test_the_table_is_each_configuration_evaluated_on_the_validation_split(shop):
    split = temporal_split(shop)
    grid = {"shrinkage": [0.0, 25.0], "k_neighbours": [10, 100]}
    result = tune(ItemKNN(), split, grid=grid, metric="recall@10")
    val = validation_split(split)
    assert val.train.n_interactions < split.train.n_interactions  # carved from train, smaller
    for row in result.table.iter_rows(named=True):
        model = ItemKNN(shrinkage=row["shrinkage"], k_neighbours=row["k_neighbours"])
        direct = evaluate({"m": model}, val, k=[10], n_boot=0, latency_queries=0, progress=False)
        assert row["recall@10"] == pytest.approx(direct["recall"][0], abs=1e-12)
    assert result.table["recall@10"].is_sorted(descending=True)
    assert result.table["rank"].to_list() == list(range(1, result.table.height + 1))
    assert result.score == result.table["recall@10"].max()
    assert {k: result.best.get_params()[k] for k in grid} == result.best_params
    assert not result.best.is_fitted


def test_the_models_own_settings_are_always_tried_and_the_budget_is_kept(shop):
    split = temporal_split(shop)
    grid = {"shrinkage": [1.0, 2.0, 3.0, 4.0], "k_neighbours": [5, 6, 7]}
    result = tune(ItemKNN(shrinkage=7.5), split, grid=grid, budget=4)
    assert result.table.height == 4
    assert 7.5 in result.table["shrinkage"].to_list()
    again = tune(ItemKNN(shrinkage=7.5), split, grid=grid, budget=4)
    assert again.table.drop("fit_seconds").equals(result.table.drop("fit_seconds"))  # seeded


def test_a_hybrid_searches_its_weights_and_its_components(shop):
    split = temporal_split(shop)
    hybrid = Hybrid({"knn": ItemKNN(), "pop": Popularity()})
    result = tune(hybrid, split, budget=5)
    assert result.table.height == 5
    weights = result.best.get_params()["weights"]
    assert set(weights) == {"knn", "pop"} and any(w > 0 for w in weights.values())
    nested = tune(hybrid, split, grid={"knn__shrinkage": [0.0, 50.0]})
    assert nested.best.get_params()["models"]["knn"].shrinkage == nested.best_params["knn__shrinkage"]
    assert hybrid.get_params()["models"]["knn"].shrinkage == ItemKNN().shrinkage  # the given model is untouched


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": {"no_such": [1]}}, "no_such"),
        ({"grid": {"shrinkage": []}}, "non-empty list"),
        ({"grid": {"ghost__shrinkage": [1.0]}}, "ghost"),
        ({"grid": {"shrinkage": [-1.0]}}, "shrinkage"),
        ({"metric": "ndcg"}, "ndcg@10"),
        ({"metric": "auc@10"}, "unknown metric"),
        ({"budget": 0}, "budget"),
    ],
)
def test_bad_settings_fail_before_anything_is_fitted(shop, kwargs, message):
    split = temporal_split(shop)
    with pytest.raises(ConfigError, match=message):
        tune(ItemKNN(), split, **kwargs)


def test_configurations_the_data_cannot_take_are_left_out_and_counted():
    import polars as pl

    from recokit import Dataset, DataWarning

    rng = np.random.default_rng(0)
    rows = pl.DataFrame({"customer_id": rng.integers(0, 60, 600), "item_id": rng.integers(0, 30, 600)}).unique()
    split = random_holdout(Dataset(rows), seed=0)  # no timestamps: a time window cannot be fitted
    with pytest.warns(DataWarning, match="1 of 2 configurations"):
        result = tune(Popularity(), split, grid={"window_days": [None, 30.0]})
    bad = result.table.filter(pl.col("window_days").is_not_null())
    assert bad["ndcg@10"].is_null().all() and "timestamps" in bad["note"][0]
    assert result.best_params == {"window_days": None}
    with pytest.raises(ConfigError, match="no configuration"):
        tune(Popularity(window_days=30.0), split, grid={"window_days": [30.0, 90.0]})


def test_a_budget_of_one_tries_the_models_own_settings_only(shop):
    result = tune(ItemKNN(), temporal_split(shop), grid={"shrinkage": [1.0, 2.0, 3.0]}, budget=1)
    assert result.table["shrinkage"].to_list() == [ItemKNN().shrinkage]
