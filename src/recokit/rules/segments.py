"""Rules that depend on who the customer is: a condition over the customers table (a segment, a
declared level or sport) selects the customers a rule applies to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recokit._errors import RuleError
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler
from recokit.rules.rule import Audit, Report, Rule, register

__all__ = ["ExcludeFor", "customer_mask"]


def customer_mask(rule: Rule, c: Compiler) -> np.ndarray | None:
    """The rule's ``customers`` condition over the customers table, as a mask over the rule set's
    customers (None when validating against a bare catalogue: the customers come at fit)."""
    if c.customer_ids is None:
        return None
    if c.customers is None:
        raise RuleError(
            f"rule {rule.name!r} ({rule.kind}): the dataset has no customers table for customers = {getattr(rule, 'customers', None)!r}.",
            hint="build the Dataset with customers=... holding the columns the condition reads.",
            rule=rule.name,
        )
    selected = conditions.evaluate(rule, "customers", c.customers, table="customers table")
    idx = c.customer_ids.index(c.customers["customer_id"].to_list(), missing="ignore")
    who = np.zeros(len(c.customer_ids), dtype=bool)
    found = idx >= 0
    who[idx[found]] = selected[found]
    return who


@register
@dataclass(frozen=True)
class ExcludeFor(Rule):
    """Hard, per customer: for the customers the ``customers`` condition selects (over the
    customers table), no item matching ``match`` is recommended -- "no promotion to champions":
    ``ExcludeFor("promotion", "segment = 'champions'")``.

    A customer without a row in the customers table, with a null value, anonymous, or whose
    history the consent rule hides, is not selected (the rule never guesses who someone is).

    Examples
    --------
    >>> ExcludeFor("category = 'protein'", "level = 'beginner'", name="no protein for beginners").kind
    'exclude_for'
    """

    match: str
    customers: str
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "exclude_for"
    conditions: ClassVar[tuple[str, ...]] = ("match", "customers")

    def __post_init__(self) -> None:
        self._setup()

    def _default_name(self) -> str:
        return f"exclude {self.match} for {self.customers}"

    @property
    def _who(self) -> str:
        return f"{self.key}/customers"

    def compile(self, c: Compiler) -> None:
        c.out.masks[self.key] = self.mask("match", c.catalog)
        who = customer_mask(self, c)
        if who is not None:
            c.out.masks[self._who] = who

    def _selected(self, compiled: Compiled, customers: np.ndarray) -> np.ndarray:
        who = compiled.masks.get(self._who)
        if who is None or not len(customers):
            return np.zeros(len(customers), dtype=bool)
        return (customers >= 0) & who[np.maximum(customers, 0)]

    def removals(
        self, compiled: Compiled, hist: tuple[np.ndarray, np.ndarray, np.ndarray], context: Any, now_us: int | None, customers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        rows = np.flatnonzero(self._selected(compiled, customers))
        if not len(rows):
            return None
        group = np.flatnonzero(compiled.masks[self.key])
        return np.repeat(rows, len(group)), np.tile(group, len(rows))

    def why_removed(self, i: int, audit: Audit) -> str | None:
        if not audit.compiled.masks[self.key][i] or not self._selected(audit.compiled, np.array([audit.customer]))[0]:
            return None
        return f"removed by rule {self.name!r} (exclude_for): not for customers where {self.customers}"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        matches = int(compiled.masks[self.key].sum())
        who = compiled.masks.get(self._who)
        whom = f"{int(who.sum())} customers ({self.customers})" if who is not None else f"customers where {self.customers}"
        return Report(matches, None, None, f"{matches} of {catalog.height} items never shown to {whom}")
