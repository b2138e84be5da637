"""The hidden customer profiles of the synthetic sports shop: who the customers are, what they
buy when, and what they declare (sports, level, consents)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from recokit.datasets.synthetic.calendar import SPORT_SEASON, Calendar, sample_days
from recokit.datasets.synthetic.catalogue import CAT_INDEX, SPORTS
from recokit.datasets.synthetic.events import (
    Events,
    choice,
    once,
    renew_some,
    seasonal,
    window_events,
)

__all__ = ["PROFILES", "Customers", "customer_ids", "customer_tables", "draw_customers", "profile_events"]

#: The hidden customer profiles, in this order.
PROFILES: tuple[str, ...] = (
    "regular_runner",
    "keen_cyclist",
    "seasonal_occasional",
    "parent",
    "multi_sport",
)
_PROFILE_P = (0.20, 0.17, 0.33, 0.15, 0.15)
_LEVELS = ("beginner", "intermediate", "expert")
_LEVEL_P = ((0.2, 0.5, 0.3), (0.15, 0.45, 0.4), (0.6, 0.35, 0.05), (0.45, 0.45, 0.1), (0.3, 0.5, 0.2))

# Category mixes of ordinary purchases, per sport.
_SPORT_MIX: dict[str, dict[str, float]] = {
    "running": {"running_shoes": 0.25, "running_apparel": 0.35, "running_socks": 0.15, "energy_gel": 0.2,
                "running_watch": 0.05},
    "cycling": {"adult_bike": 0.1, "helmet": 0.05, "pump": 0.03, "lock": 0.04, "bike_light": 0.1,
                "inner_tube": 0.3, "cycling_apparel": 0.38},
    "hiking": {"hiking_boots": 0.25, "backpack": 0.2, "tent": 0.08, "hiking_poles": 0.1, "hiking_apparel": 0.37},
    "ski": {"ski": 0.15, "ski_boots": 0.12, "ski_goggles": 0.2, "ski_jacket": 0.28, "ski_gloves": 0.25},
    "swimming": {"swimsuit": 0.45, "swim_goggles": 0.35, "swim_cap": 0.2},
    "fitness": {"yoga_mat": 0.2, "dumbbells": 0.12, "protein": 0.3, "fitness_apparel": 0.28,
                "resistance_band": 0.1},
}


@dataclass(frozen=True)
class Customers:
    """The hidden draws of every customer (arrays of length ``n``, by customer index)."""

    prof: np.ndarray  # profile code, index into PROFILES
    lo: np.ndarray  # first active day offset
    hi: np.ndarray  # one past the last active day offset
    early: np.ndarray  # a customer from before the history
    level: np.ndarray  # 0 beginner, 1 intermediate, 2 expert
    taste: np.ndarray  # 1 for a premium taste
    n_children: np.ndarray
    order3: np.ndarray  # (n, 3): multi-sport customers' sports, by preference
    k_sports: np.ndarray  # how many of order3 a multi-sport customer practises (2 or 3)

    @property
    def n(self) -> int:
        return int(self.prof.size)


@dataclass(frozen=True)
class _Group:
    """The customers of one profile: indices, active windows and whether they joined before."""

    ids: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    early: np.ndarray


def _group(cust: Customers, profile: int) -> _Group:
    m = cust.prof == profile
    return _Group(np.arange(cust.n, dtype=np.int64)[m], cust.lo[m], cust.hi[m], cust.early[m])


def draw_customers(rng: np.random.Generator, n: int, d_total: int) -> Customers:
    """Hidden profile, active window, level, taste, children and multi-sport choices of ``n`` customers."""
    prof = np.searchsorted(np.cumsum(_PROFILE_P)[:-1], rng.random(n), side="right").astype(np.int64)
    a_raw = rng.uniform(-0.7, 0.85, n) * d_total  # joining day (< 0: a customer from before)
    life = rng.exponential(2.0 * 730.0, n)
    early = a_raw < 0
    lo = np.clip(np.floor(a_raw), 0, d_total).astype(np.int64)
    hi = np.clip(np.floor(a_raw + life), 0, d_total).astype(np.int64)
    level_p = np.asarray(_LEVEL_P)[prof]
    level = (rng.random(n)[:, None] > np.cumsum(level_p, axis=1)[:, :2]).sum(axis=1)
    taste = (rng.random(n) < np.asarray([0.1, 0.3, 0.7])[level]).astype(np.int64)
    n_children = np.where(prof == 3, 1 + (rng.random(n) < 0.4), 0).astype(np.int64)
    # multi-sport customers: 2-3 sports, weighted draw without replacement
    sport_w = np.asarray([0.25, 0.2, 0.2, 0.1, 0.15, 0.1])
    keys = rng.exponential(size=(n, len(SPORTS))) / sport_w
    order3 = np.argsort(keys, axis=1, kind="stable")[:, :3]
    k_sports = 2 + (rng.random(n) < 0.4)
    return Customers(prof, lo, hi, early, level, taste, n_children, order3, k_sports)


def _runners(rng: np.random.Generator, ev: Events, cal: Calendar, g: _Group) -> None:
    c, l_, h_, e_ = g.ids, g.lo, g.hi, g.early
    renew_some(rng, ev, c, l_, h_, e_, np.ones(c.size, dtype=bool), (185.0, 235.0), 0.05, "running_shoes")
    renew_some(rng, ev, c, l_, h_, e_, rng.random(c.size) < 0.8, (30.0, 90.0), 0.15, "energy_gel")
    window_events(rng, ev, cal, c, l_, h_, 2.5, "any", {"running_apparel": 1.0})
    window_events(rng, ev, cal, c, l_, h_, 0.7, "any", {"running_socks": 1.0})
    once(rng, ev, cal, c, l_, h_, 0.15, "any", {"running_watch": 1.0})
    renew_some(rng, ev, c, l_, h_, e_, rng.random(c.size) < 0.2, (40.0, 90.0), 0.15, "protein")
    window_events(rng, ev, cal, c, l_, h_, 0.6, "newyear", _SPORT_MIX["fitness"])
    window_events(rng, ev, cal, c, l_, h_, 0.3, "summer", _SPORT_MIX["swimming"])


def _cyclists(rng: np.random.Generator, ev: Events, cal: Calendar, g: _Group) -> tuple[np.ndarray, np.ndarray]:
    """Keen cyclists' purchases; returns the customers and days of their adult bikes."""
    c, l_, h_, e_ = g.ids, g.lo, g.hi, g.early
    buy = rng.random(c.size) < np.where(e_, 0.55, 0.75)
    bike_hi = np.where(e_, h_, np.minimum(h_, l_ + 240))  # new customers come for a bike first
    day, ok = sample_days(rng, cal.cumw["spring"], l_[buy], bike_hi[buy])
    ev.add(c[buy][ok], day, CAT_INDEX["adult_bike"])
    bike_cust, bike_day = c[buy][ok], day
    renew_some(rng, ev, c, l_, h_, e_, rng.random(c.size) < 0.8, (45.0, 110.0), 0.2, "inner_tube", delay=10.0)
    window_events(rng, ev, cal, c, l_, h_, 2.0, "spring", {"cycling_apparel": 1.0})
    once(rng, ev, cal, c, l_, h_, 0.35, "any", {"bike_light": 1.0})
    window_events(rng, ev, cal, c, l_, h_, 0.12, "any", {"helmet": 0.6, "lock": 0.2, "pump": 0.2})
    window_events(rng, ev, cal, c, l_, h_, 1.0, "any", {"energy_gel": 0.6, "protein": 0.4})
    return bike_cust, bike_day


