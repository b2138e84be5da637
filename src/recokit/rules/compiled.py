"""The typed state a :class:`~recokit.rules.RuleSet` compiles against a Dataset: catalogue masks,
score multipliers, list limits, pins, consent flags and the purchase history the rules read."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from recokit.data import IdMap
    from recokit.rules.rule import Rule

__all__ = ["Compiled", "Compiler", "History", "Limit", "PinSlots"]


@dataclass(frozen=True, eq=False)
class Limit:
    """A list limit: at most ``cap`` items of one group; ``codes[i]`` is item i's group (-1: none)."""

    rule: Rule
    codes: np.ndarray
    cap: int
    names: list[str]


@dataclass(frozen=True, eq=False)
class PinSlots:
    """A pin rule resolved to item indices and the position its first item asks for."""

    rule: Rule
    items: np.ndarray
    position: int


@dataclass(frozen=True, eq=False)
class History:
    """Per customer, the items bought (purchase events only) and the last time of each (µs)."""

    indptr: np.ndarray
    items: np.ndarray
    times: np.ndarray

    def of(self, customer_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """One customer's ``(items, times)`` (empty for -1)."""
        if customer_idx < 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        lo, hi = self.indptr[customer_idx], self.indptr[customer_idx + 1]
        return self.items[lo:hi], self.times[lo:hi]

    def gather(self, customer_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, item, time)`` of every history entry of the batch rows (rows with idx -1: none)."""
        if len(customer_idx) == 1:  # one request: a slice, no ragged gather
            items, times = self.of(int(customer_idx[0]))
            return np.zeros(len(items), dtype=np.int64), items, times
        rows = np.flatnonzero(customer_idx >= 0)
        c = customer_idx[rows]
        lo, hi = self.indptr[c], self.indptr[c + 1]
        counts = hi - lo
        from recokit.data import ragged_ranges

        pos = ragged_ranges(lo, hi)
        return np.repeat(rows, counts), self.items[pos], self.times[pos]


@dataclass(eq=False)
class Compiled:
    """Everything a fitted RuleSet needs per request, as arrays (no per-request parsing)."""

    n_items: int
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    #: boosts and buries for some customers only: (rule key, its customers mask, pos, neg factors)
    customer_boosts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    keep: np.ndarray | None = None
    boost_pos: np.ndarray | None = None
    boost_neg: np.ndarray | None = None
    limits: list[Limit] = field(default_factory=list)
    pins: list[PinSlots] = field(default_factory=list)
    consent: Rule | None = None
    consent_ok: np.ndarray | None = None
    history: History | None = None
    #: the rules with per-customer removals, in rule order (set by RuleSet.fit)
    removers: list[Rule] = field(default_factory=list)
    #: the data's last timestamp in microseconds: a request's default "now" (None: no times)
    last_us: int | None = None

    def multiply(self, mask: np.ndarray, factor: float) -> None:
        """Scores of the masked items: x factor when >= 0, / factor below 0."""
        if self.boost_pos is None or self.boost_neg is None:
            self.boost_pos, self.boost_neg = np.ones(self.n_items), np.ones(self.n_items)
        self.boost_pos[mask] *= factor
        self.boost_neg[mask] /= factor

    def restrict_to(self, mask: np.ndarray) -> None:
        """AND a catalogue-wide allowed mask into :attr:`keep`."""
        self.keep = mask.copy() if self.keep is None else self.keep & mask


@dataclass(frozen=True, eq=False)
class Compiler:
    """What a rule compiles against: the catalogue, the customers table (or None), the item id
    map (None when only validating a bare catalogue) and the state being built."""

    catalog: pl.DataFrame
    customers: pl.DataFrame | None
    item_ids: IdMap | None
    out: Compiled
    #: the customers' numbering (None when only validating against a catalogue)
    customer_ids: IdMap | None = None

    def known_item_ids(self) -> set[Hashable]:
        return set(self.catalog["item_id"].to_list()) if "item_id" in self.catalog.columns else set()
