"""Hybrid: contract, and each composition rule against an independent plain-Python reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recokit import (
    AssociationRules,
    ConfigError,
    ContentBased,
    Dataset,
    DataWarning,
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
    planted_fit_warns = DataWarning  # its Renewal learns nothing there (no repeat purchases) and says so

    def make_model(self):
        # depth 16 < the planted catalogue: every contract check also runs on cut opinions
        return Hybrid({"renewal": Renewal(), "because": ItemKNN(half_life_days=180), "trend": Popularity(half_life_days=30)}, depth=16)


class TestCascadeContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_model(self):
        return Hybrid({"rules": AssociationRules(), "best": Popularity()}, method="cascade")


class Fixed(Recommender):
    """A test double: the same given score vector for every request (NaN = no opinion)."""

    def __init__(self, scores: np.ndarray, label: str = "fixed", specificity: int = 10, signal_label: str | None = None) -> None:
        self.scores = scores
        self.label = label
        self.specificity = specificity  # shadows the class constant, for the tie-break tests
        self.signal_label = signal_label

    def signal(self):
        return self.signal_label

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
        # a weight of 0 leaves the model out (its opinions bring no item in)
        terms = [w / (60 + reference_rank(v)[i]) for v, w in zip(vs, weights, strict=True) if np.isfinite(v[i]) and w > 0]
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
    for r, t in zip(recs, tier, strict=True):
        # the tier's reason, then every other model with an opinion on the item, in model order
        others = [f"Fixed#{j}" for j, v in enumerate(vs) if j != t and np.isfinite(v[r.item_id])]
        assert r.reason == f"m{t}" + (f" (also: {', '.join(others)})" if others else "")


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


def reference_share(v: np.ndarray, how: str) -> list[float]:
    """docs/models/hybrid.md's shares, by counting: rank -> n - (average rank) + 1, minmax -> 1 + (n - 1)
    (s - lo) / (hi - lo); each divided by the row's total; NaN stays NaN."""
    fin = [x for x in v if np.isfinite(x)]
    n = len(fin)
    if how == "rank":
        # average rank = 1 + (number strictly better) + (number of other equal values) / 2
        mass = [n - (1 + sum(y > x for y in fin) + (sum(y == x for y in fin) - 1) / 2) + 1 if np.isfinite(x) else np.nan for x in v]
    else:
        lo, hi = (min(fin), max(fin)) if fin else (0.0, 0.0)
        mass = [(1 + (n - 1) * (x - lo) / (hi - lo) if hi > lo else 1.0) if np.isfinite(x) else np.nan for x in v]
    total = sum(m for m in mass if np.isfinite(m))
    return [m / total if np.isfinite(m) else np.nan for m in mass]


@pytest.mark.parametrize("how", ["rank", "minmax"])
@given(vs=vectors, w0=st.floats(0.1, 5))
def test_blend_is_the_weighted_sum_of_the_documented_shares(how, vs, w0):
    ds = tiny(len(vs[0]))
    weights = [w0, 1.0, 2.0]
    h = Hybrid([Fixed(v) for v in vs], weights=weights, normalize=how).fit(ds)
    assert_blend(h.score(Query()), vs, weights, how)


def assert_blend(got: np.ndarray, vs: list[np.ndarray], weights: list[float], how: str) -> None:
    """``got`` is the sum of ``w * reference_share(v)`` over the models with an opinion (NaN: none)."""
    for i in range(len(vs[0])):
        terms = [w * reference_share(v, how)[i] for v, w in zip(vs, weights, strict=True) if np.isfinite(v[i])]
        if terms:
            assert got[i] == pytest.approx(sum(terms), rel=1e-9, abs=1e-12)
        else:
            assert np.isnan(got[i])


def reference_cut(v: np.ndarray, depth: int) -> np.ndarray:
    """``v`` with only its ``depth`` best finite scores kept (equal scores: the smaller index, which
    is the better seller in :func:`tiny`, where every item sold once), NaN elsewhere."""
    fin = [i for i in range(len(v)) if np.isfinite(v[i])]
    keep = sorted(fin, key=lambda i: (-v[i], i))[:depth]
    return np.array([v[i] if i in keep else np.nan for i in range(len(v))])


