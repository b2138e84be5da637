"""Matrix factorisation models wrapped from implicit: :class:`ALS` and :class:`BPR`.

implicit learns one vector per customer and per item; the score of an item for a customer is the
dot product of the two. recokit adds what a shop needs around it: ids, exclusions, reasons,
anonymous and cart queries (see :class:`ALS` for how a context is turned into a customer vector).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recokit._errors import DataWarning
from recokit.adapters import implicit as _implicit
from recokit.core import Batch, Recommender, ScoreBlock, top_k_bounded
from recokit.data import DataChange, Dataset, binary_pattern, csr_lookup, ragged_ranges
from recokit.params import Boolean, Interval, Optional, param

__all__ = ["ALS", "BPR"]


_FACTORS = Interval(int, low=1)
_ITERATIONS = Interval(int, low=1)
_THREADS = Interval(int, low=0)
_SEED = Optional(Interval(int, low=0))
_NON_NEGATIVE = Interval(float, low=0)
_POSITIVE = Interval(float, low=0, low_open=True)


#: Catalogues up to this many item pairs (2,048 items: 32 MB) keep a table of item-pair cosines.
_CLOSENESS_CELLS = 4_194_304

#: Fitted state derived from the factors at fit and load time, never saved.
_DERIVED = ("model_", "item_f32_", "item_t_", "item_norm_max_", "closeness_t_")
#: float32's unit roundoff, and the float32 score's error bound per factor (with room to spare):
#: |float32 score - float64 score| <= (factors + 8) * 2**-24 * |customer vector| * |item vector|.
_U32 = 2.0**-24
#: Rows whose largest possible score comes near float32's range are ranked from float64 alone.
_F32_SAFE = 1e36


def _dots(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise dot products, summed factor by factor in order: the same number for a pair
    whichever batch it is computed in (no BLAS blocking)."""
    out = u[:, 0] * v[:, 0]
    for j in range(1, u.shape[1]):
        out += u[:, j] * v[:, j]
    return out


