"""An ordered, named, validated list of rules; fitted on a Dataset it compiles to arrays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, NotFittedError, RuleError
from recokit.core import Batch, Query, Restriction, ScoreBlock
from recokit.data import Dataset
from recokit.rules.compiled import Compiled, Compiler, History
from recokit.rules.rule import RULE_TYPES, Audit, Rule

if TYPE_CHECKING:
    from recokit.core import Recommender
    from recokit.rules.ruled import Ruled

_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)

__all__ = ["RuleSet"]


def catalog_of(data: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``(catalogue, customers or None)`` of a Dataset or a bare catalogue frame."""
    if isinstance(data, Dataset):
        return data.catalog, data.customers
    if isinstance(data, pl.DataFrame):
        return data, None
    raise ConfigError(f"expected a polars DataFrame catalogue or a recokit.Dataset. Got {type(data).__name__}.")


def _check_rules(rules: Iterable[Rule] | Rule) -> tuple[Rule, ...]:
    if isinstance(rules, (str, Path)):
        raise RuleError(f"RuleSet expects rules, not the path {str(rules)!r}.", hint="load a rules file with recokit.load_rules(path, catalog).")
    if not isinstance(rules, (Rule, Iterable)):
        raise RuleError(f"RuleSet expects a list of rules; got {type(rules).__name__} {rules!r}.", hint="pass [Filter(...), ...] or a RuleSet, or load a rules file with recokit.load_rules(path, catalog).")
    out = (rules,) if isinstance(rules, Rule) else tuple(rules)
    for r in out:
        if not isinstance(r, Rule):
            raise RuleError(f"RuleSet expects rules; got {type(r).__name__} {r!r}.", hint=f"use one of {sorted(c.__name__ for c in RULE_TYPES.values())}.")
    seen: set[str] = set()
    for r in out:
        if r.name in seen:
            raise RuleError(f"rule {r.name!r}: duplicate name.", hint="give every rule its own name (the audit trail refers to rules by name).", rule=r.name)
        seen.add(r.name)
    if sum(r.kind == "require_consent" for r in out) > 1:
        raise RuleError("only one require_consent rule is allowed in a rule set.")
    return out


