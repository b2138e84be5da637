"""List limits: at most ``n`` items per value of a catalogue column (hard: diversity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from recokit._errors import RuleError
from recokit.data import group_codes
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler, Limit
from recokit.rules.rule import Report, Rule, register

__all__ = ["MaxPerGroup"]


@register
@dataclass(frozen=True)
class MaxPerGroup(Rule):
    """At most ``n`` items of one value of ``column`` in a list (hard): diversity.

    A null value is a group of its own.

    Examples
    --------
    >>> MaxPerGroup("category", 2).name
    'at most 2 per category'
    """

    column: str
    n: int
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "max_per_group"

    def __post_init__(self) -> None:
        self._setup()
        conditions.check_text(self, "column", self.column)
        if not conditions.is_int(self.n) or self.n < 1:
            raise RuleError(f"rule {self.name!r} (max_per_group): 'n' must be an int >= 1. Got {self.n!r} instead.", rule=self.name)

    def _default_name(self) -> str:
        return f"at most {self.n} per {self.column}"

    def compile(self, c: Compiler) -> None:
        if self.column not in c.catalog.columns:
            raise RuleError(f"rule {self.name!r} (max_per_group): unknown column {self.column!r}.", hint=f"the catalogue's columns are {c.catalog.columns}.", rule=self.name)
        codes, names = group_codes(c.catalog[self.column])
        c.out.limits.append(Limit(self, codes, int(self.n), names))

    def why_limited(self, group: str) -> str:
        return f"removed by rule {self.name!r} (max_per_group): the list already holds {self.n} items with {self.column} = {group!r}"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        return Report(None, None, None, f"at most {self.n} per {self.column} in a list ({catalog[self.column].n_unique()} groups)")
