"""The contract every :class:`recokit.Recommender` honours, as a pytest mixin.

Subclass :class:`RecommenderContract` in a test module, implement ``make_model`` (and, if the
model needs special data, ``make_dataset``), and say what the model learns::

    class TestMyModel(RecommenderContract):
        learns_from = "history"       # or "context", ("history", "context"), or None (say why
                                      # in learns_why_not)
        expected_hit_rate = 0.8       # the floor on the planted dataset

        def make_model(self):
            return MyModel()

The checks use only the public API (``fit``, ``recommend``, ``recommend_many``, ``explain``,
``score``, ``get_params``, ``is_fitted``, ``dataset_``, ``forget``, ``partial_fit``,
:func:`recokit.save` / :func:`recokit.load`), except the failed-fit and failed-update checks,
which make ``_fit`` / ``_update`` fail on purpose.
"""

from __future__ import annotations

import copy
import datetime as dt
import warnings
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ClassVar, Literal

import numpy as np

from recokit.testing._deps import require_dev

pytest, (given, st) = require_dev()

from recokit import Dataset, NotFittedError, Query, Recommendations, Recommender, load, save  # noqa: E402
from recokit.testing.fixtures import Planted, planted  # noqa: E402
from recokit.testing.state import clone, fingerprint, lazy_fill, same_params  # noqa: E402

__all__ = ["PlantedFitError", "RecommenderContract"]



class PlantedFitError(RuntimeError):
    """Raised on purpose by the failed-fit checks, after the model's real ``_fit`` ran."""


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


def _unknown(ids: Any, label: str) -> Hashable:
    """An id of the right kind that the dataset does not hold."""
    values = ids.to_list()
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return max(values) + 1
    return f"no-such-{label}-#"


def assert_same_recommendations(got: Recommendations, want: Recommendations, where: object = "") -> None:
    """Same ids, scores (NaN = NaN), reasons and rules, in the same order."""
    assert got.item_ids == want.item_ids, where
    assert _same(got.scores, want.scores), where
    assert [(r.reason, r.rules) for r in got] == [(r.reason, r.rules) for r in want], where


def _rows_of(table: Any, customer: Hashable) -> Any:
    return table.filter(table["customer_id"] == customer).sort("rank")


