"""The contract every :class:`recokit.Recommender` honours.

Each model's test module subclasses :class:`RecommenderContract` and implements ``make_model``
(and, if the model needs special data, ``make_dataset``)::

    class TestPopularityContract(RecommenderContract):
        def make_model(self):
            return Popularity()
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import NotFittedError, Query, Recommender, RuleSet


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


def same_params(a, b) -> bool:
    """Constructor parameters equal, nested models compared by class and parameters (not identity)."""
    if isinstance(a, Recommender) or isinstance(b, Recommender):
        return type(a) is type(b) and same_params(a.get_params(), b.get_params())
    if isinstance(a, RuleSet):
        return type(b) is RuleSet and list(a) == list(b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(same_params(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_params(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and _same(a, b)
    return type(a) is type(b) and a == b


class RecommenderContract:
    """Mixin of contract tests; subclasses provide ``make_model``."""

    #: a dataset-building function (cached per class); default: the small sports shop
    def make_dataset(self):
        from recokit.datasets import sports_shop

        return sports_shop(600, seed=11)

    def make_model(self) -> Recommender:  # pragma: no cover - abstract
        raise NotImplementedError

    # cached per test class, so hypothesis examples do not refit
    _cache: dict = {}

    @property
    def dataset(self):
        key = (type(self), "ds")
        if key not in RecommenderContract._cache:
            RecommenderContract._cache[key] = self.make_dataset()
        return RecommenderContract._cache[key]

    @property
    def fitted(self) -> Recommender:
        key = (type(self), "model")
        if key not in RecommenderContract._cache:
            RecommenderContract._cache[key] = self.make_model().fit(self.dataset)
        return RecommenderContract._cache[key]

    def some_customers(self, n: int = 12) -> list:
        ids = self.dataset.customer_ids.to_list()
        step = max(1, len(ids) // n)
        return ids[::step][:n]

    # -- tests ------------------------------------------------------------------------------
    def test_is_recommender(self):
        assert isinstance(self.make_model(), Recommender)

    def test_not_fitted_raises(self):
        model = self.make_model()
        with pytest.raises(NotFittedError, match="not fitted"):
            model.recommend(Query(k=3))
        with pytest.raises(NotFittedError):
            model.score(Query())

    def test_fit_returns_self(self):
        model = self.make_model()
        assert model.fit(self.dataset) is model

    def test_fit_twice_equals_fit_once(self):
        once = self.make_model().fit(self.dataset)
        twice = self.make_model().fit(self.dataset).fit(self.dataset)
        for c in self.some_customers(5):
            assert _same(once.score(Query(customer_id=c)), twice.score(Query(customer_id=c)))

    def test_deterministic_across_instances(self):
        a = self.make_model().fit(self.dataset)
        b = self.make_model().fit(self.dataset)
        for c in self.some_customers(5):
            q = Query(customer_id=c, k=10)
            assert a.recommend(q).item_ids == b.recommend(q).item_ids

    def test_score_shape(self):
        s = self.fitted.score(Query(customer_id=self.some_customers(1)[0]))
        assert s.shape == (self.dataset.n_items,)
        assert s.dtype == np.float64

    def test_unknown_customer_is_cold_start(self):
        recs = self.fitted.recommend(Query(customer_id="no-such-customer-#", k=5))
        assert len(recs) <= 5

    def test_unknown_item_is_cold_start(self):
        recs = self.fitted.recommend(Query(items=["no-such-item-#"], k=5))
        assert len(recs) <= 5

    def test_empty_cart(self):
        recs = self.fitted.recommend(Query(items=[], k=4))
        assert len(recs) <= 4

    def test_every_recommendation_has_a_reason(self):
        for c in self.some_customers(5):
            for r in self.fitted.recommend(Query(customer_id=c, k=5)):
                assert isinstance(r.reason, str) and r.reason.strip()

    def test_explain_matches_recommend(self):
        model = self.fitted
        c = self.some_customers(3)[1]
        q = Query(customer_id=c, k=5)
        for r in model.recommend(q):
            if np.isfinite(r.score):
                assert model.explain(q, r.item_id) == r.reason

    def test_recommend_many_equals_one_by_one(self):
        model = self.fitted
        customers = [*self.some_customers(10), "no-such-customer-#"]
        table = model.recommend_many(customers, k=7)
        for c in customers:
            one = model.recommend(Query(customer_id=c, k=7))
            rows = table.filter(table["customer_id"] == c).sort("rank")
            assert rows["item_id"].to_list() == one.item_ids
            np.testing.assert_allclose(rows["score"].to_numpy(), one.scores, rtol=1e-9, atol=1e-12)
            assert rows["reason"].to_list() == [r.reason for r in one]

    def test_recommend_many_with_an_earlier_now_equals_one_by_one(self):
        import datetime as dt

        model = self.fitted
        last = self.dataset.last_time
        now = None if last is None else last - dt.timedelta(days=90)
        customers = self.some_customers(6)
        table = model.recommend_many(customers, k=5, now=now)
        for c in customers:
            one = model.recommend(Query(customer_id=c, k=5, now=now))
            rows = table.filter(table["customer_id"] == c).sort("rank")
            assert rows["item_id"].to_list() == one.item_ids
            assert rows["reason"].to_list() == [r.reason for r in one]

    def test_recommend_many_exclude_purchased(self):
        model = self.fitted
        customers = self.some_customers(6)
        table = model.recommend_many(customers, k=5, exclude_purchased=True, reasons=False)
        for c in customers:
            owned = set(self.dataset.history(c)["item_id"].to_list())
            got = table.filter(table["customer_id"] == c)["item_id"].to_list()
            assert not owned & set(got)
            assert got == model.recommend(Query(customer_id=c, k=5, exclude_purchased=True)).item_ids

    def test_save_load_round_trip(self, tmp_path):
        from recokit import load, save

        model = self.fitted
        ds = self.dataset
        loaded = load(save(model, tmp_path / "model"))
        assert type(loaded) is type(model)
        assert same_params(loaded.get_params(), model.get_params())
        cart = [ds.item_ids.id(0), ds.item_ids.id(ds.n_items // 2), "no-such-item-#"]
        queries = [Query(customer_id=c, k=8) for c in self.some_customers(4)]
        queries += [Query(items=cart, k=8), Query(customer_id=self.some_customers(2)[1], items=cart[:1], k=8)]
        queries += [Query(customer_id="no-such-customer-#", k=8), Query(k=8)]
        for q in queries:
            assert _same(loaded.score(q), model.score(q)), q
            want, got = model.recommend(q), loaded.recommend(q)
            assert got.item_ids == want.item_ids, q
            assert _same(got.scores, want.scores), q
            assert [(r.reason, r.rules) for r in got] == [(r.reason, r.rules) for r in want], q
        customers = self.some_customers(5)
        assert loaded.recommend_many(customers, k=5).equals(model.recommend_many(customers, k=5))

    @given(data=st.data())
    def test_recommend_properties(self, data):
        model = self.fitted
        ds = self.dataset
        items = ds.item_ids.to_list()
        customer = data.draw(st.one_of(st.none(), st.sampled_from(ds.customer_ids.to_list()), st.just("stranger")))
        context = data.draw(st.lists(st.sampled_from(items), max_size=4))
        exclude = data.draw(st.lists(st.sampled_from(items), max_size=20))
        k = data.draw(st.integers(1, 30))
        q = Query(customer_id=customer, items=context, exclude=exclude, k=k)
        recs = model.recommend(q)
        got = recs.item_ids
        assert len(got) <= k
        assert len(set(got)) == len(got)
        assert not set(got) & (set(exclude) | set(context))
        finite = recs.scores[np.isfinite(recs.scores)]
        assert np.all(np.diff(finite) <= 0)
        # NaN (back-filled) entries only after every scored one
        n_finite = len(finite)
        assert np.isfinite(recs.scores[:n_finite]).all()
        # back-fill: k items whenever the catalogue allows
        n_allowed = ds.n_items - len(set(exclude) | set(context))
        assert len(got) == min(k, n_allowed)
        assert model.recommend(q).item_ids == got
