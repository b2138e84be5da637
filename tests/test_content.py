from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import ConfigError, ContentBased, DataError, Dataset, DataWarning, Query
from recokit.core import explained
from recokit.testing import RecommenderContract


class TestContentBasedContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # from the catalogue's group/category; measured 1.0 on the planted dataset

    def make_model(self):
        return ContentBased()


class TestContentBasedNoDecayContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # from the catalogue's group/category; measured 1.0 on the planted dataset

    def make_model(self):
        return ContentBased(columns={"category": 3.0, "price": 1.0}, text_columns=["description"], half_life_days=None)


def _tables(shop: Dataset):
    inter = shop.interactions.select("customer_id", "item_id", "timestamp")
    return inter, shop.catalog, shop.customers


@pytest.fixture(scope="module")
def model(shop):
    return ContentBased().fit(shop)


# -- the item vectors -----------------------------------------------------------------------
def test_categorical_similarity_is_the_weighted_share_of_equal_values():
    """Independent formula: with one-hot columns only, cos = sum(w_c * [a_c == b_c]) / sum(w_c)."""
    cat = pl.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "category": ["shoe", "shoe", "bike", "shoe"],
            "brand": ["x", "y", "x", "x"],
            "colour": ["red", "red", "red", "blue"],
        }
    )
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), cat)
    w = {"category": 3.0, "brand": 1.0, "colour": 0.5}
    m = ContentBased(columns=w, text_columns=[]).fit(ds)
    rows = cat.to_dicts()
    for ra in rows:
        for rb in rows:
            expected = sum(wc for c, wc in w.items() if ra[c] == rb[c]) / sum(w.values())
            assert m.similarity(ra["item_id"], rb["item_id"]) == pytest.approx(expected, abs=1e-12)


def test_price_bands_overlap_within_the_ratio_and_never_beyond_its_square():
    prices = [10.0, 14.0, 15.0, 22.0, 23.0, 100.0]
    cat = pl.DataFrame({"item_id": [f"p{i}" for i in range(len(prices))], "price": prices})
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["p0"]}), cat)
    m = ContentBased(columns=["price"], text_columns=[], price_band_ratio=1.5).fit(ds)
    for i, pa in enumerate(prices):
        for j, pb in enumerate(prices):
            s = m.similarity(f"p{i}", f"p{j}")
            ratio = max(pa, pb) / min(pa, pb)
            if ratio < 1.5:
                assert s > 0
            if ratio > 1.5**2:
                assert s == 0
            if ratio == 1:
                assert s == pytest.approx(1.0)


def test_column_absent_from_the_catalog_is_named(shop):
    with pytest.raises(DataError, match="no column 'colour'"):
        ContentBased(columns=["category", "colour"]).fit(shop)
    with pytest.raises(DataError, match="no column 'blurb'"):
        ContentBased(text_columns=["blurb"]).fit(shop)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"half_life_days": 0}, "half_life_days"),
        ({"price_band_ratio": 1.0}, "price_band_ratio"),
        ({"max_levels": 0}, "max_levels"),
        ({"columns": "category"}, r"columns=\['category'\]"),
        ({"columns": {"category": -1}}, "must be a number >= 0"),
        ({"declared_mapping": ["declared_sports"]}, "declared_mapping"),
    ],
)
def test_bad_parameters(shop, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ContentBased(**kwargs).fit(shop)


@given(data=st.data())
def test_similarity_is_symmetric_bounded_and_one_on_itself(model, shop, data):
    items = shop.item_ids.to_list()
    a, b = data.draw(st.sampled_from(items)), data.draw(st.sampled_from(items))
    s_ab, s_ba = model.similarity(a, b), model.similarity(b, a)
    assert s_ab == pytest.approx(s_ba, abs=1e-12)
    assert 0.0 <= s_ab <= 1.0
    assert model.similarity(a, a) == pytest.approx(1.0)


def test_vectors_are_sparse_and_unit_length(model, shop):
    x = model.item_vectors_
    assert x.format == "csr" and x.shape[0] == shop.n_items
    assert x.nnz < 0.5 * x.shape[0] * x.shape[1]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[model.has_vector_], 1.0)


