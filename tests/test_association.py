from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from recokit import (
    AssociationRules,
    ConfigError,
    DataError,
    Dataset,
    DataWarning,
    Query,
)
from recokit.core import explained
from recokit.models.association import mine_rules, rule_metrics
from recokit.testing import RecommenderContract

METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift", "leverage", "conviction"]
OURS = {m: m.replace(" ", "_") for m in METRICS}


# -- a small shop with a planted bundle (independent of recokit.datasets) ----------------------
def small_shop(n_customers: int = 240, seed: int = 5) -> Dataset:
    rng = np.random.default_rng(seed)
    catalog = pl.DataFrame(
        {
            "item_id": ["B1", "B2", "K1", "H1", "P1", "L1", "S1", "S2", "T1", "W1", "G1", "X1"],
            "name": ["Mountain bike X", "Road bike R", "Kids bike", "Helmet", "Pump", "Lock",
                     "Running shoe", "Trail shoe", "Shirt", "Bottle", "Gloves", "Socks"],  # fmt: skip
            "category": ["bike", "bike", "kids_bike", "helmet", "pump", "lock", "shoe", "shoe", "shirt", "bottle", "gloves", "socks"],
        }
    )
    rows = []
    start = dt.datetime(2024, 1, 1)
    order = 0
    for c in range(n_customers):
        for _ in range(rng.integers(1, 4)):
            order += 1
            t = start + dt.timedelta(days=int(rng.integers(0, 300)), minutes=order)
            basket = set()
            if rng.random() < 0.35:
                basket.add(["B1", "B2"][int(rng.integers(0, 2))])
                for extra in ("H1", "P1", "L1"):
                    if rng.random() < 0.7:
                        basket.add(extra)
            n_noise = int(rng.integers(0 if basket else 1, 3))
            basket.update(rng.choice(["S1", "S2", "T1", "W1", "G1", "X1", "K1"], size=n_noise, replace=False).tolist())
            rows += [(f"C{c:04d}", i, f"O{order:05d}", t) for i in sorted(basket)]
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order_id", "ts"], orient="row")
    return Dataset(frame, catalog, basket_col="order_id", time_col="ts")


@pytest.fixture(scope="module")
def mini():
    return small_shop()


class TestAssociationContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_dataset(self):
        return small_shop()

    def make_model(self):
        return AssociationRules(min_support=0.01, min_confidence=0.05)


class TestAssociationLiftSumContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_dataset(self):
        return small_shop()

    def make_model(self):
        return AssociationRules(min_support=3, min_confidence=0.05, metric="lift", aggregate="sum", recent_baskets=2)


class TestAssociationLongContract(RecommenderContract):
    learns_from = ("history", "context")
    expected_hit_rate = 0.9  # measured 1.0 on the planted dataset

    def make_dataset(self):
        return small_shop()

    def make_model(self):
        return AssociationRules(min_support=0.02, min_confidence=0.1, max_len=3, aggregate="weighted")


