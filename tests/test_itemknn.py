"""ItemKNN: contract, differential tests against implicit and a dense reference, properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from implicit.nearest_neighbours import CosineRecommender

from recokit import ConfigError, DataError, Dataset, ItemKNN, Query, RecokitError
from recokit.core import explained
from recokit.testing import RecommenderContract

# implicit warns about converting its own internal COO matrix when called directly here
pytestmark = pytest.mark.filterwarnings("ignore:Method expects CSR input")


def shop_or_small():
    """The small sports shop of the contract tests (600 customers)."""
    from recokit.datasets import sports_shop

    return sports_shop(600, seed=11)


class _Base(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # every similarity: measured 1.0 on the planted dataset

    def make_dataset(self):
        return shop_or_small()


class TestCosineContract(_Base):
    def make_model(self):
        return ItemKNN(similarity="cosine", k_neighbours=20)


class TestBM25Contract(_Base):
    def make_model(self):
        return ItemKNN(similarity="bm25", k_neighbours=20, shrinkage=2.0)


class TestTFIDFContract(_Base):
    def make_model(self):
        return ItemKNN(similarity="tfidf", k_neighbours=10)


class TestJaccardContract(_Base):
    def make_model(self):
        return ItemKNN(similarity="jaccard", k_neighbours=15)


class TestLiftDecayContract(_Base):
    def make_model(self):
        return ItemKNN(similarity="lift", k_neighbours=15, min_co_count=2, half_life_days=60)


class TestConditionalContract(_Base):
    def make_model(self):
        return ItemKNN(similarity="conditional", k_neighbours=15, shrinkage=1.0, half_life_days=90)


# -- random data ---------------------------------------------------------------------------------

@st.composite
def matrices(draw, max_customers=25, max_items=12):
    n_c = draw(st.integers(2, max_customers))
    n_i = draw(st.integers(2, max_items))
    cells = draw(
        st.lists(st.tuples(st.integers(0, n_c - 1), st.integers(0, n_i - 1), st.sampled_from([1.0, 2.0, 0.5, 3.25])), min_size=1, max_size=80)
    )
    frame = pl.DataFrame(cells, schema=["customer_id", "item_id", "q"], orient="row")
    return Dataset(frame, pl.DataFrame({"item_id": list(range(n_i))}), quantity_col="q")


def dense_similarity(model: ItemKNN) -> np.ndarray:
    return model.similarity_.toarray()


@given(matrices(), st.integers(1, 6))
def test_cosine_values_and_neighbours_equal_implicits(ds, k):
    ours = ItemKNN(similarity="cosine", k_neighbours=k, num_threads=1).fit(ds).similarity_
    full = CosineRecommender(K=ds.n_items, num_threads=1)
    full.fit(sp.csr_matrix(ds.user_items), show_progress=False)
    ref = full.similarity.toarray()
    np.fill_diagonal(ref, 0.0)
    for i in range(ds.n_items):
        row = ours[[i]].toarray()[0]
        cols = np.flatnonzero(row)
        # our values are implicit's cosine values
        np.testing.assert_allclose(row[cols], ref[i, cols], rtol=1e-12)
        # and they are a top-k of implicit's row (the item itself excluded)
        positive = np.flatnonzero(ref[i] > 0)
        assert len(cols) == min(k, len(positive))
        rest = np.setdiff1d(positive, cols)
        if len(rest) and len(cols):
            assert row[cols].min() >= ref[i, rest].max() - 1e-12


def test_cosine_neighbour_lists_equal_implicits_on_the_shop():
    ds = shop_or_small()
    k = 10
    ours = ItemKNN(similarity="cosine", k_neighbours=k).fit(ds).similarity_
    peer = CosineRecommender(K=k + 1)  # implicit counts the item itself among its K
    peer.fit(sp.csr_matrix(ds.user_items), show_progress=False)
    theirs = peer.similarity.tocsr()
    x = ds.user_items.toarray()
    norms = np.linalg.norm(x, axis=0)
    denom = np.outer(norms, norms)
    cosine = np.divide(x.T @ x, denom, out=np.zeros_like(denom), where=denom > 0)  # the reference, dense
    for i in range(ds.n_items):
        mine = set(ours.indices[ours.indptr[i] : ours.indptr[i + 1]].tolist())
        peer_row = set(theirs.indices[theirs.indptr[i] : theirs.indptr[i + 1]].tolist()) - {i}
        if len(peer_row) > k:  # the item itself was not in implicit's list (ties at 1.0): ours are k of them
            assert mine <= peer_row and len(mine) == k
            continue
        # both keep the k most similar; they may part only on items tied (to 1e-12) at the cut:
        # summation order (customer order) moves cosines by ~1e-16
        row = np.delete(cosine[i], i)
        cut = np.sort(row[row > 0])[::-1][min(k, int((row > 0).sum())) - 1] if (row > 0).any() else 0.0
        assert all(abs(cosine[i, j] - cut) < 1e-12 for j in mine ^ peer_row), (i, mine ^ peer_row)
        assert len(mine) == len(peer_row)
    ui = sp.csr_matrix(ds.user_items)
    for u in range(0, ds.n_customers, 37):
        ids, scores = peer.recommend(u, ui[u], N=5, filter_already_liked_items=True)
        got = ItemKNN(similarity="cosine", k_neighbours=k).fit(ds).recommend(
            Query(customer_id=ds.customer_ids.id(u), k=5, exclude_purchased=True), backfill=False
        )
        keep = scores > 0  # implicit pads short lists with zero-scored items
        np.testing.assert_allclose(got.scores[: keep.sum()], scores[keep], rtol=1e-9)


def reference_counts(ds: Dataset, kind: str, min_co: int = 1, prior: float = 1000.0) -> np.ndarray:
    """Dense, from scratch: SAR's co-occurrence similarities (lift: shrunk toward independence
    by ``prior`` pseudo-co-occurrences, minus 1, kept where positive)."""
    b = (ds.user_items.toarray() > 0).astype(float)
    co = b.T @ b
    c = np.diag(co).copy()
    n = b.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "jaccard":
            s = co / (c[:, None] + c[None, :] - co)
        elif kind == "lift":
            s = (co + prior) / (np.outer(c, c) / n + prior) - 1.0
            s = np.where(s > 0, s, 0.0)
        else:
            s = co / c[:, None]
    s = np.where(co >= min_co, s, 0.0)
    np.fill_diagonal(s, 0.0)
    return np.nan_to_num(s)


@pytest.mark.parametrize("kind", ["jaccard", "lift", "conditional"])
@given(ds=matrices(), min_co=st.integers(1, 3), prior=st.sampled_from([0.0, 1.0, 5.0]))
def test_count_similarities_equal_a_dense_reference(kind, ds, min_co, prior):
    model = ItemKNN(similarity=kind, k_neighbours=ds.n_items, min_co_count=min_co, lift_prior=prior).fit(ds)
    np.testing.assert_allclose(dense_similarity(model), reference_counts(ds, kind, min_co, prior), rtol=1e-12, atol=1e-12)


def test_shrunk_lift_puts_a_real_pair_above_two_rare_items_seen_together_once():
    """Raw lift: two items bought once, together, have the highest lift there is (n). Shrunk,
    a pair bought together by 30 customers out of 40 buyers each ranks above them."""
    rows = [(f"rare{c}", "r1") for c in range(1)] + [(f"rare{c}", "r2") for c in range(1)]
    rows += [(f"p{c}", "a") for c in range(40)] + [(f"p{c}", "b") for c in range(30)] + [(f"q{c}", "b") for c in range(10)]
    rows += [(f"z{c}", "filler") for c in range(200)]
    ds = Dataset(pl.DataFrame({"customer_id": [c for c, _ in rows], "item_id": [i for _, i in rows]}))
    idx = ds.item_ids.get
    raw = dense_similarity(ItemKNN(similarity="lift", lift_prior=0.0).fit(ds))
    shrunk = dense_similarity(ItemKNN(similarity="lift").fit(ds))
    assert raw[idx("r1"), idx("r2")] > raw[idx("a"), idx("b")]
    assert shrunk[idx("r1"), idx("r2")] < shrunk[idx("a"), idx("b")]


@pytest.mark.parametrize("kind", ["cosine", "bm25", "tfidf", "jaccard", "lift", "conditional"])
@given(ds=matrices(), k=st.integers(1, 5), shrink=st.sampled_from([0.0, 1.5]))
@settings(max_examples=15)
def test_neighbour_properties(kind, ds, k, shrink):
    model = ItemKNN(similarity=kind, k_neighbours=k, shrinkage=shrink, num_threads=1).fit(ds)
    s = model.similarity_
    assert (s.diagonal() == 0).all()  # never its own neighbour
    assert np.diff(s.indptr).max() <= k  # at most k
    assert (s.data > 0).all()
    again = ItemKNN(similarity=kind, k_neighbours=k, shrinkage=shrink, num_threads=1).fit(ds).similarity_
    assert (s != again).nnz == 0  # deterministic


@pytest.mark.parametrize("kind", ["cosine", "jaccard", "lift"])
@settings(max_examples=25)
@given(ds=matrices())
def test_symmetric_similarities_are_symmetric(kind, ds):
    full = dense_similarity(ItemKNN(similarity=kind, k_neighbours=ds.n_items).fit(ds))
    np.testing.assert_allclose(full, full.T, rtol=1e-12)


@given(ds=matrices())
def test_conditional_probability_is_asymmetric_by_bayes(ds):
    model = ItemKNN(similarity="conditional", k_neighbours=ds.n_items).fit(ds)
    p = dense_similarity(model)
    c = model.item_counts_.astype(float)
    # P(j|i) c_i = c_ij = P(i|j) c_j
    np.testing.assert_allclose(p * c[:, None], (p * c[:, None]).T, rtol=1e-12)


@given(ds=matrices(), shrink=st.floats(0.5, 20))
def test_shrinkage_formula(ds, shrink):
    plain = dense_similarity(ItemKNN(similarity="jaccard", k_neighbours=ds.n_items).fit(ds))
    shrunk = ItemKNN(similarity="jaccard", k_neighbours=ds.n_items, shrinkage=shrink).fit(ds)
    co = shrunk.co_counts_.toarray()
    np.testing.assert_allclose(dense_similarity(shrunk), plain * co / (co + shrink), rtol=1e-12)


# -- known answers -------------------------------------------------------------------------------

def checkerboard(n: int = 40) -> Dataset:
    """implicit's fixture: customer i likes the items of its parity except item i."""
    rows = [(i, j) for i in range(n) for j in range(n) if (i + j) % 2 == 0 and i != j]
    return Dataset(pl.DataFrame(rows, schema=["customer_id", "item_id"], orient="row"))


