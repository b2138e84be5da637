"""Consent: customers who did not agree to personalisation get non-personalised results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from recokit._errors import RuleError
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler
from recokit.rules.rule import Report, Rule, register

__all__ = ["RequireConsent"]


@register
@dataclass(frozen=True)
class RequireConsent(Rule):
    """Customers whose ``column`` (in the customers table) is not true get non-personalised
    results only: the models do not see their history (they are scored as an anonymous visitor
    with the same cart or product page), and no rule reads it.

    A known customer without a row in the customers table, or with a null value, has no consent.

    Examples
    --------
    >>> RequireConsent("consent_personalization").name
    'consent consent_personalization'
    """

    column: str
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "require_consent"

    def __post_init__(self) -> None:
        self._setup()
        conditions.check_text(self, "column", self.column)

    def _default_name(self) -> str:
        return f"consent {self.column}"

    def compile(self, c: Compiler) -> None:
        customers = c.customers
        if customers is None:
            return  # checked when fitted on a Dataset (a bare catalogue has no customers)
        if self.column not in customers.columns:
            raise RuleError(f"rule {self.name!r} (require_consent): the customers table has no column {self.column!r}.", hint=f"its columns are {customers.columns}.", rule=self.name)
        if customers.schema[self.column] != pl.Boolean:
            raise RuleError(
                f"rule {self.name!r} (require_consent): column {self.column!r} must be true/false (Boolean). Got {customers.schema[self.column]}.", hint="cast it to Boolean in the customers table.", rule=self.name
            )
        c.out.consent = self

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        if customers is not None and self.column in customers.columns:
            no = int((~customers[self.column].fill_null(False)).sum())
            return Report(None, None, None, f"{no} of {customers.height} customers without consent get non-personalised results")
        return Report(None, None, None, f"customers whose {self.column} is not true get non-personalised results")