@pytest.mark.parametrize("how", ["rank", "minmax"])
@settings(max_examples=40)
@given(vs=vectors, depth=st.integers(1, 8), w0=st.floats(0.1, 5))
def test_depth_shares_each_models_best_items_only(how, vs, depth, w0):
    """docs/models/hybrid.md: with ``depth``, a model's opinion is its ``depth`` best items (ties
    at the cut: the better seller), shared as if it had scored nothing else."""
    ds = tiny(len(vs[0]))
    weights = [w0, 1.0, 2.0]
    got = Hybrid([Fixed(v) for v in vs], weights=weights, normalize=how, depth=depth).fit(ds).score(Query())
    assert_blend(got, [reference_cut(v, depth) for v in vs], weights, how)


@pytest.mark.parametrize("how", ["rank", "minmax"])
@given(vs=vectors, w=st.floats(0.01, 10))
def test_each_model_hands_out_exactly_its_weight_and_no_opinion_gets_nothing(how, vs, w):
    v = vs[0]
    got = Hybrid([Fixed(v)], weights=[w], normalize=how).fit(tiny(len(v))).score(Query())
    fin = np.isfinite(v)
    assert np.array_equal(np.isfinite(got), fin)  # no opinion stays no opinion
    assert (got[fin] > 0).all()  # the weakest opinion is still more than no opinion
    if fin.any():
        assert got[fin].sum() == pytest.approx(w, rel=1e-9)


#: integer-valued scores, so that the scaled and shifted copies below are exact in floating point
grid_vectors = st.integers(2, 25).flatmap(
    lambda n: st.tuples(*[hnp.arrays(np.float64, n, elements=st.one_of(st.just(np.nan), st.integers(-50, 50).map(float)))] * 3)
)


@pytest.mark.parametrize("how", ["rank", "minmax"])
@given(vs=grid_vectors, scale=st.sampled_from([0.25, 0.5, 2.0, 8.0, 64.0]), shift=st.integers(-10, 10))
def test_a_models_scale_and_offset_change_nothing(how, vs, scale, shift):
    ds = tiny(len(vs[0]))
    plain = Hybrid([Fixed(v) for v in vs], normalize=how).fit(ds).score(Query())
    moved = Hybrid([Fixed(vs[0] * scale + shift), Fixed(vs[1]), Fixed(vs[2])], normalize=how).fit(ds).score(Query())
    # rank reads only the order; minmax only (s - lo) / (hi - lo): both unchanged by a positive affine map
    np.testing.assert_allclose(moved, plain, rtol=1e-6, atol=1e-9)


@given(
    st.integers(2, 30).flatmap(lambda n_dense: st.tuples(
        hnp.arrays(np.float64, n_dense, elements=st.floats(-3, 3)),
        st.integers(1, n_dense - 1).flatmap(lambda n_sparse: hnp.arrays(np.float64, n_sparse, elements=st.floats(-3, 3))),
    ))
)
def test_a_sparse_model_is_not_drowned_by_a_dense_one(pair):
    """Items 0..d-1 only the dense model scores, items d.. only the sparse one (fewer items):
    at equal weights the sparse model's best item (untied) outranks every dense-only item."""
    dense, sparse = pair
    d, n = len(dense), len(dense) + len(sparse)
    a = np.concatenate([dense, np.full(len(sparse), np.nan)])
    b = np.concatenate([np.full(d, np.nan), sparse])
    got = Hybrid([Fixed(a), Fixed(b)]).fit(tiny(n)).score(Query())
    best = d + int(np.argmax(sparse))
    if (sparse == sparse.max()).sum() == 1:
        assert got[best] > np.nanmax(got[:d])
    # and every item keeps its model's share: 2 (n_m - rank + 1) / (n_m (n_m + 1)) at most 2 / (n_m + 1)
    assert np.nanmax(got[:d]) <= 2 / (d + 1) + 1e-12


@given(vectors, st.floats(0.1, 10))
def test_weights_scale_the_scores_and_zero_leaves_a_model_out(vs, c):
    ds = tiny(len(vs[0]))
    base = Hybrid([Fixed(v) for v in vs], weights=[1.0, 2.0, 0.5]).fit(ds).score(Query())
    scaled = Hybrid([Fixed(v) for v in vs], weights=[c, 2.0 * c, 0.5 * c]).fit(ds).score(Query())
    np.testing.assert_allclose(scaled, c * base, rtol=1e-9, atol=1e-12)
    without = Hybrid([Fixed(v) for v in vs], weights=[1.0, 2.0, 0.0]).fit(ds).score(Query())
    two = Hybrid([Fixed(v) for v in vs[:2]], weights=[1.0, 2.0]).fit(ds).score(Query())
    np.testing.assert_array_equal(without, two)  # NaN where only the weight-0 model had an opinion


