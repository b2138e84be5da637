"""Orders and order lines of the synthetic sports shop: durables bought once, bundles, impulse
lines, order times and ids, items, quantities and prices paid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from recokit.datasets.synthetic.calendar import Calendar
from recokit.datasets.synthetic.catalogue import CAT_INDEX, CATEGORY_SPECS, Catalog, pick_items
from recokit.datasets.synthetic.events import Events, choice
from recokit.datasets.synthetic.profiles import Customers

__all__ = ["interactions_table"]

_DAY_US = 86_400 * 1_000_000
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


def _durables_once(rng: np.random.Generator, ev: Events, bike_cust: np.ndarray, bike_day: np.ndarray,
                   hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The events with durable items kept at most once per customer, then a rare second adult bike."""
    e_cust, e_day, e_cat = ev.drain()
    d_idx = np.flatnonzero(np.isin(e_cat, [CAT_INDEX[k] for k in _DURABLE]))
    o = np.lexsort((e_day[d_idx], e_cat[d_idx], e_cust[d_idx]))
    d_sorted = d_idx[o]
    dup = np.zeros(d_sorted.size, dtype=bool)
    dup[1:] = (e_cust[d_sorted[1:]] == e_cust[d_sorted[:-1]]) & (e_cat[d_sorted[1:]] == e_cat[d_sorted[:-1]])
    keep = np.ones(e_cust.size, dtype=bool)
    keep[d_sorted[dup]] = False
    del d_idx, d_sorted, dup
    again = rng.random(bike_cust.size) < 0.03
    t_again = bike_day + rng.integers(300, 701, bike_cust.size)
    again &= t_again < hi[bike_cust]
    e_cust = np.concatenate([e_cust[keep], bike_cust[again].astype(np.int32)])
    e_day = np.concatenate([e_day[keep], t_again[again].astype(np.int32)])
    e_cat = np.concatenate([e_cat[keep], np.full(int(again.sum()), CAT_INDEX["adult_bike"], dtype=np.int16)])
    return e_cust, e_day, e_cat


@dataclass
class _OrderParts:
    """Orders (customer, day) and lines (order index, category) as lists of chunks."""

    o_cust: list[np.ndarray]
    o_day: list[np.ndarray]
    l_order: list[np.ndarray]
    l_cat: list[np.ndarray]
    next_order: int


def _add_bundle(rng: np.random.Generator, b: _Bundle, parts: _OrderParts, e_cust: np.ndarray,
                e_day: np.ndarray, e_cat: np.ndarray) -> None:
    """The companions of bundle ``b``: in the source's order, or in one follow-up order."""
    src = np.flatnonzero(e_cat == CAT_INDEX[b.src])
    buys = rng.random((src.size, len(b.companions))) < np.asarray([p for _, p in b.companions])
    same = rng.random(src.size) < b.p_same
    late = ~same & buys.any(axis=1)
    n_late = int(late.sum())
    late_id = np.full(src.size, -1, dtype=np.int64)
    late_id[late] = parts.next_order + np.arange(n_late)
    parts.next_order += n_late
    parts.o_cust.append(e_cust[src[late]])
    parts.o_day.append(e_day[src[late]] + rng.integers(1, b.max_delay + 1, n_late, dtype=np.int32))
    for j, (comp, _) in enumerate(b.companions):
        in_same, in_late = buys[:, j] & same, buys[:, j] & ~same
        parts.l_order += [src[in_same], late_id[in_late]]
        parts.l_cat.append(np.full(int(in_same.sum() + in_late.sum()), CAT_INDEX[comp], dtype=np.int16))


