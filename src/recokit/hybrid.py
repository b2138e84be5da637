"""Hybrid: several models composed into one :class:`~recokit.Recommender`.

A hybrid is itself a Recommender, so it nests, takes business rules (wrap it in
:class:`~recokit.Ruled`) and is evaluated like any model. Three ways to compose:

``"blend"``
    Each model's scores are turned, per request, into a **share**: the model hands out exactly
    its weight over the items it has an opinion on, more to the items it ranks higher
    (``normalize="rank"``: by rank; ``"minmax"``: by score; ``"none"``: raw scores), over at most
    its ``depth`` best items of the request (default 500). The shares are summed. A model with no opinion on an item gives it nothing and keeps its whole share
    for the items it does score, so a sparse model (association rules on a product page) is
    never drowned by a dense one (best sellers scoring every item); an item no model has an
    opinion on stays NaN. See docs/models/hybrid.md for the exact formulas and guarantees.
``"rrf"``
    Reciprocal rank fusion: ``sum_m w_m / (rrf_k + rank_m(i))`` over the models that rank ``i``.
    Robust to scores on different scales; the classic choice when models disagree in kind.
``"cascade"``
    Per item, the first model (in order) with an opinion decides: every item the first model
    scores comes before every item only the second scores, and so on (LensKit's
    ``FallbackScorer``). The cold-start answer: ``[Renewal, ItemKNN, Popularity]``. Cascade
    scores are ordinal (built from each model's ranks, so the order is exact), not magnitudes.

Each recommended item's reason is the reason of the model that contributed most to its score
(ties: the more specific model, :attr:`Recommender.specificity`), followed by the other models
that contributed at least half as much, by their :meth:`Recommender.signal`:
``"bought with Mountain bike MO1 in 40% of its baskets (12 of 30) (also: trending)"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError, ContractError
from recokit.core import (
    Batch,
    Recommender,
    Restriction,
    ScoreBlock,
    clone,
    explained,
    scored,
    top_k,
    top_k_coo,
)
from recokit.data import DataChange, Dataset, csr_lookup, entry_rows
from recokit.params import Custom, Interval, OneOf, Optional, param

__all__ = ["Hybrid", "HybridScores"]

Method = Literal["blend", "rrf", "cascade"]

#: A component is listed after a reason ("also: ...") when it contributed at least this share of
#: what the reason's own component contributed.
_ALSO_SHARE = 0.5


def _is_models(value: object) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def _normalise(scores: np.ndarray, how: str) -> np.ndarray:
    """Row-wise shares of a 2-D score matrix by score (NaN = no opinion stays NaN).

    ``"minmax"``: ``m / sum(m)`` with ``m = 1 + (n - 1) (s - lo) / (hi - lo)`` (1 for every item
    when ``hi == lo``), > 0 and summing to 1 over the row's ``n`` finite scores. ``"none"``: the
    raw finite scores. (``"rank"`` shares: :func:`_rank_shares`.)
    """
    finite = np.isfinite(scores)
    if how == "none":
        return np.where(finite, scores, np.nan)
    n = finite.sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        hi = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
        span = hi - lo
        mass = np.where(span > 0, 1.0 + (n - 1.0) * (scores - lo) / np.where(span > 0, span, 1.0), 1.0)
        mass = np.where(finite, mass, 0.0)
        return np.where(finite, mass / mass.sum(axis=1, keepdims=True), np.nan)


def _row_wise(fn: Callable[[np.ndarray], np.ndarray], block: np.ndarray) -> np.ndarray:
    """``fn`` of a rows x items block, computed once when every row is the same view of one row
    (a best-seller list broadcast to every request): a batch pays for one ranking, not one a row."""
    if block.shape[0] > 1 and block.strides[0] == 0:
        return np.broadcast_to(fn(block[:1]), block.shape)
    return fn(block)


def _sorted_rows(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row best first (no opinion last): the sort order, the tie-group starts (True where a
    sorted value differs from the previous one) and the positions 0..items-1."""
    work = np.where(np.isfinite(scores), -scores, np.inf)
    order = np.argsort(work, axis=1)  # ties get one rank from their group, whatever their order
    sorted_vals = np.take_along_axis(work, order, axis=1)
    new = np.ones_like(sorted_vals, dtype=bool)
    new[:, 1:] = sorted_vals[:, 1:] != sorted_vals[:, :-1]
    pos = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    return order, new, pos