@pytest.mark.parametrize("kind", ["cosine", "bm25", "tfidf", "jaccard", "lift", "conditional"])
def test_checkerboard_learns_the_held_out_item(kind):
    ds = checkerboard()
    model = ItemKNN(similarity=kind, k_neighbours=40).fit(ds)
    table = model.recommend_many(ds.customer_ids.to_list(), k=1, exclude_purchased=True, reasons=False)
    assert table["item_id"].to_list() == table["customer_id"].to_list()


def test_time_decay_prefers_recent_purchases_and_follows_now():
    t0 = dt.datetime(2022, 1, 1)
    rows = []
    for c in range(6):  # A goes with A2, B goes with B2
        rows += [(f"a{c}", "A", t0), (f"a{c}", "A2", t0), (f"b{c}", "B", t0), (f"b{c}", "B2", t0)]
    rows += [("x", "A", t0), ("x", "B", t0 + dt.timedelta(days=700))]
    ds = Dataset(pl.DataFrame(rows, schema=["customer_id", "item_id", "ts"], orient="row"), time_col="ts")
    flat = ItemKNN(similarity="jaccard").fit(ds).score(customer_id="x")
    decayed = ItemKNN(similarity="jaccard", half_life_days=30).fit(ds)
    s = decayed.score(customer_id="x")
    idx = ds.item_ids.get
    assert flat[idx("A2")] == flat[idx("B2")]
    assert s[idx("B2")] > 100 * s[idx("A2")]
    later = decayed.score(customer_id="x", now=ds.last_time + dt.timedelta(days=30))
    np.testing.assert_allclose(later, s / 2, rtol=1e-12)  # one half-life later: everything halves
    assert decayed.explain(Query(customer_id="x"), "B2") == "because you bought B"


