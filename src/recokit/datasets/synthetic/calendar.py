"""The calendar of the synthetic sports shop: seasonal day weights, seasons and day sampling."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

__all__ = ["SPORT_SEASON", "Calendar", "build_calendar", "sample_days"]

_MONTH_W = {
    # index 1..12; weights of the day of the year for events of that kind
    "winter": (0, 1.1, 1.2, 0.5, 0.05, 0, 0, 0, 0, 0, 0, 0.3, 1.0),
    "summer": (0, 0, 0, 0, 0, 0.3, 0.9, 1.2, 1.0, 0.2, 0, 0, 0),
    "spring": (0, 0.5, 0.6, 1.0, 1.4, 1.5, 1.3, 1.1, 1.0, 0.9, 0.7, 0.6, 0.9),
    "newyear": (0, 1.8, 1.2, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.3, 1.0, 1.0, 0.8),
    "any": (0, 1.1, 0.95, 1.0, 1.0, 1.0, 1.0, 1.1, 0.95, 1.0, 1.0, 1.0, 1.1),
}
#: The kind of day weights of each sport's ordinary purchases.
SPORT_SEASON = {"running": "any", "cycling": "spring", "hiking": "summer", "ski": "winter",
                "swimming": "summer", "fitness": "newyear"}


def _day_weights(kind: str, dates: np.ndarray) -> np.ndarray:
    """Relative purchase intensity of each day (``datetime64[D]`` array) for an event kind."""
    days = dates.astype(np.int64)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = days - dates.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + 1
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    w = np.asarray(_MONTH_W[kind], dtype=np.float64)[month]
    w = w * (1.0 + 0.25 * (weekday >= 5))
    if kind in ("any", "spring"):
        w = w * (1.0 + 0.6 * ((month == 12) & (dom <= 24)))  # Christmas gifts
    return w


@dataclass(frozen=True)
class Calendar:
    """Day weights of the history ``[start, start + days)``, by event kind, and its seasons."""

    start: _dt.date
    days: int
    month: np.ndarray
    cumw: dict[str, np.ndarray]
    winters: tuple[tuple[int, int, float], ...]  # (lo, hi, full season mass) as day offsets
    summers: tuple[tuple[int, int, float], ...]


def _seasons(kind: str, first: tuple[int, int], last: tuple[int, int], start: _dt.date,
             days: int) -> tuple[tuple[int, int, float], ...]:
    """The seasons ``[first, last)`` (month, day) overlapping the history, with their full mass."""
    out = []
    end = start + _dt.timedelta(days=days)
    for y in range(start.year - 1, end.year + 1):
        a = _dt.date(y, *first)
        b = _dt.date(y + 1 if last[0] < first[0] else y, *last)
        full = _day_weights(kind, np.arange(np.datetime64(a, "D"), np.datetime64(b, "D"))).sum()
        lo, hi = max((a - start).days, 0), min((b - start).days, days)
        if hi > lo:
            out.append((lo, hi, float(full)))
    return tuple(out)


def build_calendar(start: _dt.date, days: int) -> Calendar:
    """The calendar of a history of ``days`` days from ``start``."""
    d0 = np.datetime64(start, "D")
    dates = d0 + np.arange(days)
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8)
    cumw = {}
    for kind in _MONTH_W:
        cw = np.zeros(days + 1)
        np.cumsum(_day_weights(kind, dates), out=cw[1:])
        cumw[kind] = cw
    return Calendar(start, days, month, cumw, _seasons("winter", (11, 1), (5, 1), start, days),
                    _seasons("summer", (5, 1), (10, 1), start, days))


def sample_days(rng: np.random.Generator, cumw: np.ndarray, lo: np.ndarray,
                hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw one day in ``[lo, hi)`` per row with the day weights behind ``cumw``.

    Returns the days and the mask of rows whose window had any weight (the others are dropped).
    """
    lo = np.clip(lo, 0, cumw.size - 1)
    hi = np.clip(hi, 0, cumw.size - 1)
    wlo, whi = cumw[lo], cumw[hi]
    ok = whi > wlo
    u = wlo + rng.random(lo.size) * (whi - wlo)
    day = np.searchsorted(cumw, u, side="right") - 1
    day = np.clip(day, lo, np.maximum(hi - 1, lo))
    return day[ok], ok
