"""Rules that read the customer's purchases: never sell twice what is owned (with exceptions and
a renewal delay), and the child-bike rule (one of a group, after a purchase or in the cart)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from recokit.data import DAY_US, entry_rows
from recokit.rules import conditions
from recokit.rules.compiled import Compiled, Compiler, Limit
from recokit.rules.rule import Audit, Report, Rule, register

__all__ = ["ExcludeOwned", "OnePerGroup"]


@register
@dataclass(frozen=True)
class ExcludeOwned(Rule):
    """Never recommend an item the customer already bought (hard), with exceptions.

    Parameters
    ----------
    match : str, optional
        Which items the rule covers (default: every item).
    unless : str, optional
        Items exempt from the rule, e.g. ``"consumable"`` (energy bars, tennis balls).
    renew_after : float or timedelta, optional
        Days after which an owned item may come back (running shoes after 180 days). Needs
        timestamps. Without it, an owned item never comes back.

    Examples
    --------
    >>> ExcludeOwned(unless="consumable", name="durables once").name
    'durables once'
    """

    match: str | None = None
    unless: str | None = None
    renew_after: float | dt.timedelta | None = None
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "exclude_owned"
    conditions: ClassVar[tuple[str, ...]] = ("match", "unless")
    optional: ClassVar[tuple[str, ...]] = ("match", "unless")
    reads_history: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._setup()
        object.__setattr__(self, "_renew_days", conditions.days(self, "renew_after", self.renew_after))

    def _default_name(self) -> str:
        return "exclude owned" + (f" unless {self.unless}" if self.unless else "")

    @property
    def window_days(self) -> float | None:
        return self.__dict__["_renew_days"]

    def compile(self, c: Compiler) -> None:
        covered = self.mask("match", c.catalog) if self.match is not None else np.ones(c.catalog.height, dtype=bool)
        if self.unless is not None:
            covered &= ~self.mask("unless", c.catalog)
        c.out.masks[self.key] = covered

    def _hits(self, compiled: Compiled, items: np.ndarray, times: np.ndarray, now_us: int | None) -> np.ndarray:
        hit = compiled.masks[self.key][items]
        renew = self.window_days
        if renew is not None and now_us is not None:
            hit &= (now_us - times) < renew * DAY_US
        return hit

    def removals(
        self, compiled: Compiled, hist: tuple[np.ndarray, np.ndarray, np.ndarray], context: Any, now_us: int | None, customers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        rows, items, times = hist
        hit = self._hits(compiled, items, times, now_us)
        return (rows[hit], items[hit]) if hit.any() else None

    def why_removed(self, i: int, audit: Audit) -> str | None:
        hit = self._hits(audit.compiled, audit.items, audit.times, audit.now_us) & (audit.items == i)
        if not hit.any():
            return None
        return f"removed by rule {self.name!r} (exclude_owned): the customer bought it{audit.when(audit.times[hit])}"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        matches = int(compiled.masks[self.key].sum())
        renew = self.window_days
        note = f"{matches} of {catalog.height} items are never re-recommended to their buyers" + (f" within {renew:g} days" if renew is not None else "")
        return Report(matches, None, None, note)


@register
@dataclass(frozen=True)
class OnePerGroup(Rule):
    """The child-bike rule (hard): if the customer bought a matching item within ``within`` days
    (ever, when ``within`` is None), or the cart holds one, no matching item is recommended; and a
    list never holds two matching items.

    Examples
    --------
    >>> OnePerGroup("category = 'bike' AND age_group = 'child'", within=730, name="no second child bike").kind
    'one_per_group'
    """

    match: str
    within: float | dt.timedelta | None = None
    name: str | None = None  # type: ignore[assignment]
    kind: ClassVar[str] = "one_per_group"
    conditions: ClassVar[tuple[str, ...]] = ("match",)
    reads_history: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._setup()
        object.__setattr__(self, "_within_days", conditions.days(self, "within", self.within))

    def _default_name(self) -> str:
        return f"one per group {self.match}"

    @property
    def window_days(self) -> float | None:
        return self.__dict__["_within_days"]

    def compile(self, c: Compiler) -> None:
        m = self.mask("match", c.catalog)
        c.out.masks[self.key] = m
        c.out.limits.append(Limit(self, np.where(m, 0, -1).astype(np.int64), 1, [self.match]))

    def _in_window(self, compiled: Compiled, items: np.ndarray, times: np.ndarray, now_us: int | None) -> np.ndarray:
        hit = compiled.masks[self.key][items]
        within = self.window_days
        if within is not None and now_us is not None and len(items):
            hit &= (now_us - times) <= within * DAY_US
        return hit

    def removals(
        self, compiled: Compiled, hist: tuple[np.ndarray, np.ndarray, np.ndarray], context: Any, now_us: int | None, customers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        rows, items, times = hist
        m = compiled.masks[self.key]
        bought = self._in_window(compiled, items, times, now_us)
        if context.shape[0] == 1:  # one request: triggered or not, no per-row arrays
            if not (bought.any() or m[context.indices].any()):
                return None
            group = np.flatnonzero(m)
            return np.zeros(len(group), dtype=np.int64), group
        triggered = np.zeros(context.shape[0], dtype=bool)
        triggered[rows[bought]] = True
        in_cart = entry_rows(context.indptr)[m[context.indices]]
        triggered[in_cart] = True
        if not triggered.any():
            return None
        group = np.flatnonzero(m)
        trig = np.flatnonzero(triggered)
        return np.repeat(trig, len(group)), np.tile(group, len(trig))

    def why_removed(self, i: int, audit: Audit) -> str | None:
        m = audit.compiled.masks[self.key]
        if not m[i]:
            return None
        cart = [j for j in audit.cart.tolist() if m[j]]
        if cart:
            return f"removed by rule {self.name!r} (one_per_group): the cart holds {audit.label(cart[0])!r}"
        hit = self._in_window(audit.compiled, audit.items, audit.times, audit.now_us)
        if not hit.any():
            return None
        last = int(np.argmax(np.where(hit, audit.times, np.iinfo(np.int64).min)))
        return f"removed by rule {self.name!r} (one_per_group): the customer bought {audit.label(int(audit.items[last]))!r}{audit.when(audit.times[last : last + 1])}"

    def why_limited(self, group: str) -> str:
        return f"removed by rule {self.name!r} (one_per_group): the list already holds an item matching {self.match}"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        matches = int(compiled.masks[self.key].sum())
        within = self.window_days
        when = "ever" if within is None else f"within {within:g} days"
        return Report(matches, None, None, f"after buying one of these {matches} items ({when}) or with one in the cart, none is offered; never 2 in a list")
