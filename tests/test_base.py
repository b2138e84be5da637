"""The Recommender base: Query validation, top-k against an independent reference."""

from __future__ import annotations

from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import recokit
from recokit import ConfigError, Query
from recokit.core import top_k


def reference_top_k(row: np.ndarray, allowed: np.ndarray, k: int, tie: np.ndarray | None = None) -> list[int]:
    """Plain Python: sort allowed finite items by (-score, tie rank or index)."""
    cands = [(-row[i], i if tie is None else int(tie[i]), i) for i in range(len(row)) if allowed[i] and np.isfinite(row[i])]
    return [i for _, _, i in sorted(cands)[:k]]


scores = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 40)),
    elements=st.one_of(st.sampled_from([0.0, 1.0, 2.0, np.nan, -np.inf]), st.floats(-5, 5)),
)


@given(scores, st.integers(1, 45), st.data())
def test_top_k_equals_reference(s, k, data):
    allowed = data.draw(hnp.arrays(bool, s.shape))
    tie = data.draw(st.none() | st.permutations(range(s.shape[1])).map(np.array))
    got = top_k(s, allowed, k, tie)
    assert got.shape == (s.shape[0], k)
    for r in range(s.shape[0]):
        row = got[r]
        assert row[row >= 0].tolist() == reference_top_k(s[r], allowed[r], k, tie)
        assert (row[len(row[row >= 0]) :] == -1).all()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(2048, 6000),
    st.integers(1, 120),
    st.sampled_from(["distinct", "ties", "few valid", "masked"]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_top_k_of_long_rows_equals_reference(n, m, k, kind, seed, with_tie):
    """Long rows take the chunk-bound pre-filter: same answer as a full sort, ties and all."""
    rng = np.random.default_rng(seed)
    s = rng.random((n, m))
    allowed = np.ones((n, m), dtype=bool)
    if kind == "ties":
        s = np.round(s * 4) / 4  # five distinct values over thousands of items
    elif kind == "few valid":
        s[rng.random((n, m)) < 0.999] = np.nan  # fewer valid items than k in most rows
    elif kind == "masked":
        allowed = rng.random((n, m)) < 0.5
        s[rng.random((n, m)) < 0.1] = -np.inf
    tie = rng.permutation(m) if with_tie else None
    got = top_k(s, allowed, k, tie)
    for r in range(n):
        row = got[r]
        assert row[row >= 0].tolist() == reference_top_k(s[r], allowed[r], k, tie)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4),
    st.one_of(st.integers(2048, 6000), st.integers(1, 64)),
    st.integers(1, 120),
    st.sampled_from(["distinct", "ties", "few valid", "blocked best", "infinite"]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.booleans(),
)
def test_top_k_blocked_equals_reference(n, m, k, kind, seed, with_tie, rounded):
    """The copy-free ranking of a dense block under per-row blocked cells (the group-maximum
    bound on long rows, a copy on short ones), from the scores or from float32 roundings of them
    within a margin: the reference's answer, ties and all, and the exact scores of the picked
    items; the input is left as it was."""
    from recokit.core import top_k_blocked, top_k_bounded
    from recokit.core import topk as topk_module

    rng = np.random.default_rng(seed)
    s = rng.random((n, m))
    if kind == "ties":
        s = np.round(s * 4) / 4
    elif kind == "few valid":
        s[rng.random((n, m)) < 0.999] = np.nan
    elif kind == "infinite":
        s[rng.random((n, m)) < 0.05] = rng.choice([np.inf, -np.inf])
    blocked = rng.random((n, m)) < 0.02
    if kind == "blocked best":  # every row's best items blocked, and whole rows of them
        blocked |= s >= np.quantile(s, 0.99, axis=1, keepdims=True)
        blocked[rng.random(n) < 0.3] = True
    tie = rng.permutation(m) if with_tie else None
    before = s.copy()
    rows, cols = np.nonzero(blocked)
    with mock.patch.object(topk_module, "_WHOLE_CELLS", 0):  # the group bound even on a few rows
        if rounded:  # ranked from float32 scores off by up to a margin, the exact scores read back
            noise = rng.uniform(-0.01, 0.01, s.shape)  # not monotone: an approx order can invert
            approx = (s + noise).astype(np.float32)
            margin = np.full(n, 0.01 + 2.0**-22)  # the noise, then float32's rounding of values < 2
            picked, got_scores = top_k_bounded(approx, margin, lambda r, c: s[r, c], lambda r: s[r], rows, cols, k, tie)
        else:
            picked, got_scores = top_k_blocked(s, rows, cols, k, tie)
    np.testing.assert_array_equal(s, before)
    assert picked.shape == got_scores.shape == (n, k)
    for r in range(n):
        row = picked[r]
        want = reference_top_k(s[r], ~blocked[r], k, tie)
        assert row[row >= 0].tolist() == want
        assert (row[len(want) :] == -1).all()
        np.testing.assert_array_equal(got_scores[r, : len(want)], s[r, want])
        assert np.isnan(got_scores[r, len(want) :]).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(1, 20), st.sampled_from(["distinct", "ties", "infinite"]), st.integers(0, 2**32 - 1), st.booleans())