class RecommenderContract:
    """Mixin of contract tests; subclasses provide ``make_model``."""

    #: what the model learns the planted groups from: the customer's "history", the request's
    #: "context" items, both (a tuple), or None (then the "it learns" floor is skipped, saying
    #: learns_why_not)
    learns_from: ClassVar[Literal["history", "context"] | tuple[str, ...] | None] = None
    #: the hit-rate floor on the planted dataset (set it a safe margin below what you measured)
    expected_hit_rate: ClassVar[float | None] = None
    #: shown when learns_from is None
    learns_why_not: ClassVar[str] = "learns_from is None: set learns_from and expected_hit_rate to check that it learns"
    #: whether recokit.save / recokit.load must round-trip the model (False: skipped, saying saves_why_not)
    saves: ClassVar[bool] = True
    saves_why_not: ClassVar[str] = "saves is False"
    #: the warning a fit on the planted dataset must give, or None (it must then fit silently
    #: when the suite turns warnings into errors): Renewal learns nothing from the planted shop,
    #: which has no repeat purchases, and says so with a DataWarning
    planted_fit_warns: ClassVar[type[Warning] | None] = None
    #: whether ``forget`` / ``partial_fit`` end exactly as a fit on the changed data (False: the
    #: equality checks are skipped, saying updates_why_not; erasure and atomicity are still checked)
    exact_updates: ClassVar[bool] = True
    updates_why_not: ClassVar[str] = "exact_updates is False"

    def make_dataset(self) -> Dataset:
        """The dataset of most checks (cached per class); default: the small sports shop."""
        from recokit.datasets import sports_shop

        return sports_shop(600, seed=11)

    def make_planted(self) -> Planted:
        """The planted dataset of the "it learns" floor and of the failed refit (cached per class)."""
        return planted()

    def make_model(self) -> Recommender:  # pragma: no cover - abstract
        raise NotImplementedError

    # cached per test class, so hypothesis examples do not refit
    _cache: ClassVar[dict] = {}

    def _cached(self, what: str, build: Any) -> Any:
        key = (type(self), what)
        if key not in RecommenderContract._cache:
            RecommenderContract._cache[key] = build()
        return RecommenderContract._cache[key]

    @property
    def dataset(self) -> Dataset:
        return self._cached("ds", self.make_dataset)

    @property
    def planted(self) -> Planted:
        return self._cached("planted", self.make_planted)

    @property
    def fitted(self) -> Recommender:
        return self._cached("model", lambda: self.make_model().fit(self.dataset))

    @property
    def unknown_customer(self) -> Hashable:
        return _unknown(self.dataset.customer_ids, "customer")

    @property
    def unknown_item(self) -> Hashable:
        return _unknown(self.dataset.item_ids, "item")

    def some_customers(self, n: int = 12) -> list:
        ids = self.dataset.customer_ids.to_list()
        step = max(1, len(ids) // n)
        return ids[::step][:n]

    def some_carts(self) -> list[list]:
        ds = self.dataset
        a, b = ds.item_ids.id(0), ds.item_ids.id(ds.n_items // 2)
        return [[], [a], [a, b], [b, self.unknown_item]]

    @contextmanager
    def failing_fit(self, model: Recommender) -> Iterator[None]:
        """While active, ``fit`` of ``model``'s class runs the real ``_fit`` and then fails."""
        cls = type(model)
        real = cls._fit

        def fit_then_fail(self: Recommender, dataset: Dataset) -> None:
            real(self, dataset)
            raise PlantedFitError(f"{cls.__name__}._fit failed on purpose (after writing its state)")

        mp = pytest.MonkeyPatch()
        mp.setattr(cls, "_fit", fit_then_fail)
        try:
            yield
        finally:
            mp.undo()

    def planted_fit(self) -> AbstractContextManager[Any]:
        """Around a fit on the planted dataset: expects ``planted_fit_warns`` when it is set."""
        return pytest.warns(self.planted_fit_warns) if self.planted_fit_warns is not None else nullcontext()

    @contextmanager
    def planted_quiet(self) -> Iterator[None]:
        """Around the update checks' fits on planted data: the warning ``planted_fit_warns``
        declares (checked by the fit tests) is not what these checks are about."""
        with warnings.catch_warnings():
            if self.planted_fit_warns is not None:
                warnings.simplefilter("ignore", self.planted_fit_warns)
            yield

    # -- basics ------------------------------------------------------------------------------
    def test_is_recommender(self):
        assert isinstance(self.make_model(), Recommender)

    def test_not_fitted_raises(self):
        model = self.make_model()
        assert not model.is_fitted
        with pytest.raises(NotFittedError, match="not fitted"):
            model.recommend(Query(k=3))
        with pytest.raises(NotFittedError):
            model.score(Query())

    def test_fit_returns_self_and_leaves_params_unchanged(self):
        model = self.make_model()
        before = copy.deepcopy(model.get_params())
        assert model.fit(self.dataset) is model
        assert model.is_fitted
        # scikit-learn's check_estimators_overwrite_params
        assert same_params(before, model.get_params()), "fit changed a constructor parameter; store learnt state in attributes ending in '_'"
        RecommenderContract._cache[(type(self), "second")] = model  # a second instance, for the next checks

    def test_fit_twice_equals_fit_once(self):
        once = self.fitted
        twice = self.make_model().fit(self.dataset).fit(self.dataset)
        for c in self.some_customers(5):
            assert _same(once.score(Query(customer_id=c)), twice.score(Query(customer_id=c)))

    def test_deterministic_across_instances(self):
        a = self.fitted
        b = self._cached("second", lambda: self.make_model().fit(self.dataset))
        assert b is not a
        for c in self.some_customers(5):
            q = Query(customer_id=c, k=10)
            assert a.recommend(q).item_ids == b.recommend(q).item_ids

    def test_score_shape(self):
        s = self.fitted.score(Query(customer_id=self.some_customers(1)[0]))
        assert s.shape == (self.dataset.n_items,)
        assert s.dtype == np.float64

    # -- failed fits ---------------------------------------------------------------------------
    def test_failed_fit_leaves_an_unfitted_model_unfitted(self):
        model = self.make_model()
        with self.failing_fit(model), self.planted_fit(), pytest.raises(PlantedFitError):
            model.fit(self.planted.dataset)
        assert not model.is_fitted
        with pytest.raises(NotFittedError):
            model.recommend(Query(k=3))

    def test_failed_refit_keeps_the_previous_state(self):
        ds = self.planted.dataset  # small: fast
        with self.planted_fit():
            model = self.make_model().fit(ds)
        customers = ds.customer_ids.to_list()
        queries = [Query(customer_id=c, k=6) for c in customers[:3]] + [Query(items=ds.item_ids.to_list()[:2], k=6)]
        before = [model.recommend(q) for q in queries]
        with self.failing_fit(model), self.planted_fit(), pytest.raises(PlantedFitError):
            model.fit(ds.filter(ds.interactions["customer_id"] != customers[0]))  # other data
        assert model.is_fitted
        assert model.dataset_ is ds
        for q, want in zip(queries, before, strict=True):
            assert_same_recommendations(model.recommend(q), want, q)

    # -- forget and partial_fit -----------------------------------------------------------------
    def _halves(self) -> tuple[Dataset, Dataset, Dataset]:
        """The planted rows as two Datasets built from the raw rows (the later half of the
        interactions second: new customers and repeat customers) and one Dataset of all rows."""
        ds = self.planted.dataset
        cols = ["customer_id", "item_id", "quantity"] + (["timestamp"] if ds.has_time else []) + [c for c in ("event", "price") if c in ds.interactions.columns]
        raw = ds.interactions.select(*cols, ds.interactions["basket_idx"].alias("order_id"))
        options: dict[str, Any] = {"quantity_col": "quantity", "basket_col": "order_id", "time_col": "timestamp" if ds.has_time else None}
        options.update({f"{c}_col": c for c in ("event", "price") if c in cols})
        catalog = ds.catalog if ds.catalog.columns != ["item_id"] else None

        def build(rows: Any, customers: Any = ds.customers) -> Dataset:
            return Dataset(rows, catalog, customers, **options)

        cut = raw.height // 2
        return build(raw[:cut]), build(raw[cut:], None), build(raw)

    def _same_answers(self, got: Recommender, want: Recommender, ds: Dataset) -> None:
        customers = [*ds.customer_ids.to_list(), _unknown(ds.customer_ids, "customer")]
        assert got.recommend_many(customers, k=4).equals(want.recommend_many(customers, k=4))
        for cart in ([ds.item_ids.id(0)], ds.item_ids.to_list()[1:3]):
            q = Query(items=cart, k=4)
            assert_same_recommendations(got.recommend(q), want.recommend(q), q)

    def test_forget_erases_the_customer_as_a_fit_without_them_would(self):
        with self.planted_quiet():
            ds = self.planted.dataset
            gone = ds.customer_ids.to_list()[:2]
            model = self.make_model().fit(ds)
            assert model.forget(gone) is model
            assert not any(c in model.dataset_.customer_ids for c in gone), "forget left the customer in the model's Dataset"
            assert model.dataset_.history(gone[0]).height == 0
            anonymous = model.recommend(Query(k=4))
            assert_same_recommendations(model.recommend(Query(customer_id=gone[0], k=4)), anonymous, "a forgotten customer")
            if not self.exact_updates:
                pytest.skip(f"{type(self).__name__}: {self.updates_why_not}")
            self._same_answers(model, self.make_model().fit(ds.without_customers(gone)), model.dataset_)

    def test_partial_fit_equals_a_fit_on_the_union(self):
        with self.planted_quiet():
            first, new, both = self._halves()
            model = self.make_model().fit(first)
            assert model.partial_fit(new) is model
            assert model.dataset_.customer_ids == both.customer_ids and model.dataset_.item_ids == both.item_ids
            if not self.exact_updates:
                pytest.skip(f"{type(self).__name__}: {self.updates_why_not}")
            self._same_answers(model, self.make_model().fit(both), both)

    def test_failed_forget_and_partial_fit_keep_the_state(self):
        with self.planted_quiet():
            first, new, _ = self._halves()
            model = self.make_model().fit(first)
            before = fingerprint(model)

            def fail(self: Recommender, previous: Recommender, change: Any) -> None:
                raise PlantedFitError(f"{type(self).__name__}._update failed on purpose")

            mp = pytest.MonkeyPatch()
            mp.setattr(type(model), "_update", fail)
            try:
                for update in (lambda: model.forget(first.customer_ids.to_list()[:1]), lambda: model.partial_fit(new)):
                    with pytest.raises(PlantedFitError):
                        update()
                    after = fingerprint(model)
                    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and not lazy_fill(k, before))
                    assert not changed, f"a failed update changed the model: {changed[:10]}"
            finally:
                mp.undo()

        # -- it learns -----------------------------------------------------------------------------
    def hit_rate(self, model: Recommender, p: Planted, mode: Literal["history", "context"]) -> float:
        """Share of planted customers whose held-out item is ranked first.

        ``"history"``: ``recommend_many`` of the customers, purchases excluded; ``"context"``: an
        anonymous request whose cart is the customer's purchases.
        """
        customers = list(p.held_out)
        if mode == "history":
            table = model.recommend_many(customers, k=1, exclude_purchased=True, reasons=False)
            top = dict(zip(table["customer_id"].to_list(), table["item_id"].to_list(), strict=True))
        else:
            top = {}
            for c in customers:
                recs = model.recommend(Query(items=p.dataset.history(c)["item_id"].to_list(), k=1))
                top[c] = recs.item_ids[0] if len(recs) else None
        return float(np.mean([top.get(c) == p.held_out[c] for c in customers]))

    def test_learns_the_planted_groups(self):
        name = type(self).__name__
        if self.learns_from is None:
            pytest.skip(f"{name}: {self.learns_why_not}")
        modes = (self.learns_from,) if isinstance(self.learns_from, str) else tuple(self.learns_from)
        assert modes and set(modes) <= {"history", "context"}, f"{name}.learns_from must be 'history', 'context', both (a tuple) or None; got {self.learns_from!r}"
        p = self.planted
        floor = self.expected_hit_rate
        assert floor is not None, f"{name} sets learns_from but not expected_hit_rate (the floor to reach)"
        assert floor > p.chance, f"{name}.expected_hit_rate={floor} is not above chance ({p.chance:.3f}): the check could not fail"
        with self.planted_fit():
            model = self.make_model().fit(p.dataset)
        for mode in modes:
            got = self.hit_rate(model, p, mode)
            assert got >= floor, f"{name} ranks the held-out item first for {got:.1%} of planted customers ({mode}); floor {floor:.1%}, chance {p.chance:.1%}"

    # -- cold start ----------------------------------------------------------------------------
    def test_unknown_customer_is_the_anonymous_answer(self):
        model = self.fitted
        for cart in self.some_carts():
            want = model.recommend(Query(items=cart, k=8))
            got = model.recommend(Query(customer_id=self.unknown_customer, items=cart, k=8))
            assert_same_recommendations(got, want, cart)
            assert _same(model.score(Query(customer_id=self.unknown_customer, items=cart)), model.score(Query(items=cart)))

    def test_unknown_customers_in_a_batch_get_the_anonymous_answer(self):
        model = self.fitted
        unknown = self.unknown_customer
        other = unknown + 1 if isinstance(unknown, int) else f"{unknown}2"
        want = model.recommend(Query(k=7))
        table = model.recommend_many([unknown, self.some_customers(1)[0], other], k=7)
        for c in (unknown, other):
            rows = _rows_of(table, c)
            assert rows["item_id"].to_list() == want.item_ids, c
            assert _same(rows["score"].to_numpy(), want.scores), c
            assert rows["reason"].to_list() == [r.reason for r in want], c

    def test_unknown_items_are_ignored(self):
        model = self.fitted
        for customer in (None, self.some_customers(2)[1]):
            for cart in self.some_carts()[:2]:
                want = model.recommend(Query(customer_id=customer, items=cart, k=6))
                got = model.recommend(Query(customer_id=customer, items=[*cart, self.unknown_item], k=6))
                assert_same_recommendations(got, want, (customer, cart))

    def test_anonymous_request_is_filled(self):
        model = self.fitted
        recs = model.recommend(Query(k=4))
        assert len(recs) == min(4, self.dataset.n_items) if model.backfill else len(recs) <= 4
        assert len(set(recs.item_ids)) == len(recs)

    # -- reasons -------------------------------------------------------------------------------
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

    # -- batches -------------------------------------------------------------------------------
    def test_recommend_many_equals_one_by_one(self):
        model = self.fitted
        customers = [*self.some_customers(10), self.unknown_customer]
        table = model.recommend_many(customers, k=7)
        listed = model.recommend_many(customers, k=7, rules_as="list")
        for c in customers:
            one = model.recommend(Query(customer_id=c, k=7))
            rows = _rows_of(table, c)
            assert rows["item_id"].to_list() == one.item_ids
            np.testing.assert_allclose(rows["score"].to_numpy(), one.scores, rtol=1e-9, atol=1e-12)
            assert rows["reason"].to_list() == [r.reason for r in one]
            # the flat column: each recommendation's rules joined by "; ", null when none touched it
            assert rows["rules"].to_list() == [("; ".join(r.rules) if r.rules else None) for r in one]
            assert _rows_of(listed, c)["rules"].to_list() == [list(r.rules) for r in one]

    def test_recommend_many_with_an_earlier_now_equals_one_by_one(self):
        model = self.fitted
        last = self.dataset.last_time
        now = None if last is None else last - dt.timedelta(days=90)
        customers = self.some_customers(6)
        table = model.recommend_many(customers, k=5, now=now)
        for c in customers:
            one = model.recommend(Query(customer_id=c, k=5, now=now))
            rows = _rows_of(table, c)
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

    # -- requests are read-only ----------------------------------------------------------------
    def request_battery(self, model: Recommender, ds: Dataset) -> None:
        """Every kind of request, on known, unknown and anonymous customers of ``ds``."""
        ids = ds.customer_ids.to_list()
        customers = [ids[len(ids) // 2], _unknown(ds.customer_ids, "customer")]
        items, unknown_item = ds.item_ids.to_list(), _unknown(ds.item_ids, "item")
        carts = [[], [items[0]], [items[-1], items[len(items) // 2], unknown_item]]
        for c in [None, *customers]:
            for cart in carts:
                q = Query(customer_id=c, items=cart, k=6, exclude=cart[:1], exclude_purchased=c is not None)
                model.recommend(q)
                model.score(q)
                model.explain(q, items[1])
                model.explain(q, unknown_item)
        model.recommend_many(customers, k=5)
        model.recommend_many(customers, k=3, exclude_purchased=True, reasons=False)
        if ds.last_time is not None:
            model.recommend_many(customers, k=4, now=ds.last_time - dt.timedelta(days=30))
            model.recommend(Query(customer_id=customers[0], k=4, now=ds.last_time + dt.timedelta(days=400)))

    def test_requests_never_mutate_the_model(self):
        # from the first request on, on the small planted data: only a None attribute (a lazily
        # built cache) may get a value
        p = self.planted.dataset
        with self.planted_fit():
            model = self.make_model().fit(p)
        cold = fingerprint(model)
        self.request_battery(model, p)
        warm = fingerprint(model)
        changed = sorted(k for k in set(cold) | set(warm) if cold.get(k) != warm.get(k) and not lazy_fill(k, cold))
        assert not changed, f"requests changed the fitted state: {changed[:10]}"
        # on the real data, once caches are filled, nothing may change at all
        model = self.fitted
        self.request_battery(model, self.dataset)
        warm = fingerprint(model)
        self.request_battery(model, self.dataset)
        again = fingerprint(model)
        changed = sorted(k for k in set(warm) | set(again) if warm.get(k) != again.get(k))
        assert not changed, f"repeated requests changed the fitted state: {changed[:10]}"

    # -- configuration and persistence ---------------------------------------------------------
    def test_clone_refits_to_the_same_answers(self):
        model = self.fitted
        before = fingerprint(model)
        twin = clone(model)
        assert twin is not model and not twin.is_fitted
        assert same_params(twin.get_params(), model.get_params())
        twin.fit(self.dataset)
        assert fingerprint(model) == before, "fitting the clone changed the original (a shared parameter object?)"
        queries = [Query(customer_id=c, items=cart, k=8) for c, cart in zip([None, *self.some_customers(3)], self.some_carts(), strict=True)]
        for q in queries:
            assert_same_recommendations(twin.recommend(q), model.recommend(q), q)
        customers = [*self.some_customers(5), self.unknown_customer]
        assert twin.recommend_many(customers, k=5).equals(model.recommend_many(customers, k=5))

    def test_save_load_round_trip(self, tmp_path):
        if not self.saves:
            pytest.skip(f"{type(self).__name__}: {self.saves_why_not}")
        model = self.fitted
        loaded = load(save(model, tmp_path / "model"))
        assert type(loaded) is type(model)
        assert same_params(loaded.get_params(), model.get_params())
        queries = [Query(customer_id=c, k=8) for c in self.some_customers(4)]
        queries += [Query(items=cart, k=8) for cart in self.some_carts()[1:]]
        queries += [Query(customer_id=self.some_customers(2)[1], items=self.some_carts()[1], k=8)]
        queries += [Query(customer_id=self.unknown_customer, k=8), Query(k=8)]
        for q in queries:
            assert _same(loaded.score(q), model.score(q)), q
            assert_same_recommendations(loaded.recommend(q), model.recommend(q), q)
        customers = self.some_customers(5)
        assert loaded.recommend_many(customers, k=5).equals(model.recommend_many(customers, k=5))

    # -- properties ----------------------------------------------------------------------------
    @given(data=st.data())
    def test_recommend_properties(self, data):
        model = self.fitted
        ds = self.dataset
        items = ds.item_ids.to_list()
        customer = data.draw(st.one_of(st.none(), st.sampled_from(ds.customer_ids.to_list()), st.just(self.unknown_customer)))
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


#: The name LensKit users know (``lenskit.testing.ScorerTests``).
RecommenderTests = RecommenderContract