# -- alternatives ---------------------------------------------------------------------------
@given(data=st.data())
def test_alternatives_properties(model, shop, data):
    item = data.draw(st.sampled_from(shop.item_ids.to_list()))
    k = data.draw(st.integers(1, 15))
    alts = model.alternatives(item, k=k)
    got = alts.item_ids
    assert item not in got
    assert len(got) <= k and len(set(got)) == len(got)
    assert np.all(np.diff(alts.scores) <= 0)
    rows = shop.catalog.filter(pl.col("item_id").is_in(got))
    own = shop.catalog.filter(pl.col("item_id") == item)
    assert set(rows["category"].to_list()) <= set(own["category"].to_list())
    if "stock" in shop.catalog.columns:
        assert (rows["stock"] > 0).all()
    assert model.alternatives(item, k=k).item_ids == got  # deterministic
    # the in-stock same-category candidates that were left out score no higher than the last one
    cands = shop.catalog.filter((pl.col("category") == own["category"][0]) & (pl.col("item_id") != item))
    if "stock" in cands.columns:
        cands = cands.filter(pl.col("stock") > 0)
    assert len(got) == min(k, cands.height)
    if got:
        left = [model.similarity(item, c) for c in cands["item_id"].to_list() if c not in got]
        assert all(s <= alts.scores[-1] + 1e-12 for s in left)


def test_alternatives_read_fresh_stock_without_refit(model, shop):
    cat = shop.catalog
    item = cat.filter(pl.col("category") == "running_shoes")["item_id"][0]
    before = model.alternatives(item, k=3, in_stock_only=False).item_ids
    keep = before[-1]
    fresh = shop.with_catalog(cat.with_columns(pl.when(pl.col("item_id") == keep).then(5).otherwise(0).alias("stock")))
    assert model.alternatives(item, k=3, dataset=fresh).item_ids == [keep]


def test_alternatives_of_an_unknown_item_are_empty(model):
    assert len(model.alternatives("no-such-item", k=3)) == 0


def test_alternative_reason_names_the_category(model, shop):
    item = shop.catalog.filter(pl.col("category") == "running_shoes")["item_id"][0]
    for r in model.alternatives(item, k=3):
        assert r.reason.startswith("same category: running shoes")


# -- cold start -----------------------------------------------------------------------------
def test_a_new_product_nobody_bought_is_served(shop):
    inter, cat, customers = _tables(shop)
    shoes = cat.filter(pl.col("category") == "running_shoes")
    template = shoes.row(0, named=True)
    new = {**template, "item_id": "NEW-SHOE", "stock": 10}
    if "name" in new:
        new["name"] = "Brand-new running shoe"
    ds = Dataset(inter, pl.concat([cat, pl.DataFrame([new], schema=cat.schema)]), customers, time_col="timestamp")
    assert ds.item_counts()[ds.item_ids.get("NEW-SHOE")] == 0
    m = ContentBased().fit(ds)
    assert "NEW-SHOE" in m.alternatives(template["item_id"], k=1).item_ids
    # a customer whose only purchase was that shoe model is offered the new one
    buyer = inter.filter(pl.col("item_id") == template["item_id"])["customer_id"][0]
    scores = m.score(Query(customer_id=buyer))
    new_score = scores[ds.item_ids.get("NEW-SHOE")]
    assert np.isfinite(new_score) and new_score > np.nanmedian(scores)
    recs = m.recommend(Query(items=[template["item_id"]], k=1))
    assert recs.item_ids == ["NEW-SHOE"]


def test_declared_data_customer_without_purchases_is_served(shop):
    inter, cat, customers = _tables(shop)
    assert customers is not None and "declared_sports" in customers.columns
    newcomer = {c: None for c in customers.columns} | {"customer_id": "NEWCOMER", "declared_sports": "Running, chess"}
    ds = Dataset(inter, cat, pl.concat([customers, pl.DataFrame([newcomer], schema=customers.schema)]), time_col="timestamp")
    m = ContentBased().fit(ds)
    assert "declared_sports" in m.declared_columns_
    recs = m.recommend(Query(customer_id="NEWCOMER", k=5), backfill=False)
    assert len(recs) == 5
    sports = ds.catalog.filter(pl.col("item_id").is_in(recs.item_ids))["sport"].to_list()
    assert set(sports) == {"running"}
    assert all(r.reason == "matches your declared sport: running" for r in recs)
    # the mapping can be switched off: then the newcomer gets no opinion at all
    off = ContentBased(declared_mapping={}).fit(ds)
    assert np.isnan(off.score(Query(customer_id="NEWCOMER"))).all()