def test_explain_names_the_top_contributing_history_item():
    rows = [(c, "shoes", "sock") for c in range(5)] + [(c, "bike", "pump") for c in range(5, 8)]
    frame = pl.DataFrame(
        [(f"c{c}", i) for c, a, b in rows for i in (a, b)] + [("me", "shoes"), ("me", "bike")], schema=["customer_id", "item_id"], orient="row"
    )
    catalog = pl.DataFrame({"item_id": ["bike", "pump", "shoes", "sock"], "name": ["City bike", "Pump", "Trail shoes X", "Socks"]})
    model = ItemKNN(similarity="cosine").fit(Dataset(frame, catalog))
    assert model.explain(Query(customer_id="me"), "sock") == "because you bought Trail shoes X"
    assert model.explain(Query(customer_id="me"), "pump") == "because you bought City bike"
    assert model.explain(Query(items=["shoes"]), "sock") == "customers who bought Trail shoes X also bought this"
    cond = ItemKNN(similarity="conditional").fit(Dataset(frame, catalog))
    # 6 buyers of shoes (5 + me), 5 of them bought socks
    assert cond.explain(Query(items=["shoes"]), "sock") == "83% of the buyers of Trail shoes X also bought this"


def test_customer_plus_context_combines_as_documented():
    ds = shop_or_small()
    model = ItemKNN(similarity="cosine", k_neighbours=10, context_weight=0.5).fit(ds)
    s = model.similarity_.toarray()
    buyers = np.flatnonzero(np.diff(ds.user_items.indptr) > 1)
    c = ds.customer_ids.id(int(buyers[3]))
    h = ds.user_items[[ds.customer_ids.get(c)]].toarray()[0]
    cart = ds.item_ids.to_list()[:2]
    v = h.copy()
    v[[ds.item_ids.get(i) for i in cart]] += 0.5 * h.max()
    expected = v @ s
    got = model.score(Query(customer_id=c, items=cart))
    reachable = (v > 0).astype(float) @ (s > 0) > 0
    np.testing.assert_allclose(got[reachable], expected[reachable], rtol=1e-12)
    assert np.isnan(got[~reachable]).all()  # no similarity path: no opinion


