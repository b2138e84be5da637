"""A deterministic synthetic sports shop: the embedded data of recokit's demo, tests and benchmarks.

The generator plants structure that the library's models are meant to find, so tests can check
that they do:

* **hidden customer profiles** (``ShopTables.profiles``, never given to models):
  ``regular_runner`` (running shoes renewed every 6-8 months, apparel, energy gels every 1-3
  months), ``keen_cyclist`` (an adult bike, then inner tubes every 1.5-3.5 months, lights,
  apparel), ``seasonal_occasional`` (ski gear in winter, hiking and swimming in summer),
  ``parent`` (1-2 children, at most one child bike per child, bikes of two children at least
  120 days apart; child helmets, swimsuits, shoes) and ``multi_sport`` (2-3 sports);
* **bundles**: an adult bike is followed by a helmet, a pump and a lock (drawn with
  probability 0.9, 0.85 and 0.85), in the same order for 78 % of the bikes, otherwise in one
  follow-up order 1-14 days later (so about 2/3 of bike orders hold each of them); a child bike by a child helmet; weaker pairs (running shoes + socks or
  apparel, ski + goggles, tent + backpack, swimsuit + goggles, ...);
* **renewals**: running shoes every ~185-235 days (jittered), consumables every 1-3 months;
  durable items (bikes, tents, skis, ski boots, watches, dumbbells) are bought at most once per
  customer, except a rare second adult bike;
* **seasonality**: ski gear in Nov-Apr (about 90 % in Dec-Mar), hiking and swimming in May-Sep
  (mostly Jun-Aug), bikes in spring, fitness in January, gifts before Christmas, weekends;
* **popularity skew**: Zipf-like within each category, tilted towards expensive items for the
  customers with a hidden premium taste (more frequent among experts).

The categories are listed in :data:`CATEGORIES`; child items (``age_group == "child"``) are
``child_bike``, ``child_helmet``, ``child_swimsuit`` and ``child_hiking_shoes``, bought only by
parents.

Everything is drawn from ``numpy.random.default_rng(seed)`` with vectorised numpy, so the same
arguments always give identical tables and a million customers take seconds.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from recokit._errors import ConfigError, _hint

if TYPE_CHECKING:  # pragma: no cover
    from recokit.data import Dataset

__all__ = ["CATEGORIES", "PROFILES", "SPORTS", "ShopTables", "sports_shop", "sports_shop_tables"]

#: The sports of the catalogue, in this order.
SPORTS: tuple[str, ...] = ("running", "cycling", "hiking", "ski", "swimming", "fitness")
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

_CATALOG_SEED = 20_240_101
_DAY_US = 86_400 * 1_000_000


# ----------------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class _Cat:
    name: str
    sport: str
    n_items: int
    price: tuple[float, float]
    variants: tuple[str, ...]
    nouns: tuple[str, ...]
    features: tuple[str, ...]
    age_group: str = "adult"
    consumable: bool = False
    qty: tuple[float, int] = (1.0, 1)  # geometric success probability, maximum quantity


_CATS: tuple[_Cat, ...] = (
    # running
    _Cat("running_shoes", "running", 40, (60, 180), ("Trail", "Road", "Cushioned", "Racing", "Lightweight"),
         ("running shoes",), ("grippy lugged outsole", "responsive foam midsole", "breathable mesh upper",
                              "carbon plate", "wide toe box", "reflective heel", "8 mm drop", "rock plate")),
    _Cat("running_apparel", "running", 35, (15, 90), ("Men's", "Women's", "Unisex"),
         ("running t-shirt", "running tights", "running shorts", "windproof running jacket"),
         ("sweat-wicking fabric", "flatlock seams", "zipped pocket", "reflective prints", "stretch knit",
          "quick-dry polyester", "thumb loops")),
    _Cat("running_socks", "running", 12, (6, 18), ("Ankle", "Crew", "Compression"), ("running socks",),
         ("anti-blister knit", "cushioned heel", "arch support", "merino blend", "seamless toe"),
         qty=(0.6, 3)),
    _Cat("energy_gel", "running", 14, (2, 4), ("Citrus", "Berry", "Caffeine", "Salted caramel", "Neutral"),
         ("energy gel",), ("fast carbohydrates", "electrolytes", "easy to digest", "30 g pouch",
                           "race fuel", "sodium boost"), consumable=True, qty=(0.4, 10)),
    _Cat("running_watch", "running", 8, (90, 450), ("GPS", "Multisport", "Connected"), ("running watch",),
         ("heart-rate sensor", "training plans", "long battery life", "route navigation", "pace alerts")),
    # cycling
    _Cat("adult_bike", "cycling", 30, (300, 2000), ("Road", "Mountain", "Gravel", "City", "Electric"),
         ("bike",), ("aluminium frame", "hydraulic disc brakes", "carbon fork", "12-speed drivetrain",
                     "tubeless ready wheels", "front suspension", "integrated lights", "rack mounts")),
    _Cat("child_bike", "cycling", 14, (150, 400), ("Kids 16-inch", "Kids 20-inch", "Kids 24-inch", "Balance"),
         ("bike",), ("stabilisers included", "chain guard", "light frame for children", "easy brake levers",
                     "bell and reflectors"), age_group="child"),
    _Cat("helmet", "cycling", 14, (25, 150), ("Road", "Mountain", "City", "Aero"), ("cycling helmet",),
         ("in-mould shell", "adjustable dial fit", "ventilation channels", "MIPS protection", "rear light")),
    _Cat("child_helmet", "cycling", 8, (15, 45), ("Kids", "Toddler"), ("cycling helmet",),
         ("colourful design for children", "pinch-free buckle", "adjustable dial fit", "safety visor"),
         age_group="child"),
    _Cat("pump", "cycling", 8, (10, 60), ("Floor", "Mini", "CO2"), ("bike pump",),
         ("pressure gauge", "presta and schrader head", "high-pressure 11 bar", "frame mount")),
    _Cat("lock", "cycling", 10, (15, 90), ("Shackle", "Folding", "Chain", "Cable"), ("bike lock",),
         ("hardened steel", "key and spare keys", "frame bracket", "anti-theft rating", "combination code")),
    _Cat("bike_light", "cycling", 10, (10, 70), ("Front", "Rear", "Set of"), ("bike light",),
         ("USB rechargeable", "400 lumens", "flash mode", "wide beam", "daylight visible")),
    _Cat("inner_tube", "cycling", 10, (4, 12), ("700x25", "700x32", "29-inch", "27.5-inch", "20-inch"),
         ("inner tube",), ("presta valve", "butyl rubber", "puncture resistant", "lightweight latex",
                           "schrader valve"), consumable=True, qty=(0.6, 4)),
    _Cat("cycling_apparel", "cycling", 20, (20, 140), ("Men's", "Women's", "Unisex"),
         ("cycling jersey", "bib shorts", "cycling gloves", "cycling rain jacket"),
         ("chamois pad", "full zip", "rear pockets", "aero fit", "padded palms")),
    # hiking
    _Cat("hiking_boots", "hiking", 22, (50, 220), ("Waterproof", "Mid", "Low", "Mountain"), ("hiking boots",),
         ("waterproof membrane", "vibram sole", "ankle support", "leather upper", "toe bumper")),
    _Cat("backpack", "hiking", 20, (20, 180), ("20 L", "30 L", "45 L", "70 L"), ("hiking backpack",),
         ("ventilated back panel", "rain cover", "hip belt pockets", "hydration sleeve", "trekking poles loop")),
    _Cat("tent", "hiking", 12, (60, 600), ("2-person", "3-person", "Family", "Ultralight"), ("camping tent",),
         ("freestanding dome", "pitches in 2 minutes", "fresh and black bedroom", "waterproof flysheet",
          "aluminium poles")),
    _Cat("hiking_poles", "hiking", 8, (20, 120), ("Telescopic", "Folding", "Carbon"), ("hiking poles",),
         ("cork grips", "flick lock", "tungsten tips", "snow baskets")),
    _Cat("hiking_apparel", "hiking", 22, (15, 200), ("Men's", "Women's", "Unisex"),
         ("fleece", "softshell jacket", "hiking trousers", "merino base layer"),
         ("windproof", "zip-off legs", "merino wool", "warm fleece", "packable hood")),
    _Cat("child_hiking_shoes", "hiking", 8, (25, 60), ("Kids", "Kids waterproof"), ("hiking shoes",),
         ("hook-and-loop straps", "grippy sole for children", "waterproof membrane", "light and flexible"),
         age_group="child"),
    # ski
    _Cat("ski", "ski", 18, (200, 900), ("All-mountain", "Piste", "Freeride", "Touring"), ("skis",),
         ("rocker profile", "wood core", "titanal layer", "bindings included", "carving sidecut")),
    _Cat("ski_boots", "ski", 14, (120, 600), ("Comfort", "Performance", "Touring"), ("ski boots",),
         ("flex 100", "heat-mouldable liner", "walk mode", "four buckles", "wide last")),
    _Cat("ski_goggles", "ski", 12, (25, 200), ("Cylindrical", "Spherical", "Photochromic"), ("ski goggles",),
         ("anti-fog lens", "category 3 filter", "helmet compatible", "interchangeable lens", "wide field of view")),
    _Cat("ski_jacket", "ski", 16, (60, 400), ("Men's", "Women's", "Unisex"), ("ski jacket",),
         ("10k waterproof", "snow skirt", "insulated padding", "ski pass pocket", "taped seams")),
    _Cat("ski_gloves", "ski", 10, (15, 90), ("Warm", "Leather", "Mitten"), ("ski gloves",),
         ("waterproof insert", "touchscreen fingertips", "wrist leash", "thermal lining")),
    # swimming
    _Cat("swimsuit", "swimming", 18, (15, 90), ("Women's", "Men's", "Training", "Competition"), ("swimsuit",),
         ("chlorine resistant", "quick dry", "racerback", "UV protection", "jammer cut")),
    _Cat("swim_goggles", "swimming", 12, (8, 45), ("Pool", "Open water", "Mirrored"), ("swim goggles",),
         ("anti-fog coating", "soft silicone seal", "wide vision", "adjustable strap")),
    _Cat("swim_cap", "swimming", 8, (4, 15), ("Silicone", "Fabric", "Mesh"), ("swim cap",),
         ("hair protection", "hydrodynamic", "one size"), consumable=True, qty=(0.8, 2)),
    _Cat("child_swimsuit", "swimming", 10, (10, 30), ("Girls'", "Boys'"), ("swimsuit",),
         ("fun prints for children", "chlorine resistant", "UV protection", "swim nappy layer"),
         age_group="child"),
    # fitness
    _Cat("yoga_mat", "fitness", 12, (15, 90), ("Comfort", "Grip", "Travel", "Cork"), ("yoga mat",),
         ("8 mm cushioning", "non-slip surface", "carrying strap", "natural rubber")),
    _Cat("dumbbells", "fitness", 10, (20, 250), ("Adjustable", "Hex", "Vinyl"), ("dumbbells",),
         ("quick weight change", "knurled handle", "cast iron", "storage rack")),
    _Cat("protein", "fitness", 14, (20, 60), ("Whey", "Vegan", "Chocolate", "Vanilla"), ("protein powder",),
         ("25 g protein per serving", "muscle recovery", "low sugar", "1 kg tub", "gluten free"),
         consumable=True, qty=(0.8, 3)),
    _Cat("fitness_apparel", "fitness", 16, (12, 70), ("Men's", "Women's", "Unisex"),
         ("training t-shirt", "leggings", "sports bra", "gym shorts"),
         ("stretch fabric", "moisture wicking", "seamless knit", "high support")),
    _Cat("resistance_band", "fitness", 8, (8, 35), ("Light", "Medium", "Heavy", "Set of"), ("resistance band",),
         ("latex free", "door anchor", "exercise guide", "three tension levels")),
)

#: The catalogue's categories, in the order of their item ids.
CATEGORIES: tuple[str, ...] = tuple(c.name for c in _CATS)
_CAT_INDEX = {c.name: i for i, c in enumerate(_CATS)}
_NCAT = len(_CATS)

# (name, tier): tier 0 budget (cheaper, more popular), 1 mid, 2 premium (pricier, less popular)
_BRANDS: dict[str, tuple[tuple[str, int], ...]] = {
    "running": (("Kiprun", 1), ("Stridex", 0), ("Aerolite", 2), ("Pacewell", 1)),
    "cycling": (("Cyclon", 0), ("Riverway", 1), ("Veloxa", 2), ("Urbix", 1)),
    "hiking": (("Trekka", 0), ("Summit Peak", 1), ("Altivo", 2), ("Boreal", 1)),
    "ski": (("Snowline", 0), ("Glacier", 1), ("Alpina Pro", 2)),
    "swimming": (("Aquafin", 0), ("Wavecrest", 1), ("Hydrosprint", 2)),
    "fitness": (("Corefit", 0), ("Ironleaf", 1), ("Vitaforce", 2)),
}
_BRAND_TAGLINE = {
    "Kiprun": "built for runners who log the miles",
    "Stridex": "honest gear at a small price",
    "Aerolite": "race-day performance engineering",
    "Pacewell": "comfort for every pace",
    "Cyclon": "affordable everyday cycling",
    "Riverway": "reliable rides for commuters and tourers",
    "Veloxa": "lightweight racing pedigree",
    "Urbix": "smart urban mobility",
    "Trekka": "outdoor basics for weekend walkers",
    "Summit Peak": "tested on alpine ridges",
    "Altivo": "expedition-grade technical design",
    "Boreal": "Nordic craftsmanship for the trail",
    "Snowline": "easy skiing for families",
    "Glacier": "precise control on groomed slopes",
    "Alpina Pro": "freeride and racing expertise",
    "Aquafin": "pool essentials for everyone",
    "Wavecrest": "comfortable lengths, week after week",
    "Hydrosprint": "competition swimming technology",
    "Corefit": "home workouts made simple",
    "Ironleaf": "durable strength equipment",
    "Vitaforce": "sports nutrition and premium training gear",
}
_SPORT_CONTEXT = {
    "running": "road and trail running",
    "cycling": "cycling on roads, trails and city streets",
    "hiking": "mountain hiking, trekking and camping",
    "ski": "alpine skiing on piste and off piste",
    "swimming": "pool and open-water swimming",
    "fitness": "home fitness, yoga and gym training",
}
_TIER_PRICE = (0.8, 1.0, 1.3)
_TIER_POP = (1.6, 1.0, 0.6)


def _round_price(p: float, lo: float, hi: float) -> float:
    if hi >= 20:
        out = math.floor(p) + 0.99
        if out > hi:
            out -= 1.0
        return max(out, lo + 0.99) if out < lo else out
    out = math.ceil(p * 2) / 2 - 0.01
    if out < lo:
        out += 0.5
    return round(min(out, hi), 2)


@dataclass(frozen=True)
class _Catalog:
    frame: pl.DataFrame
    cat: np.ndarray  # category code per item (items are grouped by category, in _CATS order)
    start: np.ndarray  # first item index of each category
    end: np.ndarray  # one past the last item index of each category
    last: np.ndarray  # end - 1, as int32
    price: np.ndarray
    pick_cum: np.ndarray  # (2 * n_items,): per taste (0 standard, 1 premium), tier*ncat + cat + cum share


@lru_cache(maxsize=1)
def _catalog() -> _Catalog:
    rng = np.random.default_rng(_CATALOG_SEED)
    rows: dict[str, list] = {k: [] for k in ("name", "sport", "category", "brand", "price", "age_group",
                                             "consumable", "description")}
    cat_codes: list[int] = []
    pop: list[float] = []
    seen: dict[tuple[str, str, str], int] = {}
    for ci, c in enumerate(_CATS):
        brands = _BRANDS[c.sport]
        ranks = rng.permutation(c.n_items) + 1
        for j in range(c.n_items):
            brand, tier = brands[int(rng.integers(len(brands)))]
            variant = c.variants[int(rng.integers(len(c.variants)))]
            noun = c.nouns[int(rng.integers(len(c.nouns)))]
            key = (variant, noun, brand)
            seen[key] = seen.get(key, 0) + 1
            code = "".join(ch for ch in variant if ch.isalnum())[:2].upper()
            name = f"{variant} {noun} {brand} {code}{seen[key]}"
            lo, hi = c.price
            raw = math.exp(rng.uniform(math.log(lo), math.log(hi))) * _TIER_PRICE[tier]
            price = _round_price(min(max(raw, lo), hi), lo, hi)
            feats = rng.choice(len(c.features), size=min(3, len(c.features)), replace=False)
            f = [c.features[int(k)] for k in feats]
            who = "for kids" if c.age_group == "child" else "for adults"
            desc = (f"{variant} {noun} by {brand} {who}, made for {_SPORT_CONTEXT[c.sport]}: "
                    f"{f[0]}, {f[1]} and {f[2]}; {_BRAND_TAGLINE[brand]}.")
            rows["name"].append(name)
            rows["sport"].append(c.sport)
            rows["category"].append(c.name)
            rows["brand"].append(brand)
            rows["price"].append(price)
            rows["age_group"].append(c.age_group)
            rows["consumable"].append(c.consumable)
            rows["description"].append(desc)
            cat_codes.append(ci)
            pop.append(_TIER_POP[tier] / float(ranks[j]) ** 1.1)
    n = len(cat_codes)
    stock = np.minimum(1 + rng.geometric(1 / 40, size=n), 500).astype(np.int64)
    stock[rng.choice(n, size=round(0.08 * n), replace=False)] = 0
    eco = rng.random(n) < 0.2
    descriptions = [d[:-1] + ", eco-designed with recycled materials." if e else d
                    for d, e in zip(rows["description"], eco.tolist(), strict=True)]
    frame = pl.DataFrame(
        {
            "item_id": [f"P{i + 1:04d}" for i in range(n)],
            "name": rows["name"],
            "sport": rows["sport"],
            "category": rows["category"],
            "brand": rows["brand"],
            "price": pl.Series(rows["price"], dtype=pl.Float64),
            "stock": pl.Series(stock, dtype=pl.Int64),
            "age_group": rows["age_group"],
            "consumable": pl.Series(rows["consumable"], dtype=pl.Boolean),
            "eco_label": pl.Series(eco, dtype=pl.Boolean),
            "description": descriptions,
        }
    )
    cat = np.asarray(cat_codes, dtype=np.int64)
    price_arr = np.asarray(rows["price"], dtype=np.float64)
    pop_arr = np.asarray(pop, dtype=np.float64)
    start = np.searchsorted(cat, np.arange(_NCAT), side="left")
    end = np.searchsorted(cat, np.arange(_NCAT), side="right")
    cums = []
    for taste in (0, 1):
        w = pop_arr.copy()
        if taste == 1:  # premium taste: tilt towards the expensive items of each category
            for ci in range(_NCAT):
                s, e = start[ci], end[ci]
                w[s:e] *= (price_arr[s:e] / np.median(price_arr[s:e])) ** 1.5
        cum = np.empty(n)
        for ci in range(_NCAT):
            s, e = start[ci], end[ci]
            share = np.cumsum(w[s:e]) / w[s:e].sum()
            share[-1] = 1.0
            cum[s:e] = taste * _NCAT + ci + share
        cums.append(cum)
    pick_cum = np.concatenate(cums)
    last = (end - 1).astype(np.int32)
    for a in (cat, start, end, last, price_arr, pick_cum):
        a.setflags(write=False)
    return _Catalog(frame, cat, start, end, last, price_arr, pick_cum)


def _pick_items(rng: np.random.Generator, cat: np.ndarray, taste: np.ndarray, c: _Catalog) -> np.ndarray:
    """One item per line of category ``cat``, Zipf-like popularity, by customer taste (0/1)."""
    u = rng.random(cat.size)
    u += cat
    u += taste * _NCAT
    idx = np.searchsorted(c.pick_cum, u, side="right")
    del u
    idx %= c.cat.size
    # guard against u rounding up to the next group's first boundary
    np.minimum(idx, c.last[cat], out=idx)
    return idx


# ------------------------------------------------------------------------------------ calendar
_MONTH_W = {
    # index 1..12; weights of the day of the year for events of that kind
    "winter": (0, 1.1, 1.2, 0.5, 0.05, 0, 0, 0, 0, 0, 0, 0.3, 1.0),
    "summer": (0, 0, 0, 0, 0, 0.3, 0.9, 1.2, 1.0, 0.2, 0, 0, 0),
    "spring": (0, 0.5, 0.6, 1.0, 1.4, 1.5, 1.3, 1.1, 1.0, 0.9, 0.7, 0.6, 0.9),
    "newyear": (0, 1.8, 1.2, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.3, 1.0, 1.0, 0.8),
    "any": (0, 1.1, 0.95, 1.0, 1.0, 1.0, 1.0, 1.1, 0.95, 1.0, 1.0, 1.0, 1.1),
}
_SPORT_SEASON = {"running": "any", "cycling": "spring", "hiking": "summer", "ski": "winter",
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
class _Calendar:
    start: _dt.date
    days: int
    month: np.ndarray
    cumw: dict[str, np.ndarray]
    winters: tuple[tuple[int, int, float], ...]  # (lo, hi, full season mass) as day offsets
    summers: tuple[tuple[int, int, float], ...]


def _calendar(start: _dt.date, days: int) -> _Calendar:
    d0 = np.datetime64(start, "D")
    dates = d0 + np.arange(days)
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8)
    cumw = {}
    for kind in _MONTH_W:
        cw = np.zeros(days + 1)
        np.cumsum(_day_weights(kind, dates), out=cw[1:])
        cumw[kind] = cw

    def seasons(kind: str, first: tuple[int, int], last: tuple[int, int]) -> tuple:
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

    return _Calendar(start, days, month, cumw, seasons("winter", (11, 1), (5, 1)),
                     seasons("summer", (5, 1), (10, 1)))


def _sample_days(rng: np.random.Generator, cumw: np.ndarray, lo: np.ndarray, hi: np.ndarray):
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


# --------------------------------------------------------------------------------- the events
class _Events:
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


def _choice(rng: np.random.Generator, n: int, names: dict[str, float]) -> np.ndarray:
    """``n`` category codes drawn with the given weights."""
    codes = np.asarray([_CAT_INDEX[k] for k in names], dtype=np.int16)
    p = np.asarray(list(names.values()), dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return codes[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), codes.size - 1)]


def _window_events(rng, ev, cal, cust, lo, hi, rate_per_year, kind, cats: dict[str, float]):
    """Poisson(rate x active years) events per customer, days drawn with the ``kind`` weights."""
    n = rng.poisson(rate_per_year * np.maximum(hi - lo, 0) / 365.25)
    c = np.repeat(cust, n)
    day, ok = _sample_days(rng, cal.cumw[kind], np.repeat(lo, n), np.repeat(hi, n))
    ev.add(c[ok], day, _choice(rng, int(ok.sum()), cats))


def _once(rng, ev, cal, cust, lo, hi, p, kind, cats: dict[str, float]):
    """With probability ``p``, one event per customer in its window."""
    take = rng.random(cust.size) < p
    day, ok = _sample_days(rng, cal.cumw[kind], lo[take], hi[take])
    ev.add(cust[take][ok], day, _choice(rng, int(ok.sum()), cats))


def _seasonal(rng, ev, cal, cust, lo, hi, p, kind, cats: dict[str, float]):
    """For each season of ``kind`` (winter / summer): an event with probability ``p`` x the share
    of the season inside the customer's window."""
    cw = cal.cumw[kind]
    for s_lo, s_hi, full in cal.winters if kind == "winter" else cal.summers:
        a, b = np.maximum(lo, s_lo), np.minimum(hi, s_hi)
        share = np.where(b > a, (cw[np.clip(b, 0, cal.days)] - cw[np.clip(a, 0, cal.days)]) / full, 0.0)
        take = rng.random(cust.size) < p * share
        day, ok = _sample_days(rng, cw, a[take], b[take])
        ev.add(cust[take][ok], day, _choice(rng, int(ok.sum()), cats))