def test_top_k_coo_of_long_rows_equals_reference(n, k, kind, seed, with_tie):
    """Rows of many triplets are first cut to the entries a group-maximum bound lets through:
    same answer as the reference, ties and non-finite values included."""
    from recokit.core import top_k_coo

    rng = np.random.default_rng(seed)
    m = 3000
    s = rng.random((n, m))
    if kind == "ties":
        s = np.round(s * 4) / 4
    elif kind == "infinite":
        s[rng.random((n, m)) < 0.05] = rng.choice([np.inf, -np.inf, np.nan])
    stored = rng.random((n, m)) < rng.uniform(0.05, 1.0, size=(n, 1))  # absent: no opinion
    tie = rng.permutation(m) if with_tie else None
    rows, cols = np.nonzero(stored)
    picked, got = top_k_coo(rows, cols, s[rows, cols], n, k, tie)
    for r in range(n):
        want = reference_top_k(s[r], stored[r], k, tie)
        assert picked[r][picked[r] >= 0].tolist() == want
        np.testing.assert_array_equal(got[r, : len(want)], s[r, want])


@given(scores, st.integers(1, 45), st.data())
def test_sparse_and_one_row_ranking_break_ties_like_top_k(s, k, data):
    """rank() of a sparse block (the COO path, and one request's own entries) orders equal
    scores by the tie rank exactly as the dense top-k does."""
    from recokit.core import Restriction, ScoreBlock
    from recokit.core.select import rank

    tie = data.draw(st.none() | st.permutations(range(s.shape[1])).map(np.array))
    finite = np.isfinite(s)
    rows, cols = np.nonzero(finite)
    import scipy.sparse as sp

    block = ScoreBlock.sparse(sp.csr_array((s[rows, cols], (rows, cols)), shape=s.shape))
    everything = Restriction(None, np.empty(0, dtype=np.int64), s.shape[0], s.shape[1])
    for r in range(s.shape[0]):
        want = reference_top_k(s[r], finite[r], k, tie)
        got = rank(block.take(np.array([r])), Restriction(None, np.empty(0, dtype=np.int64), 1, s.shape[1]), k, tie)[0][0]
        assert got[got >= 0].tolist() == want
    picked = rank(block, everything, k, tie)[0]
    assert [row[row >= 0].tolist() for row in picked] == [reference_top_k(s[r], finite[r], k, tie) for r in range(s.shape[0])]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be an int >= 1. Got 0"),
        ({"k": 2.5}, "k must be an int"),
        ({"items": "P0001"}, r"wrap it in a list: items=\['P0001'\]"),
        ({"exclude": 5}, "exclude must be a list"),
        ({"now": "2024-01-01"}, "now must be a datetime"),
    ],
)
def test_query_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Query(**kwargs)


def test_public_api_is_exactly_all():
    public = {n for n in dir(recokit) if not n.startswith("_")} - {"annotations"}
    modules = {"adapters", "core", "data", "models", "datasets", "cli", "rules", "hybrid", "evaluation", "persist", "params", "testing", "customers", "pipeline", "report", "spark"}
    assert public - modules == set(recokit.__all__)
    for name in recokit.__all__:
        assert getattr(recokit, name) is not None