def stack_batch(model, queries):
    """The resolved queries as one batch (they share ``now`` and ``k``), as a composite sends it."""
    from recokit import Batch

    return Batch.concat([model.resolve(q) for q in queries])

def mixed_queries(ds: Dataset, now=None, seed: int = 0) -> list[Query]:
    """Customer-only, customer plus context, context-only, empty and unknown-customer requests."""
    rng = np.random.default_rng(seed)
    cust, items = ds.customer_ids.to_list(), ds.item_ids.to_list()
    out = []
    for n in range(24):
        who = [cust[int(rng.integers(len(cust)))], None, "stranger"][n % 3 if n % 4 else 0]
        ctx = [items[int(j)] for j in rng.choice(len(items), int(rng.integers(0, 4)), replace=False)] if n % 2 else []
        out.append(Query(customer_id=who, items=ctx, now=now))
    return out


def test_batch_scores_equal_single_scores_bit_for_bit():
    ds = shop_or_small()
    model = ItemKNN(similarity="bm25", k_neighbours=8, half_life_days=45, context_weight=0.7).fit(ds)
    now = ds.last_time - dt.timedelta(days=100)
    cidx = np.arange(0, ds.n_customers, 7)
    customers = model.resolve_customers(ds.customer_ids.ids(cidx), k=10, now=now, exclude_purchased=False)
    queries = mixed_queries(ds, now)
    for batch, qs in [(customers, [Query(customer_id=c, now=now) for c in ds.customer_ids.ids(cidx)]), (stack_batch(model, queries), queries)]:
        block = model._score(batch)
        assert block.is_sparse  # ranked without a dense rows x items array
        for r, q in enumerate(qs):
            assert np.array_equal(block.row(r), model.score(q), equal_nan=True), q


