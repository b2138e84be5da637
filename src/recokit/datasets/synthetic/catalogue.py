"""The fixed catalogue of the synthetic sports shop: categories, products, brands, prices, stock.

The catalogue is drawn from its own seed, so it is the same for every size and seed of the shop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

__all__ = [
    "CATEGORIES",
    "CATEGORY_SPECS",
    "CAT_INDEX",
    "N_CATEGORIES",
    "SPORTS",
    "Catalog",
    "CategorySpec",
    "catalog",
    "pick_items",
]

#: The sports of the catalogue, in this order.
SPORTS: tuple[str, ...] = ("running", "cycling", "hiking", "ski", "swimming", "fitness")

_CATALOG_SEED = 20_240_101


@dataclass(frozen=True)
class CategorySpec:
    """One category of the catalogue: its items, price range, wording and purchase quantities."""

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


CATEGORY_SPECS: tuple[CategorySpec, ...] = (
    # running
    CategorySpec("running_shoes", "running", 40, (60, 180), ("Trail", "Road", "Cushioned", "Racing", "Lightweight"),
                 ("running shoes",), ("grippy lugged outsole", "responsive foam midsole", "breathable mesh upper",
                                      "carbon plate", "wide toe box", "reflective heel", "8 mm drop", "rock plate")),
    CategorySpec("running_apparel", "running", 35, (15, 90), ("Men's", "Women's", "Unisex"),
                 ("running t-shirt", "running tights", "running shorts", "windproof running jacket"),
                 ("sweat-wicking fabric", "flatlock seams", "zipped pocket", "reflective prints", "stretch knit",
                  "quick-dry polyester", "thumb loops")),
    CategorySpec("running_socks", "running", 12, (6, 18), ("Ankle", "Crew", "Compression"), ("running socks",),
                 ("anti-blister knit", "cushioned heel", "arch support", "merino blend", "seamless toe"),
                 qty=(0.6, 3)),
    CategorySpec("energy_gel", "running", 14, (2, 4), ("Citrus", "Berry", "Caffeine", "Salted caramel", "Neutral"),
                 ("energy gel",), ("fast carbohydrates", "electrolytes", "easy to digest", "30 g pouch",
                                   "race fuel", "sodium boost"), consumable=True, qty=(0.4, 10)),
    CategorySpec("running_watch", "running", 8, (90, 450), ("GPS", "Multisport", "Connected"), ("running watch",),
                 ("heart-rate sensor", "training plans", "long battery life", "route navigation", "pace alerts")),
    # cycling
    CategorySpec("adult_bike", "cycling", 30, (300, 2000), ("Road", "Mountain", "Gravel", "City", "Electric"),
                 ("bike",), ("aluminium frame", "hydraulic disc brakes", "carbon fork", "12-speed drivetrain",
                             "tubeless ready wheels", "front suspension", "integrated lights", "rack mounts")),
    CategorySpec("child_bike", "cycling", 14, (150, 400), ("Kids 16-inch", "Kids 20-inch", "Kids 24-inch", "Balance"),
                 ("bike",), ("stabilisers included", "chain guard", "light frame for children", "easy brake levers",
                             "bell and reflectors"), age_group="child"),
    CategorySpec("helmet", "cycling", 14, (25, 150), ("Road", "Mountain", "City", "Aero"), ("cycling helmet",),
                 ("in-mould shell", "adjustable dial fit", "ventilation channels", "MIPS protection", "rear light")),
    CategorySpec("child_helmet", "cycling", 8, (15, 45), ("Kids", "Toddler"), ("cycling helmet",),
                 ("colourful design for children", "pinch-free buckle", "adjustable dial fit", "safety visor"),
                 age_group="child"),
    CategorySpec("pump", "cycling", 8, (10, 60), ("Floor", "Mini", "CO2"), ("bike pump",),
                 ("pressure gauge", "presta and schrader head", "high-pressure 11 bar", "frame mount")),
    CategorySpec("lock", "cycling", 10, (15, 90), ("Shackle", "Folding", "Chain", "Cable"), ("bike lock",),
                 ("hardened steel", "key and spare keys", "frame bracket", "anti-theft rating", "combination code")),
    CategorySpec("bike_light", "cycling", 10, (10, 70), ("Front", "Rear", "Set of"), ("bike light",),
                 ("USB rechargeable", "400 lumens", "flash mode", "wide beam", "daylight visible")),
    CategorySpec("inner_tube", "cycling", 10, (4, 12), ("700x25", "700x32", "29-inch", "27.5-inch", "20-inch"),
                 ("inner tube",), ("presta valve", "butyl rubber", "puncture resistant", "lightweight latex",
                                   "schrader valve"), consumable=True, qty=(0.6, 4)),
    CategorySpec("cycling_apparel", "cycling", 20, (20, 140), ("Men's", "Women's", "Unisex"),
                 ("cycling jersey", "bib shorts", "cycling gloves", "cycling rain jacket"),
                 ("chamois pad", "full zip", "rear pockets", "aero fit", "padded palms")),
    # hiking
    CategorySpec("hiking_boots", "hiking", 22, (50, 220), ("Waterproof", "Mid", "Low", "Mountain"), ("hiking boots",),
                 ("waterproof membrane", "vibram sole", "ankle support", "leather upper", "toe bumper")),
    CategorySpec("backpack", "hiking", 20, (20, 180), ("20 L", "30 L", "45 L", "70 L"), ("hiking backpack",),
                 ("ventilated back panel", "rain cover", "hip belt pockets", "hydration sleeve", "trekking poles loop")),
    CategorySpec("tent", "hiking", 12, (60, 600), ("2-person", "3-person", "Family", "Ultralight"), ("camping tent",),
                 ("freestanding dome", "pitches in 2 minutes", "fresh and black bedroom", "waterproof flysheet",
                  "aluminium poles")),
    CategorySpec("hiking_poles", "hiking", 8, (20, 120), ("Telescopic", "Folding", "Carbon"), ("hiking poles",),
                 ("cork grips", "flick lock", "tungsten tips", "snow baskets")),
    CategorySpec("hiking_apparel", "hiking", 22, (15, 200), ("Men's", "Women's", "Unisex"),
                 ("fleece", "softshell jacket", "hiking trousers", "merino base layer"),
                 ("windproof", "zip-off legs", "merino wool", "warm fleece", "packable hood")),
    CategorySpec("child_hiking_shoes", "hiking", 8, (25, 60), ("Kids", "Kids waterproof"), ("hiking shoes",),
                 ("hook-and-loop straps", "grippy sole for children", "waterproof membrane", "light and flexible"),
                 age_group="child"),
    # ski
    CategorySpec("ski", "ski", 18, (200, 900), ("All-mountain", "Piste", "Freeride", "Touring"), ("skis",),
                 ("rocker profile", "wood core", "titanal layer", "bindings included", "carving sidecut")),
    CategorySpec("ski_boots", "ski", 14, (120, 600), ("Comfort", "Performance", "Touring"), ("ski boots",),
                 ("flex 100", "heat-mouldable liner", "walk mode", "four buckles", "wide last")),
    CategorySpec("ski_goggles", "ski", 12, (25, 200), ("Cylindrical", "Spherical", "Photochromic"), ("ski goggles",),
                 ("anti-fog lens", "category 3 filter", "helmet compatible", "interchangeable lens", "wide field of view")),
    CategorySpec("ski_jacket", "ski", 16, (60, 400), ("Men's", "Women's", "Unisex"), ("ski jacket",),
                 ("10k waterproof", "snow skirt", "insulated padding", "ski pass pocket", "taped seams")),
    CategorySpec("ski_gloves", "ski", 10, (15, 90), ("Warm", "Leather", "Mitten"), ("ski gloves",),
                 ("waterproof insert", "touchscreen fingertips", "wrist leash", "thermal lining")),
    # swimming
    CategorySpec("swimsuit", "swimming", 18, (15, 90), ("Women's", "Men's", "Training", "Competition"), ("swimsuit",),
                 ("chlorine resistant", "quick dry", "racerback", "UV protection", "jammer cut")),
    CategorySpec("swim_goggles", "swimming", 12, (8, 45), ("Pool", "Open water", "Mirrored"), ("swim goggles",),
                 ("anti-fog coating", "soft silicone seal", "wide vision", "adjustable strap")),
    CategorySpec("swim_cap", "swimming", 8, (4, 15), ("Silicone", "Fabric", "Mesh"), ("swim cap",),
                 ("hair protection", "hydrodynamic", "one size"), consumable=True, qty=(0.8, 2)),
    CategorySpec("child_swimsuit", "swimming", 10, (10, 30), ("Girls'", "Boys'"), ("swimsuit",),
                 ("fun prints for children", "chlorine resistant", "UV protection", "swim nappy layer"),
                 age_group="child"),
    # fitness
    CategorySpec("yoga_mat", "fitness", 12, (15, 90), ("Comfort", "Grip", "Travel", "Cork"), ("yoga mat",),
                 ("8 mm cushioning", "non-slip surface", "carrying strap", "natural rubber")),
    CategorySpec("dumbbells", "fitness", 10, (20, 250), ("Adjustable", "Hex", "Vinyl"), ("dumbbells",),
                 ("quick weight change", "knurled handle", "cast iron", "storage rack")),
    CategorySpec("protein", "fitness", 14, (20, 60), ("Whey", "Vegan", "Chocolate", "Vanilla"), ("protein powder",),
                 ("25 g protein per serving", "muscle recovery", "low sugar", "1 kg tub", "gluten free"),
                 consumable=True, qty=(0.8, 3)),
    CategorySpec("fitness_apparel", "fitness", 16, (12, 70), ("Men's", "Women's", "Unisex"),
                 ("training t-shirt", "leggings", "sports bra", "gym shorts"),
                 ("stretch fabric", "moisture wicking", "seamless knit", "high support")),
    CategorySpec("resistance_band", "fitness", 8, (8, 35), ("Light", "Medium", "Heavy", "Set of"), ("resistance band",),
                 ("latex free", "door anchor", "exercise guide", "three tension levels")),
)

#: The catalogue's categories, in the order of their item ids.
CATEGORIES: tuple[str, ...] = tuple(c.name for c in CATEGORY_SPECS)
CAT_INDEX = {c.name: i for i, c in enumerate(CATEGORY_SPECS)}
N_CATEGORIES = len(CATEGORY_SPECS)

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
class Catalog:
    """The catalogue table and the arrays the generator draws items from."""

    frame: pl.DataFrame
    cat: np.ndarray  # category code per item (items are grouped by category, in CATEGORY_SPECS order)
    start: np.ndarray  # first item index of each category
    end: np.ndarray  # one past the last item index of each category
    last: np.ndarray  # end - 1, as int32
    price: np.ndarray
    pick_cum: np.ndarray  # (2 * n_items,): per taste (0 standard, 1 premium), tier*ncat + cat + cum share


_ROW_KEYS = ("name", "sport", "category", "brand", "price", "age_group", "consumable", "description")


def _draw_item(rng: np.random.Generator, c: CategorySpec, seen: dict[tuple[str, str, str], int]) -> tuple[dict, int]:
    """One product of category ``c``: its catalogue row and its brand tier."""
    brands = _BRANDS[c.sport]
    brand, tier = brands[int(rng.integers(len(brands)))]
    variant = c.variants[int(rng.integers(len(c.variants)))]
    noun = c.nouns[int(rng.integers(len(c.nouns)))]
    key = (variant, noun, brand)
    seen[key] = seen.get(key, 0) + 1
    code = "".join(ch for ch in variant if ch.isalnum())[:2].upper()
    lo, hi = c.price
    raw = math.exp(rng.uniform(math.log(lo), math.log(hi))) * _TIER_PRICE[tier]
    feats = rng.choice(len(c.features), size=min(3, len(c.features)), replace=False)
    f = [c.features[int(k)] for k in feats]
    who = "for kids" if c.age_group == "child" else "for adults"
    row = {
        "name": f"{variant} {noun} {brand} {code}{seen[key]}",
        "sport": c.sport,
        "category": c.name,
        "brand": brand,
        "price": _round_price(min(max(raw, lo), hi), lo, hi),
        "age_group": c.age_group,
        "consumable": c.consumable,
        "description": (f"{variant} {noun} by {brand} {who}, made for {_SPORT_CONTEXT[c.sport]}: "
                        f"{f[0]}, {f[1]} and {f[2]}; {_BRAND_TAGLINE[brand]}."),
    }
    return row, tier


def _draw_items(rng: np.random.Generator) -> tuple[dict[str, list], list[int], list[float]]:
    """Every product's row (by column), category code and popularity weight."""
    rows: dict[str, list] = {k: [] for k in _ROW_KEYS}
    cat_codes: list[int] = []
    pop: list[float] = []
    seen: dict[tuple[str, str, str], int] = {}
    for ci, c in enumerate(CATEGORY_SPECS):
        ranks = rng.permutation(c.n_items) + 1
        for j in range(c.n_items):
            row, tier = _draw_item(rng, c, seen)
            for k in _ROW_KEYS:
                rows[k].append(row[k])
            cat_codes.append(ci)
            pop.append(_TIER_POP[tier] / float(ranks[j]) ** 1.1)
    return rows, cat_codes, pop


