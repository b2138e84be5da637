"""``Ruled``: a model (or hybrid) with business rules, as request stages of the base."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np

from recokit._errors import ConfigError
from recokit.core import (
    Batch,
    Query,
    Recommender,
    Restriction,
    ScoreBlock,
    Selection,
    Source,
    clone,
    explained,
    scored,
)
from recokit.data import DataChange, Dataset
from recokit.params import InstanceOf, Optional, param
from recokit.rules.audit import why_not
from recokit.rules.rule import Rule
from recokit.rules.ruleset import RuleSet
from recokit.rules.select import Backfill, select_under_limits

__all__ = ["Ruled"]


class Ruled(Recommender):
    """A model (or hybrid) with business rules applied to its recommendations.

    ``Ruled`` is itself a :class:`~recokit.Recommender` whose rules are stages of the request
    pipeline: consent decides whether the models see the customer's history (``_visible``),
    boosts and buries adjust the scores, hard rules restrict what may be shown, and the list is
    selected under pins and list limits, back-filled under the same rules.

    Parameters
    ----------
    model : Recommender
        Any model; a copy of it is fitted by :meth:`fit` (``model_``).
    rules : RuleSet or list of Rule
    fallback : Recommender, optional
        Back-fills a list the model cannot fill (its ranking first, then the shop's best sellers),
        under the same rules, e.g. ``Popularity(half_life_days=30)``. A customer without consent
        is scored by ``model`` as an anonymous visitor with the same cart or product page.

    Notes
    -----
    :meth:`score` returns the adjusted scores with NaN for the items a hard rule removes (list
    limits and pins are not scores; they apply in :meth:`recommend`). Rules end a pipeline: wrap
    the hybrid, not the other way round (a Hybrid refuses a Ruled component).

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset, Popularity, Query
    >>> from recokit.rules import OnePerGroup
    >>> cat = pl.DataFrame({"item_id": ["kid bike", "kid bike 2", "helmet"],
    ...                     "category": ["bike", "bike", "helmet"], "age_group": ["child", "child", "child"]})
    >>> orders = pl.DataFrame({"customer_id": [1, 2, 2, 3], "item_id": ["kid bike", "kid bike", "kid bike 2", "helmet"]})
    >>> rule = OnePerGroup("category = 'bike' AND age_group = 'child'", name="no second child bike")
    >>> model = Ruled(Popularity(), [rule]).fit(Dataset(orders, cat))
    >>> model.recommend(Query(customer_id=1, k=3)).item_ids
    ['helmet']
    >>> model.why_not(Query(customer_id=1, k=3), "kid bike 2")
    "removed by rule 'no second child bike' (one_per_group): the customer bought 'kid bike'"
    """

    composable: ClassVar[bool] = False
    explains_owned: ClassVar[bool] = True  # its model's reasons went through the re-purchase rule

    model: Recommender = param(check=InstanceOf(Recommender), doc="Any model; a copy of it is fitted (``model_``).", kw_only=False)
    rules: RuleSet | Sequence[Rule] = param(doc="The business rules: a RuleSet or a list of rules (checked by RuleSet).", kw_only=False)
    fallback: Recommender | None = param(
        default=None, check=Optional(InstanceOf(Recommender)), doc="Back-fills a list the model cannot fill, under the same rules."
    )

    def _check_together(self) -> None:
        self._checked_rules()

    def _checked_rules(self) -> RuleSet:
        for role in ("model", "fallback"):
            inner = getattr(self, role)
            if isinstance(inner, Recommender) and not inner.composable:
                raise ConfigError(
                    f"The '{role}' parameter of Ruled is a {type(inner).__name__}: its own rules (consent included) "
                    "act after scoring and would be skipped inside another Ruled.",
                    hint="put every rule in one RuleSet: Ruled(model, inner_rules + outer_rules).",
                )
        if not isinstance(self.model, Recommender):
            raise ConfigError(f"The 'model' parameter of Ruled must be a recokit Recommender. Got {type(self.model).__name__} instead.")
        if self.fallback is not None and not isinstance(self.fallback, Recommender):
            raise ConfigError(f"The 'fallback' parameter of Ruled must be a recokit Recommender or None. Got {type(self.fallback).__name__} instead.")
        return self.rules.clone() if isinstance(self.rules, RuleSet) else RuleSet(self.rules)

    def _fit(self, dataset: Dataset) -> None:
        rules = self._checked_rules().fit(dataset)  # a private copy: the caller's RuleSet stays unfitted
        self.model_ = clone(self.model).fit(dataset)
        self.fallback_ = clone(self.fallback).fit(dataset) if self.fallback is not None else None
        rules.same_customers_ = True  # the rules' customers are numbered as the model's
        self.rules_ = rules

    def _update(self, previous: Ruled, change: DataChange) -> None:
        """The model and the fallback carried through the change; the rules compiled again on the
        changed Dataset. After :meth:`refresh`, ``forget`` removes the customers from the refreshed
        data too (it keeps its newer rows and stock); ``partial_fit`` compiles the rules on the
        union the model now holds (refresh again to apply a newer catalogue)."""
        self.model_ = previous.model_._updated(change)
        self.fallback_ = previous.fallback_._updated(change) if previous.fallback_ is not None else None
        ds = previous.rules_.dataset_
        if ds is change.before or change.kind == "add":
            ds = change.after
        else:
            ds = ds.without_customers(change.before.customer_ids.ids(change.customers))
        rules = previous.rules_.clone().fit(ds)
        rules.same_customers_ = ds is change.after or ds.customer_ids == change.after.customer_ids
        self.rules_ = rules

    def refresh(self, data: Any) -> Ruled:
        """Re-read the catalogue (stock, price, promotion...) or a newer Dataset, without refitting.

        ``data`` is a catalogue frame (same item ids, any row order: see
        :meth:`Dataset.with_catalog`) or a :class:`Dataset` over the same items (new purchases
        then reach the history rules at once). The model keeps scoring as fitted; every setting
        of the rule set (e.g. ``purchase_event``) is kept. Returns self.
        """
        self._check_fitted()
        if isinstance(data, Dataset):
            if data.item_ids != self.dataset_.item_ids:
                raise ConfigError("Ruled.refresh: the dataset's items differ from the fitted ones.", hint="refit when the catalogue gains or loses products.")
            ds = data
        else:
            ds = self.rules_.dataset_.with_catalog(data)  # the newest purchases the rules know, new stock
        rules = self.rules_.clone().fit(ds)
        rules.same_customers_ = ds.customer_ids is self.dataset_.customer_ids or ds.customer_ids == self.dataset_.customer_ids
        self.rules_ = rules  # one assignment: requests see the old or the new rules, never a mix
        return self

    def rule_rows(self, batch: Batch) -> np.ndarray:
        """The batch's customers as the rules' dataset numbers them (it may be newer than the
        model's, after :meth:`refresh`), history hidden where consent is missing."""
        rules = self.rules_  # one read: the rules and their numbering belong together
        if rules.same_customers_ is None:  # loaded from disk: decide once (a lazy cache, same answer every time)
            ids = rules.dataset_.customer_ids
            rules.same_customers_ = ids is self.dataset_.customer_ids or ids == self.dataset_.customer_ids
        if rules.same_customers_:
            ok = rules.visible(batch.found_idx)
            return batch.found_idx if ok is None else np.where(ok, batch.found_idx, -1)
        return rules.customer_rows(batch.customer_ids)

    # -- stages ---------------------------------------------------------------------------------
    def _visible(self, batch: Batch) -> np.ndarray | None:
        if self.rules_.compiled_.consent is None:
            return None
        return self.rule_rows(batch) >= 0

    def _score(self, batch: Batch) -> ScoreBlock:
        return scored(self.model_, batch)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        return explained(self.model_, batch, rows, items, block)

    def _adjust(self, batch: Batch, block: ScoreBlock) -> ScoreBlock:
        rows = self.rule_rows(batch) if self.rules_.compiled_.customer_boosts else None
        return self.rules_.adjust(block, rows)

    def _restrict(self, batch: Batch) -> Restriction | None:
        return self.rules_.restrict(batch, self.rule_rows(batch))

    def _fallback(self) -> Recommender | None:
        return self.fallback_

    def _select(self, batch: Batch, block: ScoreBlock, restriction: Restriction, backfill: bool) -> Selection:
        compiled = self.rules_.compiled_
        if not compiled.limits and not compiled.pins:
            return super()._select(batch, block, restriction, backfill)
        return select_under_limits(compiled, block, restriction, batch.k, self._backfill_source(batch, backfill), tie=self.tie_rank_)

    def _backfill_source(self, batch: Batch, backfill: bool) -> Backfill | None:
        if not backfill:
            return None
        fallback = self.fallback_
        if fallback is None:
            return Backfill(None, self.fallback_order_)
        return Backfill(lambda rows: scored(fallback, batch.take(rows)), self.fallback_order_)

    def _labels(self, batch: Batch, sel: Selection, block: ScoreBlock) -> list[tuple[str, ...]]:
        compiled = self.rules_.compiled_
        rows, cols = np.nonzero(sel.picked >= 0)
        items = sel.picked[rows, cols]
        raw = block.at(rows, items)
        touched = np.isfinite(raw) & (raw != 0)
        boosts = [r for r in self.rules_.rules if r.kind in ("boost", "bury")]
        customers = self.rule_rows(batch)
        visible = customers >= 0
        whose = {key: who for key, who, _, _ in compiled.customer_boosts}
        consent = compiled.consent.label if compiled.consent is not None else None
        out: list[tuple[str, ...]] = []
        for j, (r, i) in enumerate(zip(rows.tolist(), items.tolist(), strict=True)):
            labels = [
                b.label for b in boosts
                if touched[j] and compiled.masks[b.name][i] and (b.name not in whose or (visible[r] and whose[b.name][customers[r]]))
            ]
            if sel.source[r, cols[j]] == Source.PINNED:
                labels.extend(p.rule.label for p in compiled.pins if i in p.items)
            if consent is not None and not visible[r] and batch.found_idx[r] >= 0:  # anonymous: no history to hide
                labels.append(consent)
            out.append(tuple(labels))
        return out

    def trace(self, batch: Batch, backfill: bool | None) -> tuple[Selection, dict[int, tuple[Rule, str]], np.ndarray]:
        """One request's selection, the items a list limit skipped, and the adjusted scores (row 0)."""
        block = self._score(batch)
        adjusted = self._adjust(batch, block)
        restriction = self._restriction(batch)
        use = self.backfill if backfill is None else backfill
        record: list[dict[int, tuple[Rule, str]]] = []
        sel = select_under_limits(self.rules_.compiled_, adjusted, restriction, batch.k, self._backfill_source(batch, use), record=record, tie=self.tie_rank_)
        return sel, record[0], adjusted.row(0)

    # -- audit -----------------------------------------------------------------------------
    def violations(self, query: Query, item_ids: Sequence[Hashable]) -> list[tuple[Hashable, str]]:
        """The hard-rule violations of any list (see :meth:`RuleSet.violations`)."""
        self._check_fitted()
        return self.rules_.violations(query, item_ids)

    def why_not(self, query: Query | None = None, item_id: Hashable | None = None, *, backfill: bool | None = None, **kwargs: Any) -> str:
        """Why ``item_id`` is (or is not) in the list for this request, naming the rule.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Popularity, Query
        >>> from recokit.rules import Filter
        >>> cat = pl.DataFrame({"item_id": ["a", "b"], "stock": [0, 2]})
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 2, 3], "item_id": ["a", "a", "b"]}), cat)
        >>> m = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(ds)
        >>> m.why_not(Query(k=2), "a")
        "removed by rule 'in stock' (filter): it does not satisfy stock > 0"
        >>> m.why_not(Query(k=2), "b")
        'recommended at rank 1'
        """
        self._check_fitted()
        return why_not(self, self._query(query, kwargs), item_id, backfill)
