"""Soft rules that re-weight scores: boost (x factor > 1) and bury (x factor in (0, 1))."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from recokit._errors import RuleError
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler
from recokit.rules.rule import Report, Rule, register
from recokit.rules.segments import customer_mask

__all__ = ["Boost", "Bury"]


@register
@dataclass(frozen=True)
class Boost(Rule):
    """Multiply the score of matching items by ``factor`` > 1 (soft): "eco up 20%" is 1.2.

    Scores are moved *up* whatever their sign: a positive score is multiplied by ``factor``, a
    negative one divided by it. A NaN score (no opinion) stays NaN and 0 stays 0: a boost
    re-orders what the model proposes, it never brings in an item the model did not score.

    Examples
    --------
    >>> Boost("eco_label", 1.2, name="eco up 20%").label
    'boost:eco up 20%'
    """

    match: str
    factor: float
    name: str | None = None  # type: ignore[assignment]
    #: a condition over the customers table: the boost applies to the customers it selects only
    #: ("a boost for VIPs": ``customers = "segment = 'champions'"``); None: everyone
    customers: str | None = None
    kind: ClassVar[str] = "boost"
    hard: ClassVar[bool] = False
    conditions: ClassVar[tuple[str, ...]] = ("match", "customers")
    optional: ClassVar[tuple[str, ...]] = ("customers",)
    _range: ClassVar[str] = "a number > 1 (1.2 = up 20%)"

    def __post_init__(self) -> None:
        self._setup()
        if not conditions.is_number(self.factor) or not self._valid(float(self.factor)):
            raise RuleError(f"rule {self.name!r} ({self.kind}): 'factor' must be {self._range}. Got {self.factor!r} instead.", rule=self.name)

    @staticmethod
    def _valid(f: float) -> bool:
        return f > 1

    def _default_name(self) -> str:
        return f"{self.kind} {self.match} x{self.factor}"

    def compile(self, c: Compiler) -> None:
        m = self.mask("match", c.catalog)
        c.out.masks[self.key] = m
        if self.customers is None:
            c.out.multiply(m, float(self.factor))
            return
        who = customer_mask(self, c)
        if who is not None:
            f = float(self.factor)
            c.out.customer_boosts.append((self.key, who, np.where(m, f, 1.0), np.where(m, 1.0 / f, 1.0)))

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        pct = (self.factor - 1) * 100
        note = f"scores of matching items x{self.factor:g} ({'up' if pct > 0 else 'down'} {abs(pct):.0f}%)"
        if self.customers is not None:
            note += f", for customers where {self.customers}"
        return Report(int(compiled.masks[self.key].sum()), None, None, note)


@register
@dataclass(frozen=True)
class Bury(Boost):
    """Multiply the score of matching items by ``factor`` in (0, 1) (soft): 0.5 = down 50%.

    Negative scores are divided by ``factor`` so they move down too; NaN and 0 are unchanged.

    Examples
    --------
    >>> Bury("price > 500", 0.5).kind
    'bury'
    """

    kind: ClassVar[str] = "bury"
    _range: ClassVar[str] = "a number between 0 and 1 (0.5 = down 50%)"

    @staticmethod
    def _valid(f: float) -> bool:
        return 0 < f < 1
