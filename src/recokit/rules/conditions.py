"""Rule conditions: SQL expressions over catalogue columns, parsed once, evaluated to item masks.

A condition (``category = 'bike' AND stock > 0``) is parsed by polars (``pl.sql_expr``) when the
rule is built, so a syntax error surfaces at load time, never per request, and evaluated once per
catalogue into a boolean mask (null -> does not match).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recokit._errors import RuleError

if TYPE_CHECKING:
    from recokit.rules.rule import Rule

__all__ = ["check_text", "days", "evaluate", "is_int", "is_number", "parse"]


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


def parse(rule: Rule, field: str, text: str | None) -> pl.Expr | None:
    """Parse a condition once, when the rule is built."""
    if text is None:
        return None
    try:
        return pl.sql_expr(text)
    except Exception as exc:  # polars raises several SQL error types
        raise RuleError(
            f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} does not parse as an SQL condition: {exc}", hint="write a condition over catalogue columns, e.g. \"category = 'bike' AND stock > 0\".", rule=rule.name
        ) from None


def evaluate(rule: Rule, field: str, catalog: pl.DataFrame) -> np.ndarray:
    """The rule's condition ``field`` as a boolean item mask over ``catalog`` (null -> False)."""
    expr = rule.expression(field)
    text = getattr(rule, field)
    missing = [c for c in expr.meta.root_names() if c not in catalog.columns]
    if missing:
        raise RuleError(
            f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} uses unknown column(s) {missing}.", hint=f"the catalogue's columns are {catalog.columns}.", rule=rule.name
        )
    try:
        out = catalog.select(expr.alias("__m")).to_series()
    except Exception as exc:
        raise RuleError(f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} cannot be evaluated on the catalogue: {exc}", rule=rule.name) from None
    if out.dtype != pl.Boolean:
        raise RuleError(
            f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} gives {out.dtype} values, not true/false.", hint="compare it with something, e.g. \"stock > 0\".", rule=rule.name
        )
    if len(out) == 1 and catalog.height != 1:  # a constant such as "1 = 1"
        out = pl.Series([out[0]] * catalog.height, dtype=pl.Boolean)
    return out.fill_null(False).to_numpy().astype(bool, copy=False)