def _tie_positions(start: np.ndarray) -> np.ndarray:
    """Along the last axis of sorted values (``start`` True where a tie group begins): each
    value's mean 0-based position over its tie group."""
    pos = np.broadcast_to(np.arange(start.shape[-1]), start.shape)
    end = np.ones_like(start)
    end[..., :-1] = start[..., 1:]  # a tie group ends where the next one starts
    first = np.maximum.accumulate(np.where(start, pos, 0), axis=-1)
    last = np.minimum.accumulate(np.where(end, pos, start.shape[-1] - 1)[..., ::-1], axis=-1)[..., ::-1]
    return (first + last) / 2.0


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based competition ranks of each row's finite scores (best = 1, ties share); NaN elsewhere."""
    order, new, pos = _sorted_rows(scores)
    # competition ranking: a tie takes the position of its first member
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    ranks = np.empty_like(scores, dtype=np.float64)
    np.put_along_axis(ranks, order, first + 1.0, axis=1)
    return np.where(np.isfinite(scores), ranks, np.nan)


def _best(block: ScoreBlock, depth: int, tie: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``depth`` best opinions, best first (equal scores: by ``tie``, the best seller
    first): ``(items, scores)``, rows x depth, -1 / NaN padded. A dense row is partitioned, not
    sorted whole; a sparse one ranks only its stored scores."""
    if block.is_sparse:
        m = block.to_csr()
        return top_k_coo(entry_rows(m.indptr), m.indices.astype(np.int64), m.data, block.shape[0], depth, tie)
    got = block.ranked(Restriction(None, np.empty(0, np.int64), *block.shape), depth, tie)
    if got is not None:  # a lazy block (ALS) ranks itself, without writing every score
        return got
    dense = block.to_dense()
    picked = top_k(dense, None, depth, tie)
    return picked, np.where(picked >= 0, np.take_along_axis(dense, np.maximum(picked, 0), axis=1), np.nan)


def _rank_shares(picked: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blend's rank shares of each row's opinions, given best first (``vals`` sorted down,
    NaN padding last): ``(n - rho + 1) / (n (n + 1) / 2)`` with ``rho`` the mean 1-based
    position of the opinion's tie group and ``n`` the row's opinions. Returns ``(rows, items,
    shares)`` of the opinions, row by row."""
    valid = picked >= 0
    n = valid.sum(axis=1, keepdims=True).astype(np.float64)
    start = np.ones(vals.shape, dtype=bool)
    start[:, 1:] = vals[:, 1:] != vals[:, :-1]  # NaN != NaN: padding never joins a tie group
    rho = _tie_positions(start) + 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = (n - rho + 1.0) / (n * (n + 1.0) / 2.0)
    rows, pos = np.nonzero(valid)
    return rows.astype(np.int64), picked[rows, pos], shares[rows, pos]


class _Opinions:
    """One model's blend shares for a batch, as (row, item, share) triplets."""

    __slots__ = ("items", "rows", "shares")

    def __init__(self, rows: np.ndarray, items: np.ndarray, shares: np.ndarray) -> None:
        self.rows, self.items, self.shares = rows, items, shares


def _blend_block(opinions: list[_Opinions], weights: np.ndarray, shape: tuple[int, int]) -> tuple[sp.csr_array, np.ndarray]:
    """The blend of the models' shares: per (row, item) the sum of ``w_m * share_m`` over the
    models with an opinion on it (summed in model order), as a sparse block of the opinions'
    union, with each model's contribution kept for the reasons."""
    n_rows, n_items = shape
    used = [m for m, w in enumerate(weights) if w > 0]  # weight 0: the model is left out
    model = np.concatenate([np.full(len(opinions[m].rows), m, dtype=np.int64) for m in used] + [np.empty(0, np.int64)])
    keys = np.concatenate([opinions[m].rows * n_items + opinions[m].items for m in used] + [np.empty(0, np.int64)])
    given = np.concatenate([weights[m] * opinions[m].shares for m in used] + [np.empty(0)])
    order = np.lexsort((model, keys))
    keys, model, given = keys[order], model[order], given[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    cell = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    combined = np.add.reduceat(given, starts) if len(starts) else np.empty(0)
    contrib = np.full((len(weights), len(starts)), np.nan)
    contrib[model, cell] = given
    ukeys = keys[starts]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(ukeys // n_items, minlength=n_rows), out=indptr[1:])
    m = sp.csr_array((combined, (ukeys % n_items).astype(np.int64), indptr), shape=shape)
    m.has_sorted_indices = True  # keys were sorted: by row, then item
    return m, contrib


class Hybrid(Recommender):
    """Compose several models into one.

    Reasons: each item's comes from the component that contributed most to it (ties: the more
    specific one), followed by ``(also: ...)`` naming the other components that contributed at
    least half as much; an item the customer bought is worded as a re-purchase by its components.

    Parameters
    ----------
    models : mapping name -> Recommender, or sequence of Recommenders
        The components, in order (order matters for ``"cascade"`` and for tie-breaks). They are
        fitted by :meth:`fit` on the hybrid's dataset.
    weights : mapping name -> float or sequence of floats, optional
        One non-negative weight per model (default 1 each): with ``"blend"``, the share of each
        request the model hands out; 0 leaves the model out. Ignored by ``"cascade"``.
    method : {'blend', 'rrf', 'cascade'}
    normalize : {'rank', 'minmax', 'none'}
        How ``"blend"`` turns each model's scores into its share of the request: by rank
        (default), by score, or raw scores (docs/models/hybrid.md).
    depth : int or None
        With ``"blend"``, a model's opinion is its ``depth`` best items of the request (equal
        scores at the cut: the better seller first); None: every item it scores. Bounds the cost
        of a model that scores the whole catalogue (one partition, not a sort, per request).
    rrf_k : float
        The constant of reciprocal rank fusion (60 in the original paper).

    Examples
    --------
    >>> from recokit import AssociationRules, Hybrid, Popularity, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(800, seed=2)
    >>> hybrid = Hybrid({"together": AssociationRules(), "best": Popularity()}, method="cascade").fit(shop)
    >>> bike = shop.catalog.filter(category="adult_bike")["item_id"][0]
    >>> recs = hybrid.recommend(Query(items=[bike], k=3))
    >>> len(recs), all(r.reason for r in recs)
    (3, True)
    """

    models: Mapping[str, Recommender] | Sequence[Recommender] = param(
        check=Custom(_is_models, "a mapping name -> Recommender or a sequence of Recommenders"),
        doc="The components, in order (order matters for 'cascade' and for tie-breaks); copies of them are fitted.",
        kw_only=False,
    )
    weights: Mapping[str, float] | Sequence[float] | None = param(
        default=None,
        doc="One non-negative weight per model (default 1 each): with 'blend', the share of each request the model hands out; "
        "0 leaves the model out. Ignored by 'cascade'.",
    )
    method: Method = param(default="blend", check=OneOf("blend", "rrf", "cascade"), doc="How to compose the models.")
    normalize: Literal["rank", "minmax", "none"] = param(
        default="rank",
        check=OneOf("rank", "minmax", "none"),
        doc="How 'blend' turns each model's scores into its share of the request: by rank, by score, or raw scores.",
    )
    depth: int | None = param(
        default=500,
        check=Optional(Interval(int, low=1)),
        doc="With 'blend', each model's opinion is its best `depth` items of the request (equal scores: the better seller first); "
        "None: every item it scores (a sort of the catalogue per request for a model that scores every item).",
    )
    rrf_k: float = param(default=60.0, check=Interval(float, low=0, low_open=True), doc="The constant of reciprocal rank fusion.")

    #: reasons come from components, which word the items a customer bought themselves
    explains_owned: ClassVar[bool] = True

    def _check_together(self) -> None:
        self._components()  # a typo fails where the hybrid is built

    def _components(self) -> tuple[list[str], list[Recommender], np.ndarray]:
        if isinstance(self.models, Mapping):
            names = [str(n) for n in self.models]
            models = list(self.models.values())
        else:
            models = list(self.models)
            names = [f"{type(m).__name__}#{i}" for i, m in enumerate(models)]
        if not models:
            raise ConfigError("The 'models' parameter of Hybrid must hold at least one Recommender. Got none.")
        for name, m in zip(names, models, strict=True):
            if not isinstance(m, Recommender):
                raise ConfigError(f"Hybrid component {name!r} must be a recokit Recommender. Got {type(m).__name__}.")
            if not m.composable:
                raise ConfigError(
                    f"Hybrid component {name!r} is a {type(m).__name__}: its rules would not apply inside a hybrid.", hint="wrap the hybrid instead: Ruled(Hybrid({...}), rules)."
                )
        if len({id(m) for m in models}) != len(models):
            raise ConfigError("Hybrid components must be distinct objects (the same model was given twice).")
        if self.weights is None:
            w = np.ones(len(models))
        elif isinstance(self.weights, Mapping):
            unknown = set(self.weights) - set(names)
            if unknown:
                raise ConfigError(f"Hybrid weights name unknown models {sorted(unknown)}; the models are {names}.")
            w = np.array([float(self.weights.get(n, 1.0)) for n in names])
        else:
            w = np.asarray(list(self.weights), dtype=np.float64)
            if len(w) != len(models):
                raise ConfigError(f"Hybrid got {len(w)} weights for {len(models)} models; give one weight per model.")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ConfigError(f"The 'weights' parameter of Hybrid must hold finite numbers >= 0. Got {w.tolist()} instead.")
        return names, models, w

    def _fit(self, dataset: Dataset) -> None:
        names, models, w = self._components()
        fitted = [clone(m).fit(dataset) for m in models]  # the given models stay as they were
        self._assemble(dataset, names, fitted, w)

    def _update(self, previous: Hybrid, change: DataChange) -> None:
        """Each fitted component carried through the change (its own exact update), then the
        blend's constant shares derived again."""
        names, _, w = self._components()
        self._assemble(change.after, names, [m._updated(change) for m in previous.components_], w)

    def _assemble(self, dataset: Dataset, names: list[str], fitted: list[Recommender], w: np.ndarray) -> None:
        # a component whose scores do not depend on the request (best sellers): its blend shares
        # are ranked once here, not once per request
        constant = [m.constant_scores() if self.method == "blend" else None for m in fitted]
        self.constant_ = np.array([c is not None for c in constant], dtype=bool)
        tie = fitted[0].tie_rank_  # every component was fitted on this dataset: the same ranks
        rows, cols, vals = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
        for m, c in enumerate(constant):
            if c is not None:
                opinions = self._opinions(ScoreBlock.dense(c[None, :]), tie)
                rows.append(np.full(len(opinions.items), m, dtype=np.int64))
                cols.append(opinions.items)
                vals.append(opinions.shares)
        shares = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(fitted), dataset.n_items))
        shares.sort_indices()
        self.constant_shares_ = shares
        self.names_ = names
        self.components_ = fitted
        self.weights_ = w

    # -- combining -------------------------------------------------------------------------
    def _opinions(self, block: ScoreBlock, tie: np.ndarray) -> _Opinions:
        """A block's blend shares over each row's best ``depth`` opinions (equal scores at the
        cut: the better seller first)."""
        depth = block.shape[1] if self.depth is None else min(self.depth, block.shape[1])
        best = _best(block, max(depth, 1), tie)
        if self.normalize == "rank":
            return _Opinions(*_rank_shares(*best))
        picked, vals = best
        kept = np.full(block.shape, np.nan)  # the row's best opinions, shared by score
        rows, pos = np.nonzero(picked >= 0)
        kept[rows, picked[rows, pos]] = vals[rows, pos]
        given = _normalise(kept, self.normalize)
        rows, cols = np.nonzero(np.isfinite(given))
        return _Opinions(rows.astype(np.int64), cols.astype(np.int64), given[rows, cols])

    def _shares(self, m: int, block: ScoreBlock) -> _Opinions:
        """Model ``m``'s blend shares of a batch (a constant model's: ranked at fit, repeated)."""
        if not self.constant_[m]:
            return self._opinions(block, self.tie_rank_)
        n = block.shape[0]
        sh = self.constant_shares_
        lo, hi = sh.indptr[m], sh.indptr[m + 1]
        rows = np.repeat(np.arange(n, dtype=np.int64), hi - lo)
        return _Opinions(rows, np.tile(sh.indices[lo:hi].astype(np.int64), n), np.tile(sh.data[lo:hi], n))

    def _combine(self, parts: list[ScoreBlock]) -> tuple[np.ndarray, np.ndarray]:
        """``parts``: one block per model, ``"rrf"`` or ``"cascade"``. Returns (scores,
        contributions per model), dense."""
        w = self.weights_[:, None, None]
        if self.method == "cascade":
            stack = np.stack([p.to_dense() for p in parts])
            n = len(self.components_)
            contrib = np.full_like(stack, np.nan)
            taken = np.zeros(stack.shape[1:], dtype=bool)
            size = stack.shape[2] + 1
            for m in range(n):
                # ordinal and exact: tier m's items score (n - m) * size - rank, above every later tier
                rank = _ranks(stack[m])
                here = np.isfinite(rank) & ~taken
                contrib[m] = np.where(here, (n - m) * size - rank, np.nan)
                taken |= here
            combined = np.nanmax(np.where(np.isfinite(contrib), contrib, -np.inf), axis=0)
        else:  # rrf
            given = np.stack([_row_wise(lambda s: 1.0 / (self.rrf_k + _ranks(s)), p.to_dense()) for p in parts])
            contrib = np.where(w > 0, given * w, np.nan)  # weight 0: the model is left out
            combined = np.nansum(np.where(np.isfinite(contrib), contrib, 0.0), axis=0)
        anyone = np.isfinite(contrib).any(axis=0)
        return np.where(anyone, combined, np.nan), contrib

    def _score(self, batch: Batch) -> ScoreBlock:
        parts = [scored(m, batch) for m in self.components_]
        if self.method == "blend":
            combined, contrib = _blend_block([self._shares(m, p) for m, p in enumerate(parts)], self.weights_, parts[0].shape)
            return HybridScores(combined, contrib, parts)
        dense, contrib = self._combine(parts)
        return HybridScores(dense, contrib, parts)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """Each pair's reason: that of the strongest contributor (ties: the more specific, then
        the earlier component) that gives one, followed by the other contributors (see
        :meth:`_also`)."""
        if not isinstance(block, HybridScores):
            raise ContractError("Hybrid._explain needs the block its own _score returned (a HybridScores).")
        out: list[str | None] = [None] * len(rows)
        source = np.full(len(rows), -1, dtype=np.int64)
        contrib = block.contributions(rows, items)  # models x pairs
        order = self._reason_order(contrib)
        pending = np.ones(len(rows), dtype=bool)
        for level in range(len(self.components_)):
            for m, comp in enumerate(self.components_):
                sel = np.flatnonzero(pending & (order[level] == m) & np.isfinite(contrib[m]))
                if len(sel) == 0:
                    continue
                reasons = explained(comp, batch, rows[sel], items[sel], block.parts[m])
                for j, r in zip(sel.tolist(), reasons, strict=True):
                    if r:
                        out[j] = r
                        source[j] = m
                        pending[j] = False
        opinion = np.stack([np.isfinite(p.at(rows, items)) for p in block.parts]) if self.method == "cascade" else np.isfinite(contrib)
        return self._also(out, source, contrib, order, opinion)

    def _reason_order(self, contrib: np.ndarray) -> np.ndarray:
        """``models x pairs``: per pair, the components from the strongest contribution down
        (no opinion last); ties go to the higher ``specificity``, then to the earlier component."""
        n_models, n_pairs = contrib.shape
        strength = np.where(np.isfinite(contrib), contrib, -np.inf)
        spec = np.broadcast_to(np.array([c.specificity for c in self.components_], dtype=np.float64)[:, None], contrib.shape)
        index = np.broadcast_to(np.arange(n_models)[:, None], contrib.shape)
        return np.lexsort((index, -spec, -strength), axis=0) if n_pairs else np.empty((n_models, 0), dtype=np.int64)

    def _also(self, out: list[str | None], source: np.ndarray, contrib: np.ndarray, order: np.ndarray, opinion: np.ndarray) -> list[str | None]:
        """Append "(also: ...)" to each reason: the other components with an opinion on the item
        whose contribution is at least ``_ALSO_SHARE`` of the reason's own (``cascade``: every
        other component with an opinion), strongest first, by their :meth:`signal` (else their
        name in the hybrid), each label once and never the reason's own."""
        n_models, n_pairs = contrib.shape
        if n_models < 2 or not n_pairs:
            return out
        main = np.maximum(source, 0)
        if self.method == "cascade":
            strong = np.ones_like(opinion)
        else:
            strong = np.where(np.isfinite(contrib), contrib, -np.inf) >= _ALSO_SHARE * contrib[main, np.arange(n_pairs)]
        listed = opinion & strong & (np.arange(n_models)[:, None] != main) & (source >= 0)
        some = np.flatnonzero(listed.any(axis=0))
        if not len(some):
            return out
        labels = [comp.signal() or name for comp, name in zip(self.components_, self.names_, strict=True)]
        # per pair: its reason's component, then the listed ones in contribution order (0 = none)
        ranked = np.where(np.take_along_axis(listed[:, some], order[:, some], axis=0), order[:, some] + 1, 0)
        keys, which = np.unique(np.vstack([main[None, some], ranked]).T, axis=0, return_inverse=True)
        texts = []
        for own, *rest in keys.tolist():
            names = list(dict.fromkeys(labels[d - 1] for d in rest if d and labels[d - 1] != labels[own]))
            texts.append(f" (also: {', '.join(names)})" if names else "")
        for j, k in zip(some.tolist(), np.ravel(which).tolist(), strict=True):
            if out[j] is not None:
                out[j] = f"{out[j]}{texts[k]}"
        return out


class HybridScores(ScoreBlock):
    """A hybrid's block: the combined scores, plus each component's block and contribution
    (kept so that reasons come from this request's scores, never from re-scoring).

    ``combined`` is dense (``rows x items``, ``contrib`` then ``models x rows x items``) or a
    sparse matrix of the items some model has an opinion on (``contrib`` then ``models x
    stored entries``, in the matrix's entry order)."""

    __slots__ = ("contrib", "parts")

    def __init__(self, combined: np.ndarray | sp.csr_array, contrib: np.ndarray, parts: list[ScoreBlock]) -> None:
        if isinstance(combined, np.ndarray):
            super().__init__(dense=combined)
        else:
            super().__init__(sparse=combined)
        self.contrib = contrib
        self.parts = parts

    def contributions(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``models x pairs``: each model's contribution to item ``items[j]`` of row ``rows[j]``
        (NaN: no opinion)."""
        if self.contrib.ndim == 3:
            return self.contrib[:, rows, items]
        out = np.full((self.contrib.shape[0], len(rows)), np.nan)
        hit, pos = csr_lookup(self.to_csr(), rows, items)
        out[:, hit] = self.contrib[:, pos[hit]]
        return out
