"""ALS and BPR wrapped from implicit: contract, determinism, agreement with implicit, cold start."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recokit import ALS, BPR, ConfigError, DataError, Dataset, DataWarning, Query
from recokit.core import explained
from recokit.testing import RecommenderContract
from test_itemknn import checkerboard, mixed_queries, shop_or_small, stack_batch


class TestALSContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset
    exact_updates = False
    updates_why_not = "ALS folds changes in (implicit's partial fit of the touched rows), it does not refit: tests/test_erasure.py checks each step"

    def make_dataset(self):
        return shop_or_small()

    def make_model(self):
        return ALS(factors=8, iterations=4, random_state=0, num_threads=1)


class TestBPRContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 (with 20 iterations only chance: 0.06-0.17)

    def make_dataset(self):
        return shop_or_small()

    def make_model(self):
        return BPR(factors=8, iterations=100, random_state=0, num_threads=1)


@pytest.fixture(scope="module")
def ds():
    return shop_or_small()


def test_als_is_bit_deterministic_with_a_seed_even_with_threads(ds):
    a = ALS(factors=6, iterations=3, random_state=7, num_threads=2).fit(ds)
    b = ALS(factors=6, iterations=3, random_state=7, num_threads=2).fit(ds)
    assert np.array_equal(a.user_factors_, b.user_factors_)
    assert np.array_equal(a.item_factors_, b.item_factors_)


def test_bpr_is_bit_deterministic_with_one_thread(ds):
    # implicit's BPR is lock-free across threads: only num_threads=1 reproduces bit for bit
    a = BPR(factors=6, iterations=10, random_state=7, num_threads=1).fit(ds)
    b = BPR(factors=6, iterations=10, random_state=7, num_threads=1).fit(ds)
    assert np.array_equal(a.item_factors_, b.item_factors_)
    assert np.array_equal(a.user_factors_, b.user_factors_)


@pytest.mark.parametrize("model", [ALS(factors=6, iterations=3, num_threads=1), BPR(factors=6, iterations=10, num_threads=1)])
def test_scores_are_implicits_dot_products(ds, model):
    model.fit(ds)
    ui = sp.csr_matrix(ds.user_items, dtype=np.float32)
    for u in range(0, ds.n_customers, 41):
        if ui[u].nnz == 0:
            continue
        ids, scores = model.model_.recommend(u, ui[u], N=ds.n_items, filter_already_liked_items=False)
        ours = model.score(Query(customer_id=ds.customer_ids.id(u)))
        np.testing.assert_allclose(ours[ids], scores, rtol=1e-4, atol=1e-5)


def test_als_cart_uses_implicits_recalculated_customer(ds):
    model = ALS(factors=6, iterations=3, num_threads=1).fit(ds)
    cart = ds.item_ids.to_list()[:3]
    row = sp.csr_matrix((np.ones(3, dtype=np.float32), ([0, 0, 0], [0, 1, 2])), shape=(1, ds.n_items))
    ids, scores = model.model_.recommend(0, row, N=ds.n_items, recalculate_user=True, filter_already_liked_items=False)
    ours = model.score(Query(items=cart))
    np.testing.assert_allclose(ours[ids], scores, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, kw", [(ALS, {"factors": 3, "regularization": 0.0, "iterations": 15}), (BPR, {"factors": 3, "iterations": 300, "learning_rate": 0.05})])
def test_checkerboard_learns_the_held_out_item(cls, kw):
    data = checkerboard(30)
    model = cls(random_state=1, num_threads=1, **kw).fit(data)
    table = model.recommend_many(data.customer_ids.to_list(), k=1, exclude_purchased=True, reasons=False)
    hits = np.mean(np.array(table["item_id"].to_list()) == np.array(table["customer_id"].to_list()))
    assert hits >= 0.9


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_no_opinion_without_history_or_context(ds, cls):
    model = cls(factors=4, iterations=2, num_threads=1).fit(ds)
    assert np.isnan(model.score(Query())).all()
    assert np.isnan(model.score(Query(customer_id="stranger"))).all()
    assert np.isfinite(model.score(Query(items=ds.item_ids.to_list()[:1]))).all()
    recs = model.recommend(Query(customer_id=ds.customer_ids.to_list()[0], k=3, exclude_purchased=True))
    assert all("tastes like yours" in r.reason for r in recs)


def test_fit_does_not_trip_implicits_blas_warning(ds, monkeypatch):
    import implicit.utils

    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ALS(factors=4, iterations=1, num_threads=1).fit(ds)
    assert not [w for w in caught if "BLAS" in str(w.message)]


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (ALS, {"factors": 0}, "'factors' parameter of ALS must be an int >= 1. Got 0 instead."),
        (ALS, {"alpha": -1.0}, "'alpha'"),
        (BPR, {"learning_rate": 0}, "'learning_rate'"),
        (BPR, {"random_state": "seed"}, "'random_state'"),
    ],
)
def test_bad_parameters(ds, cls, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs).fit(ds)


@pytest.mark.parametrize("cls, kw", [(ALS, {"iterations": 3}), (BPR, {"iterations": 10})])
def test_a_mixed_batch_equals_one_request_at_a_time(ds, cls, kw):
    # customer-only rows, carts with and without a customer, empty and unknown requests in one batch
    model = cls(factors=6, num_threads=1, context_weight=0.6, **kw).fit(ds)
    queries = mixed_queries(ds, seed=2)
    batch = stack_batch(model, queries)
    block = model._score(batch)
    for r, q in enumerate(queries):
        one = model.score(q)
        assert np.array_equal(np.isnan(block.row(r)), np.isnan(one)), q
        np.testing.assert_allclose(block.row(r), one, rtol=1e-12, atol=1e-15)  # BLAS: batch vs one row
    # explain a seeded sample of each row's scored items (a dense model scores them all: every
    # pair would be thousands of one-by-one explains for the same code path)
    rng = np.random.default_rng(0)
    rows, items = np.nonzero(np.isfinite(block.to_dense()))
    keep = rng.random(len(rows)) < 40 * batch.n / max(len(rows), 1)
    rows, items = rows[keep], items[keep]
    got = explained(model, batch, rows, items, block)
    want = [model.explain(queries[r], ds.item_ids.id(int(i))) for r, i in zip(rows.tolist(), items.tolist(), strict=True)]
    assert got == want
    assert any(w.startswith("shoppers with tastes like yours chose this with") for w in want)
    assert any(w.startswith("customers with tastes like yours") for w in want)


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_context_customer_vectors_of_a_batch_equal_one_row_at_a_time(ds, cls):
    model = cls(factors=6, iterations=3, num_threads=1).fit(ds)
    rng = np.random.default_rng(4)
    rows = sp.csr_array(sp.random(9, ds.n_items, density=0.01, random_state=rng, format="csr") * 3)
    together = model._context_vectors(rows)
    for r in range(rows.shape[0]):
        assert np.array_equal(together[r], model._context_vectors(sp.csr_array(rows[[r]]))[0])


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_nan_factors_after_a_fit_are_a_data_warning(cls, monkeypatch):
    """A fit that leaves NaN factors (implicit's BPR does not check) would make every score of
    those customers NaN without a word: the model says how many."""
    from recokit.adapters import implicit as adapter

    real = adapter.fit_factorization

    def diverged(*args, **kwargs):
        user_f, item_f, model = real(*args, **kwargs)
        user_f = np.array(user_f, copy=True)
        user_f[[0, 2]] = np.nan
        return user_f, item_f, model

    ui = sp.csr_array(np.array([[1.0, 0, 1], [0, 1.0, 1], [1.0, 1, 0], [0, 0, 1.0]]))
    ds = _dataset_from(ui)
    monkeypatch.setattr(adapter, "fit_factorization", diverged)
    with pytest.warns(DataWarning, match=rf"{cls.__name__}: after fitting, the factors of 2 of 4 customers and 0 of 3 items are NaN or infinite"):
        model = cls(factors=2, iterations=2).fit(ds)
    assert np.isnan(model.score(Query(customer_id=ds.customer_ids.to_list()[0]))).all()


def test_weights_too_large_for_implicit_are_a_data_error():
    ui = sp.csr_array(np.array([[1e39, 0, 1], [0, 1.0, 1]]))
    with pytest.raises(DataError, match=r"ALS: interaction weights up to 1e\+39 .* float32"):
        ALS(factors=2, iterations=2).fit(_dataset_from(ui))


def _dataset_from(ui: sp.csr_array):
    import polars as pl

    from recokit import Dataset

    rows, cols = ui.nonzero()
    return Dataset(pl.DataFrame({"customer_id": rows.tolist(), "item_id": cols.tolist(), "q": ui.toarray()[rows, cols].tolist()}), quantity_col="q")


def test_binary_als_learns_as_if_each_pair_were_bought_once():
    """ALS(binary=True) on orders with repeats == ALS on the same pairs once each (built with polars)."""
    rng = np.random.default_rng(3)
    rows = pl.DataFrame({"customer_id": rng.integers(0, 40, 400), "item_id": rng.integers(0, 25, 400)})
    ds = Dataset(rows)
    once = Dataset(rows.unique(maintain_order=True))
    assert ds.user_items.data.max() > 1  # there are repeats to ignore
    a = ALS(factors=4, iterations=3, binary=True, num_threads=1).fit(ds)
    b = ALS(factors=4, iterations=3, num_threads=1).fit(once)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = ds.customer_ids.to_list()[0]
    np.testing.assert_array_equal(a.score(Query(customer_id=c, items=[ds.item_ids.to_list()[1]])), b.score(Query(customer_id=c, items=[ds.item_ids.to_list()[1]])))
    assert not np.array_equal(ALS(factors=4, iterations=3, num_threads=1).fit(ds).item_factors_, a.item_factors_)


@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_batch_lists_are_the_plain_top_k_of_the_dot_products(ds, scale):
    """recommend_many ranks from float32 scores within a margin and re-scores the candidates in
    float64 (factors x 1e20: float32 would overflow, the rows are ranked in float64): its lists
    are those of a plain Python ranking of every dot product (owned items out, ties to the better
    best seller), for light and heavy customers, and one request gives the same list."""
    model = ALS(factors=8, iterations=3, random_state=0, num_threads=1).fit(ds)
    model.user_factors_ = model.user_factors_ * scale
    model.item_factors_ = model.item_factors_ * scale
    model._derive()
    ui = ds.user_items
    sizes = np.diff(ui.indptr)
    heavy = np.argsort(-sizes, kind="stable")[:5].tolist()
    rows = sorted(set(heavy + list(range(0, ds.n_customers, max(1, ds.n_customers // 20)))))
    customers = ds.customer_ids.ids(np.array(rows))
    got = model.recommend_many(customers, k=6, exclude_purchased=True, reasons=False, backfill=False)
    for u, c in zip(rows, customers, strict=True):
        owned = set(ui.indices[ui.indptr[u] : ui.indptr[u + 1]].tolist())
        if not owned:
            continue
        pu = model.user_factors_[u].tolist()
        plain = [(-sum(a * b for a, b in zip(pu, model.item_factors_[i].tolist(), strict=True)), int(model.tie_rank_[i]), i) for i in range(ds.n_items) if i not in owned]
        want = [i for _, _, i in sorted(plain)[:6]]
        mine = got.filter(pl.col("customer_id") == c)
        assert ds.item_ids.index(mine["item_id"].to_list()).tolist() == want
        np.testing.assert_allclose(mine["score"].to_numpy(), [-s for s, _, _ in sorted(plain)[:6]], rtol=1e-12)
        assert model.recommend(Query(customer_id=c, k=6, exclude_purchased=True), backfill=False).item_ids == mine["item_id"].to_list()
