"""Rule conditions: SQL expressions over catalogue columns, checked once, evaluated to item masks.

A condition (``category = 'bike' AND stock > 0``) is checked against the condition grammar
(:mod:`recokit.rules.grammar`: columns, literals, comparisons, IN, BETWEEN, LIKE, IS NULL,
AND/OR/NOT, arithmetic; bounded size) and turned into a polars expression when the rule is built
-- from a rules file, in code, or by ``recokit.load`` -- so a bad or hostile condition fails
then, before anything runs it, never per request. It is evaluated once per catalogue into a
boolean mask (null -> does not match).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recokit._errors import RuleError
from recokit.rules.grammar import Condition, compile_condition, quote

if TYPE_CHECKING:
    from recokit.rules.rule import Rule

__all__ = ["Condition", "check_text", "days", "evaluate", "is_int", "is_number", "parse"]


def is_number(v: Any) -> bool:
    """A finite real number (booleans are not numbers)."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def is_int(v: Any) -> bool:
    """An integer (booleans are not integers)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_text(rule: Rule, field: str, value: Any, optional: bool = False) -> None:
    """A rule field that must be a non-empty string (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise RuleError(
            f"rule {rule.name!r} ({rule.kind}): '{field}' must be a non-empty string. Got {value!r} instead.", hint=f"write it as text, e.g. {field} = \"category = 'bike'\".", rule=rule.name
        )


def days(rule: Rule, field: str, value: Any) -> float | None:
    """A duration in days (number or timedelta) > 0, or None."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        value = value.total_seconds() / 86_400
    if not is_number(value) or value <= 0:
        raise RuleError(f"rule {rule.name!r} ({rule.kind}): '{field}' must be a number of days > 0. Got {value!r} instead.", rule=rule.name)
    return float(value)


def parse(rule: Rule, field: str, text: str | None) -> Condition | None:
    """Check a condition against the grammar and build its expression, once, when the rule is built."""
    if text is None:
        return None
    return compile_condition(text, where=f"rule {quote(rule.name)} ({rule.kind}): {field} = {quote(text)}", rule=rule.name)


def evaluate(rule: Rule, field: str, frame: pl.DataFrame, table: str = "catalogue") -> np.ndarray:
    """The rule's condition ``field`` as a boolean mask over the rows of ``frame`` (null -> False).

    ``table`` names the frame in messages: the catalogue, or the customers table for a rule whose
    condition reads customers."""
    cond = rule.condition(field)
    where = f"rule {quote(rule.name)} ({rule.kind}): {field} = {quote(cond.text)}"
    missing = [c for c in cond.columns if c not in frame.columns]
    if missing:
        raise RuleError(f"{where} uses unknown column(s) {missing}.", hint=f"the {table}'s columns are {frame.columns}.", rule=rule.name)
    try:
        out = frame.select(cond.expr.alias("__m")).to_series()
    except Exception as exc:
        raise RuleError(f"{where} cannot be evaluated on the {table}: {exc}", rule=rule.name) from None
    if out.dtype != pl.Boolean:
        raise RuleError(f"{where} gives {out.dtype} values, not true/false.", hint="compare it with something, e.g. \"stock > 0\".", rule=rule.name)
    if len(out) == 1 and frame.height != 1:  # a constant such as "1 = 1"
        out = pl.Series([out[0]] * frame.height, dtype=pl.Boolean)
    return out.fill_null(False).to_numpy().astype(bool, copy=False)