def test_recommend_takes_a_query_or_keywords_not_both(shop):
    model = recokit.Popularity().fit(shop)
    assert model.recommend(k=3).item_ids == model.recommend(Query(k=3)).item_ids
    with pytest.raises(ConfigError, match="not both"):
        model.recommend(Query(k=3), k=4)


def test_fit_rejects_a_frame(shop):
    with pytest.raises(ConfigError, match="expects a recokit.Dataset"):
        recokit.Popularity().fit(shop.interactions)


def test_ids_of_the_wrong_kind_are_a_clear_error_not_a_silent_cold_start():
    import polars as pl

    from recokit import Dataset, Ruled
    from recokit.rules import Filter

    ds = Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": [10, 20]}))
    model = recokit.Popularity().fit(ds)
    with pytest.raises(ConfigError, match=r"customer ids are integers in the fitted data, but got '1' \(str\)"):
        model.recommend(Query(customer_id="1"))
    with pytest.raises(ConfigError, match=r"item ids are integers .* got '10' \(str\) at position 1"):
        model.recommend(Query(items=[20, "10"]))
    with pytest.raises(ConfigError, match=r"recommend_many: customer ids are integers.*'guest-7'"):
        model.recommend_many([1, "guest-7"], k=2)
    ruled = Ruled(recokit.Popularity(), [Filter("item_id > 0")]).fit(ds)
    with pytest.raises(ConfigError, match="recommend_many: customer ids are integers"):
        ruled.recommend_many([1, "guest-7"], k=2)
    # an unknown id of the right kind stays a cold start, in both paths
    assert model.recommend_many([1, 999], k=2).filter(pl.col("customer_id") == 999).height == 2
    assert len(model.recommend(Query(customer_id=999, k=2))) == 2


def test_erasure_and_updates_are_real_for_every_model_and_protocols_describe_others():
    """forget and partial_fit are written once in the base and work for any model, even one that
    implements only the required hooks (it refits on the changed Dataset): no method raises
    NotImplementedError. The protocols still describe objects that are not recokit models."""
    from recokit.core import Forgetful, Updatable

    class Minimal(recokit.Recommender):
        def _fit(self, dataset):
            self.counts_ = dataset.item_counts().astype(float)

        def _score(self, batch):
            return recokit.core.ScoreBlock.dense(np.broadcast_to(self.counts_, (batch.n, len(self.counts_))))

        def _explain(self, batch, rows, items, block):
            return ["popular"] * len(rows)

    first = recokit.Dataset(pl.DataFrame({"customer_id": [1, 2, 2], "item_id": ["a", "b", "c"]}))
    model = Minimal().fit(first).forget([2])
    assert model.dataset_.customer_ids.to_list() == [1] and model.counts_.tolist() == [1.0]
    model.partial_fit(recokit.Dataset(pl.DataFrame({"customer_id": [3, 4], "item_id": ["b", "b"]})))
    assert model.dataset_.item_ids.to_list() == ["a", "b"] and model.counts_.tolist() == [1.0, 2.0]
    assert isinstance(model, Updatable) and isinstance(model, Forgetful)

    class Growing:  # not a recokit model: the protocol tells what it can do
        def partial_fit(self, dataset):
            return self

    assert isinstance(Growing(), Updatable) and not isinstance(Growing(), Forgetful)


def test_a_model_missing_a_required_hook_fails_when_built():
    class NoReasons(recokit.Recommender):
        def _fit(self, dataset):
            pass

        def _score(self, batch):
            raise AssertionError("never called")

    with pytest.raises(TypeError, match="abstract"):
        NoReasons()


@pytest.mark.parametrize("cls", [recokit.Hybrid, recokit.Ruled, recokit.Popularity, recokit.ItemKNN, recokit.AssociationRules,
                                 recokit.ContentBased, recokit.Renewal, recokit.ALS, recokit.BPR])