# -- the differential test against mlxtend ---------------------------------------------------
@st.composite
def basket_matrices(draw, max_rows=40, max_items=7):
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_items))
    density = draw(st.sampled_from([0.1, 0.3, 0.5, 0.8]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dense = rng.random((n, m)) < density
    if draw(st.booleans()):
        dense[:, draw(st.integers(0, m - 1))] = True  # an item in every basket
    if n > 2 and draw(st.booleans()):
        dense[draw(st.integers(0, n - 1))] = False  # an empty basket
    return sp.csr_array(dense.astype(np.float64))


def _frac(x):
    return Fraction(repr(float(x)))


def _mlxtend_rules(b, min_support, min_confidence, min_lift, max_len):
    """The peer: mlxtend fpgrowth + association_rules (a dev dependency; recokit no longer calls it)."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    n = b.shape[0]
    frame = pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(b, dtype=bool), columns=list(range(b.shape[1])))
    itemsets = fpgrowth(frame, min_support=min_support, use_colnames=False, max_len=max_len)
    if not len(itemsets):
        return {}
    with np.errstate(divide="ignore", invalid="ignore"):  # mlxtend's 'certainty' divides by 0 when sC = 1
        rules = association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=min_confidence)
    if min_lift is not None and len(rules):
        rules = rules[rules["lift"] >= min_lift]
    return {
        (frozenset(int(i) for i in r["antecedents"]), frozenset(int(i) for i in r["consequents"])): {m: r[m] for m in METRICS}
        for _, r in rules.iterrows()
    }


def _ours(b, **kw):
    mined = mine_rules(b, **kw)
    r = mined["rules"]
    metrics = rule_metrics(r["count"], r["antecedent_count"], r["consequent_count"], mined["n_baskets"])
    ap, cp = r["antecedent_ptr"], r["consequent_ptr"]
    out = {}
    for k in range(len(ap) - 1):
        key = (frozenset(r["antecedent"][ap[k] : ap[k + 1]].tolist()), frozenset(r["consequent"][cp[k] : cp[k + 1]].tolist()))
        out[key] = {m: metrics[OURS[m]][k] for m in METRICS} | {
            "counts": (int(r["count"][k]), int(r["antecedent_count"][k]), int(r["consequent_count"][k]))
        }
    return out


def _exact_counts(b, items):
    dense = b.toarray() > 0
    return int(dense[:, sorted(items)].all(axis=1).sum())


def _at_a_threshold(b, key, min_support, min_confidence, min_lift):
    """Is some threshold met with exact equality (where mlxtend's floats may go either way)?"""
    a, c = key
    n = b.shape[0]
    cab, ca, cc = _exact_counts(b, a | c), _exact_counts(b, a), _exact_counts(b, c)
    ties = [
        Fraction(cab, n) == _frac(min_support),
        Fraction(ca, n) == _frac(min_support),
        Fraction(cc, n) == _frac(min_support),
        Fraction(cab, ca) == _frac(min_confidence),
    ]
    if min_lift is not None:
        ties.append(Fraction(cab * n, ca * cc) == _frac(min_lift))
    return any(ties)


def _compare_with_mlxtend(b, min_support, min_confidence, min_lift, max_len):
    ours = _ours(b, min_support=min_support, min_confidence=min_confidence, min_lift=min_lift, max_len=max_len)
    theirs = _mlxtend_rules(b, min_support, min_confidence, min_lift, max_len)
    only_ours = set(ours) - set(theirs)
    only_theirs = set(theirs) - set(ours)
    # the only allowed difference: a rule exactly at a threshold, which we keep and mlxtend's floats may drop
    assert not only_theirs, only_theirs
    assert all(_at_a_threshold(b, k, min_support, min_confidence, min_lift) for k in only_ours), only_ours
    for key in set(ours) & set(theirs):
        for m in METRICS:
            assert ours[key][m] == pytest.approx(theirs[key][m], rel=1e-9, abs=1e-12), (key, m)
        a, c = key
        assert ours[key]["counts"] == (_exact_counts(b, a | c), _exact_counts(b, a), _exact_counts(b, c))
    return ours


THRESHOLDS = st.sampled_from([0.05, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.7])


@given(b=basket_matrices(), min_support=THRESHOLDS, min_confidence=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.6, 1.0]),
       min_lift=st.sampled_from([None, 0.5, 1.0, 1.2]))  # fmt: skip
def test_pair_rules_equal_mlxtend(b, min_support, min_confidence, min_lift):
    ours = _compare_with_mlxtend(b, min_support, min_confidence, min_lift, max_len=2)
    assert all(len(a) == 1 and len(c) == 1 for a, c in ours)


@given(b=basket_matrices(max_rows=30, max_items=6), min_support=THRESHOLDS, min_confidence=st.sampled_from([0.0, 0.2, 0.5]),
       min_lift=st.sampled_from([None, 1.0]), max_len=st.sampled_from([3, 4, None]))  # fmt: skip
def test_longer_itemsets_equal_mlxtend(b, min_support, min_confidence, min_lift, max_len):
    _compare_with_mlxtend(b, min_support, min_confidence, min_lift, max_len=max_len)


@pytest.mark.parametrize(("min_support", "max_len"), [(0.01, 3), (0.02, None)])
def test_longer_itemsets_of_the_small_shop_equal_mlxtend(mini, min_support, max_len):
    """A few hundred real-looking baskets with a planted bundle: rules of 3 and more items exist."""
    ours = _compare_with_mlxtend(sp.csr_array(mini.basket_items), min_support, 0.05, None, max_len=max_len)
    assert sum(len(a) + len(c) >= 3 for a, c in ours) > 50


@given(b=basket_matrices(max_rows=30, max_items=6), min_count=st.integers(1, 4), max_len=st.sampled_from([2, 3, None]))
def test_rules_are_in_the_documented_total_order(b, min_count, max_len):
    """Confidence, then count (descending), then the shorter antecedent, then the antecedent's
    items, then the consequent's (item_idx order): no two rules tie, so the order is fixed."""
    r = mine_rules(b, min_support=min_count, min_confidence=0.0, min_lift=None, max_len=max_len)["rules"]
    ap, cp = r["antecedent_ptr"].tolist(), r["consequent_ptr"].tolist()
    keys = []
    for k in range(len(ap) - 1):
        a, c = r["antecedent"][ap[k] : ap[k + 1]].tolist(), r["consequent"][cp[k] : cp[k + 1]].tolist()
        assert a == sorted(a) and c == sorted(c) and not set(a) & set(c)
        keys.append((-Fraction(int(r["count"][k]), int(r["antecedent_count"][k])), -int(r["count"][k]), len(a), tuple(a), tuple(c)))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_a_triple_rule_by_hand():
    """bike + helmet -> lock, counted by hand on six baskets (support 2 baskets)."""
    baskets = [["bike", "helmet", "lock"], ["bike", "helmet", "lock"], ["bike", "helmet"], ["bike", "lock"],
               ["helmet", "lock", "pump"], ["bike", "helmet", "lock", "pump"]]  # fmt: skip
    orders = pl.DataFrame(
        [(o, o, item) for o, basket in enumerate(baskets) for item in basket], schema=["customer_id", "order_id", "item_id"], orient="row"
    )
    model = AssociationRules(min_support=2, min_confidence=0.0, min_lift=None, max_len=3).fit(Dataset(orders, basket_col="order_id"))
    rules = {(tuple(r["antecedent"]), tuple(r["consequent"])): r for r in model.rules_.iter_rows(named=True)}
    rule = rules[(("bike", "helmet"), ("lock",))]  # baskets 0, 1, 5 of the 4 with bike and helmet
    assert (rule["count"], rule["antecedent_count"], rule["consequent_count"], rule["n_baskets"]) == (3, 4, 5, 6)
    assert rule["support"] == pytest.approx(3 / 6) and rule["confidence"] == pytest.approx(3 / 4)
    assert rule["lift"] == pytest.approx((3 / 4) / (5 / 6)) and rule["leverage"] == pytest.approx(3 / 6 - 4 / 6 * 5 / 6)
    assert rule["conviction"] == pytest.approx((1 - 5 / 6) / (1 - 3 / 4))
    assert rules[(("helmet", "lock"), ("pump",))]["count"] == 2
    assert rules[(("pump",), ("helmet", "lock"))]["confidence"] == 1.0  # both pump baskets hold helmet and lock
    # {bike, lock, pump} and {bike, helmet, pump} are in one basket only: not frequent, no rule
    assert not any(len(a) + len(c) == 3 and "bike" in a + c and "pump" in a + c for a, c in rules)
    assert len([k for k in rules if len(k[0]) + len(k[1]) == 3]) == 2 * 6  # two triples, six rules each
    # for a cart of helmet and lock, pump's strongest rule is the triple's (2 of 4 against 2 of 5 for each alone)
    assert model.explain(Query(items=["helmet", "lock"]), "pump") == "bought in 50% of the baskets with helmet and lock (2 of 4)"


def test_rule_exactly_at_the_confidence_threshold_is_kept():
    # 3 of 10 baskets with A also have C: confidence exactly 0.3
    dense = np.zeros((20, 2), dtype=bool)
    dense[:10, 0] = True
    dense[:3, 1] = True
    dense[15:, 1] = True
    r = mine_rules(sp.csr_array(dense.astype(float)), min_support=0.15, min_confidence=0.3, min_lift=None, max_len=2)["rules"]
    pairs = set(zip(r["antecedent"].tolist(), r["consequent"].tolist(), strict=True))
    assert (0, 1) in pairs  # 3/10 == 0.3 and support 3/20 == 0.15, both exactly at the threshold
    assert (1, 0) in pairs  # 3/8 > 0.3
    r = mine_rules(sp.csr_array(dense.astype(float)), min_support=4, min_confidence=0.0, min_lift=None, max_len=2)["rules"]
    assert len(r["count"]) == 0  # support count 3 < 4


def test_edge_cases_empty_single_and_everywhere():
    dense = np.array([[0, 0, 0], [1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=bool)
    b = sp.csr_array(dense.astype(float))
    ours = _compare_with_mlxtend(b, 0.1, 0.0, None, max_len=2)
    # item 0 in every non-empty basket -> confidence 1 for x -> 0 -> conviction inf
    assert ours[(frozenset({2}), frozenset({0}))]["conviction"] == np.inf
    assert ours[(frozenset({0}), frozenset({2}))]["conviction"] == pytest.approx((1 - 2 / 6) / (1 - 2 / 4))
    # an item present in every basket (no empty ones)
    full = sp.csr_array(np.array([[1, 1], [1, 0], [1, 1]], dtype=float))
    ours = _compare_with_mlxtend(full, 0.1, 0.0, None, max_len=2)
    assert ours[(frozenset({1}), frozenset({0}))]["conviction"] == np.inf
    assert ours[(frozenset({1}), frozenset({0}))]["lift"] == 1.0
    # single-item baskets only: no rule, no crash
    single = sp.csr_array(np.eye(4))
    assert _ours(single, min_support=0.1, min_confidence=0.0, min_lift=None, max_len=2) == {}
    assert _ours(single, min_support=0.1, min_confidence=0.0, min_lift=None, max_len=3) == {}


def test_threshold_above_every_itemset_gives_no_rules_and_no_opinion(mini):
    model = AssociationRules(min_support=1.0).fit(mini)
    assert model.rules_.height == 0
    assert np.isnan(model.score(Query(items=["B1"]))).all()
    assert np.isnan(model.score(Query(customer_id=mini.customer_ids.id(0)))).all()
    assert model.bundle("B1").item_ids == []
    assert len(model.recommend(Query(items=["B1"], k=3))) == 3  # back-filled, as the base promises


# -- scoring against a brute-force reading of rules_ -------------------------------------------
def reference_scores(model, ds, context_ids, metric="confidence", aggregate="max"):
    """Plain Python over model.rules_: rules whose antecedent lies in the context, never rejected."""
    ctx = set(context_ids)
    per_item: dict = {}
    for r in model.rules_.iter_rows(named=True):
        if r["status"] == "rejected" or len(r["consequent"]) != 1 or not set(r["antecedent"]) <= ctx:
            continue
        if model.approved_only and r["status"] != "approved":
            continue
        per_item.setdefault(r["consequent"][0], []).append((r[metric], r["count"]))
    out = np.full(ds.n_items, np.nan)
    for item, vals in per_item.items():
        v = np.array([x for x, _ in vals])
        w = np.array([c for _, c in vals], dtype=float)
        out[ds.item_ids.get(item)] = {"max": v.max(), "sum": v.sum(), "weighted": (v * w).sum() / w.sum()}[aggregate]
    return out


@pytest.fixture(scope="module")
def fitted_models(mini):
    rules = AssociationRules(min_support=0.01, min_confidence=0.05, max_len=3).fit(mini).rules_
    rejected = rules.filter(pl.col("consequent").list.len() == 1).gather_every(3)
    pairs = list(zip(rejected["antecedent"].to_list(), rejected["consequent"].to_list(), strict=True))
    return {
        (metric, agg): AssociationRules(
            min_support=0.01, min_confidence=0.05, max_len=3, metric=metric, aggregate=agg, rejected=pairs
        ).fit(mini)
        for metric in ("confidence", "lift")
        for agg in ("max", "sum", "weighted")
    }


@given(data=st.data())
def test_scores_equal_reference_and_ignore_rejected_rules(mini, fitted_models, data):
    metric, agg = data.draw(st.sampled_from(sorted(fitted_models)))
    model = fitted_models[(metric, agg)]
    assert (model.rules_["status"] == "rejected").sum() > 0
    context = data.draw(st.lists(st.sampled_from(mini.item_ids.to_list()), max_size=4, unique=True))
    got = model.score(Query(items=context))
    np.testing.assert_allclose(got, reference_scores(model, mini, context, metric, agg), rtol=1e-12)


def test_rejected_rule_is_never_used(mini, tmp_path):
    base = AssociationRules(min_support=0.01, min_confidence=0.05).fit(mini)
    assert base.bundle("B1", k=1).item_ids  # something goes with the bike
    top = base.bundle("B1", k=1)[0].item_id
    csv = tmp_path / "rejected.csv"
    pl.DataFrame({"antecedent": ["B1"], "consequent": [top]}).write_csv(csv)
    toml = tmp_path / "rejected.toml"
    toml.write_text(f'[[rule]]\nantecedent = "B1"\nconsequent = ["{top}"]\n')
    for source in (csv, toml, [("B1", top)], [(["B1"], [top])]):
        model = AssociationRules(min_support=0.01, min_confidence=0.05, rejected=source).fit(mini)
        row = model.rules_.filter((pl.col("antecedent") == ["B1"]) & (pl.col("consequent") == [top]))
        assert row["status"].to_list() == ["rejected"]
        assert top not in model.bundle("B1", k=12).item_ids
        # B1 is the only context item, so no other rule can score it
        assert np.isnan(model.score(Query(items=["B1"]))[mini.item_ids.get(top)])
        assert model.explain(Query(items=["B1"]), top) is None


def test_approved_only_scores_with_approved_rules_only(mini):
    approved = [("B1", "H1"), ("B1", "L1")]
    model = AssociationRules(min_support=0.01, min_confidence=0.05, approved=approved, approved_only=True).fit(mini)
    assert sorted(model.bundle("B1", k=10).item_ids) == ["H1", "L1"]
    assert set(model.rules_.filter(pl.col("status") == "approved")["consequent"].list.first()) == {"H1", "L1"}
    assert model.bundle("H1", k=10).item_ids == []


def test_review_file_with_unknown_item_is_an_error(mini, tmp_path):
    path = tmp_path / "r.csv"
    pl.DataFrame({"antecedent": ["B1"], "consequent": ["HELMET-typo"]}).write_csv(path)
    with pytest.raises(DataError, match="HELMET-typo"):
        AssociationRules(rejected=path).fit(mini)
    with pytest.raises(DataError, match="lacks the column"):
        pl.DataFrame({"from": ["B1"], "to": ["H1"]}).write_csv(path)
        AssociationRules(rejected=path).fit(mini)
    with pytest.raises(ConfigError, match="pair"):
        AssociationRules(rejected=["B1"]).fit(mini)


def test_export_rules_round_trips_as_a_rejection_list(mini, tmp_path):
    model = AssociationRules(min_support=0.02, min_confidence=0.1, max_len=3).fit(mini)
    path = model.export_rules(tmp_path / "rules.csv")
    table = pl.read_csv(path)
    assert table.height == model.rules_.height
    assert {"antecedent", "consequent", "antecedent_name", "confidence", "lift", "conviction", "status"} <= set(table.columns)
    assert (table["antecedent"].str.contains(r"\|")).any()  # a multi-item antecedent, joined with |
    again = AssociationRules(min_support=0.02, min_confidence=0.1, max_len=3, rejected=path).fit(mini)
    assert (again.rules_["status"] == "rejected").all()
    assert np.isnan(again.score(Query(items=["B1", "H1", "P1"]))).all()


def test_customer_context_is_the_last_baskets(mini):
    model = AssociationRules(min_support=0.01, min_confidence=0.05, recent_baskets=2).fit(mini)
    hist = mini.interactions.sort("timestamp")
    customers = mini.customer_ids.to_list()[:25]
    # the batch path: all these customers scored at once, one row each
    batch = model._score(model.resolve_customers(customers, k=1, now=None, exclude_purchased=False)).to_dense()
    for r, c in enumerate(customers):
        orders = hist.filter(pl.col("customer_id") == c)["basket_idx"].unique(maintain_order=True).to_list()
        last_items = hist.filter(pl.col("basket_idx").is_in(orders[-2:]))["item_id"].to_list()
        expected = reference_scores(model, mini, last_items)
        np.testing.assert_allclose(model.score(Query(customer_id=c)), expected)
        np.testing.assert_allclose(batch[r], expected)
    # "now" before a customer's last order: that order is not yet known
    c = hist["customer_id"][-1]
    first_time = hist.filter(pl.col("customer_id") == c)["timestamp"].min()
    first_items = hist.filter((pl.col("customer_id") == c) & (pl.col("timestamp") == first_time))["item_id"].to_list()
    np.testing.assert_allclose(
        model.score(Query(customer_id=c, now=first_time)), reference_scores(model, mini, first_items)
    )


def test_explanations_name_the_rule(mini):
    model = AssociationRules(min_support=0.01, min_confidence=0.05).fit(mini)
    rec = model.bundle("B1", k=1)[0]
    row = model.rules_.filter((pl.col("antecedent") == ["B1"]) & (pl.col("consequent") == [rec.item_id]))
    pct = round(100 * row["count"][0] / row["antecedent_count"][0])
    assert rec.reason == f"bought with Mountain bike X in {pct}% of its baskets ({row['count'][0]} of {row['antecedent_count'][0]})"
    assert rec.score == pytest.approx(row["confidence"][0])
    assert model.rules_["antecedent_name"].to_list()[0][0] in mini.catalog["name"].to_list()


def test_planted_bundle_in_the_small_shop(mini):
    model = AssociationRules(min_support=0.01, min_confidence=0.1).fit(mini)
    assert sorted(model.bundle("B1", k=3).item_ids) == ["H1", "L1", "P1"]
    cart = model.recommend(Query(items=["B2", "H1"], k=2), backfill=False)
    assert sorted(cart.item_ids) == ["L1", "P1"]


def test_sports_shop_bundle_for_an_adult_bike():
    from recokit.datasets import sports_shop

    shop = sports_shop(5000, seed=0)  # the demo's shop
    model = AssociationRules(min_support=5, min_confidence=0.1).fit(shop)
    cat = shop.catalog
    category = dict(zip(cat["item_id"].to_list(), cat["category"].cast(pl.String).to_list(), strict=True))
    sold = shop.item_counts()
    bikes = sorted((i for i, c in category.items() if c == "adult_bike"), key=lambda i: (-sold[shop.item_ids.get(i)], i))
    # the best seller's pack is the planted bundle: a helmet, a pump and a lock
    assert sorted(category[i] for i in model.bundle(bikes[0], k=3).item_ids) == ["helmet", "lock", "pump"]
    # and every top suggestion for the five best-selling bikes belongs to it
    for bike in bikes[:5]:
        got = model.bundle(bike, k=3).item_ids
        assert got and {category[i] for i in got} <= {"helmet", "pump", "lock"}, (bike, got)
        pack = model.bundle(bike, k=3, one_per="category")
        assert len({category[i] for i in pack.item_ids}) == len(pack)
        assert [r.rank for r in pack] == list(range(1, len(pack) + 1))


# -- parameters and data problems --------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"min_support": 0.0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_support": 0}, "min_support"),
        ({"min_support": -2}, "min_support"),
        ({"min_support": True}, "min_support"),
        ({"min_confidence": 1.2}, "min_confidence"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"min_lift": -1}, "min_lift"),
        ({"max_len": 1}, "max_len"),
        ({"max_len": 2.0}, "max_len"),
        ({"max_basket_size": 1}, "max_basket_size"),
        ({"metric": "support"}, "metric"),
        ({"aggregate": "mean"}, "aggregate"),
        ({"recent_baskets": 0}, "recent_baskets"),
        ({"approved_only": True}, "approved"),
    ],
)
def test_bad_parameters_name_parameter_and_value(mini, kwargs, name):
    value = next(iter(kwargs.values()))
    with pytest.raises(ConfigError, match=name) as info:
        AssociationRules(**kwargs).fit(mini)
    if name != "approved":
        assert f"Got {value!r}" in str(info.value)


