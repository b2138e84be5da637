"""The one interface every model implements: :class:`Recommender`, and its request, :class:`Query`.

A model implements three small hooks -- ``_fit(dataset)``, ``_score(ctx)`` and optionally
``_explain(ctx, item_idx)`` and ``_score_many(customer_idx, now)`` -- and inherits, written once
here, everything a shop backend calls: ``fit``, ``score``, ``recommend``, ``recommend_many``,
``explain``, the not-fitted check, exclusions, deterministic top-k and back-fill.

Scores are one float per catalogue item. ``NaN`` means "no opinion" (the model has nothing to say
about that item), which a hybrid can tell apart from a real score of 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, NotFittedError, _hint
from recokit.data import Dataset
from recokit.params import Configurable

__all__ = ["Context", "Query", "Recommendation", "Recommendations", "Recommender"]

#: Reason shown for items added by back-fill (the model had no opinion on them).
BACKFILL_REASON = "popular in the shop"


def _as_tuple(value: Any, name: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)):
        raise ConfigError(
            _hint(f"Query.{name} must be a list of item ids; got the string {value!r}.", f"wrap it in a list: {name}=[{value!r}].")
        )
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(f"Query.{name} must be a list of item ids; got {type(value).__name__}.") from None


@dataclass(frozen=True)
class Query:
    """The context of one recommendation request.

    Parameters
    ----------
    customer_id : optional
        A customer of the fitted data: their history is looked up. An unknown or absent
        customer is an anonymous (cold-start) visitor, not an error.
    items : list of item ids
        Context items: the product on screen, the cart. Unknown items are ignored for scoring
        (and listed in :attr:`Context.unknown_items`), never an error.
    k : int
        How many recommendations (default 10).
    exclude : list of item ids
        Items never to return. Context items are always excluded too.
    now : datetime, optional
        The time of the request; defaults to the last timestamp of the fitted data, so that the
        same data gives the same answer (not the wall clock).
    exclude_purchased : bool
        Also exclude every item in the customer's history.

    Examples
    --------
    >>> Query(customer_id="C000042", k=5)
    Query(customer_id='C000042', items=(), k=5, exclude=(), now=None, exclude_purchased=False)
    >>> Query(items=["P0001", "P0002"]).items
    ('P0001', 'P0002')
    """

    customer_id: Hashable | None = None
    items: Sequence[Hashable] = ()
    k: int = 10
    exclude: Sequence[Hashable] = ()
    now: dt.datetime | None = None
    exclude_purchased: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _as_tuple(self.items, "items"))
        object.__setattr__(self, "exclude", _as_tuple(self.exclude, "exclude"))
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"Query.k must be an int >= 1. Got {self.k!r}.")
        object.__setattr__(self, "k", int(self.k))
        if self.now is not None:
            if isinstance(self.now, dt.date) and not isinstance(self.now, dt.datetime):
                object.__setattr__(self, "now", dt.datetime.combine(self.now, dt.time()))
            elif not isinstance(self.now, dt.datetime):
                raise ConfigError(f"Query.now must be a datetime or date. Got {type(self.now).__name__}.")
            elif self.now.tzinfo is not None:
                naive = self.now.astimezone(dt.UTC).replace(tzinfo=None)
                object.__setattr__(self, "now", naive)


@dataclass(frozen=True)
class Context:
    """A :class:`Query` resolved against a fitted model's data (internal indices).

    Models receive this in their hooks. ``customer_idx`` is -1 for an anonymous or unknown
    customer; ``item_idx`` holds the known context items; ``now`` is always set when the data
    has timestamps.
    """

    query: Query
    customer_idx: int
    item_idx: np.ndarray
    unknown_items: tuple[Hashable, ...]
    now: dt.datetime | None
    exclude_idx: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def known_customer(self) -> bool:
        return self.customer_idx >= 0


@dataclass(frozen=True)
class Recommendation:
    """One recommended item."""

    rank: int
    item_id: Hashable
    score: float
    reason: str | None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendations(Sequence[Recommendation]):
    """A ranked list of recommendations, best first.

    Iterate it, index it, or turn it into a table with :meth:`to_polars`.
    """

    items: tuple[Recommendation, ...]
    query: Query

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):  # type: ignore[override]
        return self.items[i]

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.items)

    @property
    def item_ids(self) -> list[Hashable]:
        return [r.item_id for r in self.items]

    @property
    def scores(self) -> np.ndarray:
        return np.array([r.score for r in self.items], dtype=np.float64)

    def to_polars(self) -> pl.DataFrame:
        """Columns ``rank, item_id, score, reason, rules``."""
        return pl.DataFrame(
            {
                "rank": [r.rank for r in self.items],
                "item_id": [r.item_id for r in self.items],
                "score": [r.score for r in self.items],
                "reason": [r.reason for r in self.items],
                "rules": [list(r.rules) for r in self.items],
            },
            schema_overrides={"rank": pl.Int64, "score": pl.Float64, "reason": pl.String, "rules": pl.List(pl.String)},
        )

    def __str__(self) -> str:
        lines = [f"{r.rank:>2}. {r.item_id}  ({r.score:.3g})  {r.reason or ''}".rstrip() for r in self.items]
        return "\n".join(lines) if lines else "(no recommendations)"


def top_k(scores: np.ndarray, allowed: np.ndarray | None, k: int) -> np.ndarray:
    """Indices of the ``k`` best finite, allowed scores of each row, best first.

    Ties are broken by the smaller index, so the answer never depends on the sort algorithm.
    Rows with fewer than ``k`` candidates are padded with -1.

    >>> top_k(np.array([[0.1, np.nan, 0.5, 0.5]]), None, 3).tolist()
    [[2, 3, 0]]
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    n, m = s.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), -1, dtype=np.int64)
    # rank on negated scores (smallest first), disallowed / non-finite items at +inf: one pass
    # to negate and one masked write, instead of a where() and a negated copy
    neg = np.negative(s)
    invalid = ~np.isfinite(neg)
    if allowed is not None:
        invalid |= ~np.atleast_2d(allowed)
    np.copyto(neg, np.inf, where=invalid)
    part = np.argpartition(neg, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(neg, part, axis=1)
    thr = vals.max(axis=1)
    # rows where the k-th value is tied with unselected items: resolve by index, exactly
    n_tied_all = (neg == thr[:, None]).sum(axis=1)
    n_tied_sel = (vals == thr[:, None]).sum(axis=1)
    for r in np.flatnonzero((n_tied_all != n_tied_sel) & np.isfinite(thr)):
        above = np.flatnonzero(neg[r] < thr[r])
        tied = np.flatnonzero(neg[r] == thr[r])[: kk - len(above)]
        part[r] = np.concatenate([above, tied])
        vals[r] = neg[r, part[r]]
    vals = -vals  # back to scores
    order = np.lexsort((part, -vals), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    part[~np.isfinite(vals)] = -1
    if kk < k:
        part = np.hstack([part, np.full((n, k - kk), -1, dtype=part.dtype)])
    return part.astype(np.int64, copy=False)


def _densify(part: Any) -> np.ndarray:
    """A sparse score matrix as a dense one, NaN where nothing is stored."""
    m = sp.csr_array(part)
    out = np.full(m.shape, np.nan)
    out[np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), m.indices] = m.data
    return out


def _top_k_coo(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` for scores given as (row, col, value) triplets (absent = no opinion).

    Returns ``(picked, picked_scores)``, each ``n_rows x k``, -1 / NaN padded. Same order as
    :func:`top_k`: higher score first, then smaller column. Rows are packed into a small
    ``rows x longest-row`` array (not ``rows x items``) and ranked there by :func:`top_k`.
    """
    # by row, then column, so that packed position order == column order (ties -> smaller column)
    if len(rows) > 1 and not np.all(np.diff(rows * (int(cols.max()) + 1) + cols) > 0):
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(rows)) - starts[rows]
    # very long rows (a customer who bought half the shop) would blow up the packed array
    width = int(min(counts.max(initial=0), max(4 * k, np.quantile(counts, 0.99) if n_rows else 0)))
    picked = np.full((n_rows, k), -1, dtype=np.int64)
    picked_scores = np.full((n_rows, k), np.nan)
    short = counts <= width
    sel = short[rows]
    packed = np.full((n_rows, max(width, 1)), np.nan)
    packed[rows[sel], pos[sel]] = vals[sel]
    packed_cols = np.zeros((n_rows, max(width, 1)), dtype=np.int64)
    packed_cols[rows[sel], pos[sel]] = cols[sel]
    slot = top_k(packed[short], None, k)
    got = slot >= 0
    sub_picked = np.where(got, np.take_along_axis(packed_cols[short], np.maximum(slot, 0), axis=1), -1)
    sub_scores = np.where(got, np.take_along_axis(packed[short], np.maximum(slot, 0), axis=1), np.nan)
    picked[short], picked_scores[short] = sub_picked, sub_scores
    for r in np.flatnonzero(~short):  # a few long rows: sort just their entries
        lo, hi = starts[r], starts[r] + counts[r]
        best = np.lexsort((cols[lo:hi], -vals[lo:hi]))[:k]
        picked[r, : len(best)] = cols[lo:hi][best]
        picked_scores[r, : len(best)] = vals[lo:hi][best]
    return picked, picked_scores


class Recommender(Configurable):
    """Base class of every recokit model.

    Subclasses set hyper-parameters in ``__init__`` (stored verbatim), fitted state in
    attributes with a trailing underscore, and implement:

    * ``_fit(dataset)`` -- learn from the data (must reset any previous state);
    * ``_score(ctx) -> np.ndarray`` -- one float per item, NaN for "no opinion";
    * ``_explain(ctx, item_idx) -> str | None`` -- optional, a reason a shopper can read;
    * ``_score_many(customer_idx, now) -> np.ndarray`` -- optional vectorised scoring of many
      known customers (rows), used by :meth:`recommend_many`; it must agree with ``_score``. It
      may return a scipy sparse matrix whose stored entries are the scores (absent = no opinion):
      the batch is then ranked without a dense customers x items array.

    Request-time methods never mutate the fitted model, so one model can serve many threads.
    """

    #: Whether back-fill is on by default in recommend / recommend_many.
    backfill: ClassVar[bool] = True

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, dataset: Dataset) -> Self:
        """Learn from ``dataset`` and return ``self`` (refitting replaces everything learnt)."""
        if not isinstance(dataset, Dataset):
            raise ConfigError(
                _hint(f"{type(self).__name__}.fit expects a recokit.Dataset; got {type(dataset).__name__}.", "wrap your table: Dataset(frame, ...).")
            )
        self.dataset_ = dataset
        counts = dataset.item_counts()
        # back-fill order: most customers first, then catalogue order
        self.fallback_order_ = np.lexsort((np.arange(dataset.n_items), -counts)).astype(np.int64)
        self._fit(dataset)
        return self

    def _fit(self, dataset: Dataset) -> None:
        raise NotImplementedError

    def _score(self, ctx: Context) -> np.ndarray:
        raise NotImplementedError

    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        return None

    def _explain_many(self, customer_idx: np.ndarray, item_idx: np.ndarray, now: dt.datetime | None) -> Sequence[str | None] | None:
        """Optional: reasons for many (known customer, item) pairs of customer-only requests.

        Must equal ``_explain`` for ``Query(customer_id=..., now=now)``. None (the default) means
        "not implemented": the base then calls ``_explain`` pair by pair.
        """
        return None

    def _score_many(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        rows = [self._score(self._context_for(int(c), now)) for c in customer_idx]
        return np.vstack(rows) if rows else np.empty((0, self.dataset_.n_items))

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "dataset_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} instance is not fitted yet. Call 'fit' with a recokit.Dataset before using it."
            )

    # -- queries -----------------------------------------------------------------------------
    def _context_for(self, customer_idx: int, now: dt.datetime | None) -> Context:
        return Context(
            query=Query(customer_id=None if customer_idx < 0 else self.dataset_.customer_ids.id(customer_idx), now=now),
            customer_idx=customer_idx,
            item_idx=np.empty(0, dtype=np.int64),
            unknown_items=(),
            now=now if now is not None else self.dataset_.last_time,
        )

    def context(self, query: Query) -> Context:
        """Resolve a query against the fitted data (ids -> indices, default ``now``)."""
        self._check_fitted()
        if not isinstance(query, Query):
            raise ConfigError(f"expected a recokit.Query; got {type(query).__name__}.")
        ds = self.dataset_
        if query.customer_id is not None:
            ds.customer_ids.check_kind([query.customer_id], "Query.customer_id")
        ds.item_ids.check_kind(query.items, "Query.items")
        ds.item_ids.check_kind(query.exclude, "Query.exclude")
        cidx = ds.customer_ids.get(query.customer_id) if query.customer_id is not None else None
        idx = ds.item_ids.index(query.items, missing="ignore")
        unknown = tuple(i for i, j in zip(query.items, idx, strict=True) if j < 0)
        excl = ds.item_ids.index(query.exclude, missing="ignore")
        return Context(
            query=query,
            customer_idx=-1 if cidx is None else cidx,
            item_idx=np.unique(idx[idx >= 0]),
            unknown_items=unknown,
            now=query.now if query.now is not None else ds.last_time,
            exclude_idx=excl[excl >= 0],
        )

    def _query(self, query: Query | None, kwargs: dict[str, Any]) -> Query:
        if query is None:
            return Query(**kwargs)
        if kwargs:
            raise ConfigError("pass either a Query or keyword arguments (customer_id=..., items=..., k=...), not both.")
        return query

    def score(self, query: Query | None = None, **kwargs: Any) -> np.ndarray:
        """One score per catalogue item (``float64``, NaN = no opinion), in ``item_idx`` order.

        Use ``dataset_.item_ids`` to map positions to item ids.
        """
        ctx = self.context(self._query(query, kwargs))
        scores = np.asarray(self._score(ctx), dtype=np.float64)
        if scores.shape != (self.dataset_.n_items,):
            raise AssertionError(f"{type(self).__name__}._score returned shape {scores.shape}")
        return scores

    def _allowed(self, ctx: Context) -> np.ndarray:
        """Items that may be recommended for this request (exclusions applied)."""
        allowed = np.ones(self.dataset_.n_items, dtype=bool)
        allowed[ctx.item_idx] = False
        allowed[ctx.exclude_idx] = False
        if ctx.query.exclude_purchased and ctx.known_customer:
            ui = self.dataset_.user_items
            allowed[ui.indices[ui.indptr[ctx.customer_idx] : ui.indptr[ctx.customer_idx + 1]]] = False
        return allowed

    def _backfill(self, picked: np.ndarray, scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Replace trailing -1 slots with popular allowed items on which the model had no opinion."""
        need = int((picked < 0).sum())
        if need == 0:
            return picked
        order = self.fallback_order_
        fill = order[allowed[order] & ~np.isfinite(scores[order])][:need]
        out = picked[picked >= 0]
        return np.concatenate([out, fill, np.full(need - len(fill), -1, dtype=np.int64)])

    def recommend(self, query: Query | None = None, *, backfill: bool | None = None, **kwargs: Any) -> Recommendations:
        """The top ``query.k`` items for a request, best first, each with a reason.

        Excluded and context items never appear, an item appears at most once, scores are
        non-increasing. When the model has an opinion on fewer than ``k`` allowed items, the list
        is back-filled with the shop's best sellers (score NaN, reason "popular in the shop")
        unless ``backfill=False``.

        Examples
        --------
        >>> from recokit import Popularity
        >>> from recokit.datasets import sports_shop
        >>> model = Popularity().fit(sports_shop(300, seed=1))
        >>> recs = model.recommend(customer_id="C000001", k=3)
        >>> len(recs)
        3
        """
        q = self._query(query, kwargs)
        ctx = self.context(q)
        scores = np.asarray(self._score(ctx), dtype=np.float64)
        allowed = self._allowed(ctx)
        picked = top_k(scores[None, :], allowed[None, :], q.k)[0]
        if self.backfill if backfill is None else backfill:
            picked = self._backfill(picked, scores, allowed)
        picked = picked[picked >= 0]
        return self._package(ctx, picked, scores)

    def _package(self, ctx: Context, picked: np.ndarray, scores: np.ndarray) -> Recommendations:
        ids = self.dataset_.item_ids
        recs = []
        finite = picked[np.isfinite(scores[picked])]
        batch = None
        if ctx.known_customer and len(ctx.item_idx) == 0 and len(finite):
            batch = self._explain_many(np.full(len(finite), ctx.customer_idx), finite, ctx.now)
        given = dict(zip(finite.tolist(), batch, strict=True)) if batch is not None else {}
        for rank, i in enumerate(picked.tolist(), start=1):
            s = float(scores[i])
            reason = (given[i] if i in given else self._explain(ctx, i)) if math.isfinite(s) else BACKFILL_REASON
            recs.append(Recommendation(rank=rank, item_id=ids.id(i), score=s, reason=reason))
        return Recommendations(items=tuple(recs), query=ctx.query)

    def explain(self, query: Query | None = None, item_id: Hashable | None = None, **kwargs: Any) -> str | None:
        """Why ``item_id`` would be recommended for this request, in words a shopper can read.

        Returns None when the model has no reason (no opinion on the item, or an unknown item).
        """
        ctx = self.context(self._query(query, kwargs))
        idx = self.dataset_.item_ids.get(item_id)
        if idx is None:
            return None
        return self._explain(ctx, idx)

    def _rank_sparse(
        self, part: Any, batch: np.ndarray, customers: Sequence[Hashable], now: dt.datetime | None, exclude_purchased: bool, k: int, use_backfill: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of a batch whose known customers' scores came as a sparse matrix (stored = scored).

        Same result as the dense path (same tie-break: higher score, then smaller index), without
        materialising a customers x items array: the speed of models whose scores are sparse.
        """
        n, m = len(batch), self.dataset_.n_items
        known = np.flatnonzero(batch >= 0)
        part = sp.csr_array(part)
        part.sort_indices()
        rows = [known[np.repeat(np.arange(part.shape[0]), np.diff(part.indptr))]]
        cols, vals = [part.indices.astype(np.int64)], [part.data.astype(np.float64)]
        for r in np.flatnonzero(batch < 0):
            dense = np.asarray(self._score(self.context(Query(customer_id=customers[r], now=now))), dtype=np.float64)
            c = np.flatnonzero(np.isfinite(dense))
            rows.append(np.full(len(c), r))
            cols.append(c)
            vals.append(dense[c])
        rows_a, cols_a, vals_a = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        ok = np.isfinite(vals_a)
        owned_keys = np.empty(0, dtype=np.int64)
        if exclude_purchased and len(known):
            sub = self.dataset_.user_items[batch[known]]
            owned_keys = known[np.repeat(np.arange(len(known)), np.diff(sub.indptr))] * m + sub.indices
            ok &= ~np.isin(rows_a * m + cols_a, owned_keys)
        rows_a, cols_a, vals_a = rows_a[ok], cols_a[ok], vals_a[ok]
        picked, picked_scores = _top_k_coo(rows_a, cols_a, vals_a, n, k)
        if use_backfill:
            for r in np.flatnonzero((picked < 0).any(axis=1)):
                scores = np.full(m, np.nan)
                mine = rows_a == r
                scores[cols_a[mine]] = vals_a[mine]
                allowed = np.ones(m, dtype=bool)
                allowed[owned_keys[owned_keys // m == r] % m] = False
                picked[r] = self._backfill(picked[r], scores, allowed)
                picked_scores[r] = np.where(picked[r] >= 0, scores[np.maximum(picked[r], 0)], np.nan)
        return picked, picked_scores

    def recommend_many(
        self,
        customers: Sequence[Hashable],
        k: int = 10,
        *,
        exclude_purchased: bool = False,
        now: dt.datetime | None = None,
        reasons: bool = True,
        backfill: bool | None = None,
        batch_size: int = 2048,
    ) -> pl.DataFrame:
        """Top-``k`` lists for many customers at once, as one table.

        Scores are computed a batch of customers at a time (a matrix operation for the models
        that support it) and ranked in one vectorised pass. The result equals calling
        :meth:`recommend` for each customer with ``Query(customer_id=c, k=k, now=now,
        exclude_purchased=exclude_purchased)``.

        Returns
        -------
        polars.DataFrame
            ``customer_id, rank, item_id, score, reason`` (``reason`` null when ``reasons=False``),
            ``k`` rows per customer (fewer when the catalogue runs out).
        """
        self._check_fitted()
        Query(k=k)  # validates k
        ds = self.dataset_
        customers = list(customers)
        ds.customer_ids.check_kind(customers, "recommend_many")
        cidx = np.array([ds.customer_ids.get(c) if ds.customer_ids.get(c) is not None else -1 for c in customers], dtype=np.int64)
        use_backfill = self.backfill if backfill is None else backfill
        ids = ds.item_ids
        ui = ds.user_items
        pos_parts: list[np.ndarray] = []
        item_parts: list[np.ndarray] = []
        rank_parts: list[np.ndarray] = []
        score_parts: list[np.ndarray] = []
        reasons_out: list[str | None] = []
        for start in range(0, len(customers), batch_size):
            batch = cidx[start : start + batch_size]
            known = batch >= 0
            part = self._score_many(batch[known], now) if known.any() else None
            if part is not None and sp.issparse(part) and part.nnz >= 0.1 * part.shape[0] * part.shape[1]:
                part = _densify(part)  # scores >10% of the items: the dense path is faster (measured)
            if part is not None and sp.issparse(part):
                picked, picked_scores = self._rank_sparse(part, batch, customers[start : start + len(batch)], now, exclude_purchased, k, use_backfill)
            else:
                if part is not None and known.all():
                    scores = np.asarray(part, dtype=np.float64)  # no copy when every customer is known
                else:
                    scores = np.empty((len(batch), ds.n_items))
                    if part is not None:
                        scores[known] = part
                for r in np.flatnonzero(~known):
                    scores[r] = self._score(self.context(Query(customer_id=customers[start + r], now=now)))
                allowed = np.ones_like(scores, dtype=bool)
                if exclude_purchased and known.any():
                    sub = ui[batch[known]]
                    rows = np.repeat(np.flatnonzero(known), np.diff(sub.indptr))
                    allowed[rows, sub.indices] = False
                picked = top_k(scores, allowed, k)
                if use_backfill:
                    for r in np.flatnonzero((picked < 0).any(axis=1)):
                        picked[r] = self._backfill(picked[r], scores[r], allowed[r])
                picked_scores = np.take_along_axis(scores, np.maximum(picked, 0), axis=1)
            rows, cols = np.nonzero(picked >= 0)  # valid slots lead each row, so this is rank order
            item_idx = picked[rows, cols]
            pos_parts.append(rows + start)
            item_parts.append(item_idx)
            rank_parts.append(cols + 1)
            score_parts.append(picked_scores[rows, cols])
            if reasons:
                pair_scores = picked_scores[rows, cols]
                finite = np.isfinite(pair_scores)
                scored = finite & (batch[rows] >= 0)
                out = np.full(len(rows), BACKFILL_REASON, dtype=object)
                batch_reasons = self._explain_many(batch[rows[scored]], item_idx[scored], now) if scored.any() else None
                if batch_reasons is not None:
                    out[scored] = batch_reasons
                todo = finite & ~scored if batch_reasons is not None else finite
                ctx = None
                for j in np.flatnonzero(todo).tolist():  # models without _explain_many, unknown customers
                    c = customers[start + int(rows[j])]
                    if ctx is None or ctx.query.customer_id != c:
                        ctx = self.context(Query(customer_id=c, now=now, exclude_purchased=exclude_purchased, k=k))
                    out[j] = self._explain(ctx, int(item_idx[j]))
                reasons_out.extend(out.tolist())
        pos = np.concatenate(pos_parts) if pos_parts else np.empty(0, dtype=np.int64)
        item_idx = np.concatenate(item_parts) if item_parts else np.empty(0, dtype=np.int64)
        cust_series = pl.Series("customer_id", customers, dtype=ds.customer_ids.dtype)
        return pl.DataFrame(
            {
                "customer_id": cust_series.gather(pos) if len(customers) else cust_series,
                "rank": np.concatenate(rank_parts).astype(np.int64) if rank_parts else np.empty(0, dtype=np.int64),
                "item_id": ids.series.gather(item_idx),
                "score": np.concatenate(score_parts) if score_parts else np.empty(0),
                "reason": pl.Series(reasons_out if reasons else [None] * len(pos), dtype=pl.String),
            }
        )
