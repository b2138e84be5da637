"""Web events of the synthetic sports shop (``sports_shop_tables(..., web_events=True)``):
product views, cart adds and planted abandoned carts.

Drawn from their own generator (``default_rng([seed, 7])``) after the orders, so the purchase
rows are exactly those of the shop without web events:

* **the visit of an order**: each order line was put in the cart 1-30 minutes before the order
  (probability 0.8) and viewed 1-60 minutes before that (0.5); these rows carry the order's
  session, ``order_id = -order_id``;
* **browsing**: for 30 % of the order lines, a session 3-40 days earlier viewing the item and
  1-2 other products of its category;
* **planted abandonments**: ``abandon_rate`` (0.6) per customer and active year, a session that
  views and adds to the cart a product of a category the customer buys, with **no order of that
  customer from 48 h before to 48 h after** (draws that would fall near an order are dropped),
  listed in ``ShopTables.abandoned``.

So an add to cart not followed by an order of its item within 24 h is always a planted
abandonment, and every planted abandonment is one. Web-event sessions have negative
``order_id``\\ s (never an order); every row carries ``event`` (``purchase``, ``view``,
``add_to_cart``) and a null ``price`` except purchases.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recokit.datasets.synthetic.catalogue import Catalog

__all__ = ["ABANDON_RATE", "web_events"]

#: Planted abandoned carts per customer and active year.
ABANDON_RATE = 0.6
_MIN_US = 60 * 1_000_000
_HOUR_US = 60 * _MIN_US
_DAY_US = 24 * _HOUR_US


def _same_category(rng: np.random.Generator, item: np.ndarray, cat: Catalog) -> np.ndarray:
    """A random product of the category of each ``item`` (uniformly)."""
    code = cat.cat[item]
    lo, hi = cat.start[code], cat.end[code]
    return (lo + np.floor(rng.random(item.size) * (hi - lo))).astype(np.int64)


def _visits(rng: np.random.Generator, lines: pl.DataFrame) -> list[pl.DataFrame]:
    """Cart adds and views of the visit that placed each order."""
    n = lines.height
    ts = lines["ts"].to_numpy()
    add = rng.random(n) < 0.8
    add_ts = ts - rng.integers(1, 31, n) * _MIN_US
    view = rng.random(n) < 0.5
    view_ts = add_ts - rng.integers(1, 61, n) * _MIN_US
    session = -lines["order_id"].to_numpy()
    base = {"order_id": session, "customer_idx": lines["customer_idx"].to_numpy(), "item_idx": lines["item_idx"].to_numpy()}
    out = []
    for mask, when, kind in ((add, add_ts, "add_to_cart"), (view, view_ts, "view")):
        out.append(pl.DataFrame({k: v[mask] for k, v in base.items()} | {"ts": when[mask], "event": [kind] * int(mask.sum())}))
    return out


def _browsing(rng: np.random.Generator, lines: pl.DataFrame, cat: Catalog, first_session: int) -> tuple[pl.DataFrame, int]:
    """Sessions 3-40 days before 30 % of the order lines: the item and 1-2 others of its category."""
    pick = np.flatnonzero(rng.random(lines.height) < 0.3)
    ts = lines["ts"].to_numpy()[pick] - rng.integers(3, 41, pick.size) * _DAY_US - rng.integers(0, 12 * 60, pick.size) * _MIN_US
    cust, item = lines["customer_idx"].to_numpy()[pick], lines["item_idx"].to_numpy()[pick]
    session = first_session - np.arange(pick.size)
    extra = 1 + (rng.random(pick.size) < 0.5)
    rep = np.repeat(np.arange(pick.size), extra)
    others = _same_category(rng, item[rep], cat)
    step = rng.integers(1, 10, rep.size) * _MIN_US
    frame = pl.DataFrame(
        {
            "order_id": np.concatenate([session, session[rep]]),
            "customer_idx": np.concatenate([cust, cust[rep]]),
            "item_idx": np.concatenate([item, others]),
            "ts": np.concatenate([ts, ts[rep] + step]),
            "event": ["view"] * (pick.size + rep.size),
        }
    )
    return frame, first_session - pick.size


def _abandonments(rng: np.random.Generator, lines: pl.DataFrame, span_us: tuple[int, int], first_session: int) -> pl.DataFrame:
    """Planted abandoned carts: a view and an add of a product like one the customer bought,
    with no order of the customer within 48 h either side."""
    by_cust = lines.select("customer_idx", "item_idx", "ts").sort("customer_idx", "ts", "item_idx")
    per = by_cust.group_by("customer_idx", maintain_order=True).agg(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi"), pl.len().alias("n"))
    lo = np.maximum(per["lo"].to_numpy() - 60 * _DAY_US, span_us[0])
    hi = np.minimum(per["hi"].to_numpy() + 60 * _DAY_US, span_us[1] - 1)
    n = rng.poisson(ABANDON_RATE * np.maximum(hi - lo, 0) / (365.25 * _DAY_US))
    row = np.repeat(np.arange(per.height), n)
    ts = lo[row] + np.floor(rng.random(row.size) * (hi[row] - lo[row])).astype(np.int64)
    counts = per["n"].to_numpy().astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    like = by_cust["item_idx"].to_numpy()[starts[row] + np.floor(rng.random(row.size) * counts[row]).astype(np.int64)]
    cand = pl.DataFrame({"customer_idx": per["customer_idx"].to_numpy()[row], "ts": ts, "like": like}).with_row_index("k")
    orders = lines.select("customer_idx", pl.col("ts").alias("order_ts")).unique()
    near = cand.join(orders, on="customer_idx").filter((pl.col("order_ts") - pl.col("ts")).abs() <= 2 * _DAY_US)["k"].unique()
    return cand.filter(~pl.col("k").is_in(near.implode())).drop("k").with_columns(
        (first_session - pl.int_range(pl.len(), dtype=pl.Int64)).alias("order_id")
    )


def web_events(seed: int, interactions: pl.DataFrame, cat: Catalog, ids: pl.Series, span_us: tuple[int, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The interactions with an ``event`` column and the web events added, sorted by time, and
    the planted abandonments (``customer_id, item_id, timestamp``).

    ``span_us`` is the history ``[start, end)`` in microseconds since the epoch; events outside
    it are dropped.
    """
    rng = np.random.default_rng([int(seed), 7])
    item_pos = {v: i for i, v in enumerate(cat.frame["item_id"].to_list())}
    cust_pos = pl.DataFrame({"customer_id": ids, "customer_idx": pl.int_range(ids.len(), dtype=pl.Int64, eager=True)})
    lines = interactions.join(cust_pos, on="customer_id", how="left", maintain_order="left").select(
        "order_id", "customer_idx", pl.col("item_id").replace_strict(item_pos, return_dtype=pl.Int64).alias("item_idx"), pl.col("timestamp").cast(pl.Int64).alias("ts")
    )
    frames = _visits(rng, lines)
    browse, next_session = _browsing(rng, lines, cat, -int(np.max(lines["order_id"].to_numpy(), initial=0)) - 1)
    planted = _abandonments(rng, lines, span_us, next_session)
    like = planted["like"].to_numpy()
    planted = planted.with_columns(pl.Series("item_idx", _same_category(rng, like, cat) if like.size else like))
    view_before = planted.with_columns(pl.col("ts") - rng.integers(1, 20, planted.height) * _MIN_US, pl.lit("view").alias("event"))
    web = pl.concat([*frames, browse, view_before.select(browse.columns), planted.with_columns(pl.lit("add_to_cart").alias("event")).select(browse.columns)])
    web = web.filter((pl.col("ts") >= span_us[0]) & (pl.col("ts") < span_us[1]))
    item_ids = cat.frame["item_id"]
    named = web.select(
        "order_id",
        ids.gather(web["customer_idx"].cast(pl.UInt32)).alias("customer_id"),
        item_ids.gather(web["item_idx"].cast(pl.UInt32)).alias("item_id"),
        pl.col("ts").cast(pl.Datetime("us")).alias("timestamp"),
        pl.lit(1, dtype=pl.Int64).alias("quantity"),
        pl.lit(None, dtype=pl.Float64).alias("price"),
        "event",
    )
    table = pl.concat([interactions.with_columns(pl.lit("purchase").alias("event")), named]).sort("timestamp", "order_id", "item_id", "event")
    abandoned = named.filter(pl.col("event") == "add_to_cart", pl.col("order_id").is_in(planted["order_id"].implode())).select("customer_id", "item_id", "timestamp")
    return table, abandoned.sort("timestamp", "customer_id")
