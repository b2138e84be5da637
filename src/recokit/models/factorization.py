"""Matrix factorisation models wrapped from implicit: :class:`ALS` and :class:`BPR`.

implicit learns one vector per customer and per item; the score of an item for a customer is the
dot product of the two. recokit adds what a shop needs around it: ids, exclusions, reasons,
anonymous and cart queries (see :class:`ALS` for how a context is turned into a customer vector).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recokit.core import Recommender
from recokit.data import Dataset
from recokit.models import _implicit
from recokit.params import Interval, Optional, param

__all__ = ["ALS", "BPR"]




_FACTORS = Interval(int, low=1)
_ITERATIONS = Interval(int, low=1)
_THREADS = Interval(int, low=0)
_SEED = Optional(Interval(int, low=0))
_NON_NEGATIVE = Interval(float, low=0)
_POSITIVE = Interval(float, low=0, low_open=True)


class _Factorization(Recommender):
    _kind = ""

    if TYPE_CHECKING:  # declared as parameters by ALS and BPR, in their own positional order

        @property
        def factors(self) -> int: ...
        @property
        def regularization(self) -> float: ...
        @property
        def iterations(self) -> int: ...
        @property
        def random_state(self) -> int | None: ...
        @property
        def num_threads(self) -> int: ...
        @property
        def context_weight(self) -> float: ...

    def _implicit_kwargs(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        ui = dataset.user_items
        user_f, item_f, model = _implicit.fit_factorization(
            self._kind,
            ui,
            factors=self.factors,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
            **self._implicit_kwargs(),
        )
        # float64 so that scoring one customer and a batch give the same numbers
        self.user_factors_ = np.ascontiguousarray(user_f, dtype=np.float64)
        self.item_factors_ = np.ascontiguousarray(item_f, dtype=np.float64)
        self.model_ = model
        norms = np.linalg.norm(self.item_factors_, axis=1)
        self.item_unit_ = self.item_factors_ / np.where(norms > 0, norms, 1.0)[:, None]
        self.has_history_ = np.diff(ui.indptr) > 0
        names = dataset.item_labels()
        self.names_ = np.array(names, dtype=object)
        verb, yours = ("bought", "your") if dataset.only_purchases else ("chose", "your interest in")
        self.because_ = np.array([f"customers with tastes like yours {verb} this (like {yours} {n})" for n in names], dtype=object)

    # -- persistence (recokit.save / recokit.load) ----------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        """Fitted state to save: everything but implicit's model object (rebuilt from the factors)."""
        return {k: v for k, v in vars(self).items() if k != "model_"}

    def _set_state(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        params = {k: getattr(self, k) for k in ("factors", "regularization", "iterations", "random_state", "num_threads")}
        self.model_ = _implicit.rebuild_factorization(self._kind, self.user_factors_, self.item_factors_, **params, **self._implicit_kwargs())

    # -- scoring -------------------------------------------------------------------------------
    def _score_many(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        scores = self.user_factors_[customer_idx] @ self.item_factors_.T
        scores[~self.has_history_[customer_idx]] = np.nan  # nothing learnt about them
        return scores

    def _query_row(self, ctx: Context) -> sp.csr_array:
        """1 x items: the customer's history plus the context items (as in ItemKNN)."""
        n = self.dataset_.n_items
        h = self.dataset_.user_items[[ctx.customer_idx]] if ctx.known_customer else sp.csr_array((1, n))
        top = float(h.data.max()) if h.nnz else 1.0
        c = sp.csr_array(
            (np.full(len(ctx.item_idx), self.context_weight * top), (np.zeros(len(ctx.item_idx), dtype=np.int64), ctx.item_idx)),
            shape=(1, n),
        )
        v = (h + c).tocsr()
        v.sum_duplicates()
        return v

    def _context_vector(self, row: sp.csr_array) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, ctx: Context) -> np.ndarray:
        if len(ctx.item_idx) == 0:
            if not ctx.known_customer:
                return np.full(self.dataset_.n_items, np.nan)
            return self._score_many(np.array([ctx.customer_idx]), ctx.now)[0]
        u = self._context_vector(self._query_row(ctx))
        return self.item_factors_ @ u

    # -- explanations ---------------------------------------------------------------------------
    def _closeness(self, sources: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Cosine of each (source, item) pair of item vectors, row by row: the same number
        whether computed for one pair or a million (no BLAS blocking)."""
        out = np.empty(len(sources))
        step = 131_072
        for lo in range(0, len(sources), step):
            sl = slice(lo, lo + step)
            out[sl] = (self.item_unit_[sources[sl]] * self.item_unit_[items[sl]]).sum(axis=1)
        return out

    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        if len(ctx.item_idx) == 0:
            if not ctx.known_customer:
                return None
            return self._explain_many(np.array([ctx.customer_idx]), np.array([item_idx]), ctx.now)[0]
        row = self._query_row(ctx)
        sources = row.indices.astype(np.int64)
        sims = self._closeness(sources, np.full(len(sources), item_idx))
        src = int(sources[int(np.argmax(sims))])  # first (smallest index) on ties
        if src in set(ctx.item_idx.tolist()):
            return f"shoppers with tastes like yours chose this with {self.names_[src]}"
        return self.because_[src]

    def _explain_many(self, customer_idx: np.ndarray, item_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        """For each (customer, item): the history item whose vector is closest to the item's."""
        ui = self.dataset_.user_items
        lens = np.diff(ui.indptr)[customer_idx]
        starts = ui.indptr[customer_idx]
        offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        pos = np.repeat(starts.astype(np.int64) - offsets, lens) + np.arange(int(lens.sum()), dtype=np.int64)
        pair = np.repeat(np.arange(len(item_idx)), lens)
        sources = ui.indices[pos].astype(np.int64)
        out = np.full(len(item_idx), None, dtype=object)
        if len(pair) == 0:
            return out
        sims = self._closeness(sources, item_idx[pair])
        seg = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
        best = np.repeat(np.maximum.reduceat(sims, seg), np.diff(np.append(seg, len(pair))))
        at_max = np.flatnonzero(sims == best)
        first_pairs, first = np.unique(pair[at_max], return_index=True)  # sources ascending: smallest wins
        out[first_pairs] = self.because_[sources[at_max[first]]]
        return out


class ALS(_Factorization):
    """Alternating least squares on implicit feedback (Hu, Koren & Volinsky), from implicit.

    Parameters
    ----------
    factors : int
        Length of the customer and item vectors.
    regularization : float
    alpha : float
        Confidence scale of the interaction weights (implicit's ``alpha``).
    iterations : int
    random_state : int or None
        Seed of implicit's initialisation. ALS is deterministic for a fixed seed whatever the
        thread count.
    num_threads : int
        implicit's threads (0: all cores). BLAS is limited to one thread during the fit.
    context_weight : float
        For queries with context items (cart, product page): each counts ``context_weight``
        times the customer's strongest interaction weight (1 for an anonymous visitor).

    Notes
    -----
    A known customer without context is scored with the factors learnt in ``fit``. A query with
    context items (anonymous or not) gets a customer vector recomputed by implicit's
    ``recalculate_user`` from the history plus the context items, so a cart is scored like a
    short history. A known customer with no interactions and an anonymous visitor without
    context get no opinion (NaN): the base back-fills with best sellers.

    Examples
    --------
    >>> from recokit import ALS, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(300, seed=5)
    >>> model = ALS(factors=8, iterations=3, random_state=0).fit(shop)
    >>> len(model.recommend(Query(customer_id=shop.customer_ids.to_list()[0], k=4)))
    4
    """

    _kind = "als"

    factors: int = param(
        default=64, check=_FACTORS, kw_only=False, doc="Length of the customer and item vectors."
    )
    regularization: float = param(
        default=0.01, check=_NON_NEGATIVE, kw_only=False, doc="L2 regularisation of the factors."
    )
    alpha: float = param(
        default=1.0,
        check=_POSITIVE,
        kw_only=False,
        doc="Confidence scale of the interaction weights (implicit's ``alpha``).",
    )
    iterations: int = param(
        default=15, check=_ITERATIONS, kw_only=False, doc="Alternating least-squares sweeps."
    )
    random_state: int | None = param(
        default=0,
        check=_SEED,
        kw_only=False,
        doc="Seed of implicit's initialisation. ALS is deterministic for a fixed seed whatever the thread count.",
    )
    num_threads: int = param(
        default=0,
        check=_THREADS,
        kw_only=False,
        doc="implicit's threads (0: all cores). BLAS is limited to one thread during the fit.",
    )
    context_weight: float = param(
        default=1.0,
        check=_NON_NEGATIVE,
        kw_only=False,
        doc="For queries with context items (cart, product page): each counts ``context_weight`` times the "
        "customer's strongest interaction weight (1 for an anonymous visitor).",
    )

    def _implicit_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _context_vector(self, row: sp.csr_array) -> np.ndarray:
        return _implicit.recalculate_user(self.model_, row).astype(np.float64)


class BPR(_Factorization):
    """Bayesian personalised ranking (Rendle et al.), from implicit.

    Parameters
    ----------
    factors : int
        Length of the vectors (implicit adds one for an item bias).
    learning_rate, regularization : float
    iterations : int
    random_state : int or None
        Seed of implicit's sampling.
    num_threads : int
        implicit's threads (0: all cores). Default 1: implicit's BPR updates the factors from
        several threads without locks, so it is bit-for-bit reproducible only with one thread
        (measured: two runs with 2 threads differ; with 1 thread they are identical). Raise it
        for speed when reproducibility does not matter.
    context_weight : float
        As in :class:`ALS`.

    Notes
    -----
    implicit cannot recompute a BPR customer vector, so a query with context items is scored
    with the weighted mean of the history and context items' vectors (the item-bias coordinate
    kept at 1, as implicit does for customers).

    Examples
    --------
    >>> from recokit import BPR, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(300, seed=5)
    >>> model = BPR(factors=8, iterations=5, random_state=0, num_threads=1).fit(shop)
    >>> len(model.recommend(Query(items=[shop.item_ids.to_list()[0]], k=4)))
    4
    """

    _kind = "bpr"

    factors: int = param(
        default=64,
        check=_FACTORS,
        kw_only=False,
        doc="Length of the vectors (implicit adds one for an item bias).",
    )
    learning_rate: float = param(
        default=0.01,
        check=_POSITIVE,
        kw_only=False,
        doc="Step size of the stochastic gradient updates.",
    )
    regularization: float = param(
        default=0.01, check=_NON_NEGATIVE, kw_only=False, doc="L2 regularisation of the factors."
    )
    iterations: int = param(
        default=100, check=_ITERATIONS, kw_only=False, doc="Passes over the interactions."
    )
    random_state: int | None = param(
        default=0, check=_SEED, kw_only=False, doc="Seed of implicit's sampling."
    )
    num_threads: int = param(
        default=1,
        check=_THREADS,
        kw_only=False,
        doc="implicit's threads (0: all cores). Default 1: implicit's BPR updates the factors from several threads "
        "without locks, so it is bit-for-bit reproducible only with one thread. Raise it for speed when "
        "reproducibility does not matter.",
    )
    context_weight: float = param(
        default=1.0, check=_NON_NEGATIVE, kw_only=False, doc="As in ``ALS``."
    )

    def _implicit_kwargs(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate}

    def _context_vector(self, row: sp.csr_array) -> np.ndarray:
        w = row.data / row.data.sum()
        u = w @ self.item_factors_[row.indices]
        u[-1] = 1.0  # implicit's BPR: the last item coordinate is a bias, matched by a constant 1
        return u
