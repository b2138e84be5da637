"""The one interface every model implements: :class:`Recommender`.

A request runs through stages, each on a whole :class:`~recokit.core.batch.Batch` (a single
request is a batch of one, so the web path and the newsletter path are the same code)::

    resolve   ids -> indices; _visible() decides whose HISTORY the models see (context always)
    score     _score(batch) -> ScoreBlock            NaN / absent = no opinion
    adjust    _adjust(batch, block) -> ScoreBlock     boosts, buries (soft rules)
    restrict  query exclusions + _restrict(batch)     hard rules: an allowed mask
    select    _select(...) -> Selection               top-k, group caps, pins, back-fill
    explain   _explain(batch, rows, items, block)     only the selected items, from this block

The base runs the stages; ``recommend``, ``recommend_many``, ``explain`` and ``score`` are written
once, here. A model implements the two required hooks ``_fit`` and ``_score`` and ``_explain``
(abstract: a model missing one fails when it is built); composites (:class:`~recokit.Hybrid`,
:class:`~recokit.Ruled`) implement stages. Request-time code never mutates a fitted model, so one
model can serve many threads.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, ContractError, DataError, NotFittedError
from recokit.core.batch import Batch, Restriction, ScoreBlock, Selection, Source, indicator
from recokit.core.export import (
    RulesAs,
    catalog_columns,
    check_rules_as,
    customer_list,
    rules_column,
    with_consent,
)
from recokit.core.query import Query
from recokit.core.reasons import repurchase_reasons
from recokit.core.results import BACKFILL_REASON, PINNED_REASON, Recommendation, Recommendations
from recokit.core.select import apply_restriction, fill_from_order, rank
from recokit.data import (
    CountTables,
    DataChange,
    Dataset,
    TableSpec,
    add_change,
    check_tables,
    forget_change,
    id_list,
    ragged_ranges,
    sorted_unique,
)
from recokit.params import Configurable

__all__ = ["Recommender", "clone", "explained", "scored"]

#: Erasures and updates are logged here, as counts (never ids).
_LOG = logging.getLogger("recokit")

#: Rows of a back-fill computed at once (bounds a dense rows x items block).
_FILL_CHUNK = 256


class Recommender(Configurable, abc.ABC):
    """Base class of every recokit model.

    Subclasses declare hyper-parameters (stored verbatim), keep fitted state in attributes with
    a trailing underscore, and implement:

    * ``_fit(dataset) -> None`` -- learn from the data (called on a fresh instance: the base
      swaps the new state in only when it succeeds, so a failed fit changes nothing);
    * ``_score(batch) -> ScoreBlock`` -- scores of every row of the batch, NaN / absent for "no
      opinion";
    * ``_explain(batch, rows, items, block) -> list[str | None]`` -- a reason a shopper can read
      for each ``(rows[j], items[j])`` pair the model scored in ``block`` (this request's scores).

    Composites override stage hooks (``_visible``, ``_adjust``, ``_restrict``, ``_select``,
    ``_labels``, ``_fallback``); nothing overrides the public request methods.
    """

    #: Whether back-fill is on by default in recommend / recommend_many.
    backfill: ClassVar[bool] = True
    #: Whether the model's scores can be composed by a Hybrid (False for Ruled: its rules act
    #: after scoring, so they would be lost inside a blend).
    composable: ClassVar[bool] = True
    #: How specific the evidence behind the model's reasons is: a Hybrid gives an item both
    #: components contributed equally to the more specific one (popularity 0 .. rules 60).
    specificity: ClassVar[int] = 10
    #: Whether the model's reasons for an item the customer bought already say so (Renewal), or
    #: come from components that do (Hybrid, Ruled); otherwise the explain stage words them as a
    #: re-purchase (recokit.core.reasons), never "because you bought" another item.
    explains_owned: ClassVar[bool] = False
    #: ``recommend_many``'s default batch holds at most this many (customer, item) cells: 4M, one
    #: 32 MB dense float64 block (a hybrid of four models holds about twenty at once). A model
    #: whose batch never holds rows x items (sparse scores: ItemKNN) may allow more.
    batch_cells: ClassVar[int] = 4_000_000

    # -- the required hooks --------------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, dataset: Dataset) -> None:
        """Learn from ``dataset`` (on a fresh instance: never read a previous fit's state)."""

    @abc.abstractmethod
    def _score(self, batch: Batch) -> ScoreBlock:
        """Scores for every row of ``batch`` (``batch.n x n_items``), NaN / absent = no opinion."""

    @abc.abstractmethod
    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """One reason per ``(rows[j], items[j])`` pair scored (finite) in ``block``."""

    # -- stage hooks with defaults (composites override) -----------------------------------------
    def _visible(self, batch: Batch) -> np.ndarray | None:
        """Rows whose history the models may read (None = all found customers)."""
        return None

    def _adjust(self, batch: Batch, block: ScoreBlock) -> ScoreBlock:
        """Soft rules: re-weight scores (default: unchanged). No opinion (NaN) stays no opinion and
        an opinion stays finite: the explain stage relies on it."""
        return block

    def _restrict(self, batch: Batch) -> Restriction | None:
        """Hard rules beyond the query's own exclusions (default: none)."""
        return None

    def _fallback(self) -> Recommender | None:
        """A fitted model whose ranking back-fills short lists (default: the best sellers)."""
        return None

    def _labels(self, batch: Batch, sel: Selection, block: ScoreBlock) -> list[tuple[str, ...]] | None:
        """Per selected slot (row-major, filled slots only), the rules that touched it."""
        return None

    def signal(self) -> str | None:
        """The kind of evidence behind the model's reasons, in a few words a shopper can read
        ("bought together", "trending"): a Hybrid lists its other contributors by it. None
        (default): the Hybrid names the component as it was given."""
        return None

    def constant_scores(self) -> np.ndarray | None:
        """The scores every request gets, when they do not depend on the request (one per item,
        NaN = no opinion; a fitted best-seller list): a Hybrid ranks them once, when it is fitted.
        None (default): they depend on the request."""
        return None

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, dataset: Dataset) -> Self:
        """Learn from ``dataset`` and return ``self``.

        Atomic: the new state is built on a fresh instance and swapped in at the end, so a failed
        fit leaves the model exactly as it was (unfitted, or with its previous fit).
        """
        self._check_dataset(dataset, "fit")
        self.validate_params()
        fresh = self._unfitted_copy()
        fresh._fit(dataset)  # called here, not through _fit_with: a model's warnings keep their stack level
        fresh._fitted_on(dataset)
        self.__dict__ = fresh.__dict__  # one reference swap: a request sees the old or the new state
        return self

    def _check_dataset(self, dataset: Dataset, what: str) -> None:
        if not isinstance(dataset, Dataset):
            raise ConfigError(
                f"{type(self).__name__}.{what} expects a recokit.Dataset; got {type(dataset).__name__}.", hint="wrap your table: Dataset(frame, ...)."
            )

    def _fit_with(self, dataset: Dataset, build: Callable[[Self], None], what: str) -> Self:
        """Run ``build`` on a fresh instance, then swap its state in: the atomic frame of the
        models' ``fit_from_tables`` (count tables counted elsewhere, e.g. by Spark), as ``fit``'s."""
        self._check_dataset(dataset, what)
        self.validate_params()
        fresh = self._unfitted_copy()
        build(fresh)
        fresh._fitted_on(dataset)
        self.__dict__ = fresh.__dict__  # one reference swap: a request sees the old or the new state
        return self

    def _unfitted_copy(self) -> Self:
        """A new instance with this one's parameters and none of its fitted state."""
        fresh = object.__new__(type(self))
        # everything but the fitted state (attributes ending in "_"): a model's own __init__ may set more than its parameters
        fresh.__dict__.update({k: v for k, v in self.__dict__.items() if not (k.endswith("_") and not k.endswith("__"))})
        return fresh

    # -- erasure and incremental updates ---------------------------------------------------------
    def forget(self, customer_ids: Iterable[Hashable], *, missing: Literal["ignore", "error"] = "ignore") -> Self:
        """Erase customers (GDPR art. 17) and return ``self``: their ids, interactions and declared
        data leave the model and its Dataset, and the fitted state becomes what a fit without them
        gives (exactly, for every model but ALS, whose docs say what it refreshes).

        Atomic like :meth:`fit`. An id the model does not know is ignored by default -- erasure
        requests fan out to every system, and a retried request must succeed -- and counted in the
        log; ``missing="error"`` raises a :class:`~recokit.DataError` instead (nothing changes).
        The ``recokit`` logger records counts only, never ids.

        Examples
        --------
        >>> from recokit import Popularity
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(200, seed=1)
        >>> model = Popularity().fit(shop).forget(["C000001"])
        >>> "C000001" in model.dataset_.customer_ids
        False
        """
        self._check_fitted()
        if missing not in ("ignore", "error"):
            raise ConfigError(f"forget: missing must be 'ignore' or 'error'. Got {missing!r}.")
        change = forget_change(self.dataset_, id_list(customer_ids, "forget"))
        if change.n_unknown and missing == "error":
            raise DataError(f"forget: {change.n_unknown} of the customer ids are not in the model (nothing was erased).", hint="pass missing='ignore' to erase the others.")
        if len(change.customers):
            self.__dict__ = self._updated(change).__dict__  # one reference swap, as in fit
        _LOG.info(
            "%s.forget: erased %d customer(s) and %d interaction(s); %d id(s) were not in the model",
            type(self).__name__, len(change.customers), change.n_rows, change.n_unknown,
        )  # fmt: skip
        return self

    def partial_fit(self, dataset: Dataset) -> Self:
        """Add new interactions (a :class:`~recokit.Dataset` built like the fitted one) and return
        ``self``: the count-based models end exactly as a fit on the union of the rows
        (:meth:`Dataset.union`), new customers and new products included; ALS folds the new rows in
        (see its docs); other models refit on the union. Atomic like :meth:`fit`.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Popularity
        >>> model = Popularity().fit(Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": ["a", "b"]})))
        >>> model = model.partial_fit(Dataset(pl.DataFrame({"customer_id": [3], "item_id": ["b"]})))
        >>> model.recommend(k=1)[0].item_id
        'b'
        """
        self._check_fitted()
        change = add_change(self.dataset_, dataset)
        self.__dict__ = self._updated(change).__dict__
        _LOG.info("%s.partial_fit: added %d interaction(s) of %d customer(s)", type(self).__name__, change.n_rows, len(change.customers))
        return self

    def _updated(self, change: DataChange) -> Self:
        """A new fitted instance: this one's state carried through ``change`` (a failure leaves
        ``self`` as it was). Composites call it on their fitted components."""
        self.validate_params()
        fresh = self._unfitted_copy()
        if self.dataset_ is change.before:
            fresh._update(self, change)
        else:  # fitted on other data than the change's (a component updated on its own): refit
            fresh._fit(change.after)
        fresh._fitted_on(change.after)
        return fresh

    def _update(self, previous: Self, change: DataChange) -> None:
        """Build the fitted state for ``change.after`` from ``previous`` (fitted on
        ``change.before``). The default fits on ``change.after``: exact for every model; the
        count-based models update their count tables instead."""
        self._fit(change.after)

    def _fitted_on(self, dataset: Dataset) -> None:
        """The state every fitted model has (declared here, once, for every subclass)."""
        counts = dataset.item_counts()
        # back-fill order: most customers first, then catalogue order
        self.fallback_order_: np.ndarray = np.lexsort((np.arange(dataset.n_items), -counts)).astype(np.int64)
        # each item's place in that order: equal scores are ranked best seller first, not by id
        self.tie_rank_: np.ndarray = np.empty(dataset.n_items, dtype=np.int64)
        self.tie_rank_[self.fallback_order_] = np.arange(dataset.n_items, dtype=np.int64)
        self.dataset_: Dataset = dataset

    def set_params(self, **params: Any) -> Self:
        """Change parameters (validated; on any error nothing changes). A fitted model whose
        parameters really change is unfitted (``NotFittedError`` until ``fit`` again): its state
        was learnt with the old values, and answering with a mix of the two would be silent."""
        before = {k: self.__dict__.get(k) for k in params}
        super().set_params(**params)
        changed = any(before[k] is not self.__dict__.get(k) and not _same_value(before[k], self.__dict__.get(k)) for k in params)
        if changed and self.is_fitted:
            self.__dict__ = {k: v for k, v in self.__dict__.items() if not (k.endswith("_") and not k.endswith("__"))}
        return self

    @property
    def is_fitted(self) -> bool:
        return "dataset_" in self.__dict__

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            name = type(self).__name__
            raise NotFittedError(f"This {name} instance is not fitted yet. Call 'fit' with a recokit.Dataset before using it.")

    # -- resolve ----------------------------------------------------------------------------------
    def _query(self, query: Query | None, kwargs: dict[str, Any]) -> Query:
        if query is None:
            return Query(**kwargs)
        if kwargs:
            raise ConfigError("pass either a Query or keyword arguments (customer_id=..., items=..., k=...), not both.")
        if not isinstance(query, Query):
            raise ConfigError(f"expected a recokit.Query; got {type(query).__name__}.")
        return query

    def resolve(self, query: Query) -> Batch:
        """A query resolved against the fitted data, as a batch of one (history visibility applied)."""
        self._check_fitted()
        ds = self.dataset_
        if query.customer_id is not None:
            ds.customer_ids.check_kind([query.customer_id], "Query.customer_id")
        cidx = ds.customer_ids.get(query.customer_id) if query.customer_id is not None else None
        idx, ctx = self._known_items(query.items, "Query.items")
        exc = self._known_items(query.exclude, "Query.exclude")[1]
        found = np.array([-1 if cidx is None else cidx], dtype=np.int64)
        batch = Batch(
            customer_ids=(query.customer_id,),
            customer_idx=found.copy(),
            found_idx=found,
            context=indicator(np.zeros(len(ctx), np.int64), ctx, (1, ds.n_items)) if len(ctx) else _no_items(1, ds.n_items),
            exclude=indicator(np.zeros(len(exc), np.int64), exc, (1, ds.n_items)) if len(exc) else _no_items(1, ds.n_items),
            now=query.now if query.now is not None else ds.last_time,
            k=min(query.k, ds.n_items),  # a list never holds more than the catalogue: no k-sized padding
            exclude_purchased=query.exclude_purchased,
            unknown_items=(tuple(i for i, j in zip(query.items, idx, strict=True) if j < 0),),
        )
        return self._with_visibility(batch)

    def _known_items(self, ids: Sequence[Hashable], where: str) -> tuple[np.ndarray, np.ndarray]:
        """``(index of each id or -1, the indices of the known ones)``; kinds checked."""
        if not ids:  # most requests carry neither context nor exclusions
            return _NO_INDEX, _NO_INDEX
        items = self.dataset_.item_ids
        items.check_kind(ids, where)
        idx = items.index(ids, missing="ignore")
        return idx, idx[idx >= 0]

    def resolve_customers(self, customers: Sequence[Hashable], *, k: int, now: dt.datetime | None, exclude_purchased: bool) -> Batch:
        """Customer-only requests (no context items) resolved as one batch."""
        self._check_fitted()
        ds = self.dataset_
        ids = ds.customer_ids
        found = np.array([-1 if (c := ids.get(x)) is None else c for x in customers], dtype=np.int64)
        empty = _no_items(len(customers), ds.n_items)
        batch = Batch(
            customer_ids=tuple(customers),
            customer_idx=found.copy(),
            found_idx=found,
            context=empty,
            exclude=empty,
            now=now if now is not None else ds.last_time,
            k=min(k, ds.n_items),
            exclude_purchased=exclude_purchased,
        )
        return self._with_visibility(batch)

    def _with_visibility(self, batch: Batch) -> Batch:
        visible = self._visible(batch)
        return batch if visible is None else batch.hide_history(np.asarray(visible, dtype=bool))

    # -- the stages, run once per batch ------------------------------------------------------------
    def _query_restriction(self, batch: Batch) -> Restriction:
        """The request's own exclusions: its context, its ``exclude`` list, owned items on demand."""
        n, m = batch.n, batch.n_items
        parts = [Restriction.from_csr(mat).keys for mat in (batch.context, batch.exclude) if mat.indptr[-1]]
        if batch.exclude_purchased and batch.known.any():
            rows = np.flatnonzero(batch.known)
            # user_items is canonical (duplicates summed, indices sorted): the keys are sorted, unique
            owned = self.dataset_.user_items
            starts = owned.indptr[batch.customer_idx[rows]]
            lens = owned.indptr[batch.customer_idx[rows] + 1] - starts
            parts.append(np.repeat(rows, lens) * m + owned.indices[ragged_ranges(starts, starts + lens)])
        if not parts:
            return Restriction(None, np.empty(0, dtype=np.int64), n, m)
        keys = parts[0] if len(parts) == 1 else sorted_unique(np.concatenate(parts))
        return Restriction(None, keys.astype(np.int64, copy=False), n, m)

    def _restriction(self, batch: Batch) -> Restriction:
        base = self._query_restriction(batch)
        extra = self._restrict(batch)
        return base if extra is None else base.also(extra.item_mask, extra.keys)

    def _select(self, batch: Batch, block: ScoreBlock, restriction: Restriction, backfill: bool) -> Selection:
        """Top-k of the adjusted scores under the restriction, then back-fill (default stage)."""
        picked, scores = rank(block, restriction, batch.k, self.tie_rank_)
        source = np.where(picked >= 0, Source.MODEL, -1).astype(np.int8)
        sel = Selection(picked, scores, source)
        return self._backfill(batch, sel, restriction) if backfill else sel

    def _backfill(self, batch: Batch, sel: Selection, restriction: Restriction) -> Selection:
        """Fill empty slots from the fallback model's ranking, then from the best sellers, under
        the same restriction; back-filled items keep a NaN score (the model had no opinion)."""
        rows = np.flatnonzero((sel.picked < 0).any(axis=1))
        if len(rows) == 0:
            return sel
        picked, source = sel.picked.copy(), sel.source.copy()
        fallback = self._fallback()
        fb_block = None
        if fallback is not None:
            fb_block = scored(fallback, batch.take(rows))
        pop = np.negative(self.tie_rank_, dtype=np.float64)  # best seller first (its place in fallback_order_)
        for lo in range(0, len(rows), _FILL_CHUNK):
            chunk = rows[lo : lo + _FILL_CHUNK]
            allowed = restriction.take(chunk).dense()
            if fb_block is not None:
                fb_scores = fb_block.take(np.arange(lo, lo + len(chunk))).to_dense()
                r, c = fill_from_order(picked, allowed, fb_scores, chunk, self.tie_rank_)
                source[r, c] = Source.FALLBACK
            r, c = fill_from_order(picked, allowed, np.broadcast_to(pop, (len(chunk), batch.n_items)), chunk)
            source[r, c] = Source.POPULAR
        return Selection(picked, sel.scores, source, fb_block, rows if fb_block is not None else None)

    def _run(self, batch: Batch, *, backfill: bool | None, reasons: bool) -> tuple[Selection, list[str | None] | None, list[tuple[str, ...]] | None]:
        block = scored(self, batch)
        adjusted = self._adjust(batch, block)
        restriction = self._restriction(batch)
        sel = self._select(batch, adjusted, restriction, self.backfill if backfill is None else backfill)
        why = self._reasons(batch, sel, block) if reasons else None
        return sel, why, self._labels(batch, sel, block)

    def _reasons(self, batch: Batch, sel: Selection, block: ScoreBlock) -> list[str | None]:
        """The explain stage: reasons of the selected slots (row-major, filled slots only)."""
        rows, cols = np.nonzero(sel.picked >= 0)
        items = sel.picked[rows, cols]
        src = sel.source[rows, cols]
        if not src.any():  # every slot ranked by the model (Source.MODEL == 0): the common case
            return explained(self, batch, rows, items, block) if len(rows) else []
        out = np.full(len(rows), BACKFILL_REASON, dtype=object)
        # a model-ranked slot was picked for its finite score; a pinned one may hold an item the
        # model has no opinion on (the only lookup needed)
        has_score = src == Source.MODEL
        pinned = np.flatnonzero(src == Source.PINNED)
        if len(pinned):
            has_score[pinned] = np.isfinite(block.at(rows[pinned], items[pinned]))
        if has_score.any():
            out[has_score] = explained(self, batch, rows[has_score], items[has_score], block)
        out[(src == Source.PINNED) & ~has_score] = PINNED_REASON
        best = np.flatnonzero(src == Source.POPULAR)  # a best seller the customer bought is a re-purchase too
        if len(best):
            out[best] = repurchase_reasons(self.dataset_, batch, rows[best], items[best], out[best].tolist())
        fb = src == Source.FALLBACK
        fallback = self._fallback()
        if fb.any() and fallback is not None and sel.fallback is not None and sel.fallback_rows is not None:
            local = np.searchsorted(sel.fallback_rows, rows[fb])
            sub = batch.take(sel.fallback_rows)
            out[fb] = explained(fallback, sub, local, items[fb], sel.fallback)
        return out.tolist()

    # -- public requests ----------------------------------------------------------------------------
    def score(self, query: Query | None = None, **kwargs: Any) -> np.ndarray:
        """One score per catalogue item (``float64``, NaN = no opinion), in ``item_idx`` order,
        after the soft rules and with NaN where a hard rule removes the item.

        Use ``dataset_.item_ids`` to map positions to item ids.
        """
        batch = self.resolve(self._query(query, kwargs))
        adjusted = self._adjust(batch, scored(self, batch))
        row = adjusted.to_dense(copy=True)
        extra = self._restrict(batch)
        if extra is not None:
            apply_restriction(row, extra)
        return row[0]

    def recommend(self, query: Query | None = None, *, backfill: bool | None = None, **kwargs: Any) -> Recommendations:
        """The top ``query.k`` items for a request, best first, each with a reason.

        Excluded and context items never appear, an item appears at most once, scores are
        non-increasing (except items pinned by a rule, which keep their slot). When the model has an opinion on fewer than ``k`` allowed items, the list
        is back-filled (score NaN) unless ``backfill=False``.

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
        batch = self.resolve(q)
        sel, why, labels = self._run(batch, backfill=backfill, reasons=True)
        slots = np.flatnonzero(sel.picked[0] >= 0)
        item_ids = self.dataset_.item_ids.ids(sel.picked[0, slots])
        scores = sel.scores[0, slots].tolist()
        recs = tuple(
            Recommendation(
                rank=j + 1,
                item_id=item_ids[n],
                score=scores[n],
                reason=why[n] if why is not None else None,
                rules=labels[n] if labels is not None else (),
            )
            for n, j in enumerate(slots.tolist())
        )
        return Recommendations(items=recs, query=q)

    def explain(self, query: Query | None = None, item_id: Hashable | None = None, **kwargs: Any) -> str | None:
        """The model's reason for ``item_id`` in this request, in words a shopper can read.

        Returns None when the model has no opinion on the item, or the item is unknown. It is the
        reason :meth:`recommend` shows for an item the model scored; it does not apply rules
        (use :meth:`Ruled.why_not` to ask whether and why an item is in the list).
        """
        batch = self.resolve(self._query(query, kwargs))
        idx = self.dataset_.item_ids.get(item_id)
        if idx is None:
            return None
        block = scored(self, batch)
        rows, items = np.zeros(1, dtype=np.int64), np.array([idx], dtype=np.int64)
        if not np.isfinite(block.at(rows, items)[0]):
            return None
        return explained(self, batch, rows, items, block)[0]

    def recommend_many(
        self,
        customers: Iterable[Hashable],
        k: int = 10,
        *,
        exclude_purchased: bool = False,
        now: dt.datetime | None = None,
        reasons: bool = True,
        backfill: bool | None = None,
        batch_size: int | None = None,
        columns: Sequence[str] | None = None,
        consent: str | None = None,
        rules_as: RulesAs = "text",
    ) -> pl.DataFrame:
        """Top-``k`` lists for many customers at once, as one flat table (``write_csv`` and
        ``write_parquet`` take it as it is).

        The stages run on batches of ``batch_size`` customers (default: at most 2,048 and at most
        :attr:`batch_cells` (customer, item) cells, one dense 32 MB block for most models: 20 at a
        200,000-item catalogue; memory stays bounded whatever the catalogue). The result equals calling
        :meth:`recommend` for each customer with ``Query(customer_id=c, k=k, now=now,
        exclude_purchased=exclude_purchased)``. ``customers`` is a list of ids (any iterable:
        a polars Series, a numpy array, a generator); a single id is a ConfigError.

        ``columns`` adds catalogue columns by name (``["name", "price"]``) after the others.
        ``consent`` names a Boolean column of the customers table (e.g. ``"consent_email"``):
        only customers whose value is true are served; a customer with false, null or no row is
        left out, and a :class:`~recokit.DataWarning` says how many.

        Returns
        -------
        polars.DataFrame
            ``customer_id, rank, item_id, score, reason, rules`` (+ ``columns``), ``k`` rows per
            customer (fewer when the catalogue runs out). ``reason`` is null when
            ``reasons=False``; ``rules`` is the rules that touched the item joined by ``"; "``
            (``"boost:eco up 20%; pin:promo"``), null when none did, or with ``rules_as="list"``
            a list of texts (empty when none).

        Examples
        --------
        >>> from recokit import Popularity
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(300, seed=1)
        >>> model = Popularity().fit(shop)
        >>> recs = model.recommend_many(shop.customer_ids.to_list()[:5], k=2, columns=["name", "price"])
        >>> recs.columns
        ['customer_id', 'rank', 'item_id', 'score', 'reason', 'rules', 'name', 'price']
        >>> recs.height
        10
        >>> recs.write_csv("newsletter.csv")  # doctest: +SKIP
        """
        self._check_fitted()
        q = Query(k=k, now=now, exclude_purchased=exclude_purchased)  # validates k and now (dates, time zones) as a request does
        now, exclude_purchased = q.now, q.exclude_purchased
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
            raise ConfigError(f"recommend_many: batch_size must be an int >= 1 (or None: sized to the catalogue). Got {batch_size!r}.")
        ds = self.dataset_
        if batch_size is None:
            batch_size = max(1, min(_MAX_BATCH, self.batch_cells // max(ds.n_items, 1)))
        customers = customer_list(customers)
        ds.customer_ids.check_kind(customers, "recommend_many")
        extra, rules_as = catalog_columns(ds.catalog, columns), check_rules_as(rules_as)
        if consent is not None:
            customers = with_consent(ds.customers, customers, consent)
        parts: list[dict[str, Any]] = []
        for start in range(0, len(customers), batch_size):
            batch = self.resolve_customers(customers[start : start + batch_size], k=k, now=now, exclude_purchased=exclude_purchased)
            sel, why, labels = self._run(batch, backfill=backfill, reasons=reasons)
            rows, cols = np.nonzero(sel.picked >= 0)  # filled slots lead each row: rank order
            parts.append(
                {
                    "pos": rows + start,
                    "rank": cols + 1,
                    "item": sel.picked[rows, cols],
                    "score": sel.scores[rows, cols],
                    "reason": why if why is not None else [None] * len(rows),
                    "rules": labels,  # None: no rule touched any
                }
            )
        return self._frame(customers, parts, rules_as, extra)

    def _frame(self, customers: list[Hashable], parts: list[dict[str, Any]], rules_as: RulesAs, columns: Sequence[str]) -> pl.DataFrame:
        ds = self.dataset_

        def cat(key: str, dtype: Any) -> np.ndarray:
            return np.concatenate([p[key] for p in parts]).astype(dtype) if parts else np.empty(0, dtype=dtype)

        pos, item = cat("pos", np.int64), cat("item", np.int64)
        cust = pl.Series("customer_id", customers, dtype=ds.customer_ids.dtype)
        frame = pl.DataFrame(
            {
                "customer_id": cust.gather(pos) if len(customers) else cust,
                "rank": cat("rank", np.int64),
                "item_id": ds.item_ids.series.gather(item),
                "score": cat("score", np.float64),
                "reason": pl.Series([r for p in parts for r in p["reason"]], dtype=pl.String),
                "rules": rules_column(parts, rules_as),
            }
        )
        # the catalogue holds one row per item in item_idx order: a gather is the left join on item_id
        return frame.hstack(ds.catalog.select(columns)[item]) if columns else frame


#: recommend_many's default batch: at most this many customers (and at most
#: ``Recommender.batch_cells`` (customer, item) cells).
_MAX_BATCH = 2048


#: No item indices (read-only, shared by every request without context or exclusions).
_NO_INDEX = np.empty(0, dtype=np.int64)
_NO_INDEX.flags.writeable = False


@functools.lru_cache(maxsize=32)
def _no_items(n_rows: int, n_items: int) -> sp.csr_array:
    """An empty ``rows x items`` matrix, shared (read-only: no stage writes a batch's matrices)."""
    return sp.csr_array((n_rows, n_items), dtype=np.float64)


def _same_value(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and other values without a plain truth value: compare by identity
        return False


def scored(model: Recommender, batch: Batch) -> ScoreBlock:
    """``model._score(batch)``, checked against the hook contract (a ScoreBlock of the batch's shape)."""
    block = model._score(batch)
    if not isinstance(block, ScoreBlock):
        raise ContractError(
            f"{type(model).__name__}._score must return a recokit ScoreBlock; got {type(block).__name__}.",
            hint="wrap the scores: ScoreBlock.dense(rows_x_items) or ScoreBlock.sparse(csr).",
        )
    if block.shape != (batch.n, batch.n_items):
        raise ContractError(f"{type(model).__name__}._score returned a block of shape {block.shape}; the batch needs {(batch.n, batch.n_items)} (rows x items).")
    return block


def explained(model: Recommender, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
    """``model._explain(...)``, checked: one reason per pair; an item the customer bought is
    explained as a re-purchase unless the model says so itself (``explains_owned``)."""
    given = list(model._explain(batch, rows, items, block))
    if len(given) != len(rows):
        raise ContractError(f"{type(model).__name__}._explain returned {len(given)} reasons for {len(rows)} items.")
    return given if model.explains_owned else repurchase_reasons(model.dataset_, batch, rows, items, given)


def clone(model: Recommender) -> Recommender:
    """A new, unfitted model with the same parameters (nested models cloned too)."""
    return model.clone()


class CountModel(Recommender):
    """Base of the models whose fitted state is derived from count tables (Popularity of distinct
    buyers, the count-based ItemKNN flavours, pair AssociationRules; BuyAgain and Renewal from
    their per-customer repeat tables): ``fit_from_tables``, the
    :class:`recokit.data.FitsFromTables` entry that a backend counting the tables elsewhere
    (:mod:`recokit.spark`) calls, written once.

    A subclass says which tables a configuration derives from (:meth:`table_spec`, None when it
    is not derived from tables), why not when not (:meth:`_not_from_tables`) and how it derives
    its state from checked tables (:meth:`_fit_tables`).
    """

    @abc.abstractmethod
    def table_spec(self) -> TableSpec | None:
        """The count tables this configuration is derived from (None: not from tables)."""

    def _not_from_tables(self) -> tuple[str, str]:
        """Why this configuration is not derived from tables, and what to do instead (a
        ConfigError's message and hint); a model whose ``table_spec`` can be None says more."""
        return "this configuration is not derived from count tables.", "fit it with fit(dataset); table_spec() is None for it."

    @abc.abstractmethod
    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        """Set the fitted state from checked ``tables`` (called on a fresh instance)."""

    def fit_from_tables(self, dataset: Dataset, tables: CountTables) -> Self:
        """Fit from count tables counted elsewhere (Spark: :func:`recokit.spark.fit`); equal to
        ``fit(dataset)`` when ``tables`` are ``tables_for(dataset, self.table_spec())``, and as
        atomic (a failure leaves the model as it was)."""
        name = type(self).__name__
        spec = self.table_spec()
        if spec is None:
            what, hint = self._not_from_tables()
            raise ConfigError(f"{name}.fit_from_tables: {what}", hint=hint)
        self._check_dataset(dataset, "fit_from_tables")
        check_tables(tables, dataset, spec, name)
        return self._fit_with(dataset, lambda fresh: fresh._fit_tables(dataset, tables), "fit_from_tables")