def test_no_basket_of_two_items_warns_and_has_no_opinion():
    ds = Dataset(pl.DataFrame({"customer_id": [1, 2, 3], "item_id": ["a", "b", "a"], "order_id": [1, 2, 3]}), basket_col="order_id")
    with pytest.warns(DataWarning, match="no basket has two or more items"):
        model = AssociationRules(min_support=1).fit(ds)
    assert model.rules_.height == 0
    assert np.isnan(model.score(Query(items=["a"]))).all()


def test_max_basket_size_excludes_big_baskets_and_says_so(mini):
    with pytest.warns(DataWarning, match=r"\d+ of \d+ baskets have more than max_basket_size=3"):
        capped = AssociationRules(min_support=2, min_confidence=0.1, max_basket_size=3).fit(mini)
    sizes = np.diff(mini.basket_items.indptr)
    assert capped.n_baskets_excluded_ == int((sizes > 3).sum()) > 0
    assert capped.n_baskets_ == int((sizes <= 3).sum())
    small = mini.filter(pl.col("basket_idx").is_in(np.flatnonzero(sizes <= 3)))
    ref = AssociationRules(min_support=2, min_confidence=0.1).fit(small)
    key = ["antecedent", "consequent"]
    assert capped.rules_.select(*key, "count", "confidence").sort(key).equals(ref.rules_.select(*key, "count", "confidence").sort(key))


