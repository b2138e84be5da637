"""Catalogue filters: keep only the items a condition allows (hard)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from recokit.rules.compiled import Compiled, Compiler
from recokit.rules.rule import Audit, Report, Rule, register

__all__ = ["Filter"]


@register
@dataclass(frozen=True)
class Filter(Rule):
    """Keep only the items where ``keep`` holds (hard). E.g. in stock only: ``Filter("stock > 0")``.

    Examples
    --------
    >>> Filter("stock > 0", name="in stock only").label
    'filter:in stock only'
    """

    keep: str
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "filter"
    conditions: ClassVar[tuple[str, ...]] = ("keep",)

    def __post_init__(self) -> None:
        self._setup()

    def _default_name(self) -> str:
        return f"keep {self.keep}"

    def compile(self, c: Compiler) -> None:
        m = self.mask("keep", c.catalog)
        c.out.masks[self.key] = m
        c.out.restrict_to(m)

    def why_removed(self, i: int, audit: Audit) -> str | None:
        if audit.compiled.masks[self.key][i]:
            return None
        return f"removed by rule {self.name!r} (filter): it does not satisfy {self.keep}"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        keeps = int(compiled.masks[self.key].sum())
        return Report(keeps, keeps, catalog.height - keeps, f"keeps items where {self.keep}")