def _occasional(rng: np.random.Generator, ev: Events, cal: Calendar, g: _Group) -> None:
    c, l_, h_ = g.ids, g.lo, g.hi
    seasonal(rng, ev, cal, c, l_, h_, 0.55, "winter", _SPORT_MIX["ski"])
    seasonal(rng, ev, cal, c, l_, h_, 0.5, "summer", _SPORT_MIX["hiking"])
    seasonal(rng, ev, cal, c, l_, h_, 0.3, "summer", _SPORT_MIX["swimming"])
    window_events(rng, ev, cal, c, l_, h_, 0.4, "any",
                  {"running_apparel": 0.3, "fitness_apparel": 0.4, "yoga_mat": 0.3})


def _parents(rng: np.random.Generator, ev: Events, cal: Calendar, g: _Group, kids: np.ndarray) -> None:
    """One child bike per child at most, two children's bikes >= 120 days apart."""
    c, l_, h_ = g.ids, g.lo, g.hi
    t1, ok1 = sample_days(rng, cal.cumw["any"], l_, h_)
    c1, k1, h1 = c[ok1], kids[ok1], h_[ok1]
    first_bike = rng.random(c1.size) < 0.85
    ev.add(c1[first_bike], t1[first_bike], CAT_INDEX["child_bike"])
    t2 = t1 + rng.integers(120, 541, c1.size)
    second = (k1 == 2) & (rng.random(c1.size) < 0.85) & (t2 < h1)
    ev.add(c1[second], t2[second], CAT_INDEX["child_bike"])
    window_events(rng, ev, cal, c, l_, h_, 0.1, "any", {"child_helmet": 1.0})
    seasonal(rng, ev, cal, c, l_, h_, 0.5, "summer", {"child_swimsuit": 1.0})
    seasonal(rng, ev, cal, c, l_, h_, 0.35, "summer", {"child_hiking_shoes": 1.0})
    window_events(rng, ev, cal, c, l_, h_, 1.5, "any",
                  {"running_apparel": 0.2, "fitness_apparel": 0.2, "hiking_apparel": 0.2, "swimsuit": 0.15,
                   "yoga_mat": 0.1, "backpack": 0.15})