def test_no_class_overrides_the_public_request_methods(cls):
    """The request pipeline is written once, in the base: composites and models implement stages."""
    for name in ("recommend", "recommend_many", "explain", "score", "fit"):
        owner = next(k for k in cls.__mro__ if name in k.__dict__)
        assert owner is recokit.Recommender, f"{cls.__name__}.{name} is overridden in {owner.__name__}"


def _tiny():
    import polars as pl

    return recokit.Dataset(pl.DataFrame({"customer_id": [1, 1, 2], "item_id": ["a", "b", "a"]}))


def test_fit_keeps_what_a_models_own_init_set_up():
    """Regression (review): the fresh instance of an atomic fit kept only the declared parameters."""

    class Legacy(recokit.Popularity):
        def __init__(self, k: int = 2) -> None:
            super().__init__()
            self._k = k
            self._rng = np.random.default_rng(0)

    model = Legacy(k=1).fit(_tiny())
    assert model._k == 1 and model.is_fitted


def test_set_params_that_change_a_fitted_model_unfit_it():
    model = recokit.Popularity().fit(_tiny())
    model.set_params(half_life_days=None)  # the same value: still fitted
    assert model.is_fitted
    model.set_params(by="item_id")
    assert not model.is_fitted
    with pytest.raises(recokit.NotFittedError):
        model.recommend(k=1)


def test_recommend_many_checks_now_as_a_query_does():
    model = recokit.Popularity().fit(_tiny())
    with pytest.raises(ConfigError, match="now must be a datetime"):
        model.recommend_many([1], k=1, now=123)


def test_a_component_breaking_the_hook_contract_is_a_contract_error():
    from recokit import ContractError, ScoreBlock

    class Short(recokit.Popularity):
        def _score(self, batch):
            return ScoreBlock.dense(np.zeros((batch.n, 1)))

    with pytest.raises(ContractError, match="shape"):
        recokit.Hybrid([Short(), recokit.Popularity()]).fit(_tiny()).recommend(k=1)
    with pytest.raises(ContractError, match="shape"):
        Short().fit(_tiny()).score()
    with pytest.raises(ContractError, match="numbers"):
        ScoreBlock.dense([["a"]])


def test_batch_concat_keeps_rows_in_order_and_refuses_mixed_requests():
    from recokit import Batch, ContractError

    model = recokit.Popularity().fit(_tiny())
    a, b = model.resolve(Query(customer_id=1, items=["b"])), model.resolve(Query(customer_id=2))
    both = Batch.concat([a, b])
    assert both.customer_ids == (1, 2) and both.found_idx.tolist() == [0, 1]
    assert both.context_items(0).tolist() == a.context_items(0).tolist() and both.context_items(1).tolist() == []
    assert np.array_equal(model._score(both).to_dense(), np.vstack([model._score(a).to_dense(), model._score(b).to_dense()]), equal_nan=True)
    with pytest.raises(ContractError, match="share now, k"):
        Batch.concat([a, model.resolve(Query(customer_id=2, k=1))])