def test_reason_comes_from_the_strongest_contributor():
    ds = tiny(3)
    # rank shares: strong [2/3, 1/3, -] x 2 = [4/3, 2/3, -]; weak [1/6, 1/2, 1/3] x 1
    strong = Fixed(np.array([3.0, 0.0, np.nan]), "strong")
    weak = Fixed(np.array([0.0, 3.0, 1.0]), "weak")
    h = Hybrid({"strong": strong, "weak": weak}, weights={"strong": 2.0, "weak": 1.0}).fit(ds)
    recs = {r.item_id: r.reason for r in h.recommend(Query(k=3))}
    # 'weak' gave item 1 at least half of what 'strong' gave it, item 0 less than half
    assert recs == {0: "strong", 1: "strong (also: weak)", 2: "weak"}


@pytest.mark.parametrize("first_is_specific", [True, False])
def test_a_tie_goes_to_the_more_specific_model_whatever_the_order(first_is_specific):
    ds = tiny(3)
    v = np.array([2.0, 1.0, 0.0])
    specific = Fixed(v, "goes with your bike", specificity=60, signal_label="bought together")
    generic = Fixed(v.copy(), "trending", specificity=0, signal_label="trending")
    models = [specific, generic] if first_is_specific else [generic, specific]
    recs = Hybrid(models).fit(ds).recommend(Query(k=3))
    assert [r.reason for r in recs] == ["goes with your bike (also: trending)"] * 3


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


@settings(max_examples=50)
@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 30)), elements=st.one_of(st.just(np.nan), st.sampled_from([0.0, 1.0, 2.0]), st.floats(-3, 3))),
    st.integers(1, 32),
    st.randoms(use_true_random=False),
)
def test_rank_shares_of_dense_and_sparse_blocks_equal_scipys_average_ranks(dense, depth, rnd):
    """Each row's shares over its ``depth`` best opinions (equal scores at the cut: the smaller
    tie rank), against scipy's average ranks of those opinions: ``(n - rho + 1) / (n (n + 1) / 2)``;
    a dense block and the sparse block of the same opinions give the same shares."""
    import scipy.sparse as sp
    from scipy.stats import rankdata

    from recokit.hybrid import _best, _rank_shares

    n_items = dense.shape[1]
    tie = np.array(rnd.sample(range(n_items), n_items))  # any permutation: a shop's best-seller ranks
    rows, cols = np.nonzero(np.isfinite(dense))
    blocks = [ScoreBlock.dense(dense), ScoreBlock.sparse(sp.csr_array((dense[rows, cols], (rows, cols)), shape=dense.shape))]
    for block in blocks:
        got = np.full(dense.shape, np.nan)
        r, c, v = _rank_shares(*_best(block, min(depth, n_items), tie))
        got[r, c] = v
        for row in range(dense.shape[0]):
            have = [i for i in range(n_items) if np.isfinite(dense[row, i])]
            kept = sorted(have, key=lambda i: (-dense[row, i], tie[i]))[:depth]
            want = np.full(n_items, np.nan)
            if kept:
                n = len(kept)
                rho = rankdata(-dense[row, kept], method="average")
                want[kept] = (n - rho + 1) / (n * (n + 1) / 2)
            np.testing.assert_allclose(got[row], want, rtol=1e-12, atol=0)


def test_constant_scores_are_what_every_request_gets_and_the_blend_ranks_them_once():
    """Popularity's constant_scores equal every row it scores (customers, anonymous, carts); a
    blend using the shares ranked at fit equals one ranking them per request."""
    from recokit import Batch, ItemKNN, Popularity
    from recokit.datasets import sports_shop

    shop = sports_shop(400, seed=11)
    ids, items = shop.customer_ids.to_list(), shop.item_ids.to_list()
    hybrid = Hybrid({"knn": ItemKNN(), "top": Popularity(half_life_days=30)}).fit(shop)
    queries = [Query(customer_id=ids[0]), Query(items=[items[3]]), Query(customer_id=ids[5], items=items[7:9]), Query()]
    batch = Batch.concat([hybrid.resolve(q) for q in queries])
    pop = hybrid.components_[1]
    rows = pop._score(batch).to_dense()
    assert np.array_equal(rows, np.broadcast_to(pop.constant_scores(), rows.shape), equal_nan=True)
    assert Popularity(by="category").fit(shop).constant_scores() is None
    once = hybrid._score(batch)
    assert hybrid.constant_.tolist() == [False, True]
    hybrid.constant_[:] = False  # rank every request's rows again
    again = hybrid._score(batch)
    np.testing.assert_allclose(once.to_dense(), again.to_dense(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(once.contrib, again.contrib, rtol=1e-12, atol=0)
