"""Hybrid: contract, and each composition rule against an independent plain-Python reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recokit import (
    AssociationRules,
    ConfigError,
    ContentBased,
    Dataset,
    Hybrid,
    ItemKNN,
    Popularity,
    Query,
    Recommender,
    Renewal,
    ScoreBlock,
)
from recokit.hybrid import _ranks
from recokit.testing import RecommenderContract


class TestBlendContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_model(self):
        return Hybrid({"rules": AssociationRules(), "content": ContentBased(), "best": Popularity()}, weights={"best": 0.3})


class TestRRFContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_model(self):
        return Hybrid([AssociationRules(), Popularity(half_life_days=60)], method="rrf")


class TestHomeBlendContract(RecommenderContract):
    """Components whose batch scores come back sparse (ItemKNN) or time-dependent (Renewal)."""

    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_model(self):
        return Hybrid({"renewal": Renewal(), "because": ItemKNN(half_life_days=180), "trend": Popularity(half_life_days=30)})


class TestCascadeContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_model(self):
        return Hybrid({"rules": AssociationRules(), "best": Popularity()}, method="cascade")


class Fixed(Recommender):
    """A test double: the same given score vector for every request (NaN = no opinion)."""

    def __init__(self, scores: np.ndarray, label: str = "fixed") -> None:
        self.scores = scores
        self.label = label

    def _fit(self, dataset):
        pass

    def _score(self, batch):
        return ScoreBlock.dense(np.tile(np.asarray(self.scores, dtype=np.float64), (batch.n, 1)))

    def _explain(self, batch, rows, items, block):
        return [self.label if np.isfinite(self.scores[i]) else None for i in items]


def tiny(n_items: int) -> Dataset:
    return Dataset(pl.DataFrame({"customer_id": [0] * n_items, "item_id": list(range(n_items))}))


vectors = st.integers(2, 25).flatmap(
    lambda n: st.tuples(
        *[hnp.arrays(np.float64, n, elements=st.one_of(st.just(np.nan), st.floats(-3, 3), st.sampled_from([0.0, 1.0])))] * 3
    )
)


def reference_rank(v: np.ndarray) -> list[float]:
    """Competition rank among finite values, by counting."""
    return [float(1 + sum(1 for y in v if np.isfinite(y) and y > x)) if np.isfinite(x) else np.nan for x in v]


@given(vectors)
def test_ranks_match_counting(vs):
    for v in vs:
        np.testing.assert_array_equal(_ranks(v[None, :])[0], reference_rank(v))


@given(vectors, st.lists(st.floats(0, 3), min_size=3, max_size=3))
def test_rrf_equals_the_formula(vs, weights):
    ds = tiny(len(vs[0]))
    h = Hybrid([Fixed(v) for v in vs], weights=weights, method="rrf", rrf_k=60).fit(ds)
    got = h.score(Query())
    for i in range(len(vs[0])):
        terms = [w / (60 + reference_rank(v)[i]) for v, w in zip(vs, weights, strict=True) if np.isfinite(v[i])]
        if terms:
            assert got[i] == pytest.approx(sum(terms), rel=1e-12, abs=1e-15)
        else:
            assert np.isnan(got[i])


@given(vectors)
def test_cascade_puts_every_item_of_an_earlier_model_first(vs):
    ds = tiny(len(vs[0]))
    h = Hybrid([Fixed(v, f"m{j}") for j, v in enumerate(vs)], method="cascade").fit(ds)
    recs = h.recommend(Query(k=len(vs[0])), backfill=False)
    tier = [next((j for j, v in enumerate(vs) if np.isfinite(v[i])), None) for i in recs.item_ids]
    assert tier == sorted(tier)  # tiers never interleave
    assert len(recs) == sum(any(np.isfinite(v[i]) for v in vs) for i in range(len(vs[0])))
    # within the first tier, the first model's own order
    first = [i for i, t in zip(recs.item_ids, tier, strict=True) if t == 0]
    assert [vs[0][i] for i in first] == sorted((vs[0][i] for i in first), reverse=True)
    assert all(r.reason == f"m{t}" for r, t in zip(recs, tier, strict=True))


@given(vectors)
def test_single_model_blend_keeps_the_model_order(vs):
    v = vs[0]
    ds = tiny(len(v))
    for normalize in ("rank", "minmax", "none"):
        h = Hybrid([Fixed(v)], normalize=normalize).fit(ds)
        got = h.score(Query())
        assert np.array_equal(np.isnan(got), np.isnan(v))
        fin = np.isfinite(v)
        # a monotone transform: every strict pair order is kept (minmax may tie nothing new)
        a, b = np.meshgrid(v[fin], v[fin])
        ga, gb = np.meshgrid(got[fin], got[fin])
        assert not np.any((a > b) & (ga < gb))


@given(vectors, st.floats(0.1, 5))
def test_blend_is_the_weighted_sum_of_minmax_scores(vs, w0):
    ds = tiny(len(vs[0]))
    h = Hybrid([Fixed(v) for v in vs], weights=[w0, 1.0, 2.0], normalize="minmax").fit(ds)
    got = h.score(Query())

    def minmax(v):
        f = v[np.isfinite(v)]
        if len(f) == 0:
            return v
        lo, hi = f.min(), f.max()
        return np.where(np.isfinite(v), (v - lo) / (hi - lo) if hi > lo else 1.0, np.nan)

    parts = [w * minmax(v) for v, w in zip(vs, [w0, 1.0, 2.0], strict=True)]
    ref = np.where(np.isfinite(np.array(parts)).any(axis=0), np.nansum(np.array(parts), axis=0), np.nan)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_reason_comes_from_the_strongest_contributor():
    ds = tiny(3)
    strong = Fixed(np.array([3.0, 0.0, np.nan]), "strong")
    weak = Fixed(np.array([0.0, 3.0, 1.0]), "weak")
    h = Hybrid({"strong": strong, "weak": weak}, weights={"strong": 2.0, "weak": 1.0}, normalize="minmax").fit(ds)
    recs = {r.item_id: r.reason for r in h.recommend(Query(k=3))}
    assert recs == {0: "strong", 1: "weak", 2: "weak"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"models": []}, "at least one Recommender"),
        ({"models": [object()]}, "must be a recokit Recommender"),
        ({"models": {"a": Popularity()}, "weights": {"b": 1.0}}, r"unknown models \['b'\]"),
        ({"models": [Popularity()], "weights": [1.0, 2.0]}, "2 weights for 1 models"),
        ({"models": [Popularity()], "weights": [-1.0]}, "finite numbers >= 0"),
        ({"models": [Popularity()], "method": "vote"}, "'method' parameter of Hybrid"),
        ({"models": [Popularity()], "normalize": "z"}, "'normalize' parameter"),
        ({"models": [Popularity()], "rrf_k": 0}, "'rrf_k' parameter"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Hybrid(**kwargs)


def test_same_model_twice_is_refused():
    p = Popularity()
    with pytest.raises(ConfigError, match="distinct"):
        Hybrid([p, p])
