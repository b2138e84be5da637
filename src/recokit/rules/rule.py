"""The base of every business rule and the registry of rule types.

A rule type is a frozen dataclass in its own module that registers itself with
:func:`register` and compiles itself: :meth:`Rule.compile` adds what the rule needs to the
:class:`~recokit.rules.compiled.Compiled` state; per request, a hard rule that depends on the
customer returns its :meth:`Rule.removals`; the audit asks each rule :meth:`Rule.why_removed`.
Adding a rule type touches its own module and the registry, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import polars as pl

from recokit._errors import RuleError
from recokit.core.results import RULES_SEPARATOR
from recokit.rules import conditions
from recokit.rules.grammar import Condition

if TYPE_CHECKING:
    from recokit.rules.compiled import Compiled, Compiler

__all__ = ["RULE_TYPES", "Audit", "Report", "Rule", "register"]

#: Every rule type by its ``type`` name in a rules file.
RULE_TYPES: dict[str, type[Rule]] = {}

R = TypeVar("R", bound="type[Rule]")


def register(cls: R) -> R:
    """Class decorator: make a rule type known to rules files, the loader and persistence."""
    if cls.kind in RULE_TYPES and RULE_TYPES[cls.kind] is not cls:
        raise RuleError(f"rule type {cls.kind!r} is registered twice", rule=cls.kind)
    RULE_TYPES[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class Report:
    """One row of :meth:`RuleSet.check`: what the rule does on a catalogue."""

    matches: int | None
    keeps: int | None
    removes: int | None
    note: str


@dataclass(frozen=True, eq=False)
class Audit:
    """One request, as the audit sees it: the customer's purchases (if visible), the cart, now."""

    compiled: Compiled
    items: np.ndarray
    times: np.ndarray
    cart: np.ndarray
    now_us: int | None
    label: Callable[[int], Any]
    customer: int = -1  #: the customer's number in the rule set's dataset (-1: anonymous or hidden)

    def when(self, times: np.ndarray) -> str:
        if not len(times) or times.max() == 0:
            return ""
        return f" on {np.datetime64(int(times.max()), 'us').astype('datetime64[D]')}"


class Rule:
    """Base of every rule. ``kind`` is the rule's type in a rules file; ``hard`` says whether the
    rule is a constraint that is never violated (as opposed to a re-ordering)."""

    kind: ClassVar[str] = ""
    hard: ClassVar[bool] = True
    #: fields holding a condition, checked against the grammar when the rule is built
    conditions: ClassVar[tuple[str, ...]] = ()
    #: condition fields that may be None
    optional: ClassVar[tuple[str, ...]] = ()
    #: whether the rule reads the customer's purchase history
    reads_history: ClassVar[bool] = False
    name: str

    def _default_name(self) -> str:
        return self.kind

    def _setup(self) -> None:
        named = self.name is not None
        if not named:
            object.__setattr__(self, "name", self._default_name())
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(f"a {self.kind} rule's name must be a non-empty string. Got {self.name!r} instead.")
        if ";" in self.name:  # recommend_many's rules column joins labels with "; ": a ";" would make it ambiguous
            raise RuleError(
                f"rule {self.name!r} ({self.kind}): a rule's name cannot contain ';' (a table lists a row's rules joined by {RULES_SEPARATOR!r}).",
                hint="use another character, e.g. ',' or '/'." if named else "this is the rule's default name, made from its settings: give it a name=... without ';'.",
                rule=self.name,
            )
        for f in self.conditions:
            conditions.check_text(self, f, getattr(self, f), optional=f in self.optional)
        parsed = {f: conditions.parse(self, f, getattr(self, f)) for f in self.conditions}
        object.__setattr__(self, "_exprs", parsed)

    def condition(self, field: str) -> Condition:
        """The checked condition of ``field`` (its text, polars expression and columns)."""
        cond = self.__dict__["_exprs"][field]
        if cond is None:
            raise RuleError(f"rule {self.name!r} ({self.kind}): '{field}' is not set", rule=self.name)
        return cond

    def expression(self, field: str) -> pl.Expr:
        """The polars expression of the condition ``field``, built from its checked grammar."""
        return self.condition(field).expr

    def mask(self, field: str, catalog: pl.DataFrame) -> np.ndarray:
        """The condition ``field`` as an item mask over ``catalog``."""
        return conditions.evaluate(self, field, catalog)

    @property
    def key(self) -> str:
        """The rule's name as built (``_setup`` gives a None name its default), typed ``str``
        where a rule type's ``name`` field is ``str | None``: its key in ``Compiled.masks``."""
        return self.name

    @property
    def label(self) -> str:
        """How the audit trail names this rule: ``"<type>:<name>"``."""
        return f"{self.kind}:{self.name}"

    @property
    def window_days(self) -> float | None:
        """A time window in days the rule needs timestamps for (None: no window)."""
        return None

    # -- hooks each rule type implements (defaults: does nothing) ------------------------------
    def compile(self, c: Compiler) -> None:
        """Add what this rule needs to ``c.out`` (masks, multipliers, limits, pins, consent)."""

    def removals(
        self, compiled: Compiled, hist: tuple[np.ndarray, np.ndarray, np.ndarray], context: Any, now_us: int | None, customers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-request hard removals ``(rows, items)`` given the batch's purchase history
        ``(row, item, time)``, its context (CSR rows x items) and each row's customer as the rule
        set's dataset numbers them (``customers``; -1: anonymous, unknown or history hidden); None
        when the rule removes nothing per request."""
        return None

    def why_removed(self, i: int, audit: Audit) -> str | None:
        """Why this rule keeps item ``i`` out of the request's list, or None if it does not."""
        return None

    def why_limited(self, group: str) -> str:
        """Why a list limit of this rule skipped an item of ``group``."""
        return f"removed by rule {self.name!r} ({self.kind})"

    def report(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, compiled: Compiled) -> Report:
        """What the rule does on a catalogue, for :meth:`RuleSet.check`."""
        m = compiled.masks.get(self.name)
        return Report(None if m is None else int(m.sum()), None, None, "")
