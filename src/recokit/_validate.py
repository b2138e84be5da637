"""One check for numeric hyper-parameters, so every model words its errors the same way:

"The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead."
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from recokit._errors import ConfigError


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
    integer: bool = False,
    allow_none: bool = False,
) -> None:
    """Raise :class:`~recokit.ConfigError` unless ``value`` is a finite number in range.

    ``low`` is inclusive unless ``strict``; ``high`` is inclusive. Booleans are never numbers.

    >>> check_number("ItemKNN", "k_neighbours", 0, low=1, integer=True)
    Traceback (most recent call last):
    ...
    recokit._errors.ConfigError: The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead.
    """
    if value is None and allow_none:
        return
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = not isinstance(value, bool) and isinstance(value, kinds) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{'>' if strict else '>='} {low:g}")
        if high is not None:
            parts.append(f"<= {high:g}")
        bound = (" " + " and ".join(parts)) if parts else ""
        kind = "an int" if integer else "a number"
        none = " or None" if allow_none else ""
        raise ConfigError(f"The '{name}' parameter of {owner} must be {kind}{bound}{none}. Got {value!r} instead.")
