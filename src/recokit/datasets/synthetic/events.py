"""Primary purchase events of the synthetic sports shop and the draws that make them.

An event is (customer index, day offset, category code); the customer profiles
(:mod:`recokit.datasets.synthetic.profiles`) call these draws, and
:mod:`recokit.datasets.synthetic.orders` turns the events into orders and order lines.
"""

from __future__ import annotations

import numpy as np

from recokit.datasets.synthetic.calendar import Calendar, sample_days
from recokit.datasets.synthetic.catalogue import CAT_INDEX

__all__ = ["Events", "choice", "once", "renew_some", "seasonal", "window_events"]


class Events:
    """Accumulates primary purchase events: (customer index, day offset, category code)."""

    def __init__(self) -> None:
        self.cust: list[np.ndarray] = []
        self.day: list[np.ndarray] = []
        self.cat: list[np.ndarray] = []

    def add(self, cust: np.ndarray, day: np.ndarray, cat: np.ndarray | int) -> None:
        cust = np.asarray(cust, dtype=np.int32)
        self.cust.append(cust)
        self.day.append(np.asarray(day, dtype=np.int32))
        self.cat.append(np.broadcast_to(np.asarray(cat, dtype=np.int16), cust.shape).copy())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.cust:
            e = np.zeros(0, dtype=np.int32)
            return e, e.copy(), e.astype(np.int16)
        return np.concatenate(self.cust), np.concatenate(self.day), np.concatenate(self.cat)

    def drain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`arrays`, then forget the chunks (their memory is freed)."""
        out = self.arrays()
        self.cust, self.day, self.cat = [], [], []
        return out


def choice(rng: np.random.Generator, n: int, names: dict[str, float]) -> np.ndarray:
    """``n`` category codes drawn with the given weights."""
    codes = np.asarray([CAT_INDEX[k] for k in names], dtype=np.int16)
    p = np.asarray(list(names.values()), dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return codes[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), codes.size - 1)]


def window_events(rng: np.random.Generator, ev: Events, cal: Calendar, cust: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray, rate_per_year: float, kind: str, cats: dict[str, float]) -> None:
    """Poisson(rate x active years) events per customer, days drawn with the ``kind`` weights."""
    n = rng.poisson(rate_per_year * np.maximum(hi - lo, 0) / 365.25)
    c = np.repeat(cust, n)
    day, ok = sample_days(rng, cal.cumw[kind], np.repeat(lo, n), np.repeat(hi, n))
    ev.add(c[ok], day, choice(rng, int(ok.sum()), cats))


def once(rng: np.random.Generator, ev: Events, cal: Calendar, cust: np.ndarray, lo: np.ndarray,
         hi: np.ndarray, p: float, kind: str, cats: dict[str, float]) -> None:
    """With probability ``p``, one event per customer in its window."""
    take = rng.random(cust.size) < p
    day, ok = sample_days(rng, cal.cumw[kind], lo[take], hi[take])
    ev.add(cust[take][ok], day, choice(rng, int(ok.sum()), cats))


def seasonal(rng: np.random.Generator, ev: Events, cal: Calendar, cust: np.ndarray, lo: np.ndarray,
             hi: np.ndarray, p: float, kind: str, cats: dict[str, float]) -> None:
    """For each season of ``kind`` (winter / summer): an event with probability ``p`` x the share
    of the season inside the customer's window."""
    cw = cal.cumw[kind]
    for s_lo, s_hi, full in cal.winters if kind == "winter" else cal.summers:
        a, b = np.maximum(lo, s_lo), np.minimum(hi, s_hi)
        share = np.where(b > a, (cw[np.clip(b, 0, cal.days)] - cw[np.clip(a, 0, cal.days)]) / full, 0.0)
        take = rng.random(cust.size) < p * share
        day, ok = sample_days(rng, cw, a[take], b[take])
        ev.add(cust[take][ok], day, choice(rng, int(ok.sum()), cats))


def _renewal(rng: np.random.Generator, ev: Events, cust: np.ndarray, first: np.ndarray, hi: np.ndarray,
             interval: np.ndarray, jitter: float, cat: str) -> None:
    """Repeated purchases from ``first`` every ``interval`` days (per customer, jittered)."""
    code = CAT_INDEX[cat]
    t, idx, h, iv = first.astype(np.float64), cust, hi, interval
    while idx.size:
        alive = t < h
        t, idx, h, iv = t[alive], idx[alive], h[alive], iv[alive]
        ev.add(idx, np.floor(t).astype(np.int64), code)
        step = iv * (1.0 + jitter * np.clip(rng.standard_normal(idx.size), -2.5, 2.5))
        t = t + np.maximum(step, 0.3 * iv)


def renew_some(rng: np.random.Generator, ev: Events, cust: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               early: np.ndarray, take: np.ndarray, every: tuple[float, float], jitter: float, cat: str,
               delay: float = 0.0) -> None:
    """Renewals of ``cat`` for the customers in ``take``, each every ``uniform(*every)`` days.

    The first purchase comes right after joining (``delay`` days later still), or at any time
    of the first interval for the customers from before the history (``early``).
    """
    interval = rng.uniform(every[0], every[1], take.sum())
    lo, early = lo[take], early[take]
    first = np.where(early, rng.random(lo.size) * interval, lo + rng.random(lo.size) * 30.0)
    if delay:
        first = first + delay
    _renewal(rng, ev, cust[take], first, hi[take], interval, jitter, cat)