def test_batch_reasons_equal_single_reasons():
    ds = shop_or_small()
    for model in (ItemKNN(similarity="conditional", k_neighbours=10, half_life_days=60).fit(ds), ItemKNN(k_neighbours=3).fit(ds)):
        queries = mixed_queries(ds, seed=1)
        batch = stack_batch(model, queries)
        block = model._score(batch)
        rows, items = np.nonzero(np.isfinite(block.to_dense()))
        got = explained(model, batch, rows, items, block)
        want = [model.explain(queries[r], ds.item_ids.id(int(i))) for r, i in zip(rows.tolist(), items.tolist(), strict=True)]
        assert got == want
        assert all(isinstance(w, str) for w in want)


def zero_link_shops() -> list[Dataset]:
    """Two shops where "me" reaches item B only through a weight of exactly 0: a view weighted 0,
    and a purchase so old that its decayed weight underflows to 0."""
    t0 = dt.datetime(2020, 1, 1)
    buyers = [(f"c{c}", i, t0, "purchase") for c in range(5) for i in ("A", "B")]
    views = pl.DataFrame([*buyers, ("me", "A", t0, "view"), ("me", "C", t0, "purchase")], schema=["customer_id", "item_id", "ts", "ev"], orient="row")
    late = t0 + dt.timedelta(days=2000)
    old = pl.DataFrame([(c, i, late, e) for c, i, _, e in buyers] + [("me", "A", t0, "purchase")], schema=["customer_id", "item_id", "ts", "ev"], orient="row")
    return [
        Dataset(views, time_col="ts", event_col="ev", event_weights={"view": 0.0, "purchase": 1.0}),
        Dataset(old, time_col="ts"),
    ]


@pytest.mark.parametrize("which", [0, 1])
def test_an_item_reached_through_a_zero_weight_scores_zero_in_every_path(which):
    ds = zero_link_shops()[which]
    model = ItemKNN(similarity="cosine", half_life_days=None if which == 0 else 1.0).fit(ds)
    b = ds.item_ids.get("B")
    assert model.score(customer_id="me")[b] == 0.0  # reachable: a score, not "no opinion"
    one = model.recommend(Query(customer_id="me", k=1, exclude_purchased=True), backfill=False)
    table = model.recommend_many(["me"], k=1, exclude_purchased=True, backfill=False)
    assert one.item_ids == table["item_id"].to_list() == ["B"]
    assert one.scores.tolist() == table["score"].to_list() == [0.0]
    assert one[0].reason == table["reason"][0] == model.explain(Query(customer_id="me"), "B")
    assert "A" in one[0].reason


