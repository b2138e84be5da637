"""recokit.testing itself: the planted data is what it claims, and the kit's checks can fail.

Each check is run on a model broken on purpose (and must raise), next to the same check passing
on the unbroken model: a check that cannot fail would prove nothing about a shop's model.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recokit import (
    ConfigError,
    DependencyError,
    Hybrid,
    ItemKNN,
    Popularity,
    RecokitError,
    ScoreBlock,
)
from recokit.testing import DependencyError as KitDependencyError
from recokit.testing import (
    RecommenderContract,
    clone,
    fingerprint,
    planted,
    same_params,
)
from recokit.testing.contract import PlantedFitError
from recokit.testing.state import lazy_fill


# -- the planted dataset ---------------------------------------------------------------------
@pytest.mark.parametrize("n_groups, per_group, n_items, seed", [(2, 16, 8, 0), (3, 5, 4, 7), (4, 1, 3, 1)])
def test_planted_customers_buy_their_group_but_the_held_out_item(n_groups, per_group, n_items, seed):
    p = planted(n_groups, per_group, n_items, seed=seed)
    ds = p.dataset
    assert ds.n_customers == n_groups * per_group and ds.n_items == n_groups * n_items
    for c in ds.customer_ids.to_list():
        g = p.group_of_customer[c]
        group_items = {i for i, gi in p.group_of_item.items() if gi == g}
        bought = set(ds.history(c)["item_id"].to_list())
        assert p.held_out[c] in group_items
        assert bought == group_items - {p.held_out[c]}
    # the catalogue says the same groups
    assert dict(ds.catalog.select("item_id", "group").iter_rows()) == p.group_of_item
    # groups are balanced, so popularity alone cannot find the held-out item
    assert len(set(ds.item_counts().tolist())) <= 2
    assert p.chance == pytest.approx(1 / (n_groups * n_items - (n_items - 1)))


def test_planted_is_deterministic_and_the_seed_moves_only_the_days():
    a, b, c = planted(seed=3), planted(seed=3), planted(seed=4)
    assert a.dataset.interactions.equals(b.dataset.interactions)
    pairs = lambda p: p.dataset.interactions.select("customer_id", "item_id").sort(pl.all())  # noqa: E731
    assert pairs(a).equals(pairs(c))
    assert not a.dataset.interactions["timestamp"].equals(c.dataset.interactions["timestamp"])


@pytest.mark.parametrize("kwargs", [{"n_groups": 1}, {"items_per_group": 2}, {"customers_per_group": 0}, {"n_groups": 2.5}])
def test_planted_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        planted(**kwargs)


# -- the dependency error ----------------------------------------------------------------------
def test_missing_hypothesis_is_a_clear_recokit_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # what an uninstalled package looks like
    monkeypatch.delitem(sys.modules, "recokit.testing.contract")
    with pytest.raises(DependencyError, match=r"needs pytest and hypothesis: pip install 'recokit\[dev\]'") as info:
        importlib.import_module("recokit.testing.contract")
    assert isinstance(info.value, RecokitError) and KitDependencyError is DependencyError  # one public class
    assert "Hint:" in str(info.value)


# -- fingerprint, clone ----------------------------------------------------------------------
def test_fingerprint_sees_in_place_changes_deep_inside():
    ds = planted().dataset
    model = Hybrid({"knn": ItemKNN(), "best": Popularity()}).fit(ds)
    before = fingerprint(model)
    assert fingerprint(model) == before
    knn = model.components_[0]
    old = knn.similarity_.data[0]
    knn.similarity_.data[0] = old + 1.0  # a sparse matrix inside a nested model
    after = fingerprint(model)
    assert [k for k in before if after[k] != before[k]] == ["components_[0].similarity_.data"]
    knn.similarity_.data[0] = old
    assert fingerprint(model) == before
    model.weights_ = model.weights_.copy()  # same content, new object: no change
    assert fingerprint(model) == before


def test_fingerprint_sees_frames_dicts_and_aliasing():
    obj = type("Box", (), {})()
    obj.frame_ = pl.DataFrame({"a": [1, 2]})
    obj.table_ = {"x": np.zeros(2), "y": sp.csr_array(np.eye(2))}
    before = fingerprint(obj)
    obj.frame_ = pl.DataFrame({"a": [1, 3]})
    assert fingerprint(obj)["frame_"] != before["frame_"]
    obj.frame_ = pl.DataFrame({"a": [1, 2]})
    obj.table_["z"] = obj.table_["x"]  # a new entry, aliasing an old one
    after = fingerprint(obj)
    assert after["table_['z']"] == "<same as table_['x']>" and after["table_.<keys>"] != before["table_.<keys>"]


def test_lazy_fill_allows_only_a_none_attribute_getting_a_value():
    before = {"cache_": "NoneType:None", "n_": "int:3"}
    assert lazy_fill("cache_", before) and lazy_fill("cache_[0]", before) and lazy_fill("cache_.data", before)
    assert not lazy_fill("n_", before) and not lazy_fill("new_", before) and not lazy_fill("cache_x", before)


def test_clone_copies_nested_models_and_keeps_the_config():
    h = Hybrid([ItemKNN(k_neighbours=5), Popularity(by="category")], method="rrf")
    c = clone(h)
    assert same_params(c.get_params(), h.get_params())
    assert all(a is not b for a, b in zip(c.models, h.models, strict=True))


# -- the kit's checks fail on broken models ----------------------------------------------------------
class _Kit(RecommenderContract):
    """The kit on the small planted shop (fast); subclasses break the model."""

    def make_dataset(self):
        return planted().dataset

    def make_model(self):
        return Popularity()


class _Counting(Popularity):
    def _score(self, ctx):
        self.calls_ = getattr(self, "calls_", 0) + 1  # a request writes to the model
        return super()._score(ctx)


class _Stranger(Popularity):
    def _score(self, batch):
        s = super()._score(batch).to_dense(copy=True)
        unknown = np.array([c is not None for c in batch.customer_ids]) & (batch.found_idx < 0)
        s[unknown] += 1e-3 * np.arange(s.shape[1])  # an unknown customer is not anonymous
        return ScoreBlock.dense(s)


class _Overwrite(Popularity):
    def _fit(self, dataset):
        super()._fit(dataset)
        self.half_life_days = 99.0  # fit writes over a constructor parameter


class _SharedArray(Popularity):
    def __init__(self, seen: np.ndarray | None = None) -> None:
        super().__init__()
        self.seen = np.zeros(1) if seen is None else seen

    def _fit(self, dataset):
        super()._fit(dataset)
        self.seen += 1  # fit mutates a parameter object (that a clone shares)


class _KeepsTheirCounts(Popularity):
    def _update(self, previous, change):
        super()._update(previous, change)
        if change.kind == "forget":  # forget drops the rows but keeps the counts
            self.popularity_ = previous.popularity_[change.item_map >= 0]


def _kit(model_cls, **attrs):
    return type("_Broken", (_Kit,), {"make_model": lambda self: model_cls(), **attrs})()


@pytest.mark.parametrize(
    "model_cls, check",
    [
        (_Counting, "test_requests_never_mutate_the_model"),
        (_Stranger, "test_unknown_customer_is_the_anonymous_answer"),
        (_Stranger, "test_unknown_customers_in_a_batch_get_the_anonymous_answer"),
        (_Overwrite, "test_fit_returns_self_and_leaves_params_unchanged"),
        (_SharedArray, "test_fit_returns_self_and_leaves_params_unchanged"),
        (_SharedArray, "test_clone_refits_to_the_same_answers"),
        (_KeepsTheirCounts, "test_forget_erases_the_customer_as_a_fit_without_them_would"),
    ],
)
def test_a_broken_model_fails_the_check(model_cls, check):
    getattr(_kit(Popularity), check)()  # the unbroken model passes
    with pytest.raises(AssertionError):
        getattr(_kit(model_cls), check)()


def test_a_model_that_does_not_learn_fails_the_floor():
    _kit(ItemKNN, learns_from="history", expected_hit_rate=0.9).test_learns_the_planted_groups()
    with pytest.raises(AssertionError, match="ranks the held-out item first for"):
        _kit(Popularity, learns_from="history", expected_hit_rate=0.5).test_learns_the_planted_groups()
    with pytest.raises(AssertionError, match="not above chance"):
        _kit(Popularity, learns_from="context", expected_hit_rate=0.1).test_learns_the_planted_groups()
    with pytest.raises(AssertionError, match="not expected_hit_rate"):
        _kit(ItemKNN, learns_from="history").test_learns_the_planted_groups()


def test_failing_fit_runs_the_real_fit_then_raises_and_is_undone():
    kit = _kit(ItemKNN)
    model = ItemKNN()
    written = []
    real = ItemKNN._fit

    def spy(self, dataset):
        real(self, dataset)
        written.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ItemKNN, "_fit", spy)
        with kit.failing_fit(model), pytest.raises(PlantedFitError):
            model.fit(kit.dataset)
    assert len(written) == 1 and hasattr(written[0], "similarity_")  # the real _fit ran and wrote its state
    assert not model.is_fitted and not hasattr(model, "similarity_")  # ... which the failure discarded
    assert ItemKNN().fit(kit.dataset).is_fitted  # and the class is restored afterwards