def test_declared_mapping_errors_name_the_columns(shop):
    with pytest.raises(DataError, match="no column 'hobbies'"):
        ContentBased(declared_mapping={"hobbies": "sport"}).fit(shop)
    with pytest.raises(ConfigError, match="'price', which is not a categorical"):
        ContentBased(declared_mapping={"declared_sports": "price"}).fit(shop)


# -- profiles -------------------------------------------------------------------------------
def _mini():
    cat = pl.DataFrame(
        {
            "item_id": ["shoe1", "shoe2", "bike1", "bike2", "bare"],
            "category": ["shoe", "shoe", "bike", "bike", None],
            "price": [100.0, 110.0, 100.0 * 1.5**6, 110.0 * 1.5**6, None],  # bikes: shoes x 6 price bands
        }
    )
    inter = pl.DataFrame(
        {
            "customer_id": ["ann", "ann", "bob"],
            "item_id": ["bike1", "shoe1", "bike1"],
            "ts": [dt.datetime(2022, 1, 1), dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1)],
        }
    )
    return Dataset(inter, cat, time_col="ts")


def test_recent_purchases_count_more():
    ds = _mini()
    recent = ContentBased(half_life_days=60, text_columns=[]).fit(ds).score(Query(customer_id="ann"))
    flat = ContentBased(half_life_days=None, text_columns=[]).fit(ds).score(Query(customer_id="ann"))
    i = ds.item_ids.get
    assert recent[i("shoe2")] > recent[i("bike2")]  # the shoe (2024) outweighs the bike (2022)
    assert flat[i("shoe2")] == pytest.approx(flat[i("bike2")])  # without decay: the same
    assert math.isnan(recent[i("bare")])  # no attribute: no opinion


def test_no_profile_means_no_opinion_and_context_items_make_one():
    ds = _mini()
    m = ContentBased(text_columns=[]).fit(ds)
    assert np.isnan(m.score(Query())).all()
    assert np.isnan(m.score(Query(customer_id="stranger"))).all()
    s = m.score(Query(items=["bike2"]))
    i = ds.item_ids.get
    assert s[i("bike1")] > 0
    assert math.isnan(s[i("shoe1")])  # shares no attribute with bike2: no opinion, not a 0
    reason = m.explain(Query(items=["bike2"]), "bike1")
    assert reason.startswith("like bike2: same category: bike")


def test_explain_names_the_purchase_that_matched():
    ds = _mini()
    m = ContentBased(text_columns=[], half_life_days=None).fit(ds)
    assert m.explain(Query(customer_id="bob"), "bike2") == "similar to your bike1: same category: bike; similar price"


def test_a_product_bought_many_times_counts_once():
    ds0 = _mini()
    inter = pl.DataFrame(
        {
            "customer_id": ["ann"] * 4,
            "item_id": ["shoe1", "shoe1", "shoe1", "bike1"],
            "ts": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 3)],
        }
    )
    ds = Dataset(inter, ds0.catalog, time_col="ts")
    s = ContentBased(text_columns=[], half_life_days=None).fit(ds).score(Query(customer_id="ann"))
    assert s[ds.item_ids.get("shoe2")] == pytest.approx(s[ds.item_ids.get("bike2")])


def test_the_documentation_examples_run():
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "models" / "content.md"
    result = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 10


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=12))
def test_ranges_equals_concatenated_aranges(spans):
    from recokit.data import ragged_ranges as _ranges

    starts = np.array([a for a, _ in spans], dtype=np.int64)
    stops = starts + np.array([n for _, n in spans], dtype=np.int64)
    expected = [i for a, b in zip(starts.tolist(), stops.tolist(), strict=True) for i in range(a, b)]
    assert _ranges(starts, stops).tolist() == expected


