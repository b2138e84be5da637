"""Business rules: loading errors, hard rules never violated, boosts, pins, consent, audit.

Hard-rule checks are made by an independent checker written here over the raw frames (polars
filters and plain Python), not by the code under test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import (
    ConfigError,
    Dataset,
    NotFittedError,
    Popularity,
    Query,
    Recommender,
    RuleError,
    ScoreBlock,
)
from recokit.cli import main
from recokit.rules import (
    Boost,
    Bury,
    ExcludeOwned,
    Filter,
    MaxPerGroup,
    OnePerGroup,
    Pin,
    RequireConsent,
    Ruled,
    RuleSet,
    load_rules,
    parse_rules,
)
from recokit.testing import RecommenderContract, planted

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "sports_shop_rules.toml"
CHILD_BIKE = "category = 'bike' AND age_group = 'child'"
START = dt.datetime(2024, 1, 1)
CATEGORIES = ["bike", "helmet", "tent", "shoes", "bars"]


# ------------------------------------------------------------------------------------------
# small hand-made sports shops (same columns as recokit.datasets.sports_shop)
# ------------------------------------------------------------------------------------------
def make_catalog(rng: np.random.Generator, n_items: int) -> pl.DataFrame:
    cat = rng.choice(CATEGORIES, n_items).tolist()
    cat[:2] = ["bike", "bike"]  # at least two bikes
    age = rng.choice(["adult", "child"], n_items).tolist()
    age[:2] = ["child", "child"]  # ... and two child bikes
    return pl.DataFrame(
        {
            "item_id": [f"P{i:04d}" for i in range(n_items)],
            "name": [f"{c} {i}" for i, c in enumerate(cat)],
            "sport": rng.choice(["cycling", "running", "hiking"], n_items).tolist(),
            "category": cat,
            "brand": rng.choice(["Alp", "Bo", "Cy"], n_items).tolist(),
            "price": rng.integers(5, 900, n_items).astype(float),
            "stock": rng.integers(0, 4, n_items),
            "age_group": age,
            "consumable": [c == "bars" for c in cat],
            "eco_label": rng.random(n_items) < 0.3,
            "description": ["a product"] * n_items,
        }
    )


def make_shop(seed: int = 0, n_items: int = 24, n_customers: int = 12, n_rows: int = 70) -> Dataset:
    rng = np.random.default_rng(seed)
    catalog = make_catalog(rng, n_items)
    ids = catalog["item_id"].to_list()
    customers = [f"C{c:03d}" for c in range(n_customers)]
    inter = pl.DataFrame(
        {
            "customer_id": rng.choice(customers, n_rows).tolist(),
            "item_id": rng.choice(ids, n_rows).tolist(),
            "ts": [START + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, n_rows)],
        }
    )
    cust = pl.DataFrame(
        {
            "customer_id": customers,
            "declared_sports": ["cycling"] * n_customers,
            "level": ["beginner"] * n_customers,
            "consent_personalization": (rng.random(n_customers) < 0.6).tolist(),
            "consent_email": [True] * n_customers,
        }
    )
    return Dataset(inter, catalog, cust, time_col="ts")


class Fixed(Recommender):
    """A test double: the same given scores for every request."""

    def __init__(self, *, scores=None) -> None:
        self.scores = scores

    def _fit(self, dataset):
        self.scores_ = np.asarray(self.scores, dtype=np.float64)

    def _score(self, batch):
        return ScoreBlock.dense(np.tile(self.scores_, (batch.n, 1)))

    def _explain(self, batch, rows, items, block):
        return ["fixed score" if np.isfinite(self.scores_[i]) else None for i in items]


@pytest.fixture(scope="module")
def small():
    return make_shop(3, n_items=30, n_customers=20, n_rows=120)


# ------------------------------------------------------------------------------------------
# an independent checker of the hard rules
# ------------------------------------------------------------------------------------------
def independent_violations(ds: Dataset, q: Query, items: list, *, stock=True, owned=None, child_within=None, child=False, cap=None):
    """Return the list of (item, reason) a list breaks, computed from the frames directly."""
    cat = {r["item_id"]: r for r in ds.catalog.iter_rows(named=True)}
    now = q.now or ds.last_time
    hist = ds.history(q.customer_id).filter(pl.col("timestamp") <= pl.lit(dt.datetime(9999, 1, 1))) if q.customer_id is not None else None
    bought = [] if hist is None else list(zip(hist["item_id"].to_list(), hist["timestamp"].to_list(), strict=True))
    is_child_bike = {i: (r["category"] == "bike" and r["age_group"] == "child") for i, r in cat.items()}
    bad = []
    if child:
        recent = [i for i, t in bought if is_child_bike[i] and (child_within is None or (now - t) <= dt.timedelta(days=child_within))]
        in_cart = [i for i in q.items if i in cat and is_child_bike[i]]
        triggered = bool(recent or in_cart)
    seen_child = 0
    per_cat: dict[str, int] = {}
    for i in items:
        r = cat[i]
        if stock and not (r["stock"] is not None and r["stock"] > 0):
            bad.append((i, "stock"))
        if owned is not None and not r["consumable"]:
            times = [t for j, t in bought if j == i]
            if times and (owned == "ever" or (now - max(times)) < dt.timedelta(days=owned)):
                bad.append((i, "owned"))
        if child and is_child_bike[i]:
            seen_child += 1
            if triggered or seen_child > 1:
                bad.append((i, "child"))
        if cap is not None:
            per_cat[r["category"]] = per_cat.get(r["category"], 0) + 1
            if per_cat[r["category"]] > cap:
                bad.append((i, "cap"))
    return bad


def hard_rules(cap=2, renew=180, within=None):
    return [
        Filter("stock > 0", name="stock"),
        ExcludeOwned(unless="consumable", renew_after=renew, name="owned"),
        OnePerGroup(CHILD_BIKE, within=within, name="child"),
        MaxPerGroup("category", cap, name="cap"),
    ]


# ------------------------------------------------------------------------------------------
# contract: Ruled is a Recommender like any other
# ------------------------------------------------------------------------------------------
class TestRuledContract(RecommenderContract):
    learns_from = None
    learns_why_not = "Ruled(Popularity()): business rules over the best sellers, one list for everyone"

    def make_planted(self):
        p = planted()
        ds = p.dataset
        return replace(p, dataset=ds.with_catalog(ds.catalog.with_columns(eco_label=pl.Series([i % 2 == 0 for i in range(ds.n_items)]))))
    def make_dataset(self):
        return make_shop(1, n_items=40, n_customers=30, n_rows=200)

    def make_model(self):
        return Ruled(Popularity(), [Boost("eco_label", 1.5, name="eco up 50%"), Bury("price > 500", 0.5, name="pricey down")])


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
@given(
    seed=st.integers(0, 10_000),
    n_items=st.integers(4, 30),
    k=st.integers(1, 35),
    cap=st.integers(1, 3),
    renew=st.sampled_from([None, 30, 180]),
    within=st.sampled_from([None, 60, 365]),
    cart_size=st.integers(0, 3),
    who=st.integers(0, 12),
    scorer=st.sampled_from(["popularity", "random"]),
)
def test_no_recommendation_ever_violates_a_hard_rule(seed, n_items, k, cap, renew, within, cart_size, who, scorer):
    ds = make_shop(seed, n_items=n_items)
    rng = np.random.default_rng(seed + 1)
    if scorer == "popularity":
        inner = Popularity()
    else:  # any order, negative scores, and no opinion on some items (back-fill)
        scores = rng.normal(size=n_items)
        scores[rng.random(n_items) < 0.3] = np.nan
        inner = Fixed(scores=scores)
    model = Ruled(inner, [*hard_rules(cap=cap, renew=renew, within=within), Boost("eco_label", 3.0, name="eco")]).fit(ds)
    items = ds.item_ids.to_list()
    cart = rng.choice(items, cart_size).tolist()
    customer = ds.customer_ids.to_list()[who] if who < ds.n_customers else None
    q = Query(customer_id=customer, items=cart, k=k)
    got = model.recommend(q).item_ids
    owned = "ever" if renew is None else renew
    assert independent_violations(ds, q, got, owned=owned, child=True, child_within=within, cap=cap) == []
    assert model.violations(q, got) == []
    assert len(set(got)) == len(got) and not set(got) & set(cart)
    # back-fill: the list is as long as the rules allow. The limits are nested (child bikes within
    # bikes), so the greedy fill reaches the maximum: per category min(cap, allowed).
    allowed = [i for i in items if i not in cart and not independent_violations(ds, q, [i], owned=owned, child=True, child_within=within)]
    cat = dict(zip(ds.catalog["item_id"], ds.catalog["category"], strict=True))
    child = {i for i in allowed if cat[i] == "bike" and ds.catalog.filter(pl.col("item_id") == i)["age_group"][0] == "child"}
    best = 0
    for c in set(cat.values()):
        members = [i for i in allowed if cat[i] == c]
        if c == "bike":
            best += min(cap, len([i for i in members if i not in child]) + min(1, len(child)))
        else:
            best += min(cap, len(members))
    assert len(got) == min(k, best)


@given(seed=st.integers(0, 10_000), n_items=st.integers(3, 30), who=st.integers(0, 12), k=st.integers(1, 40))
def test_violations_agrees_with_an_independent_checker(seed, n_items, who, k):
    ds = make_shop(seed, n_items=n_items)
    rs = RuleSet(hard_rules(cap=1, renew=90, within=200)).fit(ds)
    rng = np.random.default_rng(seed)
    lst = rng.permutation(ds.item_ids.to_list())[: min(k, n_items)].tolist()
    customer = ds.customer_ids.to_list()[who] if who < ds.n_customers else None
    cart = rng.choice(ds.item_ids.to_list(), 1).tolist()
    q = Query(customer_id=customer, items=cart)
    expected = independent_violations(ds, q, lst, owned=90, child=True, child_within=200, cap=1)
    assert sorted(rs.violations(q, lst)) == sorted(expected)


@given(seed=st.integers(0, 10_000), n_items=st.integers(3, 30), who=st.integers(0, 11), keep=st.sampled_from(["stock > 0", "price < 300", "eco_label", "category <> 'tent' AND stock >= 2"]))
def test_a_filter_never_adds_items_and_is_idempotent(seed, n_items, who, keep):
    ds = make_shop(seed, n_items=n_items)
    q = Query(customer_id=ds.customer_ids.to_list()[who], k=n_items)
    plain = Popularity().fit(ds).recommend(q, backfill=False).item_ids
    once = Ruled(Popularity(), [Filter(keep, name="f")]).fit(ds)
    twice = Ruled(Popularity(), [Filter(keep, name="f"), Filter(keep, name="f again")]).fit(ds)
    got = once.recommend(q, backfill=False).item_ids
    assert set(got) <= set(plain)
    kept = set(ds.catalog.filter(pl.sql_expr(keep).fill_null(False))["item_id"].to_list())
    assert set(got) == set(plain) & kept  # k = catalogue size: nothing is cut
    assert twice.recommend(q, backfill=False).item_ids == got
    assert once.recommend(q).item_ids[: len(got)] == got  # back-fill only appends


@given(seed=st.integers(0, 10_000), n_items=st.integers(3, 30), factor=st.floats(1.01, 50), bury=st.floats(0.01, 0.99), neg=st.booleans())
def test_boosts_change_the_order_never_the_set(seed, n_items, factor, bury, neg):
    """Precisely: with k >= the catalogue size (no truncation) and no list limits, adding boosts
    and buries to a rule set leaves the recommended set unchanged; items with the same boost status
    keep their relative order. Scores may be negative (the test double), boosts still move up."""
    ds = make_shop(seed, n_items=n_items)
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n_items) * (1 if not neg else -1) * 10
    scores[rng.random(n_items) < 0.2] = np.nan
    base = [Filter("stock > 0", name="stock"), ExcludeOwned(name="owned")]
    soft = [Boost("eco_label", factor, name="eco"), Bury("price > 400", bury, name="pricey")]
    q = Query(customer_id=ds.customer_ids.to_list()[0], k=n_items + 1)
    a = Ruled(Fixed(scores=scores), base).fit(ds).recommend(q, backfill=False)
    b = Ruled(Fixed(scores=scores), base + soft).fit(ds).recommend(q, backfill=False)
    assert set(a.item_ids) == set(b.item_ids)
    cat = ds.catalog
    status = {i: (e, p > 400) for i, e, p in zip(cat["item_id"], cat["eco_label"], cat["price"], strict=True)}
    for s in set(status.values()):
        assert [i for i in a.item_ids if status[i] == s] == [i for i in b.item_ids if status[i] == s]
    # a boosted item never ends below an item it was above
    pos_a = {i: n for n, i in enumerate(a.item_ids)}
    pos_b = {i: n for n, i in enumerate(b.item_ids)}
    for x in a.item_ids:
        for y in a.item_ids:
            if status[x] == (True, False) and status[y] == (False, False) and pos_a[x] < pos_a[y]:
                assert pos_b[x] < pos_b[y]


@given(
    purchases=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 11), st.integers(0, 500)), min_size=1, max_size=40),
    within=st.sampled_from([None, 90, 365]),
    cart=st.lists(st.integers(0, 11), max_size=2),
    split=st.integers(0, 40),
)
def test_the_child_bike_rule_holds_after_any_sequence_of_purchases(purchases, within, cart, split):
    rng = np.random.default_rng(0)
    catalog = make_catalog(rng, 12).with_columns(stock=pl.lit(5))
    ids = catalog["item_id"].to_list()

    def dataset(rows):
        frame = pl.DataFrame(
            {"customer_id": [f"C{c}" for c, _, _ in rows], "item_id": [ids[i] for _, i, _ in rows], "ts": [START + dt.timedelta(days=d) for _, _, d in rows]},
            schema={"customer_id": pl.String, "item_id": pl.String, "ts": pl.Datetime("us")},
        )
        return Dataset(frame, catalog, time_col="ts")

    full = dataset(purchases)
    rule = OnePerGroup(CHILD_BIKE, within=within, name="no second child bike")
    fresh = Ruled(Popularity(), [rule]).fit(full)
    # the model fitted on the first purchases only, the rules refreshed with all of them
    first = purchases[: max(1, min(split, len(purchases)))]
    stale = Ruled(Popularity(), [rule]).fit(dataset(first))
    stale_scores = stale.model_.popularity_.copy()
    stale.refresh(full)  # new purchases (and new customers) reach the rules at once
    assert np.array_equal(stale.model_.popularity_, stale_scores)  # no refit
    models = [fresh, stale]
    now = full.last_time
    for c in sorted({f"C{c}" for c, _, _ in purchases}):
        q = Query(customer_id=c, items=[ids[i] for i in cart], k=12, now=now)
        for model in models:
            got = model.recommend(q).item_ids
            assert independent_violations(full, q, got, stock=False, child=True, child_within=within) == []


# ------------------------------------------------------------------------------------------
# examples
# ------------------------------------------------------------------------------------------
def test_owned_durables_come_back_after_the_renewal_period():
    catalog = pl.DataFrame({"item_id": ["shoes", "bars", "tent"], "consumable": [False, True, False]})
    frame = pl.DataFrame(
        {"customer_id": ["ann", "ann", "ann", "bob", "bob", "bob"], "item_id": ["shoes", "bars", "tent", "shoes", "bars", "tent"],
         "ts": ["2024-01-01", "2024-06-01", "2024-06-01", "2024-06-01", "2024-06-01", "2024-06-01"]}
    )
    ds = Dataset(frame, catalog, time_col="ts")
    model = Ruled(Popularity(), [ExcludeOwned(unless="consumable", renew_after=180, name="durables")]).fit(ds)
    q = Query(customer_id="ann", k=3, now=dt.datetime(2024, 7, 15))
    # shoes bought 196 days ago: back; tent 44 days ago: not; bars are consumable: always
    assert set(model.recommend(q).item_ids) == {"shoes", "bars"}
    assert model.why_not(q, "tent") == "removed by rule 'durables' (exclude_owned): the customer bought it on 2024-06-01"
    forever = Ruled(Popularity(), [ExcludeOwned(unless="consumable", name="durables")]).fit(ds)
    assert forever.recommend(q).item_ids == ["bars"]


def test_boost_moves_negative_scores_up_and_leaves_nan_alone():
    catalog = pl.DataFrame({"item_id": ["a", "b", "c"], "eco": [True, False, True]})
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), catalog)
    model = Ruled(Fixed(scores=[-1.0, -1.1, np.nan]), [Boost("eco", 2.0, name="eco x2")]).fit(ds)
    np.testing.assert_allclose(model.score(Query()), [-0.5, -1.1, np.nan])
    recs = model.recommend(Query(k=3))
    assert recs.item_ids == ["a", "b", "c"]
    assert [r.rules for r in recs] == [("boost:eco x2",), (), ()]  # c: back-filled, the boost did nothing
    buried = Ruled(Fixed(scores=[-1.0, -1.1, 2.0]), [Bury("eco", 0.5, name="eco down")]).fit(ds)
    np.testing.assert_allclose(buried.score(Query()), [-2.0, -1.1, 1.0])


def test_pins_take_their_position_but_obey_hard_rules(small):
    items = small.catalog.sort("item_id")
    in_stock = items.filter(pl.col("stock") > 0)["item_id"].to_list()
    out_of_stock = items.filter(pl.col("stock") == 0)["item_id"].to_list()
    rules = [Filter("stock > 0", name="in stock"), Pin([out_of_stock[0], in_stock[-1]], position=2, name="promo")]
    model = Ruled(Popularity(), rules).fit(small)
    recs = model.recommend(Query(k=5))
    assert recs.item_ids[1] == in_stock[-1]
    assert recs[1].rules == ("pin:promo",)
    assert out_of_stock[0] not in recs.item_ids
    assert model.why_not(Query(k=5), out_of_stock[0]) == "removed by rule 'in stock' (filter): it does not satisfy stock > 0"
    assert model.why_not(Query(k=5), in_stock[-1]) == "recommended at rank 2 (pinned by rule 'promo')"
    assert len(recs) == 5 and len(set(recs.item_ids)) == 5


def test_max_per_group_and_its_audit(small):
    model = Ruled(Popularity(), [MaxPerGroup("category", 1, name="one per category")]).fit(small)
    recs = model.recommend(Query(k=10))
    cats = small.catalog.filter(pl.col("item_id").is_in(recs.item_ids))["category"].to_list()
    assert len(cats) == len(set(cats)) == min(10, small.catalog["category"].n_unique())
    plain = Popularity().fit(small).recommend(Query(k=30)).item_ids
    skipped = next(i for i in plain if i not in recs.item_ids)
    cat = small.catalog.filter(pl.col("item_id") == skipped)["category"][0]
    assert model.why_not(Query(k=10), skipped) == f"removed by rule 'one per category' (max_per_group): the list already holds 1 items with category = '{cat}'"


def test_consent_gives_the_anonymous_list_and_never_reads_history(small):
    rules = [RequireConsent("consent_personalization", name="consent"), ExcludeOwned(name="owned"), Boost("eco_label", 1.2, name="eco")]
    model = Ruled(Popularity(by="category"), rules, fallback=Popularity()).fit(small)
    flags = dict(zip(small.customers["customer_id"], small.customers["consent_personalization"], strict=True))
    refused = [c for c, ok in flags.items() if not ok and small.history(c).height]
    agreed = [c for c, ok in flags.items() if ok and small.history(c).height]
    assert refused and agreed
    cart = [small.item_ids.id(0)]
    for c in refused:
        got = model.recommend(Query(customer_id=c, items=cart, k=6))
        anon = model.recommend(Query(items=cart, k=6))
        assert got.item_ids == anon.item_ids
        assert all("require_consent:consent" in r.rules for r in got)
        assert not any("require_consent:consent" in r.rules for r in anon)  # an anonymous visitor has no history to hide
    # for a customer with consent, the history is used: nothing owned comes back
    for c in agreed:
        owned = set(small.history(c)["item_id"].to_list())
        assert not owned & set(model.recommend(Query(customer_id=c, k=10)).item_ids)


def test_refresh_reads_the_new_stock_without_refitting(small):
    model = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(small)
    before = model.recommend(Query(k=3)).item_ids
    pop = model.model_.popularity_
    sold_out = before[0]
    new_catalog = small.catalog.with_columns(pl.when(pl.col("item_id") == sold_out).then(0).otherwise(pl.col("stock")).alias("stock"))
    model.refresh(new_catalog.sample(fraction=1.0, shuffle=True, seed=1))
    after = model.recommend(Query(k=3)).item_ids
    assert sold_out not in after and after[:2] == before[1:]
    assert model.model_.popularity_ is pop


def test_violations_on_the_wrapper_and_unknown_ids(small):
    model = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(small)
    oos = small.catalog.filter(pl.col("stock") == 0)["item_id"][0]
    assert model.violations(Query(), ["no-such-item", oos]) == [(oos, "in stock")]
    with pytest.raises(NotFittedError):
        RuleSet([Filter("stock > 0")]).violations(Query(), [oos])


def test_why_not_for_context_exclusion_and_ranking(small):
    model = Ruled(Popularity(), [Filter("stock >= 0", name="all")]).fit(small)
    order = Popularity().fit(small).recommend(Query(k=5)).item_ids
    assert model.why_not(Query(items=[order[0]], k=2), order[0]).startswith("it is in the query's context")
    assert model.why_not(Query(exclude=[order[0]], k=2), order[0]) == "the query excludes it"
    assert model.why_not(Query(k=2), order[4]).startswith("not in the top 2: ranked below the cut")
    assert model.why_not(Query(k=2), "nope") == "'nope' is not in the catalogue"


def test_recommend_many_applies_the_rules(small):
    model = Ruled(Popularity(), hard_rules(cap=1)).fit(small)
    customers = small.customer_ids.to_list()[:5]
    table = model.recommend_many(customers, k=4)
    for c in customers:
        rows = table.filter(pl.col("customer_id") == c).sort("rank")
        assert rows["item_id"].to_list() == model.recommend(Query(customer_id=c, k=4)).item_ids
        assert model.violations(Query(customer_id=c), rows["item_id"].to_list()) == []


def test_time_windows_need_timestamps():
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), pl.DataFrame({"item_id": ["a"], "category": ["bike"], "age_group": ["child"]}))
    with pytest.raises(RuleError, match="'kids' .*needs purchase timestamps"):
        Ruled(Popularity(), [OnePerGroup(CHILD_BIKE, within=30, name="kids")]).fit(ds)


def test_consent_needs_a_customers_table():
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}))
    with pytest.raises(RuleError, match="'consent' .*no customers table"):
        Ruled(Popularity(), [RequireConsent("ok", name="consent")]).fit(ds)


def test_ruled_rejects_a_non_model_and_a_path(small):
    with pytest.raises(ConfigError, match="'model' parameter of Ruled"):
        Ruled("popularity", []).fit(small)
    with pytest.raises(RuleError, match="load a rules file with recokit.load_rules"):
        Ruled(Popularity(), str(EXAMPLE)).fit(small)


# ------------------------------------------------------------------------------------------
# the rules file: one test per problem
# ------------------------------------------------------------------------------------------
def rule_text(**fields) -> str:
    lines = ["[[rule]]"] + [f"{k} = {v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def catalog():
    return make_catalog(np.random.default_rng(0), 10)


def test_file_unknown_rule_type(catalog):
    with pytest.raises(RuleError, match=r"rule 'x': unknown rule type 'hide'\.\nHint: known types"):
        parse_rules(rule_text(name='"x"', type='"hide"', keep='"stock > 0"'), catalog)


def test_file_unknown_column(catalog):
    with pytest.raises(RuleError, match=r"rule 'in stock' \(filter\): keep = 'stok > 0' uses unknown column\(s\) \['stok'\]"):
        parse_rules(rule_text(name='"in stock"', type='"filter"', keep='"stok > 0"'), catalog)


def test_file_unknown_group_column(catalog):
    with pytest.raises(RuleError, match=r"rule 'div' \(max_per_group\): unknown column 'colour'"):
        parse_rules(rule_text(name='"div"', type='"max_per_group"', column='"colour"', n="2"), catalog)


def test_file_expression_does_not_parse(catalog):
    # fails without a catalogue too: parsing happens when the rule is built
    with pytest.raises(RuleError, match=r"rule 'eco' \(boost\): match = 'eco_label = = 1' does not parse"):
        parse_rules(rule_text(name='"eco"', type='"boost"', match='"eco_label = = 1"', factor="1.2"))


def test_file_expression_is_not_a_condition(catalog):
    with pytest.raises(RuleError, match=r"rule 'p' \(filter\): keep = 'price \* 2' gives Float64 values, not true/false"):
        parse_rules(rule_text(name='"p"', type='"filter"', keep='"price * 2"'), catalog)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": '"boost"', "match": '"eco_label"', "factor": '"high"'}, r"'factor' must be a number > 1.*Got 'high'"),
        ({"type": '"bury"', "match": '"eco_label"', "factor": "1.5"}, r"'factor' must be a number between 0 and 1"),
        ({"type": '"max_per_group"', "column": '"category"', "n": "2.5"}, r"'n' must be an int >= 1\. Got 2\.5"),
        ({"type": '"pin"', "items": '"P0001"'}, r"'items' must be a non-empty list of item ids"),
        ({"type": '"pin"', "items": '["P0001"]', "position": "0"}, r"'position' must be an int >= 1"),
        ({"type": '"filter"', "keep": "3"}, r"'keep' must be a non-empty string\. Got 3"),
        ({"type": '"exclude_owned"', "renew_after": '"6 months"'}, r"'renew_after' must be a number of days > 0"),
    ],
)
def test_file_wrong_value_types(catalog, fields, message):
    with pytest.raises(RuleError, match=r"rule 'r' .*" + message):
        parse_rules(rule_text(name='"r"', **fields), catalog)


def test_file_duplicate_names(catalog):
    text = rule_text(name='"r"', type='"filter"', keep='"stock > 0"') + rule_text(name='"r"', type='"boost"', match='"eco_label"', factor="1.2")
    with pytest.raises(RuleError, match=r"rule 'r': duplicate name"):
        parse_rules(text, catalog)


def test_file_missing_name(catalog):
    with pytest.raises(RuleError, match=r"rule #2: missing field 'name'"):
        parse_rules(rule_text(name='"a"', type='"filter"', keep='"stock > 0"') + rule_text(type='"filter"', keep='"stock > 0"'), catalog)


def test_file_missing_required_field(catalog):
    with pytest.raises(RuleError, match=r"rule 'in stock' \(filter\): missing field\(s\) \['keep'\]"):
        parse_rules(rule_text(name='"in stock"', type='"filter"'), catalog)


def test_file_missing_type(catalog):
    with pytest.raises(RuleError, match=r"rule 'a': missing field 'type'"):
        parse_rules(rule_text(name='"a"', keep='"stock > 0"'), catalog)


def test_file_unknown_field(catalog):
    with pytest.raises(RuleError, match=r"rule 'a' \(filter\): unknown field\(s\) \['kepp'\]"):
        parse_rules(rule_text(name='"a"', type='"filter"', kepp='"stock > 0"'), catalog)


def test_file_unknown_pinned_item(catalog):
    with pytest.raises(RuleError, match=r"rule 'promo' \(pin\): unknown item id\(s\) \['P9999'\]"):
        parse_rules(rule_text(name='"promo"', type='"pin"', items='["P0001", "P9999"]'), catalog)


def test_file_not_toml():
    with pytest.raises(RuleError, match=r"rules: not valid TOML"):
        parse_rules("[[rule]\nname = 'x'")


def test_file_without_rules():
    with pytest.raises(RuleError, match=r"no rules found"):
        parse_rules("# nothing here\n")
    with pytest.raises(RuleError, match=r"unknown top-level key\(s\) \['rules'\]"):
        parse_rules('[[rules]]\nname = "x"\n')


def test_file_missing_on_disk(tmp_path):
    with pytest.raises(RuleError, match="cannot read the rules file"):
        load_rules(tmp_path / "absent.toml")


def test_consent_column_checked_against_customers(small):
    with pytest.raises(RuleError, match=r"rule 'c' \(require_consent\): the customers table has no column 'consent'"):
        RuleSet([RequireConsent("consent", name="c")]).validate(small)
    with pytest.raises(RuleError, match=r"column 'level' must be true/false"):
        RuleSet([RequireConsent("level", name="c")]).validate(small)


def test_example_file_loads_on_the_sports_shop_catalogue(shop):
    rules = load_rules(EXAMPLE, shop)
    assert [r.kind for r in rules] == ["filter", "exclude_owned", "exclude_owned", "one_per_group", "max_per_group", "boost", "require_consent"]
    model = Ruled(Popularity(), rules, fallback=Popularity()).fit(shop)
    parents = shop.interactions.join(shop.catalog, on="item_id").filter(pl.col("category") == "child_bike")["customer_id"].unique().sort()
    assert len(parents) > 3
    for c in [*parents.head(10).to_list(), *shop.customer_ids.to_list()[:30]]:
        q = Query(customer_id=c, k=10)
        got = model.recommend(q).item_ids
        assert len(got) == 10 and model.violations(q, got) == []
        assert independent_violations(shop, q, got, stock=True, cap=2) == []
    table = rules.check(shop)
    assert table["rule"].to_list() == rules.names
    assert table.row(0, named=True)["removes"] == shop.catalog.filter(pl.col("stock") <= 0).height


# ------------------------------------------------------------------------------------------
# CLI and docs
# ------------------------------------------------------------------------------------------
def test_cli_rules_check(tmp_path, capsys, shop):
    csv = tmp_path / "catalog.csv"
    shop.catalog.write_csv(csv)
    assert main(["rules", "check", str(EXAMPLE), "--catalog", str(csv)]) == 0
    out = capsys.readouterr().out
    n_out = shop.catalog.filter(pl.col("stock") <= 0).height
    assert f"removes {n_out}" in out and "in stock only" in out


def test_cli_rules_check_reports_a_bad_file(tmp_path, capsys, small):
    csv = tmp_path / "catalog.csv"
    small.catalog.write_csv(csv)
    bad = tmp_path / "bad.toml"
    bad.write_text(rule_text(name='"x"', type='"filter"', keep='"colour = 1"'))
    assert main(["rules", "check", str(bad), "--catalog", str(csv)]) == 2
    assert "unknown column(s) ['colour']" in capsys.readouterr().err



def test_demo_shows_the_child_bike_rule(shop):
    import io

    from recokit.cli.demo import demo_rules, section_rules

    buf = io.StringIO()
    ruled = Ruled(Popularity(by="age_group"), demo_rules()).fit(shop)
    in_stock = Ruled(Popularity(by="age_group"), [Filter("stock > 0")]).fit(shop)
    section_rules(shop, {"ruled": ruled, "in_stock": in_stock}, buf, 1)
    text = buf.getvalue()
    assert "<-- another child bike" in text  # the unruled model does offer one
    assert "removed by rule 'no second child bike' (one_per_group): the customer bought" in text
    assert " 0 child bikes offered in their top-10 lists, 0 rule violations." in text


def test_pins_sharing_a_position_keep_their_rule_order():
    catalog = pl.DataFrame({"item_id": list("abcdef")})
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), catalog)
    scores = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    rules = [Pin(["e", "f"], position=2, name="first"), Pin(["d"], position=2, name="second"), Pin(["c"], position=9, name="far")]
    recs = Ruled(Fixed(scores=scores), rules).fit(ds).recommend(Query(k=6))
    # e, f at 2-3; d asked for 2, gets the next free slot 4; c asked for 9: closes the list
    assert recs.item_ids == ["a", "e", "f", "d", "b", "c"]
    assert [r.rules for r in recs][1:4] == [("pin:first",), ("pin:first",), ("pin:second",)]
    assert Ruled(Fixed(scores=scores), rules).fit(ds).recommend(Query(k=3)).item_ids == ["a", "e", "f"]


def test_docs_show_the_shipped_example_file_and_their_code_runs():
    import re

    text = (ROOT / "docs" / "rules.md").read_text()
    toml = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    shipped = EXAMPLE.read_text()
    assert toml and toml[0] in shipped  # the page shows the file's rules, word for word
    assert parse_rules(toml[0]).names == load_rules(EXAMPLE).names
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    namespace: dict = {}
    import contextlib
    import io
    import os

    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            for block in blocks:
                exec(compile(block, "docs/rules.md", "exec"), namespace)  # the docs' own example code
    finally:
        os.chdir(cwd)
    assert "removed by rule 'no second child bike'" in out.getvalue()


def _evented_orders(event_name: str) -> Dataset:
    frame = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3],
            "item_id": ["a", "b", "a", "a", "c"],
            "event": [event_name, "view", event_name, event_name, event_name],
        }
    )
    return Dataset(frame, event_col="event", event_weights={event_name: 1.0, "view": 0.1})


def test_history_rules_read_a_custom_purchase_event():
    ds = _evented_orders("order")
    with pytest.raises(RuleError, match=r"no interaction has the event 'purchase' \(events seen: \['order', 'view'\]\)"):
        Ruled(Popularity(), [ExcludeOwned()]).fit(ds)
    ruled = Ruled(Popularity(), RuleSet([ExcludeOwned()], purchase_event="order")).fit(ds)
    got = ruled.recommend(Query(customer_id=1, k=3)).item_ids
    assert "a" not in got and "b" in got  # bought 'a' (an order), only viewed 'b'
    assert ruled.violations(Query(customer_id=1), ["a", "b"]) == [("a", "exclude owned")]


def test_refresh_keeps_every_rule_set_setting():
    """Regression: refresh rebuilt the RuleSet from hand-picked fields, lost purchase_event and
    then raised RuleError (the history rules could no longer find a purchase)."""
    ds = _evented_orders("order")
    rules = RuleSet([ExcludeOwned()], purchase_event="order")
    ruled = Ruled(Popularity(), rules).fit(ds)
    before = ruled.recommend(Query(customer_id=1, k=3)).item_ids
    ruled.refresh(ds)
    ruled.refresh(ds.catalog)
    assert ruled.rules_.get_params() == rules.get_params()
    assert ruled.rules_.purchase_event == "order"
    assert ruled.recommend(Query(customer_id=1, k=3)).item_ids == before
    assert "a" not in before


def test_rules_file_names_the_purchase_event():
    rs = parse_rules('purchase_event = "order"\n[[rule]]\nname = "once"\ntype = "exclude_owned"\n')
    assert rs.purchase_event == "order"
    with pytest.raises(RuleError, match="purchase_event must be a non-empty string"):
        parse_rules('purchase_event = 3\n[[rule]]\nname = "once"\ntype = "exclude_owned"\n')


def test_a_ruled_inside_a_ruled_is_refused_its_rules_would_be_skipped():
    """Regression (review): the inner Ruled's rules, consent included, act after scoring, so inside
    another Ruled a customer without consent was scored from their history."""
    inner = Ruled(Popularity(), [RequireConsent("consent"), Filter("stock > 0", name="in stock")])
    with pytest.raises(ConfigError, match="'model' parameter of Ruled is a Ruled"):
        Ruled(inner, [Filter("stock > 0", name="again")])
    with pytest.raises(ConfigError, match="'fallback' parameter of Ruled is a Ruled"):
        Ruled(Popularity(), [Filter("stock > 0", name="again")], fallback=inner)


def test_refresh_with_a_catalogue_keeps_the_purchases_of_an_earlier_refresh():
    """Regression (review): refresh(catalogue) rebuilt from the fit-time dataset, so purchases added
    by an earlier refresh(dataset) were forgotten and an owned item came back."""
    catalog = pl.DataFrame({"item_id": ["a", "b", "c"], "stock": [1, 1, 1]})
    old = Dataset(pl.DataFrame({"customer_id": [1, 2, 2], "item_id": ["b", "a", "b"]}), catalog)
    new = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 2], "item_id": ["b", "a", "a", "b"]}), catalog)
    ruled = Ruled(Popularity(), [ExcludeOwned(name="once")]).fit(old)
    assert "a" in ruled.recommend(Query(customer_id=1, k=3)).item_ids
    ruled.refresh(new)  # customer 1 bought 'a' since the fit
    assert "a" not in ruled.recommend(Query(customer_id=1, k=3)).item_ids
    ruled.refresh(catalog.with_columns(stock=pl.lit(2)))  # a stock update later the same day
    assert "a" not in ruled.recommend(Query(customer_id=1, k=3)).item_ids


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from([1.0, 2.0, 3.0, np.nan]), st.floats(0, 10)), min_size=60, max_size=60),
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=60, max_size=60),
    st.lists(st.sampled_from(["x", "y"]), min_size=60, max_size=60),
    st.integers(1, 3),
    st.integers(1, 12),
    st.lists(st.integers(0, 59), max_size=3),
)
def test_the_bulk_limit_walk_equals_the_audited_one_by_one_walk(scores, group, sport, cap, k, pinned):
    """Skipping full groups in bulk picks exactly what the one-item-at-a-time walk (the audit's,
    which records every skip) picks: same items, same slots, same sources; and a sparse block of
    the same scores (its rest taken from its stored opinions, not the catalogue) picks the same.
    60 items: more than the first candidates (4 k, at least 16), so the walk goes on past them."""
    import scipy.sparse as sp

    from recokit.rules.select import select_under_limits

    ids = [f"i{j}" for j in range(60)]
    catalog = pl.DataFrame({"item_id": ids, "category": group, "sport": sport})
    # item j sold to (7 j mod 11) customers: the best-seller order (equal scores go to the better
    # seller) is far from the id order; customer 1 owns i1 only
    buyers = [(c, ids[j]) for j in range(60) for c in range(2, 2 + (7 * j) % 11)] + [(1, "i1")]
    ds = Dataset(pl.DataFrame({"customer_id": [c for c, _ in buyers], "item_id": [i for _, i in buyers]}), catalog)
    rules = [MaxPerGroup("category", cap, name="cap"), MaxPerGroup("sport", cap + 1, name="sport cap")]
    if pinned:
        rules.append(Pin([ids[p] for p in pinned], position=2, name="promo"))
    model = Ruled(Fixed(scores=scores), rules).fit(ds)
    batch = model.resolve(Query(customer_id=1, k=k))
    block, restriction = model._score(batch), model._restriction(batch)
    dense = block.to_dense()
    cols = np.flatnonzero(np.isfinite(dense[0]))
    sparse = ScoreBlock.sparse(sp.csr_array((dense[0, cols], (np.zeros(len(cols), dtype=np.int64), cols)), shape=dense.shape))
    source = model._backfill_source(batch, True)
    compiled = model.rules_.compiled_
    got = [select_under_limits(compiled, b, restriction, batch.k, source, record=rec, tie=model.tie_rank_) for b in (block, sparse) for rec in (None, [])]
    for other in got[1:]:
        assert other.picked.tolist() == got[0].picked.tolist()
        assert other.source.tolist() == got[0].source.tolist()


def test_past_the_first_candidates_equal_scores_still_go_to_the_better_seller():
    """The walk past the first 4 k candidates (dense row or a sparse block's stored opinions)
    keeps the tie rule: 20 items of one category scored first (at most 1 of it allowed), then
    i40 and i50 equal; i50 sells more, so it takes the last slot."""
    import scipy.sparse as sp

    from recokit.rules.select import select_under_limits

    ids = [f"i{j}" for j in range(60)]
    catalog = pl.DataFrame({"item_id": ids, "category": ["a" if j < 20 else "b" for j in range(60)]})
    ds = Dataset(pl.DataFrame({"customer_id": [1, 2, 3, 4], "item_id": ["i50", "i50", "i40", "i59"]}), catalog)
    scores = [10.0 - j / 10 if j < 20 else np.nan for j in range(60)]
    scores[40] = scores[50] = 0.5
    model = Ruled(Fixed(scores=scores), [MaxPerGroup("category", 1, name="one each")]).fit(ds)
    batch = model.resolve(Query(k=2))
    block, restriction = model._score(batch), model._restriction(batch)
    dense = block.to_dense()
    cols = np.flatnonzero(np.isfinite(dense[0]))
    sparse = ScoreBlock.sparse(sp.csr_array((dense[0, cols], (np.zeros(len(cols), dtype=np.int64), cols)), shape=dense.shape))
    for b in (block, sparse):
        sel = select_under_limits(model.rules_.compiled_, b, restriction, 2, None, tie=model.tie_rank_)
        assert [ids[i] for i in sel.picked[0]] == ["i0", "i50"]


def test_a_pin_asking_beyond_a_small_catalogue_still_closes_a_short_list():
    """k is capped at the catalogue's size; a pin at a position past it (k asked larger) is still
    shown at the end of a list that ran short, as before the cap."""
    catalog = pl.DataFrame({"item_id": [f"i{j}" for j in range(1, 6)]})
    ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 3], "item_id": ["i1", "i2", "i3", "i4"]}), catalog)
    model = Ruled(Popularity(), [Pin(["i5"], position=6, name="promo")]).fit(ds)
    got = model.recommend(Query(k=10), backfill=False)
    assert got.item_ids[-1] == "i5" and got[-1].rules == ("pin:promo",)
    assert sorted(got.item_ids) == ["i1", "i2", "i3", "i4", "i5"]