def _renewal(rng, ev, cust, first, hi, interval, jitter, cat: str):
    """Repeated purchases from ``first`` every ``interval`` days (per customer, jittered)."""
    code = _CAT_INDEX[cat]
    t, idx, h, iv = first.astype(np.float64), cust, hi, interval
    while idx.size:
        alive = t < h
        t, idx, h, iv = t[alive], idx[alive], h[alive], iv[alive]
        ev.add(idx, np.floor(t).astype(np.int64), code)
        step = iv * (1.0 + jitter * np.clip(rng.standard_normal(idx.size), -2.5, 2.5))
        t = t + np.maximum(step, 0.3 * iv)


def _first_time(rng, lo, early, spread):
    """Time of a first purchase: right after joining, or any time for customers from before."""
    return np.where(early, rng.random(lo.size) * spread, lo + rng.random(lo.size) * 30.0)


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
_DURABLE = ("adult_bike", "tent", "ski", "ski_boots", "running_watch", "dumbbells")


@dataclass(frozen=True)
class _Bundle:
    src: str
    companions: tuple[tuple[str, float], ...]
    p_same: float  # share of source purchases whose companions are in the same order
    max_delay: int = 14  # otherwise in one follow-up order 1..max_delay days later


_BUNDLES: tuple[_Bundle, ...] = (
    _Bundle("adult_bike", (("helmet", 0.9), ("pump", 0.85), ("lock", 0.85), ("bike_light", 0.3)), 0.78),
    _Bundle("child_bike", (("child_helmet", 0.8),), 0.85),
    _Bundle("running_shoes", (("running_socks", 0.3), ("running_apparel", 0.25)), 1.0),
    _Bundle("ski", (("ski_goggles", 0.5), ("ski_gloves", 0.2)), 1.0),
    _Bundle("tent", (("backpack", 0.35),), 0.7),
    _Bundle("hiking_boots", (("hiking_poles", 0.15), ("hiking_apparel", 0.15)), 1.0),
    _Bundle("swimsuit", (("swim_goggles", 0.35), ("swim_cap", 0.25)), 1.0),
    _Bundle("yoga_mat", (("resistance_band", 0.2),), 1.0),
    _Bundle("dumbbells", (("protein", 0.15),), 1.0),
)
# Small extra lines added to 12 % of orders.
_IMPULSE = {"running_socks": 0.2, "energy_gel": 0.15, "protein": 0.1, "fitness_apparel": 0.15,
            "resistance_band": 0.1, "swim_cap": 0.1, "running_apparel": 0.1, "hiking_apparel": 0.1}