def test_similar_items():
    ds = shop_or_small()
    model = ItemKNN(similarity="jaccard", k_neighbours=6).fit(ds)
    item = ds.item_ids.to_list()[4]
    recs = model.similar_items(item, k=4)
    row = model.similarity_[[ds.item_ids.get(item)]].toarray()[0]
    order = np.lexsort((np.arange(len(row)), -row))[:4]
    expected = [ds.item_ids.id(int(i)) for i in order if row[i] > 0]
    assert recs.item_ids == expected
    assert item not in recs.item_ids
    assert all(r.reason.startswith("customers who bought") for r in recs)
    assert len(model.similar_items("no-such-item", k=3)) == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"similarity": "pearson"}, "'similarity' parameter of ItemKNN must be one of"),
        ({"k_neighbours": 0}, "'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead."),
        ({"shrinkage": -1}, "'shrinkage'"),
        ({"half_life_days": 0}, "'half_life_days'"),
        ({"bm25_b": 2}, "'bm25_b'"),
        ({"min_co_count": 0}, "'min_co_count'"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ItemKNN(**kwargs).fit(checkerboard(6))


def test_decay_needs_timestamps():
    with pytest.raises(DataError, match="needs timestamps"):
        ItemKNN(half_life_days=30).fit(checkerboard(6))


def test_unsupported_implicit_version_fails_loudly(monkeypatch):
    import implicit

    monkeypatch.setattr(implicit, "__version__", "0.9.0")
    with pytest.raises(RecokitError, match="written for implicit 0.7.x; found implicit 0.9.0"):
        ItemKNN().fit(checkerboard(6))


def test_changed_implicit_api_fails_with_a_recokit_error(monkeypatch):
    import implicit.nearest_neighbours as nn

    class Renamed:
        def __init__(self, neighbours=20):  # a release that renamed K
            pass

    monkeypatch.setattr(nn, "CosineRecommender", Renamed)
    with pytest.raises(RecokitError, match="its API may have changed"):
        ItemKNN().fit(checkerboard(6))


@pytest.mark.parametrize("kind", ["cosine", "bm25"])
def test_thread_count_does_not_change_the_neighbours(kind):
    ds = shop_or_small()
    one = ItemKNN(similarity=kind, k_neighbours=10, num_threads=1).fit(ds).similarity_
    two = ItemKNN(similarity=kind, k_neighbours=10, num_threads=2).fit(ds).similarity_
    assert (one != two).nnz == 0


@pytest.mark.parametrize("exclude_purchased", [False, True])
def test_sparse_batch_ranking_equals_one_by_one(exclude_purchased):
    # few neighbours: each customer scores few items, so recommend_many ranks the sparse
    # batch (packed rows, long rows sorted apart, back-fill) instead of a dense array
    ds = shop_or_small()
    model = ItemKNN(similarity="jaccard", k_neighbours=3).fit(ds)
    customers = [*ds.customer_ids.to_list(), "stranger"]
    from recokit.core.select import DENSE_ABOVE

    block = model._score(model.resolve_customers(ds.customer_ids.to_list(), k=7, now=None, exclude_purchased=False))
    assert block.is_sparse and block.density < DENSE_ABOVE
    table = model.recommend_many(customers, k=7, exclude_purchased=exclude_purchased, batch_size=256)
    for c, rows in table.group_by("customer_id", maintain_order=True):
        one = model.recommend(Query(customer_id=c[0], k=7, exclude_purchased=exclude_purchased))
        assert rows["item_id"].to_list() == one.item_ids
        np.testing.assert_array_equal(rows["score"].to_numpy(), one.scores)
        assert rows["reason"].to_list() == [r.reason for r in one]
    assert table["customer_id"].n_unique() == len(customers)


def _brute_force_reasons(model: ItemKNN, ds: Dataset, queries: list[Query], rows: np.ndarray, items: np.ndarray) -> list:
    """Dense, from scratch: the query item (history + context at weight 1 x the top history
    weight) with the largest weight x similarity towards the item; ties: the smaller index."""
    h = ds.user_items.toarray()
    s = model.similarity_.toarray()
    out = []
    for r, j in zip(rows.tolist(), items.tolist(), strict=True):
        q = queries[r]
        c = ds.customer_ids.get(q.customer_id) if q.customer_id is not None else None
        v = h[c].copy() if c is not None else np.zeros(ds.n_items)
        ctx = [ds.item_ids.get(i) for i in q.items]
        v[ctx] += v.max() if c is not None and v.max() > 0 else 1.0
        contrib = np.where((v > 0) & (s[:, j] > 0), v * s[:, j], -np.inf)
        src = int(np.argmax(contrib))
        if not np.isfinite(contrib.max()):
            out.append(None)
        else:
            out.append(f"customers who bought {src} also bought this" if src in ctx else f"because you bought {src}")
    return out


@pytest.mark.parametrize(
    "k_neighbours, basket, table, direct",
    # in-neighbour walk / dense table / key look-up / the products of a direct product
    [(2, 8, True, False), (12, 2, True, False), (12, 2, False, False), (12, 2, False, True)],
)
@given(data=st.data())
@settings(max_examples=10)
def test_batch_reasons_equal_a_brute_force_argmax(k_neighbours, basket, table, direct, data):
    seed = data.draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    rows = [(c, int(i)) for c in range(30) for i in rng.choice(12, basket, replace=False)]
    ds = Dataset(pl.DataFrame(rows, schema=["customer_id", "item_id"], orient="row"), pl.DataFrame({"item_id": list(range(12))}))
    model = ItemKNN(similarity="cosine", k_neighbours=k_neighbours).fit(ds)
    if not table:  # as a catalogue too big for the dense similarity table
        model.similarity_dense_ = None
    queries = [
        Query(customer_id=int(c) if c < 30 else None, items=[int(i) for i in rng.choice(12, int(rng.integers(0, 3)), replace=False)])
        for c in rng.integers(0, 36, 15)
    ]
    batch = stack_batch(model, queries)
    pairs = rng.integers(0, 15, 40)
    items = rng.integers(0, 12, 40)
    block = model._score(batch)
    if direct:  # as a batch too small for scipy's product scores it (the products kept)
        from recokit.models.itemknn import QueryScores, _direct_product

        block = QueryScores(*_direct_product(block.query, model.similarity_), query=block.query)
        assert block.products is not None
    got = model._explain(batch, pairs, items, block)
    assert got == _brute_force_reasons(model, ds, queries, pairs, items)


@pytest.mark.parametrize("width, k", [(40, 3), (300, 5), (300, 64)])
def test_top_k_per_row_keeps_the_k_largest_ties_to_the_smaller_column(width, k):
    # short rows take the sort, long rows (>= 64 entries on average) the per-row partition
    from recokit.models.itemknn import top_k_per_row

    rng = np.random.default_rng(width + k)
    dense = np.round(rng.uniform(-0.2, 1.0, (25, width)), 1)  # many ties, zeros and negatives
    dense[3] = 0.5  # one row all tied
    dense[4] = 0.0  # one row without a neighbour
    got = top_k_per_row(sp.csr_array(dense), k).toarray()
    want = np.zeros_like(dense)
    for r, row in enumerate(dense):
        cols = [c for c in sorted(range(width), key=lambda c: (-row[c], c)) if row[c] > 0][:k]
        want[r, cols] = row[cols]
    assert np.array_equal(got, want)


def _deduplicated(ds: Dataset) -> Dataset:
    """The same customers and items with each (customer, item) pair once, at its latest time:
    what ``binary=True`` must learn and score as (written with polars, not with recokit's code)."""
    inter = ds.interactions
    keep = ["customer_id", "item_id"] + (["timestamp"] if "timestamp" in inter.columns else [])
    rows = inter.select(keep).sort(keep).unique(["customer_id", "item_id"], keep="last", maintain_order=True)
    return Dataset(rows, ds.catalog, time_col="timestamp" if "timestamp" in keep else None)


@pytest.mark.parametrize("kind", ["cosine", "bm25"])
@given(ds=matrices())
@settings(max_examples=15)
def test_binary_learns_and_scores_as_if_each_pair_were_bought_once(kind, ds):
    once = _deduplicated(ds)
    a = ItemKNN(similarity=kind, binary=True, num_threads=1).fit(ds)
    b = ItemKNN(similarity=kind, num_threads=1).fit(once)
    np.testing.assert_allclose(dense_similarity(a), dense_similarity(b), rtol=1e-12, atol=1e-15)
    for c in ds.customer_ids.to_list()[:5]:
        np.testing.assert_allclose(a.score(Query(customer_id=c)), b.score(Query(customer_id=c)), rtol=1e-12, equal_nan=True)


def test_binary_with_decay_weighs_each_item_by_its_latest_purchase():
    rows = pl.DataFrame(
        {
            "customer_id": ["ann"] * 4 + ["bob", "bob", "cy", "cy"],
            "item_id": ["gel", "gel", "gel", "shoe", "gel", "shoe", "shoe", "sock"],
            "ts": [dt.datetime(2024, 1, d) for d in (1, 2, 20, 25)] + [dt.datetime(2024, 1, 3)] * 4,
        }
    )
    ds = Dataset(rows, time_col="ts")
    a = ItemKNN(binary=True, half_life_days=10).fit(ds)
    b = ItemKNN(half_life_days=10).fit(_deduplicated(ds))
    np.testing.assert_allclose(a.score(Query(customer_id="ann")), b.score(Query(customer_id="ann")), rtol=1e-12, equal_nan=True)
