"""Pins: place chosen items at fixed positions (soft), under every hard rule."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from recokit._errors import RuleError
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler, PinSlots
from recokit.rules.rule import Report, Rule, register

__all__ = ["Pin"]


@register
@dataclass(frozen=True)
class Pin(Rule):
    """Place ``items`` at ``position`` (1 = first), ``position + 1``, ... (soft).

    A pinned item still obeys every hard rule: if a filter removes it, it is not shown (and
    :meth:`Ruled.why_not` says so). Pinned items take their slots first and count toward
    the list limits.

    Examples
    --------
    >>> Pin(["P0001"], position=1, name="summer promo").items
    ('P0001',)
    """

    items: Sequence[Hashable]
    position: int = 1
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "pin"
    hard: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if isinstance(self.items, (str, bytes)) or not isinstance(self.items, (list, tuple, np.ndarray)) or len(self.items) == 0:
            n = self.name or "pin"
            raise RuleError(f"rule {n!r} (pin): 'items' must be a non-empty list of item ids. Got {self.items!r} instead.", hint='write items = ["P0001"].', rule=n)
        object.__setattr__(self, "items", tuple(np.asarray(self.items).tolist() if isinstance(self.items, np.ndarray) else self.items))
        self._setup()
        if not conditions.is_int(self.position) or self.position < 1:
            raise RuleError(f"rule {self.name!r} (pin): 'position' must be an int >= 1. Got {self.position!r} instead.", rule=self.name)

    def _default_name(self) -> str:
        return f"pin {list(self.items)} at {self.position}"

    def compile(self, c: Compiler) -> None:
        if "item_id" not in c.catalog.columns:
            raise RuleError(f"rule {self.name!r} (pin): the catalogue has no 'item_id' column to find the pinned items in.", rule=self.name)
        if c.item_ids is None:
            known = c.known_item_ids()
            unknown = [i for i in self.items if i not in known]
        else:
            ids = c.item_ids
            unknown = [i for i in self.items if ids.get(i) is None]
        if unknown:
            raise RuleError(f"rule {self.name!r} (pin): unknown item id(s) {unknown[:5]}.", hint="pin items of the catalogue (check the spelling and type of the ids).", rule=self.name)
        if c.item_ids is not None:
            c.out.pins.append(PinSlots(self, c.item_ids.index(self.items), int(self.position)))

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        return Report(len(self.items), None, None, f"placed from position {self.position}")
