"""Hybrid: several models composed into one :class:`~recokit.Recommender`.

A hybrid is itself a Recommender, so it nests, takes business rules (wrap it in
:class:`~recokit.Ruled`) and is evaluated like any model. Three ways to compose:

``"blend"``
    Each model's scores are normalised per request (``normalize="rank"``: percentile rank among
    the items the model has an opinion on, in (0, 1]; ``"minmax"``: scaled to [0, 1]; ``"none"``)
    and summed with the weights. A model with no opinion on an item adds nothing to it; an item
    no model has an opinion on stays NaN.
``"rrf"``
    Reciprocal rank fusion: ``sum_m w_m / (rrf_k + rank_m(i))`` over the models that rank ``i``.
    Robust to scores on different scales; the classic choice when models disagree in kind.
``"cascade"``
    Per item, the first model (in order) with an opinion decides: every item the first model
    scores comes before every item only the second scores, and so on (LensKit's
    ``FallbackScorer``). The cold-start answer: ``[Renewal, ItemKNN, Popularity]``. Cascade
    scores are ordinal (built from each model's ranks, so the order is exact), not magnitudes.

Each recommended item's reason is the reason of the model that contributed most to its score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError
from recokit.base import Context, Recommender, _densify
from recokit.data import Dataset

__all__ = ["Hybrid"]

Method = Literal["blend", "rrf", "cascade"]


def _normalise(scores: np.ndarray, how: str) -> np.ndarray:
    """Row-wise normalisation of a 2-D score matrix; NaN stays NaN."""
    out = np.full_like(scores, np.nan)
    finite = np.isfinite(scores)
    if how == "none":
        return np.where(finite, scores, np.nan)
    if how == "minmax":
        lo = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        hi = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
        span = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1.0), 1.0)
        return np.where(finite, scaled, np.nan)
    # "rank": percentile of the item among the model's scored items; ties share the top rank
    rank = _ranks(scores)
    n = finite.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(finite, (n - rank + 1) / np.maximum(n, 1), np.nan)
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based competition ranks of each row's finite scores (best = 1, ties share); NaN elsewhere."""
    finite = np.isfinite(scores)
    work = np.where(finite, -scores, np.inf)
    order = np.argsort(work, axis=1, kind="stable")
    sorted_vals = np.take_along_axis(work, order, axis=1)
    pos = np.arange(scores.shape[1])[None, :].repeat(scores.shape[0], axis=0)
    # competition ranking: a tie takes the position of its first member
    new = np.ones_like(sorted_vals, dtype=bool)
    new[:, 1:] = sorted_vals[:, 1:] != sorted_vals[:, :-1]
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    ranks = np.empty_like(scores)
    np.put_along_axis(ranks, order, first + 1.0, axis=1)
    return np.where(finite, ranks, np.nan)