@given(b=basket_matrices(), min_count=st.integers(1, 6))
def test_sufficient_statistics_are_exact_counts(b, min_count):
    mined = mine_rules(b, min_support=min_count, min_confidence=0.0, min_lift=None, max_len=2)
    dense = (b.toarray() > 0).astype(np.int64)
    counts = dense.sum(axis=0)
    assert mined["n_baskets"] == b.shape[0] and mined["min_count"] == min_count
    np.testing.assert_array_equal(mined["item_counts"], counts)
    frequent = counts >= min_count
    expected = np.triu(dense.T @ dense, k=1) * np.outer(frequent, frequent)
    np.testing.assert_array_equal(mined["cooccurrence"].toarray(), expected)


def test_review_file_with_integer_item_ids(tmp_path):
    orders = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3], "order_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 20, 10, 20, 10, 30]})
    ds = Dataset(orders, basket_col="order_id")
    base = AssociationRules(min_support=2, min_confidence=0.1, min_lift=None).fit(ds)
    assert base.bundle(10).item_ids == [20]
    path = base.export_rules(tmp_path / "rules.csv")
    pl.read_csv(path).filter(pl.col("antecedent") == 10).write_csv(tmp_path / "reject.csv")
    model = AssociationRules(min_support=2, min_confidence=0.1, min_lift=None, rejected=tmp_path / "reject.csv").fit(ds)
    assert model.rules_.filter(pl.col("status") == "rejected")["antecedent"].to_list() == [[10]]
    assert model.bundle(10).item_ids == []
    assert model.bundle(20).item_ids == [10]