def _multi_sport(rng: np.random.Generator, ev: Events, cal: Calendar, g: _Group, cust: Customers) -> None:
    """Poisson purchases over their 2-3 sports, each with its season; protein for the fitness fans."""
    c, l_, h_ = g.ids, g.lo, g.hi
    cnt = rng.poisson(5.0 * np.maximum(h_ - l_, 0) / 365.25)
    rc = np.repeat(c, cnt)
    pick = np.floor(rng.random(rc.size) * cust.k_sports[rc]).astype(np.int64)
    sport = cust.order3[rc, pick]
    for si, s in enumerate(SPORTS):
        sel = sport == si
        day, ok = sample_days(rng, cal.cumw[SPORT_SEASON[s]], cust.lo[rc[sel]], cust.hi[rc[sel]])
        ev.add(rc[sel][ok], day, choice(rng, int(ok.sum()), _SPORT_MIX[s]))
    fit = SPORTS.index("fitness")
    o3, k = cust.order3[c], cust.k_sports[c]
    has_fit = (o3[:, 0] == fit) | (o3[:, 1] == fit) | ((k == 3) & (o3[:, 2] == fit))
    prot = has_fit & (rng.random(c.size) < 0.5)
    renew_some(rng, ev, c, l_, h_, g.early, prot, (35.0, 90.0), 0.15, "protein")


def profile_events(rng: np.random.Generator, cust: Customers, cal: Calendar) -> tuple[Events, np.ndarray, np.ndarray]:
    """Every profile's primary purchase events, plus the customers and days of the keen cyclists' bikes."""
    ev = Events()
    _runners(rng, ev, cal, _group(cust, 0))
    bike_cust, bike_day = _cyclists(rng, ev, cal, _group(cust, 1))
    _occasional(rng, ev, cal, _group(cust, 2))
    _parents(rng, ev, cal, _group(cust, 3), cust.n_children[cust.prof == 3])
    _multi_sport(rng, ev, cal, _group(cust, 4), cust)
    return ev, bike_cust, bike_day


def customer_ids(n: int) -> pl.Series:
    """``"C000001"``, ... (at least 6 digits, more from a million customers on)."""
    width = max(6, len(str(n)))
    return pl.select(
        pl.concat_str(pl.lit("C"), pl.int_range(1, n + 1, dtype=pl.Int64).cast(pl.Utf8).str.zfill(width))
    ).to_series()


def _sport_masks(rng: np.random.Generator, cust: Customers) -> np.ndarray:
    """Each customer's sports as a bit mask over SPORTS (never empty)."""
    prof, order3 = cust.prof, cust.order3
    bit = 1 << np.arange(len(SPORTS))
    r = rng.random((cust.n, len(SPORTS)))
    mask_by_profile = (
        (prof == 0) * (bit[0] | (r[:, 5] < 0.3) * bit[5] | (r[:, 4] < 0.15) * bit[4])
        + (prof == 1) * (bit[1] | (r[:, 0] < 0.2) * bit[0])
        + (prof == 2) * ((r[:, 3] < 0.7) * bit[3] | (r[:, 2] < 0.8) * bit[2] | (r[:, 4] < 0.3) * bit[4])
        + (prof == 3) * ((r[:, 1] < 0.5) * bit[1] | (r[:, 4] < 0.4) * bit[4] | (r[:, 2] < 0.4) * bit[2])
    )
    multi = bit[order3[:, 0]] | bit[order3[:, 1]] | (cust.k_sports == 3) * bit[order3[:, 2]]
    sport_mask = np.where(prof == 4, multi, mask_by_profile)
    return np.where(sport_mask == 0, bit[2], sport_mask)


def customer_tables(rng: np.random.Generator, cust: Customers, ids: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``customers`` table (declared sports and level, consents) and the hidden ``profiles``."""
    n, prof = cust.n, cust.prof
    sport_mask = _sport_masks(rng, cust)
    declared = rng.random(n) < np.asarray([0.5, 0.5, 0.3, 0.35, 0.45])[prof]
    combos = [",".join(s for i, s in enumerate(SPORTS) if mask >> i & 1) for mask in range(64)] + [None]
    level_declared = declared & (rng.random(n) < 0.7)
    consent_p = rng.random(n) < 0.85
    consent_e = rng.random(n) < np.where(consent_p, 0.6, 0.2)
    customers = pl.DataFrame(
        {
            "customer_id": ids,
            "declared_sports": pl.Series(combos, dtype=pl.Utf8).gather(np.where(declared, sport_mask, 64)),
            "level": pl.Series([*_LEVELS, None], dtype=pl.Utf8).gather(np.where(level_declared, cust.level, 3)),
            "consent_personalization": pl.Series(consent_p, dtype=pl.Boolean),
            "consent_email": pl.Series(consent_e, dtype=pl.Boolean),
        }
    )
    profiles = pl.DataFrame(
        {
            "customer_id": ids,
            "profile": pl.Series(PROFILES, dtype=pl.Utf8).gather(prof),
            "n_children": pl.Series(cust.n_children, dtype=pl.Int64),
        }
    )
    return customers, profiles