class FactorScores:
    """The scores of known customers without context: their vectors times the item vectors,
    computed when read (:class:`~recokit.core.LazyScores`).

    Ranking never writes the float64 ``customers x items`` block: a float32 product (half the
    memory, twice the speed) bounds each row's candidates within a proven margin
    (:func:`~recokit.core.top_k_bounded`) and only those are scored exactly, by :func:`_dots` --
    the numbers one request and any batch agree on, to the bit.
    """

    def __init__(self, model: _Factorization, customer_idx: np.ndarray) -> None:
        self.model = model
        safe = np.maximum(customer_idx, 0)
        self.users = model.user_factors_[safe]
        self.no_opinion = (customer_idx < 0) | ~model.has_history_[safe]  # anonymous, or nothing learnt about them: NaN
        self.shape = (len(customer_idx), len(model.item_factors_))

    def dense(self) -> np.ndarray:
        scores = self.users @ self.model.item_factors_.T
        scores[self.no_opinion] = np.nan
        return scores

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        out = _dots(self.users[rows], self.model.item_factors_[cols])
        out[self.no_opinion[rows]] = np.nan
        return out

    def exact_rows(self, rows: np.ndarray) -> np.ndarray:
        """Whole rows of :meth:`at`'s numbers."""
        u, items = self.users[rows], self.model.item_t_
        out = u[:, :1] * items[0]
        for j in range(1, u.shape[1]):
            out += u[:, j : j + 1] * items[j]
        out[self.no_opinion[rows]] = np.nan
        return out

    def rank(self, blocked_rows: np.ndarray, blocked_cols: np.ndarray, k: int, tie: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        with np.errstate(over="ignore", invalid="ignore"):  # overflowing rows are ranked in float64 below
            approx = self.users.astype(np.float32) @ model.item_f32_.T
        approx[self.no_opinion] = np.nan
        reach = np.linalg.norm(self.users, axis=1) * model.item_norm_max_  # the largest |score| of each row
        margin = (self.users.shape[1] + 8) * _U32 * reach + 1e-30  # + float32 steps near 0
        margin[~(reach < _F32_SAFE)] = np.inf  # float32 could overflow: ranked whole, in float64
        return top_k_bounded(approx, margin, self.at, self.exact_rows, blocked_rows, blocked_cols, k, tie, whole_cells=0)


def _moved(factors: np.ndarray, index_map: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows of factors: row ``index_map[i]`` is ``factors[i]`` (-1: dropped); new rows 0."""
    out = np.zeros((n, factors.shape[1]), dtype=np.float64)
    kept = index_map >= 0
    out[index_map[kept]] = factors[kept]
    return out


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

    specificity: ClassVar[int] = 20

    def signal(self) -> str:
        return "customers with similar tastes"

    def _strength(self, ui: sp.csr_array) -> sp.csr_array:
        """The interaction strengths the model learns from (default: the summed weights)."""
        return ui

    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        ui = self._strength(dataset.user_items)
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
        self._set_factors(dataset, user_f, item_f, model)

    def _update(self, previous: _Factorization, change: DataChange) -> None:
        """ALS: the factors of the customers and items that stay move to their new numbers; a
        forgotten customer's row is dropped, then the items they had are re-solved from the
        remaining customers (implicit's ``partial_fit_items``); new rows re-solve their customers
        (``partial_fit_users``, new customers included) and then their items. BPR: implicit has no
        fold-in for it, so BPR refits on the changed Dataset."""
        if self._kind != "als":
            self._fit(change.after)
            return
        after = change.after
        user_f = _moved(previous.user_factors_, change.customer_map, after.n_customers)
        item_f = _moved(previous.item_factors_, change.item_map, after.n_items)
        params = {k: getattr(self, k) for k in ("factors", "regularization", "iterations", "random_state", "num_threads")}
        model = _implicit.rebuild_factorization(self._kind, user_f, item_f, **params, **self._implicit_kwargs())
        users = change.customers if change.kind == "add" else np.empty(0, dtype=np.int64)
        user_f, item_f = _implicit.fold_in(model, self._strength(after.user_items), users=users, items=change.items)
        self._set_factors(after, user_f, item_f, model)

    def _set_factors(self, dataset: Dataset, user_f: np.ndarray, item_f: np.ndarray, model: Any) -> None:
        """The fitted state from the factors."""
        ui = dataset.user_items
        # float64: one customer is scored by BLAS gemv, a batch by gemm, and the two differ in
        # the last bits of most scores (measured: either dtype; gemm of >= 2 rows equals any
        # batch, but costs ~5x gemv for one row). In float64 that reorders a list only on
        # near-ties at 1e-16; float32's 1e-7 would let recommend and recommend_many disagree
        # on some lists, so the product stays in float64 (about 2x float32's time)
        self.user_factors_ = np.ascontiguousarray(user_f, dtype=np.float64)
        self.item_factors_ = np.ascontiguousarray(item_f, dtype=np.float64)
        self.model_ = model
        self._warn_not_finite(ui)
        norms = np.linalg.norm(self.item_factors_, axis=1)
        self.item_unit_ = self.item_factors_ / np.where(norms > 0, norms, 1.0)[:, None]
        n_items = len(self.item_unit_)
        # a small catalogue keeps every item pair's cosine: reasons read them instead of
        # recomputing a dot product per (history item, recommended item) pair
        self.closeness_ = self.item_unit_ @ self.item_unit_.T if n_items * n_items <= _CLOSENESS_CELLS else None
        self._derive()
        self.has_history_ = np.diff(ui.indptr) > 0
        names = dataset.item_labels()
        self.names_ = np.array(names, dtype=object)
        verb, yours = ("bought", "your") if dataset.only_purchases else ("chose", "your interest in")
        self.because_ = np.array([f"customers with tastes like yours {verb} this (like {yours} {n})" for n in names], dtype=object)

    def _derive(self) -> None:
        """State derived from the item factors for ranking (:class:`FactorScores`), not saved."""
        self.item_f32_ = self.item_factors_.astype(np.float32)
        self.item_t_ = np.ascontiguousarray(self.item_factors_.T)
        norms = np.linalg.norm(self.item_factors_, axis=1)
        self.item_norm_max_ = float(norms.max(initial=0.0)) if np.isfinite(norms).all() else np.inf
        # the cosine table transposed: the cosines towards one item are one row (reasons read rows)
        self.closeness_t_ = None if self.closeness_ is None else np.ascontiguousarray(self.closeness_.T)

    def _warn_not_finite(self, ui: Any) -> None:
        """A DataWarning when fitting left NaN or infinite factors: every score of such a customer
        is NaN (no opinion), and such an item is never ranked -- silently, without it."""
        bad_users = np.asarray(~np.isfinite(self.user_factors_).all(axis=1)) & (np.diff(ui.indptr) > 0)
        bad_items = np.asarray(~np.isfinite(self.item_factors_).all(axis=1))
        if bad_users.any() or bad_items.any():
            warnings.warn(
                f"{type(self).__name__}: after fitting, the factors of {int(bad_users.sum())} of {bad_users.shape[0]} customers and "
                f"{int(bad_items.sum())} of {bad_items.shape[0]} items are NaN or infinite, so every score of those customers is NaN "
                f"and their lists are the back-fill only (largest interaction weight: {float(ui.data.max(initial=0.0)):.3g}). "
                "Hint: scale the quantities down (or pass quantity_col=None), lower alpha / learning_rate, or raise regularization.",
                DataWarning,
                stacklevel=4,
            )

    # -- persistence (recokit.save / recokit.load) ----------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        """Fitted state to save: everything but implicit's model object (rebuilt from the factors)."""
        return {k: v for k, v in vars(self).items() if k not in _DERIVED}

    def _set_state(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._derive()
        params = {k: getattr(self, k) for k in ("factors", "regularization", "iterations", "random_state", "num_threads")}
        self.model_ = _implicit.rebuild_factorization(self._kind, self.user_factors_, self.item_factors_, **params, **self._implicit_kwargs())

    # -- scoring -------------------------------------------------------------------------------
    def _score(self, batch: Batch) -> ScoreBlock:
        """Known customers without context: the learnt factors (NaN without history). Rows with
        context items: a customer vector computed from the history plus the context. Others: NaN."""
        ctx = np.flatnonzero(batch.has_context)
        cust = np.flatnonzero(batch.known & ~batch.has_context)
        if not len(ctx):  # ranked without the dense block, computed only if a stage reads it
            return ScoreBlock.lazy(FactorScores(self, batch.customer_idx))
        out = np.full((batch.n, batch.n_items), np.nan)
        if len(cust):
            out[cust] = self._customer_scores(batch.customer_idx[cust])
        if len(ctx):
            q = self._query_rows(batch.customer_idx[ctx], sp.csr_array(batch.context[ctx]))
            out[ctx] = self._context_vectors(q) @ self.item_factors_.T
        return ScoreBlock.dense(out)

    def _customer_scores(self, customer_idx: np.ndarray) -> np.ndarray:
        scores = self.user_factors_[customer_idx] @ self.item_factors_.T
        scores[~self.has_history_[customer_idx]] = np.nan  # nothing learnt about them
        return scores

    def _history(self, customer_idx: np.ndarray) -> sp.csr_array:
        """rows x items: the stored history of each known customer (an empty row for -1)."""
        ui = self.dataset_.user_items
        safe = np.maximum(customer_idx, 0)
        lens = np.where(customer_idx >= 0, np.diff(ui.indptr)[safe], 0)
        pos = ragged_ranges(ui.indptr[safe], ui.indptr[safe] + lens)
        indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        rows = sp.csr_array((ui.data[pos], ui.indices[pos], indptr), shape=(len(customer_idx), ui.shape[1]))
        return self._strength(rows)  # the strengths the model learnt from (one request's rows only)

    def _query_rows(self, customer_idx: np.ndarray, context: sp.csr_array) -> sp.csr_array:
        """rows x items for rows with context: a known customer's history plus each context item
        at ``context_weight`` times the row's strongest history weight (1 without history)."""
        h = self._history(customer_idx)
        top = np.ones(len(customer_idx))
        has = np.diff(h.indptr) > 0
        if has.any():
            top[has] = np.maximum.reduceat(h.data, h.indptr[:-1][has])
        weights = self.context_weight * np.repeat(top, np.diff(context.indptr))
        c = sp.csr_array((weights, context.indices.copy(), context.indptr.copy()), shape=context.shape)
        v = sp.csr_array(h + c)  # scipy's sum (as one request always was): a zero sum is dropped
        v.sum_duplicates()
        v.sort_indices()
        return v

    def _context_vectors(self, rows: sp.csr_array) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- explanations ---------------------------------------------------------------------------
    def _closeness(self, sources: np.ndarray, items: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Cosine of item ``items[j]`` with each of its ``lens[j]`` sources (``sources``, item by
        item): read from the fitted table on a small catalogue (the cosines towards an item are one
        row of ``closeness_t_``, the very numbers of ``closeness_``), else computed row by row --
        either way the same number whether asked for one pair or a million (no BLAS blocking)."""
        if self.closeness_t_ is not None:  # flat positions: twice as fast as a 2-D gather
            n = self.closeness_t_.shape[1]
            return self.closeness_t_.ravel()[np.repeat(items * n, lens) + sources]
        items = np.repeat(items, lens)
        out = np.empty(len(sources))
        step = 131_072
        for lo in range(0, len(sources), step):
            sl = slice(lo, lo + step)
            out[sl] = np.einsum("ij,ij->i", self.item_unit_[sources[sl]], self.item_unit_[items[sl]])  # no temporary product
        return out

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """For each (row, item): the query item (history, or history plus context) whose vector
        is closest to the item's (the smallest index on ties), as a sentence."""
        items = np.asarray(items, dtype=np.int64)
        uniq, inverse = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
        cidx = batch.customer_idx[uniq]
        if batch.context.nnz:
            context = sp.csr_array(batch.context[uniq])
            context.sort_indices()
        else:
            context = sp.csr_array((len(uniq), batch.n_items), dtype=np.float64)
        q = self._history(cidx)  # customer-only rows: every stored history item is a candidate
        ctx = np.flatnonzero(np.diff(context.indptr) > 0)
        if len(ctx):
            plain = np.flatnonzero(np.diff(context.indptr) == 0)
            parts = [sp.csr_array(q[plain]), self._query_rows(cidx[ctx], sp.csr_array(context[ctx]))]
            q = sp.csr_array(sp.vstack(parts, format="csr")[np.argsort(np.concatenate([plain, ctx]))])
        lens = np.diff(q.indptr)[inverse]
        sources = q.indices[ragged_ranges(q.indptr[inverse], q.indptr[inverse] + lens)]
        out = np.full(len(items), None, dtype=object)
        if len(sources) == 0:
            return out.tolist()
        sims = self._closeness(sources, items, lens)
        first_pairs = np.flatnonzero(lens > 0)
        starts = (np.cumsum(lens) - lens)[first_pairs]
        best = np.maximum.reduceat(sims, starts)  # NaN (a non-finite factor) is no closest item
        at_max = np.flatnonzero(sims == np.repeat(best, lens[first_pairs]))  # ascending
        found = ~np.isnan(best)
        first_pairs, starts = first_pairs[found], starts[found]
        src = sources[at_max[np.searchsorted(at_max, starts)]].astype(np.int64)  # sources ascending: smallest wins
        out[first_pairs] = self.because_[src]
        if context.nnz:
            mine = csr_lookup(context, inverse[first_pairs], src)[0]
            out[first_pairs[mine]] = [f"shoppers with tastes like yours chose this with {n}" for n in self.names_[src[mine]].tolist()]
        return out.tolist()


class ALS(_Factorization):
    """Alternating least squares on implicit feedback (Hu, Koren & Volinsky), from implicit.

    Parameters
    ----------
    factors : int
        Length of the customer and item vectors (16, chosen on validation: docs/quality.md).
    regularization : float
    alpha : float
        Confidence scale of the interaction weights (implicit's ``alpha``).
    binary : bool
        Learn from 0/1 (bought it or not) instead of the summed interaction weights.
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

    Reasons name the history item whose vector is closest to the recommended one. A catalogue of
    up to 2,048 items keeps the table of item-pair cosines from the fit (up to 32 MB, saved with
    the model), so reasons cost a lookup; a bigger one computes them per pair.

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
        default=16,
        check=_FACTORS,
        kw_only=False,
        doc="Length of the customer and item vectors (16: chosen on the shared datasets' validation splits, "
        "docs/quality.md; a shop with far more data per customer may want more).",
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
    binary: bool = param(
        default=False,
        check=Boolean(),
        kw_only=False,
        doc="Learn from 0/1 (bought it or not) instead of the summed interaction weights: with True an item a "
        "customer bought ten times weighs what one bought once does (re-purchases stop dominating the "
        "confidence). Default chosen on the shared datasets' validation splits (docs/quality.md).",
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

    def _strength(self, ui: sp.csr_array) -> sp.csr_array:
        return binary_pattern(ui) if self.binary else ui

    def _implicit_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _context_vectors(self, rows: sp.csr_array) -> np.ndarray:
        return np.ascontiguousarray(_implicit.recalculate_users(self.model_, rows), dtype=np.float64)  # a strided view multiplies ~5x slower


class BPR(_Factorization):
    """Bayesian personalised ranking (Rendle et al.), from implicit.

    Parameters
    ----------
    factors : int
        Length of the vectors (implicit adds one for an item bias).
    learning_rate, regularization : float
    iterations : int
        Passes over the interactions (25, chosen on validation: docs/quality.md).
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
        default=25,
        check=_ITERATIONS,
        kw_only=False,
        doc="Passes over the interactions (25: chosen on the shared datasets' validation splits, docs/quality.md; "
        "100, implicit's default, over-fits the sparse grocery logs to half the NDCG).",
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

    def _context_vectors(self, rows: sp.csr_array) -> np.ndarray:
        """Each row: the weighted mean of its items' vectors. Rows of one length go through one
        stacked product, which sums exactly as a single request does (same numbers)."""
        lens = np.diff(rows.indptr)
        u = np.zeros((rows.shape[0], self.item_factors_.shape[1]))
        for length in np.unique(lens[lens > 0]).tolist():
            group = np.flatnonzero(lens == length)
            pos = rows.indptr[group][:, None] + np.arange(length)
            data = rows.data[pos]
            weights = data / data.sum(axis=1, keepdims=True)
            u[group] = np.matmul(weights[:, None, :], self.item_factors_[rows.indices[pos]])[:, 0, :]
        u[:, -1] = 1.0  # implicit's BPR: the last item coordinate is a bias, matched by a constant 1
        return u