@pytest.mark.parametrize("declared", ["cycling; RUNNING", ["running", "cycling", "chess"]])
def test_declared_values_split_and_match_case_insensitively(declared):
    cat = pl.DataFrame(
        {"item_id": ["shoe", "bike", "tent"], "sport": ["running", "cycling", "hiking"], "category": ["shoes", "bikes", "tents"]}
    )
    inter = pl.DataFrame({"customer_id": ["buyer"], "item_id": ["tent"]})
    customers = pl.DataFrame({"customer_id": ["buyer", "newbie"], "declared_sports": [declared, declared]})
    m = ContentBased(columns=["sport", "category"], text_columns=[]).fit(Dataset(inter, cat, customers))
    s = m.score(Query(customer_id="newbie"))
    assert s[0] > 0 and s[1] > 0 and np.isnan(s[2])  # running and cycling; hiking shares nothing: no opinion
    assert m.explain(Query(customer_id="newbie"), "shoe") == "matches your declared sport: running"
    # a customer with purchases is profiled from them, not from the declaration
    b = m.score(Query(customer_id="buyer"))
    assert b[2] == pytest.approx(1.0) and np.isnan(b[0])


def test_only_purchases_up_to_now_count():
    ds = _mini()
    m = ContentBased(text_columns=[]).fit(ds)
    then = dt.datetime(2023, 1, 1)  # ann had only bought bike1 (2022); bob nothing yet (2024)
    s = m.score(Query(customer_id="ann", now=then))
    i = ds.item_ids.get
    assert s[i("bike2")] > 0 and np.isnan(s[i("shoe2")])  # shares nothing with bike1: no opinion
    assert np.isnan(m.score(Query(customer_id="bob", now=then))).all()
    assert m.explain(Query(customer_id="ann", now=then), "shoe2") is None  # no opinion, so no reason


# -- the batch hooks ------------------------------------------------------------------------
def _stacked(model, queries):
    """One Batch holding the rows of several single-request batches (all with the same now/k)."""
    import scipy.sparse as sp

    from recokit.core import Batch

    parts = [model.resolve(q) for q in queries]
    return Batch(
        customer_ids=tuple(c for b in parts for c in b.customer_ids),
        customer_idx=np.concatenate([b.customer_idx for b in parts]),
        found_idx=np.concatenate([b.found_idx for b in parts]),
        context=sp.csr_array(sp.vstack([b.context for b in parts], format="csr")),
        exclude=sp.csr_array(sp.vstack([b.exclude for b in parts], format="csr")),
        now=parts[0].now,
        k=parts[0].k,
        unknown_items=tuple(u for b in parts for u in b.unknown_items),
    )