def _catalog_frame(rng: np.random.Generator, rows: dict[str, list]) -> pl.DataFrame:
    """The catalogue table: the drawn rows plus stock (8 % out of stock) and eco labels."""
    n = len(rows["name"])
    stock = np.minimum(1 + rng.geometric(1 / 40, size=n), 500).astype(np.int64)
    stock[rng.choice(n, size=round(0.08 * n), replace=False)] = 0
    eco = rng.random(n) < 0.2
    descriptions = [d[:-1] + ", eco-designed with recycled materials." if e else d
                    for d, e in zip(rows["description"], eco.tolist(), strict=True)]
    return pl.DataFrame(
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


def _pick_cum(start: np.ndarray, end: np.ndarray, price: np.ndarray, pop: np.ndarray) -> np.ndarray:
    """Cumulative pick shares per taste: ``taste * N_CATEGORIES + category + share within it``."""
    cums = []
    for taste in (0, 1):
        w = pop.copy()
        if taste == 1:  # premium taste: tilt towards the expensive items of each category
            for ci in range(N_CATEGORIES):
                s, e = start[ci], end[ci]
                w[s:e] *= (price[s:e] / np.median(price[s:e])) ** 1.5
        cum = np.empty(pop.size)
        for ci in range(N_CATEGORIES):
            s, e = start[ci], end[ci]
            share = np.cumsum(w[s:e]) / w[s:e].sum()
            share[-1] = 1.0
            cum[s:e] = taste * N_CATEGORIES + ci + share
        cums.append(cum)
    return np.concatenate(cums)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The fixed catalogue, drawn once from its own seed (read-only arrays)."""
    rng = np.random.default_rng(_CATALOG_SEED)
    rows, cat_codes, pop = _draw_items(rng)
    frame = _catalog_frame(rng, rows)
    cat = np.asarray(cat_codes, dtype=np.int64)
    price_arr = np.asarray(rows["price"], dtype=np.float64)
    start = np.searchsorted(cat, np.arange(N_CATEGORIES), side="left")
    end = np.searchsorted(cat, np.arange(N_CATEGORIES), side="right")
    pick_cum = _pick_cum(start, end, price_arr, np.asarray(pop, dtype=np.float64))
    last = (end - 1).astype(np.int32)
    for a in (cat, start, end, last, price_arr, pick_cum):
        a.setflags(write=False)
    return Catalog(frame, cat, start, end, last, price_arr, pick_cum)


def pick_items(rng: np.random.Generator, cat: np.ndarray, taste: np.ndarray, c: Catalog) -> np.ndarray:
    """One item per line of category ``cat``, Zipf-like popularity, by customer taste (0/1)."""
    u = rng.random(cat.size)
    u += cat
    u += taste * N_CATEGORIES
    idx = np.searchsorted(c.pick_cum, u, side="right")
    del u
    idx %= c.cat.size
    # guard against u rounding up to the next group's first boundary
    np.minimum(idx, c.last[cat], out=idx)
    return idx