@pytest.mark.parametrize("kind", ["popularity", "itemknn", "ruled"])
def test_a_huge_k_costs_only_the_catalogue(kind):
    """k = 10**8 returns what k = catalogue size returns, without k-sized padding (800 MB)."""
    import tracemalloc

    from recokit import ItemKNN, Popularity
    from recokit.datasets import sports_shop
    from recokit.rules import Filter, MaxPerGroup, Ruled

    shop = sports_shop(300, seed=2)
    model = {"popularity": Popularity(), "itemknn": ItemKNN(), "ruled": Ruled(ItemKNN(), [Filter("stock > 0"), MaxPerGroup("category", 2)])}[kind].fit(shop)
    c = shop.customer_ids.to_list()[:2]
    want = model.recommend(Query(customer_id=c[0], k=shop.n_items))
    want_many = model.recommend_many(c, k=shop.n_items)
    tracemalloc.start()
    try:
        got = model.recommend(Query(customer_id=c[0], k=10**8))
        got_many = model.recommend_many(c, k=10**8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.item_ids == want.item_ids
    assert got_many.equals(want_many)
    assert peak < 100e6, f"k=10**8 allocated {peak / 1e6:.0f} MB"


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(8, 40)),
                      elements=st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))),
    factors=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([0.5, 2.0, 3.0, 10.0])), max_size=6),
)
def test_boosts_scale_non_negative_scores_up_and_negative_ones_by_the_inverse(values, factors):
    """The boost stage on a dense block equals the element-wise definition, computed here by
    hand: x * pos for x >= 0, x * neg below 0, NaN stays NaN."""
    from recokit.core import ScoreBlock

    n_items = values.shape[1]
    pos, neg = np.ones(n_items), np.ones(n_items)
    for item, f in factors:
        if item < n_items:
            pos[item] *= f
            neg[item] /= f
    want = np.where(values < 0, values * neg[None, :], values * pos[None, :])
    np.testing.assert_array_equal(ScoreBlock.dense(values).scale(pos, neg).to_dense(), want)


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(4, 20)),
                      elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan))),
    data=st.data(),
)
def test_scaling_some_rows_is_the_same_on_dense_and_sparse_blocks(values, data):
    """scale_rows: the chosen rows scaled as scale() does, the others untouched; a sparse block
    (its finite entries stored) gives the same scores as the dense one."""
    import scipy.sparse as sp

    from recokit.core import ScoreBlock

    n, m = values.shape
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1)))), dtype=np.int64)
    pos = np.where(np.arange(m) % 3 == 0, 2.0, 1.0)
    neg = 1.0 / pos
    dense = ScoreBlock.dense(values).scale_rows(rows, pos, neg).to_dense()
    want = values.copy()
    want[rows] = np.where(values[rows] < 0, values[rows] * neg, values[rows] * pos)
    np.testing.assert_array_equal(dense, want)
    r, c = np.nonzero(np.isfinite(values))
    sparse = ScoreBlock.sparse(sp.csr_array((values[r, c], (r, c)), shape=values.shape)).scale_rows(rows, pos, neg).to_dense()
    np.testing.assert_array_equal(sparse, want)


def test_equal_scores_go_to_the_better_seller_not_the_catalogue_order():
    """A model that scores every item alike recommends the shop's best sellers (most distinct
    buyers, then the id), counted here with polars, not recokit."""
    from recokit import Recommender
    from recokit.core import ScoreBlock
    from recokit.datasets import sports_shop

    class Flat(Recommender):
        def _fit(self, dataset):
            pass

        def _score(self, batch):
            return ScoreBlock.dense(np.ones((batch.n, batch.n_items)))

        def _explain(self, batch, rows, items, block):
            return ["flat"] * len(rows)

    shop = sports_shop(300, seed=4)
    model = Flat().fit(shop)
    buyers = (
        shop.interactions.group_by("item_id").agg(pl.col("customer_id").n_unique().alias("n"))
        .sort(["n", "item_id"], descending=[True, False])
    )
    assert [r.item_id for r in model.recommend(Query(k=8))] == buyers["item_id"].head(8).to_list()
    batch = model.recommend_many([None, None], k=8)
    assert batch.filter(pl.col("customer_id").is_null())["item_id"].head(8).to_list() == buyers["item_id"].head(8).to_list()


@given(scores, st.integers(1, 45), st.data())
def test_top_k_coo_breaks_ties_by_the_tie_rank_in_any_entry_order(s, k, data):
    """The triplet path (a sparse batch): entries in any order, ties by the tie rank."""
    from recokit.core import top_k_coo

    tie = data.draw(st.none() | st.permutations(range(s.shape[1])).map(np.array))
    rows, cols = np.nonzero(np.isfinite(s))
    perm = np.array(data.draw(st.permutations(range(len(rows))))) if len(rows) else np.empty(0, dtype=np.int64)
    rows, cols = rows[perm], cols[perm]
    picked, _ = top_k_coo(rows, cols, s[rows, cols], s.shape[0], k, tie)
    for r in range(s.shape[0]):
        row = picked[r]
        assert row[row >= 0].tolist() == reference_top_k(s[r], np.isfinite(s[r]), k, tie)