def _mixed_queries(ds: Dataset, now=None):
    """Customer-only, context-only, customer + context, anonymous, unknown and declared-only rows, interleaved."""
    customers = ds.customer_ids.to_list()
    items = ds.item_ids.to_list()
    qs = []
    for n, c in enumerate(customers[:: max(1, len(customers) // 12)]):
        cart = [items[(7 * n) % len(items)], items[(13 * n + 5) % len(items)]]
        qs += [Query(customer_id=c, now=now), Query(items=cart[:1], now=now), Query(customer_id=c, items=cart, now=now)]
        qs += [Query(now=now), Query(customer_id="stranger", items=["no-such-item"], now=now)]
    return qs + [Query(customer_id=c, now=now) for c in customers if str(c).startswith("NEW")]


def _with_newcomers(shop: Dataset) -> Dataset:
    """The shop plus customers who declared sports but bought nothing."""
    inter, cat, customers = _tables(shop)
    extra = [
        {c: None for c in customers.columns} | {"customer_id": f"NEW{i}", "declared_sports": s}
        for i, s in enumerate(["Running, chess", "cycling;hiking", "chess"])
    ]
    return Dataset(inter, cat, pl.concat([customers, pl.DataFrame(extra, schema=customers.schema)]), time_col="timestamp")


@pytest.mark.parametrize("months_back", [0, 6])
def test_a_mixed_batch_scores_and_explains_like_one_request_at_a_time(shop, months_back, monkeypatch):
    """Every kind of row in one batch: the block's rows and the reasons equal the single-request answers."""
    import recokit.models.content as content

    ds = _with_newcomers(shop)
    model = ContentBased(half_life_days=60).fit(ds)
    now = ds.last_time - dt.timedelta(days=30 * months_back) if months_back else None
    queries = _mixed_queries(ds, now)
    batch = _stacked(model, queries)
    block = model._score(batch)
    assert block.shape == (len(queries), ds.n_items)
    for r, q in enumerate(queries):
        assert np.array_equal(block.row(r), model.score(q), equal_nan=True), q
    # reasons of a few scored items per row, asked all at once (tiny chunks: many rounds)
    rows, items = [], []
    for r in range(len(queries)):
        scored = np.flatnonzero(np.isfinite(block.row(r)))
        rows += [r] * len(scored[::17]) + [r] * min(1, len(scored))
        items += scored[::17].tolist() + scored[-1:].tolist()
    rows_a, items_a = np.array(rows, dtype=np.int64), np.array(items, dtype=np.int64)
    assert len(rows_a) > 50
    monkeypatch.setattr(content, "_PAIR_CHUNK", 7)
    small_chunks = model._explain(batch, rows_a, items_a, block)
    monkeypatch.undo()
    reasons = model._explain(batch, rows_a, items_a, block)
    assert small_chunks == reasons
    reasons = explained(model, batch, rows_a, items_a, block)  # what a shopper is shown (re-purchases worded as such)
    expected = [model.explain(queries[r], ds.item_ids.id(i)) for r, i in zip(rows, items, strict=True)]
    assert reasons == expected
    assert all(isinstance(x, str) and x for x in reasons)
    kinds = {x.split(" ")[0] for x in reasons}
    assert {"like", "similar", "matches"} <= kinds  # context, history and declared rows were all explained


def test_the_purchase_named_is_the_one_that_weighs_most(shop):
    """Independent check: without decay a purchase weighs (its largest weight) x (its similarity to
    the suggestion); the reason names a purchase of maximal weight, or says it was bought."""
    import re

    model = ContentBased(half_life_days=None).fit(shop)
    checked = 0
    for c in shop.customer_ids.to_list()[::40]:
        bought = shop.history(c).group_by("item_id").agg(pl.col("weight").max())
        w = dict(zip(bought["item_id"].to_list(), bought["weight"].to_list(), strict=True))
        for rec in model.recommend(Query(customer_id=c, k=8), backfill=False):
            best = max(w[b] * model.similarity(b, rec.item_id) for b in w)
            if rec.item_id in w:  # bought: told as a re-purchase, never "similar to" another purchase
                assert rec.reason.startswith("buy again: you bought this ")
            else:
                named = re.match(r"^similar to your .*\((P\d+)\)", rec.reason)
                assert named is not None, rec.reason
                j = named.group(1)
                assert j in w and w[j] * model.similarity(j, rec.item_id) == pytest.approx(best, abs=1e-9)
            checked += 1
    assert checked > 50


def test_context_items_take_precedence_over_the_history(shop):
    """Documented order: a known customer with context items is profiled from the context alone."""
    model = ContentBased().fit(shop)
    items = shop.item_ids.to_list()
    for n, c in enumerate(shop.customer_ids.to_list()[::60]):
        cart = [items[(11 * n) % len(items)], items[(3 * n + 1) % len(items)]]
        with_customer, anonymous = Query(customer_id=c, items=cart, k=6), Query(items=cart, k=6)
        assert np.array_equal(model.score(with_customer), model.score(anonymous), equal_nan=True)
        assert not np.array_equal(model.score(Query(customer_id=c)), model.score(anonymous), equal_nan=True)
        got, want = model.recommend(with_customer), model.recommend(anonymous)
        assert [r.item_id for r in got] == [r.item_id for r in want]
        # the same reasons, but what the customer bought is told as a re-purchase
        owned = set(shop.history(c)["item_id"].to_list())
        for g, w in zip(got, want, strict=True):
            assert g.reason.startswith("buy again: you bought this ") if g.item_id in owned else g.reason == w.reason


# -- high-cardinality categories: folded, not dropped (issue 12, "no silent degradation") ---------
def _wide_catalogue(n_family: int = 120) -> tuple[Dataset, pl.DataFrame]:
    """300 products; 'family' has n_family singleton-ish values on the first 240 products and one
    big value on the last 60, so the big value is the most frequent."""
    n = 300
    fam = [f"f{j % n_family:03d}" if j < 240 else "big" for j in range(n)]
    cat = pl.DataFrame({"item_id": [f"i{j:03d}" for j in range(n)], "category": [f"c{j % 10}" for j in range(n)], "family": fam})
    inter = pl.DataFrame({"customer_id": [j % 40 for j in range(600)], "item_id": [f"i{(7 * j) % n:03d}" for j in range(600)]})
    return Dataset(inter, cat), cat


def test_a_category_column_with_many_values_is_folded_with_a_warning_not_dropped():
    shop, cat = _wide_catalogue()
    counts = cat["family"].value_counts()
    n_values = counts.height
    # independent count: the 50 most frequent values (ties by name) are kept, the others folded
    ranked = sorted(zip(counts["count"].to_list(), counts["family"].to_list(), strict=True), key=lambda cv: (-cv[0], cv[1]))
    kept = {v for _, v in ranked[:50]}
    n_folded_products = sum(1 for v in cat["family"].to_list() if v not in kept)
    with pytest.warns(DataWarning, match=rf"'family': {n_values} values, the {n_values - 50} rarest \(on {n_folded_products} products\) folded into 'other'"):
        model = ContentBased().fit(shop)
    assert model.folded_ == {"family": (n_values - 50, n_folded_products)}
    assert "family" in model.attribute_columns_  # used, not dropped
    assert {f for f in model.feature_names_ if f.startswith("family=")} == {f"family={v}" for v in kept}
    # known answers (category weight 2, family weight 1, cosine): a kept family is an attribute...
    assert "f000" in kept and "f010" in kept and "f049" not in kept
    assert model.similarity("i000", "i120") == pytest.approx(1.0)  # same category, same family f000
    assert model.similarity("i000", "i010") == pytest.approx(2 / 3)  # same category, families f000 / f010
    # ... and a folded one is no attribute at all: not a shared "other" (which would give 2/3 here)
    assert model.similarity("i049", "i249") == pytest.approx(math.sqrt(2 / 3))  # f049 (folded) / big, category c9
    assert model.similarity("i049", "i169") == pytest.approx(1.0)  # both f049, folded: the category only
    rare = [i for i, v in zip(cat["item_id"], cat["family"], strict=True) if v not in kept]
    reasons = [r.reason for r in model.similar_items(rare[0], k=5)]
    assert not any("same family" in (r or "") for r in reasons), reasons


def test_fewer_values_or_named_columns_or_the_category_column_are_not_folded():
    shop, _ = _wide_catalogue(n_family=40)
    model = ContentBased().fit(shop)  # 41 values <= max_levels: no warning (warnings are errors here)
    assert model.folded_ == {}
    wide, _ = _wide_catalogue()
    assert ContentBased(columns=["family", "category"]).fit(wide).folded_ == {}
    assert ContentBased(category_column="family").fit(wide).folded_ == {}
    assert len([f for f in ContentBased(max_levels=200).fit(wide).feature_names_ if f.startswith("family=")]) == 121


def test_a_catalogue_without_attributes_is_a_model_that_learnt_nothing_and_says_so():
    shop = Dataset(pl.DataFrame({"customer_id": [1, 1, 2], "item_id": ["a", "b", "a"]}))  # no catalogue
    with pytest.warns(DataWarning, match=r"ContentBased learnt nothing: the catalogue has no usable attribute \(columns \[\]\), so all 2 products are NaN"):
        model = ContentBased().fit(shop)
    assert np.isnan(model.score(Query(customer_id=1))).all()


def test_items_sharing_nothing_are_left_to_back_fill():
    """Only items with an attribute in common get ContentBased's opinion; the rest of the list is
    the back-fill (best sellers), with its own reason -- not zeros ranked in catalogue order."""
    ds = _mini()
    m = ContentBased(text_columns=[]).fit(ds)
    s = m.score(Query(items=["bike2"]))
    scored = {ds.item_ids.id(i) for i in np.flatnonzero(np.isfinite(s))}
    recs = m.recommend(Query(items=["bike2"], k=ds.n_items))
    model_part = [r.item_id for r in recs if r.item_id in scored]
    assert [r.item_id for r in recs][: len(model_part)] == model_part  # the model's items first
    rest = [r for r in recs if r.item_id not in scored]
    assert rest and all(math.isnan(r.score) for r in rest)
    assert all(not r.reason.startswith(("like", "unlike")) for r in rest)