_HOUR_W = np.asarray([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 1.0, 1.6, 2.2, 2.6,
                      2.8, 2.4, 2.2, 2.4, 2.8, 3.2, 3.4, 3.0, 2.4, 1.8, 1.2, 0.6])


# ------------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class ShopTables:
    """The tables of the synthetic sports shop.

    Attributes
    ----------
    interactions : polars.DataFrame
        One row per order line: ``order_id`` (i64, increasing with time), ``customer_id`` (str),
        ``item_id`` (str), ``timestamp`` (``Datetime("us")``), ``quantity`` (i64 >= 1), ``price``
        (f64, unit price paid). Sorted by timestamp, order_id, item_id; no duplicate
        (order_id, item_id).
    catalog : polars.DataFrame
        The fixed catalogue (same for every size and seed): ``item_id``, ``name``, ``sport``,
        ``category``, ``brand``, ``price``, ``stock``, ``age_group``, ``consumable``,
        ``eco_label``, ``description``.
    customers : polars.DataFrame
        One row per customer: ``customer_id`` (``"C000001"``...; 7 digits from a million
        customers on), ``declared_sports`` (comma-separated in :data:`SPORTS` order, null when
        not declared, ~40 %), ``level`` (beginner / intermediate / expert, null when not
        declared), ``consent_personalization`` (~85 % true), ``consent_email``.
    profiles : polars.DataFrame
        Hidden truth for tests and evaluation, never for models: ``customer_id``, ``profile``
        (one of :data:`PROFILES`) and ``n_children`` (i64, 0 except for parents).
    """

    interactions: pl.DataFrame
    catalog: pl.DataFrame
    customers: pl.DataFrame
    profiles: pl.DataFrame