class Hybrid(Recommender):
    """Compose several models into one.

    Parameters
    ----------
    models : mapping name -> Recommender, or sequence of Recommenders
        The components, in order (order matters for ``"cascade"`` and for tie-breaks). They are
        fitted by :meth:`fit` on the hybrid's dataset.
    weights : mapping name -> float or sequence of floats, optional
        One non-negative weight per model (default 1 each). Ignored by ``"cascade"``.
    method : {'blend', 'rrf', 'cascade'}
    normalize : {'rank', 'minmax', 'none'}
        Per-request normalisation of each model's scores before blending (``"blend"`` only).
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

    def __init__(
        self,
        models: Mapping[str, Recommender] | Sequence[Recommender],
        *,
        weights: Mapping[str, float] | Sequence[float] | None = None,
        method: Method = "blend",
        normalize: Literal["rank", "minmax", "none"] = "rank",
        rrf_k: float = 60.0,
    ) -> None:
        self.models = models
        self.weights = weights
        self.method = method
        self.normalize = normalize
        self.rrf_k = rrf_k
        self._components()  # validate early: a typo should fail where the hybrid is built

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
        if self.method not in ("blend", "rrf", "cascade"):
            raise ConfigError(f"The 'method' parameter of Hybrid must be 'blend', 'rrf' or 'cascade'. Got {self.method!r} instead.")
        if self.normalize not in ("rank", "minmax", "none"):
            raise ConfigError(
                f"The 'normalize' parameter of Hybrid must be 'rank', 'minmax' or 'none'. Got {self.normalize!r} instead."
            )
        if isinstance(self.rrf_k, bool) or not isinstance(self.rrf_k, (int, float)) or not self.rrf_k > 0:
            raise ConfigError(f"The 'rrf_k' parameter of Hybrid must be a number > 0. Got {self.rrf_k!r} instead.")
        return names, models, w

    def _fit(self, dataset: Dataset) -> None:
        names, models, w = self._components()
        for m in models:
            m.fit(dataset)
        self.names_ = names
        self.components_ = models
        self.weights_ = w

    # -- combining -------------------------------------------------------------------------
    def _combine(self, stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``stack``: models x rows x items. Returns (scores, contributions per model)."""
        w = self.weights_[:, None, None]
        if self.method == "cascade":
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
        else:
            if self.method == "rrf":
                parts = np.stack([1.0 / (self.rrf_k + _ranks(s)) for s in stack])
            else:
                parts = np.stack([_normalise(s, self.normalize) for s in stack])
            contrib = parts * w
            combined = np.nansum(np.where(np.isfinite(contrib), contrib, 0.0), axis=0)
        anyone = np.isfinite(contrib).any(axis=0)
        return np.where(anyone, combined, np.nan), contrib

    def _score(self, ctx: Context) -> np.ndarray:
        stack = np.stack([np.asarray(m._score(ctx), dtype=np.float64) for m in self.components_])[:, None, :]
        return self._combine(stack)[0][0]

    def _batch_stack(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        """models x customers x items: every component's batch scores, dense."""
        parts = [m._score_many(customer_idx, now) for m in self.components_]
        # a component may answer a batch as a sparse matrix (stored = scored): no opinion elsewhere
        return np.stack([_densify(p) if sp.issparse(p) else np.asarray(p, dtype=np.float64) for p in parts])

    def _score_many(self, customer_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        return self._combine(self._batch_stack(customer_idx, now))[0]

    def _explain_many(self, customer_idx: np.ndarray, item_idx: np.ndarray, now: dt.datetime | None) -> list[str | None]:
        """Reasons for many (customer, item) pairs: each customer's components scored once, not per item."""
        out: list[str | None] = [None] * len(item_idx)
        uniq, inv = np.unique(customer_idx, return_inverse=True)
        for lo in range(0, len(uniq), 256):  # bounded memory: models x 256 x items
            in_chunk = np.flatnonzero((inv >= lo) & (inv < lo + 256))
            if len(in_chunk) == 0:
                continue
            contrib = self._combine(self._batch_stack(uniq[lo : lo + 256], now))[1][:, inv[in_chunk] - lo, item_idx[in_chunk]]  # models x pairs
            strength = np.where(np.isfinite(contrib), contrib, -np.inf)
            order = np.argsort(-strength, axis=0, kind="stable")
            pending = np.ones(len(in_chunk), dtype=bool)
            for level in range(len(self.components_)):  # the strongest contributor with a reason
                for m in range(len(self.components_)):
                    sel = np.flatnonzero(pending & (order[level] == m) & np.isfinite(contrib[m]))
                    if len(sel) == 0:
                        continue
                    pairs = in_chunk[sel]
                    comp = self.components_[m]
                    reasons = comp._explain_many(customer_idx[pairs], item_idx[pairs], now)
                    if reasons is None:
                        reasons = [comp._explain(comp._context_for(int(c), now), int(i)) for c, i in zip(customer_idx[pairs], item_idx[pairs], strict=True)]
                    for j, r in zip(pairs.tolist(), reasons, strict=True):
                        out[j] = r
                    pending[sel[[r is not None and r != "" for r in reasons]]] = False
        return out

    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        stack = np.stack([np.asarray(m._score(ctx), dtype=np.float64) for m in self.components_])[:, None, :]
        contrib = self._combine(stack)[1][:, 0, item_idx]
        if not np.isfinite(contrib).any():
            return None
        # the strongest contributor that has a reason to give
        for m in np.argsort(-np.where(np.isfinite(contrib), contrib, -np.inf), kind="stable"):
            if not np.isfinite(contrib[m]):
                break
            reason = self.components_[m]._explain(ctx, item_idx)
            if reason:
                return reason
        return None
