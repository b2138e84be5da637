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

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from recokit._errors import ConfigError, ContractError
from recokit.core import Batch, Recommender, ScoreBlock, clone, explained, scored
from recokit.data import Dataset
from recokit.params import Custom, Interval, OneOf, param

__all__ = ["Hybrid", "HybridScores"]

Method = Literal["blend", "rrf", "cascade"]


def _is_models(value: object) -> bool:
    return isinstance(value, (Mapping, list, tuple))


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

    models: Mapping[str, Recommender] | Sequence[Recommender] = param(
        check=Custom(_is_models, "a mapping name -> Recommender or a sequence of Recommenders"),
        doc="The components, in order (order matters for 'cascade' and for tie-breaks); copies of them are fitted.",
        kw_only=False,
    )
    weights: Mapping[str, float] | Sequence[float] | None = param(
        default=None, doc="One non-negative weight per model (default 1 each). Ignored by 'cascade'."
    )
    method: Method = param(default="blend", check=OneOf("blend", "rrf", "cascade"), doc="How to compose the models.")
    normalize: Literal["rank", "minmax", "none"] = param(
        default="rank", check=OneOf("rank", "minmax", "none"), doc="Per-request normalisation of each model's scores ('blend' only)."
    )
    rrf_k: float = param(default=60.0, check=Interval(float, low=0, low_open=True), doc="The constant of reciprocal rank fusion.")

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
        self.names_ = names
        self.components_ = fitted
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

    def _score(self, batch: Batch) -> ScoreBlock:
        parts = [scored(m, batch) for m in self.components_]
        combined, contrib = self._combine(np.stack([p.to_dense() for p in parts]))
        return HybridScores(combined, contrib, parts)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """Each pair's reason: that of the strongest contributor (in this request's block) that
        gives one."""
        if not isinstance(block, HybridScores):
            raise ContractError("Hybrid._explain needs the block its own _score returned (a HybridScores).")
        out: list[str | None] = [None] * len(rows)
        contrib = block.contrib[:, rows, items]  # models x pairs
        strength = np.where(np.isfinite(contrib), contrib, -np.inf)
        order = np.argsort(-strength, axis=0, kind="stable")
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
                        pending[j] = False
        return out


class HybridScores(ScoreBlock):
    """A hybrid's block: the combined scores, plus each component's block and contribution
    (kept so that reasons come from this request's scores, never from re-scoring)."""

    __slots__ = ("contrib", "parts")

    def __init__(self, combined: np.ndarray, contrib: np.ndarray, parts: list[ScoreBlock]) -> None:
        super().__init__(dense=combined)
        self.contrib = contrib
        self.parts = parts