def _orders(rng: np.random.Generator, e_cust: np.ndarray, e_day: np.ndarray,
            e_cat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One order per primary event, plus follow-up orders of delayed bundles, plus impulse lines.

    Returns the orders' customers and days and the lines' order indices and categories.
    """
    n_ev = e_cust.size
    parts = _OrderParts([e_cust], [e_day], [np.arange(n_ev, dtype=np.int64)], [e_cat], n_ev)
    for b in _BUNDLES:
        _add_bundle(rng, b, parts, e_cust, e_day, e_cat)
    extra = np.flatnonzero(rng.random(n_ev) < 0.12)
    parts.l_order.append(extra)
    parts.l_cat.append(choice(rng, extra.size, _IMPULSE))
    o_cust, o_day = np.concatenate(parts.o_cust), np.concatenate(parts.o_day).astype(np.int64)
    l_order = np.concatenate(parts.l_order).astype(np.int32 if parts.next_order < 2**31 else np.int64)
    return o_cust, o_day, l_order, np.concatenate(parts.l_cat)


def _order_times(rng: np.random.Generator, o_day: np.ndarray, d_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Each order's second offset and id; ids increase with the timestamp (ties: by creation).

    Orders after the end of the history (follow-ups) get id 0.
    """
    hour_cum = np.cumsum(_HOUR_W / _HOUR_W.sum())
    n_orders = o_day.size
    hour = np.minimum(np.searchsorted(hour_cum, rng.random(n_orders), side="right"), 23)
    o_sec = o_day * 86_400 + hour * 3600 + rng.integers(0, 3600, n_orders)
    del hour
    valid = o_day < d_total  # follow-up orders may fall after the end
    end_sec = np.where(valid, o_sec, d_total * 86_400)
    if (d_total * 86_400 + 1) * max(n_orders, 1) < 2**62:
        rank = np.argsort(end_sec * n_orders + np.arange(n_orders))  # one int64 key: fast
    else:  # pragma: no cover - only for astronomically long histories
        rank = np.lexsort((np.arange(n_orders), end_sec))
    rank = rank[: int(valid.sum())]
    del end_sec, valid
    order_id = np.zeros(n_orders, dtype=np.int64)
    order_id[rank] = np.arange(1, rank.size + 1)
    return order_id, o_sec


def _lines(rng: np.random.Generator, l_order: np.ndarray, l_cat: np.ndarray, order_id: np.ndarray,
           o_cust: np.ndarray, taste: np.ndarray,
           cat: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Items of the lines of valid orders, sorted by (order id, item id), one line per pair.

    Returns the lines' order ids, items, categories, customers and order indices.
    """
    l_oid = order_id[l_order]
    keep = l_oid > 0
    l_oid, l_cat, l_order = l_oid[keep], l_cat[keep], l_order[keep]
    del keep
    l_cust = o_cust[l_order]
    item = pick_items(rng, l_cat, taste[l_cust], cat)
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
    return l_oid, item, l_cat[o], l_cust[o], l_order[o]


def _quantities(rng: np.random.Generator, l_cat: np.ndarray, l_cust: np.ndarray,
                n_children: np.ndarray) -> np.ndarray:
    """Quantities: geometric for multi-quantity categories, one swimsuit per child at most."""
    qty = np.ones(l_cat.size, dtype=np.int64)
    multi_q = np.flatnonzero(np.asarray([c.qty[1] > 1 for c in CATEGORY_SPECS])[l_cat])
    qc = l_cat[multi_q]
    qty[multi_q] = np.minimum(rng.geometric(np.asarray([c.qty[0] for c in CATEGORY_SPECS])[qc]),
                              np.asarray([c.qty[1] for c in CATEGORY_SPECS])[qc])
    suit = np.flatnonzero(l_cat == CAT_INDEX["child_swimsuit"])
    qty[suit] = np.minimum(1 + (rng.random(suit.size) < 0.5), n_children[l_cust[suit]])
    return qty


def _prices_paid(rng: np.random.Generator, cal: Calendar, l_sec: np.ndarray, item: np.ndarray,
                 cat: Catalog) -> np.ndarray:
    """Unit prices paid: catalogue prices with 10-30 % sales, more often in January and July."""
    month = cal.month[l_sec // 86_400]
    p_sale = np.where((month == 1) | (month == 7), 0.3, 0.08)
    del month
    disc = (rng.random(p_sale.size) < p_sale) * (0.1 * rng.integers(1, 4, p_sale.size))
    del p_sale
    return np.round(cat.price[item] * (1.0 - disc), 2)


def interactions_table(rng: np.random.Generator, ev: Events, bike: tuple[np.ndarray, np.ndarray],
                       cust: Customers, cal: Calendar, cat: Catalog, ids: pl.Series) -> pl.DataFrame:
    """The order lines of the primary events ``ev`` (emptied on the way), sorted by time.

    ``bike`` holds the customers and days of the keen cyclists' adult bikes (for a rare second
    one); ``ids`` the customer ids by customer index.
    """
    e_cust, e_day, e_cat = _durables_once(rng, ev, bike[0], bike[1], cust.hi)
    o_cust, o_day, l_order, l_cat = _orders(rng, e_cust, e_day, e_cat)
    del e_cust, e_day, e_cat
    order_id, o_sec = _order_times(rng, o_day, cal.days)
    del o_day
    l_oid, item, l_cat, l_cust, l_order = _lines(rng, l_order, l_cat, order_id, o_cust, cust.taste, cat)
    del order_id, o_cust
    l_sec = o_sec[l_order]
    del l_order, o_sec
    qty = _quantities(rng, l_cat, l_cust, cust.n_children)
    del l_cat
    paid = _prices_paid(rng, cal, l_sec, item, cat)
    start_us = (np.datetime64(cal.start, "D") - np.datetime64(0, "D")).astype(np.int64) * _DAY_US
    return pl.DataFrame(
        {
            "order_id": pl.Series(l_oid, dtype=pl.Int64),
            "customer_id": ids.gather(pl.Series(l_cust, dtype=pl.UInt32)),
            "item_id": cat.frame.get_column("item_id").gather(pl.Series(item, dtype=pl.UInt32)),
            "timestamp": pl.Series(start_us + l_sec * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us")),
            "quantity": pl.Series(qty, dtype=pl.Int64),
            "price": pl.Series(paid, dtype=pl.Float64),
        }
    )