# -- a batch mixing every kind of row ---------------------------------------------------------
def _stacked(model, queries):
    """The resolved queries as one batch (they share ``now`` and ``k``), as a composite sends it."""
    from recokit import Batch

    return Batch.concat([model.resolve(q) for q in queries])

@pytest.mark.parametrize("key", [("confidence", "max"), ("lift", "sum"), ("lift", "weighted")])
def test_a_mixed_batch_equals_its_requests_one_by_one(mini, fitted_models, key):
    """Customer-only, customer-with-cart, anonymous-cart, unknown and empty rows in one batch:
    each row's scores and reasons equal those of its own request."""
    model = fitted_models[key]
    customers = mini.customer_ids.to_list()
    now = mini.last_time - dt.timedelta(days=40)
    queries = [
        Query(customer_id=customers[0], now=now),
        Query(customer_id=customers[1], items=["B1", "H1"], now=now),
        Query(items=["B2"], now=now),
        Query(customer_id="nobody", items=["P1", "L1", "nothing"], now=now),
        Query(now=now),
        *(Query(customer_id=c, now=now) for c in customers[2:40]),
        Query(customer_id=customers[3], items=["B1"], now=now),
    ]
    batch = _stacked(model, queries)
    block = model._score(batch)
    n_reasons = 0
    for r, q in enumerate(queries):
        want = model.score(q)
        np.testing.assert_array_equal(block.row(r), want)
        if q.items:  # a cart speaks for itself: the customer's history plays no part
            np.testing.assert_allclose(want, reference_scores(model, mini, q.items, *key), rtol=1e-12)
        items = np.flatnonzero(np.isfinite(want))
        got = explained(model, batch, np.full(len(items), r), items, block)
        assert got == [model.explain(q, mini.item_ids.id(int(i))) for i in items]
        n_reasons += len(items)
    assert n_reasons > len(queries)  # the rules do fire


def test_without_mlxtend_every_itemset_size_works(monkeypatch):
    """mlxtend is only the tests' peer: no itemset size imports it (the itemsets extra is empty)."""
    import sys

    from recokit.datasets import sports_shop

    shop = sports_shop(2000, seed=0)
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # import mlxtend now raises ImportError
    monkeypatch.setitem(sys.modules, "mlxtend.frequent_patterns", None)
    assert AssociationRules().fit(shop).rules_.height > 0
    rules = AssociationRules(max_len=3, min_support=3, min_lift=None).fit(shop).rules_
    assert (rules["antecedent"].list.len() + rules["consequent"].list.len() == 3).any()  # triples were mined