class RuleSet:
    """An ordered list of named rules, validated once; fitted on a Dataset it can check any list.

    Parameters
    ----------
    rules : iterable of Rule
        Names must be unique; at most one :class:`RequireConsent`.
    purchase_event : str
        When the dataset has an event column, the event type that counts as a purchase for
        :class:`ExcludeOwned` and :class:`OnePerGroup` (default ``"purchase"``). A dataset with
        events but no row of this type is an error: the history rules would silently never fire.

    Examples
    --------
    >>> from recokit.rules import Filter, MaxPerGroup
    >>> rs = RuleSet([Filter("stock > 0", name="in stock"), MaxPerGroup("category", 2)])
    >>> rs.names
    ['in stock', 'at most 2 per category']
    """

    def __init__(self, rules: Iterable[Rule], *, purchase_event: str = "purchase") -> None:
        if not isinstance(purchase_event, str) or not purchase_event:
            raise RuleError(f"RuleSet's purchase_event must be a non-empty event name. Got {purchase_event!r}.")
        self.purchase_event = purchase_event
        self.rules: tuple[Rule, ...] = _check_rules(rules)

    def get_params(self) -> dict[str, Any]:
        """The whole config: ``rules`` and ``purchase_event``."""
        return {"rules": self.rules, "purchase_event": self.purchase_event}

    def clone(self) -> RuleSet:
        """An unfitted RuleSet with the same config (every setting kept)."""
        return RuleSet(**self.get_params())

    # -- sequence ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __getitem__(self, i: int) -> Rule:
        return self.rules[i]

    def __repr__(self) -> str:
        return f"RuleSet({list(self.rules)!r})"

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    @classmethod
    def from_toml(cls, path: str | Path, catalog: Any = None) -> RuleSet:
        """Same as :func:`~recokit.rules.load_rules`."""
        from recokit.rules.toml import load_rules

        return load_rules(path, catalog)

    def wrap(self, model: Recommender, *, fallback: Recommender | None = None) -> Ruled:
        """``Ruled(model, self, fallback=fallback)``."""
        from recokit.rules.ruled import Ruled

        return Ruled(model, self, fallback=fallback)

    # -- compilation -------------------------------------------------------------------------
    def validate(self, data: Any) -> None:
        """Check every rule against a catalogue (DataFrame) or a Dataset; raise RuleError."""
        catalog, customers = catalog_of(data)
        self._compile(catalog, customers, None)

    def _compile(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, item_ids: Any, customer_ids: Any = None) -> Compiled:
        out = Compiled(catalog.height)
        c = Compiler(catalog, customers, item_ids, out, customer_ids)
        for r in self.rules:
            r.compile(c)
        return out

    def fit(self, dataset: Dataset) -> RuleSet:
        """Compile every rule against ``dataset`` (catalogue masks, purchase history, consent).

        Refitting on a dataset with a refreshed catalogue (``Dataset.with_catalog``) or more
        purchases updates stock and histories without touching any model.
        """
        if not isinstance(dataset, Dataset):
            raise ConfigError(f"RuleSet.fit expects a recokit.Dataset; got {type(dataset).__name__}.")
        compiled = self._compile(dataset.catalog, dataset.customers, dataset.item_ids, dataset.customer_ids)
        timed = [r for r in self.rules if r.window_days is not None]
        if timed and not dataset.has_time:
            r = timed[0]
            raise RuleError(f"rule {r.name!r} ({r.kind}): a time window needs purchase timestamps.", hint="build the Dataset with time_col=..., or drop the window.", rule=r.name)
        if compiled.keep is not None:
            compiled.keep.setflags(write=False)  # shared by every request's restriction, never written to
        self._fit_consent(dataset, compiled)
        if any(r.reads_history for r in self.rules):
            compiled.history = self._history(dataset)
        # the rules that remove items per customer (the others' removals hook is the base's None)
        compiled.removers = [r for r in self.rules if type(r).removals is not Rule.removals]
        last = dataset.last_time
        compiled.last_us = None if last is None else int(np.datetime64(last, "us").astype(np.int64))
        self.compiled_ = compiled
        self.dataset_ = dataset
        #: whether this dataset numbers customers as the wrapping model's (None: not known yet;
        #: Ruled sets it when it fits or refreshes the rules, or on first use after a load)
        self.same_customers_: bool | None = None
        return self

    def _fit_consent(self, dataset: Dataset, compiled: Compiled) -> None:
        consent = next((r for r in self.rules if r.kind == "require_consent"), None)
        if consent is None:
            return
        column = consent.column  # type: ignore[attr-defined]
        if dataset.customers is None:
            raise RuleError(f"rule {consent.name!r} (require_consent): the dataset has no customers table.", hint="build the Dataset with customers=... holding the consent column.", rule=consent.name)
        flags = dataset.customers.select("customer_id", pl.col(column).fill_null(False))
        idx = dataset.customer_ids.index(flags["customer_id"], missing="ignore")
        ok = np.zeros(dataset.n_customers, dtype=bool)
        found = idx >= 0
        ok[idx[found]] = flags[column].to_numpy()[found]
        compiled.consent = consent
        compiled.consent_ok = ok

    def _history(self, dataset: Dataset) -> History:
        inter = dataset.interactions
        if "event" in inter.columns:
            inter = inter.filter(pl.col("event") == self.purchase_event)
            if inter.height == 0 and dataset.n_interactions:
                r = next(r for r in self.rules if r.reads_history)
                kinds = dataset.interactions["event"].unique().sort().head(5).to_list()
                raise RuleError(
                    f"rule {r.name!r} ({r.kind}) reads purchases, but no interaction has the event {self.purchase_event!r} (events seen: {kinds}).", hint="name your purchase event: RuleSet(rules, purchase_event='order') or Ruled(model, RuleSet(rules, purchase_event='order')).", rule=r.name
                )
        t = pl.col("timestamp").dt.epoch("us").max() if dataset.has_time else pl.lit(0, dtype=pl.Int64)
        h = inter.group_by("customer_idx", "item_idx").agg(t.alias("t")).sort("customer_idx", "item_idx")
        rows = h["customer_idx"].to_numpy()
        return History(
            np.searchsorted(rows, np.arange(dataset.n_customers + 1)).astype(np.int64),
            h["item_idx"].to_numpy().astype(np.int64),
            h["t"].to_numpy().astype(np.int64),
        )

    def _check_fitted(self) -> Compiled:
        if not hasattr(self, "compiled_"):
            raise NotFittedError("This RuleSet is not fitted yet. Call 'fit' with a recokit.Dataset before using it.")
        return self.compiled_

    # -- per request (the stages Ruled delegates to) -------------------------------------------
    def visible(self, found_idx: np.ndarray) -> np.ndarray | None:
        """Rows whose history may be read (None: no consent rule, everyone's)."""
        c = self._check_fitted()
        if c.consent_ok is None:
            return None
        ok = np.zeros(len(found_idx), dtype=bool)
        known = found_idx >= 0
        ok[known] = c.consent_ok[found_idx[known]]
        return ok

    def personal(self, customer_id: Hashable | None) -> bool:
        """Whether this customer may get personalised results (always True without a consent rule)."""
        self._check_fitted()
        cidx = None if customer_id is None else self.dataset_.customer_ids.get(customer_id)
        ok = self.visible(np.array([-1 if cidx is None else cidx], dtype=np.int64))
        return True if ok is None else bool(ok[0])

    def adjust(self, block: ScoreBlock, rows: np.ndarray | None = None) -> ScoreBlock:
        """Boosts and buries: x factor for scores >= 0, / factor below 0 (a boost always moves up).
        ``rows``: each row's customer as this rule set numbers them (-1: anonymous or hidden), for
        the boosts of some customers only."""
        c = self._check_fitted()
        if c.boost_pos is not None and c.boost_neg is not None:
            block = block.scale(c.boost_pos, c.boost_neg)
        if rows is not None:
            for _key, who, pos, neg in c.customer_boosts:
                selected = np.flatnonzero((rows >= 0) & who[np.maximum(rows, 0)])
                if len(selected):
                    block = block.scale_rows(selected, pos, neg)
        return block

    def now_us(self, batch_now: Any) -> int | None:
        if batch_now is None:  # the data's end, converted once at fit
            return self.compiled_.last_us
        now = batch_now
        if type(now) is dt.datetime and now.tzinfo is None:  # a request's now: plain arithmetic, 4x cheaper
            return (now - _EPOCH) // _MICROSECOND
        return int(np.datetime64(now, "us").astype(np.int64))

    def customer_rows(self, customer_ids: Sequence[Hashable | None]) -> np.ndarray:
        """Each customer's number in the rule set's own dataset (-1: anonymous or unknown), with
        the history of customers without consent hidden (-1 too)."""
        self._check_fitted()
        ids = self.dataset_.customer_ids
        rows = np.array([-1 if c is None or (j := ids.get(c)) is None else j for c in customer_ids], dtype=np.int64)
        ok = self.visible(rows)
        return rows if ok is None else np.where(ok, rows, -1)

    def restrict(self, batch: Batch, rows: np.ndarray) -> Restriction:
        """The hard rules of a batch: the catalogue mask and each row's removals; ``rows`` are the
        customers as this rule set's dataset numbers them (see :meth:`customer_rows`)."""
        c = self._check_fitted()
        hist = c.history.gather(rows) if c.history is not None else (np.empty(0, np.int64),) * 3
        now_us = self.now_us(batch.now)
        removed_rows: list[np.ndarray] = []
        removed_cols: list[np.ndarray] = []
        for r in c.removers:
            got = r.removals(c, hist, batch.context, now_us, rows)
            if got is not None:
                removed_rows.append(got[0])
                removed_cols.append(got[1])
        if not removed_rows:
            return Restriction(c.keep, np.empty(0, dtype=np.int64), batch.n, batch.n_items)
        if batch.n == 1:  # one request: its removals are items, folded into the catalogue mask (no sorted keys)
            mask = np.ones(batch.n_items, dtype=bool) if c.keep is None else c.keep.copy()
            for cols in removed_cols:
                mask[cols] = False
            return Restriction(mask, np.empty(0, dtype=np.int64), 1, batch.n_items)
        return Restriction.from_pairs(np.concatenate(removed_rows), np.concatenate(removed_cols), batch.n, batch.n_items, c.keep)

    def audit(self, customer_idx: int, cart: np.ndarray, now: Any) -> Audit:
        """One request's view for :meth:`why_removed` (history empty when not visible)."""
        c = self._check_fitted()
        items, times = c.history.of(customer_idx) if c.history is not None else (np.empty(0, np.int64), np.empty(0, np.int64))
        ids = self.dataset_.item_ids
        return Audit(c, items, times, cart, self.now_us(now), lambda i: ids.id(i), customer_idx)

    # -- audit & reporting -----------------------------------------------------------------------
    def violations(self, query: Query, item_ids: Sequence[Hashable]) -> list[tuple[Hashable, str]]:
        """The hard-rule violations of any list, as ``(item_id, rule name)`` pairs in list order.

        An item can appear once per rule it breaks. List limits (one per group within a list,
        max per group) flag the items beyond the limit, in list order. Ids absent from the
        catalogue cannot break a catalogue rule and are not reported. A customer without
        consent is checked as an anonymous visitor (no history), as :class:`Ruled` treats them.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Query
        >>> from recokit.rules import Filter, MaxPerGroup
        >>> cat = pl.DataFrame({"item_id": ["a", "b", "c"], "stock": [1, 0, 4], "category": ["x", "x", "x"]})
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), cat)
        >>> rs = RuleSet([Filter("stock > 0", name="in stock"), MaxPerGroup("category", 1, name="one x")]).fit(ds)
        >>> rs.violations(Query(customer_id=1), ["a", "b", "c"])
        [('b', 'in stock'), ('b', 'one x'), ('c', 'one x')]
        """
        from recokit.rules.audit import violations

        return violations(self, query, item_ids)

    def check(self, data: Any) -> pl.DataFrame:
        """What each rule does on a catalogue (DataFrame or Dataset): one row per rule.

        Columns ``rule, type, matches, keeps, removes, note``: ``matches`` counts the items the
        rule's condition selects; ``keeps``/``removes`` are filled for filters (for other rules
        the effect depends on the customer, the cart or the list).

        Examples
        --------
        >>> import polars as pl
        >>> from recokit.rules import Filter
        >>> cat = pl.DataFrame({"item_id": ["a", "b"], "stock": [1, 0]})
        >>> RuleSet([Filter("stock > 0", name="in stock")]).check(cat)["removes"].to_list()
        [1]
        """
        catalog, customers = catalog_of(data)
        c = self._compile(catalog, customers, None)
        rows = []
        for r in self.rules:
            rep = r.report(catalog, customers, c)
            rows.append({"rule": r.name, "type": r.kind, "matches": rep.matches, "keeps": rep.keeps, "removes": rep.removes, "note": rep.note})
        schema = {"rule": pl.String, "type": pl.String, "matches": pl.Int64, "keeps": pl.Int64, "removes": pl.Int64, "note": pl.String}
        return pl.DataFrame(rows, schema=schema)