def _check_params(n_customers, seed, start, days) -> _dt.date:
    def is_int(v) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)

    if not is_int(n_customers) or n_customers < 1:
        raise ConfigError(_hint(f"n_customers must be an int >= 1. Got {n_customers!r}.",
                                "pass the number of customers to simulate, e.g. n_customers=5000."))
    if not is_int(seed) or seed < 0:
        raise ConfigError(_hint(f"seed must be an int >= 0. Got {seed!r}.",
                                "any non-negative integer works; the same seed gives the same data."))
    if not is_int(days) or days < 1:
        raise ConfigError(_hint(f"days must be an int >= 1. Got {days!r}.",
                                "pass the length of the sales history in days, e.g. days=730."))
    if isinstance(start, _dt.datetime):
        start = start.date()
    if not isinstance(start, _dt.date):
        raise ConfigError(_hint(f"start must be a datetime.date. Got {start!r}.",
                                "e.g. start=datetime.date(2024, 1, 1)."))
    return start


def sports_shop_tables(
    n_customers: int = 5000,
    *,
    seed: int = 0,
    start: _dt.date = _dt.date(2024, 1, 1),
    days: int = 730,
) -> ShopTables:
    """Generate the synthetic sports shop: order lines, catalogue, customers and hidden profiles.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers (all listed in ``customers``; about 13 % buy nothing in the
        window). 5,000 customers give about 43,000 order lines over two years; a million
        give about 8.4 million in under 10 seconds.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``: the same arguments always give identical tables.
        The catalogue does not depend on it.
    start : datetime.date, default 2024-01-01
        First day of the sales history.
    days : int, default 730
        Length of the history: timestamps lie in ``[start, start + days)``.

    Returns
    -------
    ShopTables
        ``interactions``, ``catalog``, ``customers`` and the hidden ``profiles``.

    Raises
    ------
    ConfigError
        If ``n_customers`` or ``days`` is not an int >= 1, ``seed`` not an int >= 0 or ``start``
        not a date.

    See Also
    --------
    sports_shop : the same data as a :class:`recokit.data.Dataset`.

    Examples
    --------
    >>> from recokit.datasets import sports_shop_tables
    >>> t = sports_shop_tables(300, seed=1)
    >>> t.catalog.height, t.customers.height
    (503, 300)
    >>> t.interactions.columns
    ['order_id', 'customer_id', 'item_id', 'timestamp', 'quantity', 'price']
    >>> t.interactions.equals(sports_shop_tables(300, seed=1).interactions)
    True
    """
    start = _check_params(n_customers, seed, start, days)
    n, d_total = int(n_customers), int(days)
    cat = _catalog()
    cal = _calendar(start, d_total)
    rng = np.random.default_rng(int(seed))

    # ---- customers: hidden profile, active window, taste, children, declared data
    prof = np.searchsorted(np.cumsum(_PROFILE_P)[:-1], rng.random(n), side="right").astype(np.int64)
    a_raw = rng.uniform(-0.7, 0.85, n) * d_total  # joining day (< 0: a customer from before)
    life = rng.exponential(2.0 * 730.0, n)
    early = a_raw < 0
    lo = np.clip(np.floor(a_raw), 0, d_total).astype(np.int64)
    hi = np.clip(np.floor(a_raw + life), 0, d_total).astype(np.int64)
    level_p = np.asarray([[0.2, 0.5, 0.3], [0.15, 0.45, 0.4], [0.6, 0.35, 0.05], [0.45, 0.45, 0.1],
                          [0.3, 0.5, 0.2]])[prof]
    level = (rng.random(n)[:, None] > np.cumsum(level_p, axis=1)[:, :2]).sum(axis=1)
    taste = (rng.random(n) < np.asarray([0.1, 0.3, 0.7])[level]).astype(np.int64)
    n_children = np.where(prof == 3, 1 + (rng.random(n) < 0.4), 0).astype(np.int64)
    # multi-sport customers: 2-3 sports, weighted draw without replacement
    sport_w = np.asarray([0.25, 0.2, 0.2, 0.1, 0.15, 0.1])
    keys = rng.exponential(size=(n, len(SPORTS))) / sport_w
    order3 = np.argsort(keys, axis=1, kind="stable")[:, :3]
    k_sports = 2 + (rng.random(n) < 0.4)

    ev = _Events()
    ids = np.arange(n, dtype=np.int64)

    # ---- regular runners
    m = prof == 0
    c, l_, h_, e_ = ids[m], lo[m], hi[m], early[m]
    interval = rng.uniform(185.0, 235.0, c.size)
    _renewal(rng, ev, c, _first_time(rng, l_, e_, interval), h_, interval, 0.05, "running_shoes")
    gel = rng.random(c.size) < 0.8
    interval = rng.uniform(30.0, 90.0, gel.sum())
    _renewal(rng, ev, c[gel], _first_time(rng, l_[gel], e_[gel], interval), h_[gel], interval, 0.15,
             "energy_gel")
    _window_events(rng, ev, cal, c, l_, h_, 2.5, "any", {"running_apparel": 1.0})
    _window_events(rng, ev, cal, c, l_, h_, 0.7, "any", {"running_socks": 1.0})
    _once(rng, ev, cal, c, l_, h_, 0.15, "any", {"running_watch": 1.0})
    prot = rng.random(c.size) < 0.2
    interval = rng.uniform(40.0, 90.0, prot.sum())
    _renewal(rng, ev, c[prot], _first_time(rng, l_[prot], e_[prot], interval), h_[prot], interval, 0.15,
             "protein")
    _window_events(rng, ev, cal, c, l_, h_, 0.6, "newyear", _SPORT_MIX["fitness"])
    _window_events(rng, ev, cal, c, l_, h_, 0.3, "summer", _SPORT_MIX["swimming"])

    # ---- keen cyclists
    m = prof == 1
    c, l_, h_, e_ = ids[m], lo[m], hi[m], early[m]
    buy = rng.random(c.size) < np.where(e_, 0.55, 0.75)
    bike_hi = np.where(e_, h_, np.minimum(h_, l_ + 240))  # new customers come for a bike first
    day, ok = _sample_days(rng, cal.cumw["spring"], l_[buy], bike_hi[buy])
    ev.add(c[buy][ok], day, _CAT_INDEX["adult_bike"])
    bike_cust, bike_day = c[buy][ok], day
    tube = rng.random(c.size) < 0.8
    interval = rng.uniform(45.0, 110.0, tube.sum())
    _renewal(rng, ev, c[tube], _first_time(rng, l_[tube], e_[tube], interval) + 10.0, h_[tube], interval,
             0.2, "inner_tube")
    _window_events(rng, ev, cal, c, l_, h_, 2.0, "spring", {"cycling_apparel": 1.0})
    _once(rng, ev, cal, c, l_, h_, 0.35, "any", {"bike_light": 1.0})
    _window_events(rng, ev, cal, c, l_, h_, 0.12, "any", {"helmet": 0.6, "lock": 0.2, "pump": 0.2})
    _window_events(rng, ev, cal, c, l_, h_, 1.0, "any", {"energy_gel": 0.6, "protein": 0.4})

    # ---- seasonal occasional
    m = prof == 2
    c, l_, h_ = ids[m], lo[m], hi[m]
    _seasonal(rng, ev, cal, c, l_, h_, 0.55, "winter", _SPORT_MIX["ski"])
    _seasonal(rng, ev, cal, c, l_, h_, 0.5, "summer", _SPORT_MIX["hiking"])
    _seasonal(rng, ev, cal, c, l_, h_, 0.3, "summer", _SPORT_MIX["swimming"])
    _window_events(rng, ev, cal, c, l_, h_, 0.4, "any",
                   {"running_apparel": 0.3, "fitness_apparel": 0.4, "yoga_mat": 0.3})

    # ---- parents: one child bike per child at most, two children's bikes >= 120 days apart
    m = prof == 3
    c, l_, h_, kids = ids[m], lo[m], hi[m], n_children[m]
    t1, ok1 = _sample_days(rng, cal.cumw["any"], l_, h_)
    c1, k1, h1 = c[ok1], kids[ok1], h_[ok1]
    first_bike = rng.random(c1.size) < 0.85
    ev.add(c1[first_bike], t1[first_bike], _CAT_INDEX["child_bike"])
    t2 = t1 + rng.integers(120, 541, c1.size)
    second = (k1 == 2) & (rng.random(c1.size) < 0.85) & (t2 < h1)
    ev.add(c1[second], t2[second], _CAT_INDEX["child_bike"])
    _window_events(rng, ev, cal, c, l_, h_, 0.1, "any", {"child_helmet": 1.0})
    _seasonal(rng, ev, cal, c, l_, h_, 0.5, "summer", {"child_swimsuit": 1.0})
    _seasonal(rng, ev, cal, c, l_, h_, 0.35, "summer", {"child_hiking_shoes": 1.0})
    _window_events(rng, ev, cal, c, l_, h_, 1.5, "any",
                   {"running_apparel": 0.2, "fitness_apparel": 0.2, "hiking_apparel": 0.2, "swimsuit": 0.15,
                    "yoga_mat": 0.1, "backpack": 0.15})

    # ---- multi-sport: Poisson purchases over their 2-3 sports, each with its season
    m = prof == 4
    c, l_, h_ = ids[m], lo[m], hi[m]
    cnt = rng.poisson(5.0 * np.maximum(h_ - l_, 0) / 365.25)
    rc = np.repeat(c, cnt)
    pick = np.floor(rng.random(rc.size) * k_sports[rc]).astype(np.int64)
    sport = order3[rc, pick]
    for si, s in enumerate(SPORTS):
        sel = sport == si
        day, ok = _sample_days(rng, cal.cumw[_SPORT_SEASON[s]], lo[rc[sel]], hi[rc[sel]])
        ev.add(rc[sel][ok], day, _choice(rng, int(ok.sum()), _SPORT_MIX[s]))
    fit = SPORTS.index("fitness")
    has_fit = (order3[m, 0] == fit) | (order3[m, 1] == fit) | ((k_sports[m] == 3) & (order3[m, 2] == fit))
    prot = has_fit & (rng.random(c.size) < 0.5)
    interval = rng.uniform(35.0, 90.0, prot.sum())
    _renewal(rng, ev, c[prot], _first_time(rng, l_[prot], early[m][prot], interval), h_[prot], interval, 0.15,
             "protein")

    # ---- durable items: at most once per customer, then a rare second adult bike
    e_cust, e_day, e_cat = ev.arrays()
    del ev
    d_idx = np.flatnonzero(np.isin(e_cat, [_CAT_INDEX[k] for k in _DURABLE]))
    o = np.lexsort((e_day[d_idx], e_cat[d_idx], e_cust[d_idx]))
    d_sorted = d_idx[o]
    dup = np.zeros(d_sorted.size, dtype=bool)
    dup[1:] = (e_cust[d_sorted[1:]] == e_cust[d_sorted[:-1]]) & (e_cat[d_sorted[1:]] == e_cat[d_sorted[:-1]])
    keep = np.ones(e_cust.size, dtype=bool)
    keep[d_sorted[dup]] = False
    again = rng.random(bike_cust.size) < 0.03
    t_again = bike_day + rng.integers(300, 701, bike_cust.size)
    again &= t_again < hi[bike_cust]
    e_cust = np.concatenate([e_cust[keep], bike_cust[again].astype(np.int32)])
    e_day = np.concatenate([e_day[keep], t_again[again].astype(np.int32)])
    e_cat = np.concatenate([e_cat[keep], np.full(int(again.sum()), _CAT_INDEX["adult_bike"], dtype=np.int16)])
    del keep, d_idx, d_sorted, dup

    # ---- orders: one per primary event, plus follow-up orders of delayed bundles
    n_ev = e_cust.size
    o_cust, o_day = [e_cust], [e_day]
    l_order, l_cat = [np.arange(n_ev, dtype=np.int64)], [e_cat]
    next_order = n_ev
    for b in _BUNDLES:
        src = np.flatnonzero(e_cat == _CAT_INDEX[b.src])
        buys = rng.random((src.size, len(b.companions))) < np.asarray([p for _, p in b.companions])
        same = rng.random(src.size) < b.p_same
        late = ~same & buys.any(axis=1)
        n_late = int(late.sum())
        late_id = np.full(src.size, -1, dtype=np.int64)
        late_id[late] = next_order + np.arange(n_late)
        next_order += n_late
        o_cust.append(e_cust[src[late]])
        o_day.append(e_day[src[late]] + rng.integers(1, b.max_delay + 1, n_late, dtype=np.int32))
        for j, (comp, _) in enumerate(b.companions):
            in_same, in_late = buys[:, j] & same, buys[:, j] & ~same
            l_order += [src[in_same], late_id[in_late]]
            l_cat.append(np.full(int(in_same.sum() + in_late.sum()), _CAT_INDEX[comp], dtype=np.int16))
    extra = np.flatnonzero(rng.random(n_ev) < 0.12)
    l_order.append(extra)
    l_cat.append(_choice(rng, extra.size, _IMPULSE))
    o_cust_a, o_day_a = np.concatenate(o_cust), np.concatenate(o_day).astype(np.int64)
    l_order_a = np.concatenate(l_order).astype(np.int32 if next_order < 2**31 else np.int64)
    l_cat_a = np.concatenate(l_cat)
    del o_cust, o_day, l_order, l_cat, e_cust, e_day, e_cat

    # time of day; order ids increase with the timestamp (ties: by creation, deterministic)
    hour_cum = np.cumsum(_HOUR_W / _HOUR_W.sum())
    n_orders = o_cust_a.size
    hour = np.minimum(np.searchsorted(hour_cum, rng.random(n_orders), side="right"), 23)
    o_sec = o_day_a * 86_400 + hour * 3600 + rng.integers(0, 3600, n_orders)
    del hour
    valid = o_day_a < d_total  # follow-up orders may fall after the end
    end_sec = np.where(valid, o_sec, d_total * 86_400)
    if (d_total * 86_400 + 1) * max(n_orders, 1) < 2**62:
        rank = np.argsort(end_sec * n_orders + np.arange(n_orders))  # one int64 key: fast
    else:  # pragma: no cover - only for astronomically long histories
        rank = np.lexsort((np.arange(n_orders), end_sec))
    rank = rank[: int(valid.sum())]
    del end_sec, valid, o_day_a
    order_id = np.zeros(n_orders, dtype=np.int64)
    order_id[rank] = np.arange(1, rank.size + 1)
    del rank

    # ---- order lines: items, then one sort by (order id, item id) = (timestamp, order, item)
    l_oid = order_id[l_order_a]
    keep = l_oid > 0
    l_oid, l_cat_a, l_order_a = l_oid[keep], l_cat_a[keep], l_order_a[keep]
    del keep, order_id
    l_cust = o_cust_a[l_order_a]
    item = _pick_items(rng, l_cat_a, taste[l_cust], cat)
    n_items = cat.cat.size
    key = l_oid * n_items + item
    del l_oid, item
    o = np.argsort(key)
    key = key[o]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]  # an item drawn twice for the same order: keep one line
    o, key = o[first], key[first]
    del first
    l_oid = key // n_items
    item = key - l_oid * n_items
    del key
    l_cat_a, l_cust, l_order_a = l_cat_a[o], l_cust[o], l_order_a[o]
    del o
    l_sec = o_sec[l_order_a]
    del l_order_a, o_sec, o_cust_a

    # quantities and prices paid (sales in January and July)
    qty = np.ones(l_cat_a.size, dtype=np.int64)
    multi_q = np.flatnonzero(np.asarray([c.qty[1] > 1 for c in _CATS])[l_cat_a])
    qc = l_cat_a[multi_q]
    qty[multi_q] = np.minimum(rng.geometric(np.asarray([c.qty[0] for c in _CATS])[qc]),
                              np.asarray([c.qty[1] for c in _CATS])[qc])
    suit = np.flatnonzero(l_cat_a == _CAT_INDEX["child_swimsuit"])
    qty[suit] = np.minimum(1 + (rng.random(suit.size) < 0.5), n_children[l_cust[suit]])
    del multi_q, qc, suit, l_cat_a
    month = cal.month[l_sec // 86_400]
    p_sale = np.where((month == 1) | (month == 7), 0.3, 0.08)
    del month
    disc = (rng.random(p_sale.size) < p_sale) * (0.1 * rng.integers(1, 4, p_sale.size))
    del p_sale
    paid = np.round(cat.price[item] * (1.0 - disc), 2)
    del disc

    width = max(6, len(str(n)))
    cust_ids = pl.select(
        pl.concat_str(pl.lit("C"), pl.int_range(1, n + 1, dtype=pl.Int64).cast(pl.Utf8).str.zfill(width))
    ).to_series()
    start_us = (np.datetime64(start, "D") - np.datetime64(0, "D")).astype(np.int64) * _DAY_US
    interactions = pl.DataFrame(
        {
            "order_id": pl.Series(l_oid, dtype=pl.Int64),
            "customer_id": cust_ids.gather(pl.Series(l_cust, dtype=pl.UInt32)),
            "item_id": cat.frame.get_column("item_id").gather(pl.Series(item, dtype=pl.UInt32)),
            "timestamp": pl.Series(start_us + l_sec * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us")),
            "quantity": pl.Series(qty, dtype=pl.Int64),
            "price": pl.Series(paid, dtype=pl.Float64),
        }
    )
    del l_oid, l_cust, item, l_sec, qty, paid

    # ---- customers and profiles
    bit = 1 << np.arange(len(SPORTS))
    r = rng.random((n, len(SPORTS)))
    mask_by_profile = (
        (prof == 0) * (bit[0] | (r[:, 5] < 0.3) * bit[5] | (r[:, 4] < 0.15) * bit[4])
        + (prof == 1) * (bit[1] | (r[:, 0] < 0.2) * bit[0])
        + (prof == 2) * ((r[:, 3] < 0.7) * bit[3] | (r[:, 2] < 0.8) * bit[2] | (r[:, 4] < 0.3) * bit[4])
        + (prof == 3) * ((r[:, 1] < 0.5) * bit[1] | (r[:, 4] < 0.4) * bit[4] | (r[:, 2] < 0.4) * bit[2])
    )
    multi = bit[order3[:, 0]] | bit[order3[:, 1]] | (k_sports == 3) * bit[order3[:, 2]]
    sport_mask = np.where(prof == 4, multi, mask_by_profile)
    sport_mask = np.where(sport_mask == 0, bit[2], sport_mask)
    declared = rng.random(n) < np.asarray([0.5, 0.5, 0.3, 0.35, 0.45])[prof]
    combos = [",".join(s for i, s in enumerate(SPORTS) if mask >> i & 1) for mask in range(64)] + [None]
    level_declared = declared & (rng.random(n) < 0.7)
    consent_p = rng.random(n) < 0.85
    consent_e = rng.random(n) < np.where(consent_p, 0.6, 0.2)
    customers = pl.DataFrame(
        {
            "customer_id": cust_ids,
            "declared_sports": pl.Series(combos, dtype=pl.Utf8).gather(np.where(declared, sport_mask, 64)),
            "level": pl.Series([*_LEVELS, None], dtype=pl.Utf8).gather(np.where(level_declared, level, 3)),
            "consent_personalization": pl.Series(consent_p, dtype=pl.Boolean),
            "consent_email": pl.Series(consent_e, dtype=pl.Boolean),
        }
    )
    profiles = pl.DataFrame(
        {
            "customer_id": cust_ids,
            "profile": pl.Series(PROFILES, dtype=pl.Utf8).gather(prof),
            "n_children": pl.Series(n_children, dtype=pl.Int64),
        }
    )
    return ShopTables(interactions, cat.frame.clone(), customers, profiles)


def sports_shop(
    n_customers: int = 5000,
    *,
    seed: int = 0,
    start: _dt.date = _dt.date(2024, 1, 1),
    days: int = 730,
) -> Dataset:
    """The synthetic sports shop as a :class:`recokit.data.Dataset`, ready for any model.

    Same parameters as :func:`sports_shop_tables`; the hidden ``profiles`` are left out (use
    :func:`sports_shop_tables` to evaluate against them).

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers.
    seed : int, default 0
        Random seed; the same arguments always give the same data.
    start : datetime.date, default 2024-01-01
        First day of the history.
    days : int, default 730
        Length of the history in days.

    Returns
    -------
    recokit.data.Dataset
        Order lines with ``time_col="timestamp"``, ``basket_col="order_id"`` and
        ``quantity_col="quantity"``, with the catalogue and the customers attached.

    Raises
    ------
    ConfigError
        On a bad parameter (see :func:`sports_shop_tables`).

    Examples
    --------
    >>> from recokit.datasets import sports_shop
    >>> ds = sports_shop(300, seed=1)
    >>> ds.n_items
    503
    """
    t = sports_shop_tables(n_customers, seed=seed, start=start, days=days)
    from recokit.data import Dataset

    return Dataset(
        t.interactions,
        catalog=t.catalog,
        customers=t.customers,
        time_col="timestamp",
        basket_col="order_id",
        quantity_col="quantity",
    )
